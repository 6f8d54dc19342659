"""Time zones for the iCalendar reader: a TZID becomes a ``tzinfo``.

An IANA name goes through ``zoneinfo``; otherwise the calendar's own VTIMEZONE (STANDARD and
DAYLIGHT observances with yearly rules or RDATEs: what Outlook sends for "Atlantic Standard
Time") is turned into a ``tzinfo``; otherwise a Windows zone name is mapped to its IANA zone.
A TZID that none of these resolves is left to the caller (the time is shown as written).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from pigeon.plugins.ical import Component, parse_byday, parse_rrule, parse_when_value


def zoneinfo_of(name: str) -> tzinfo | None:
    from zoneinfo import ZoneInfo

    name = name.strip().strip('"')
    if name.startswith("/"):  # a "globally unique" TZID prefix (RFC 5545 §3.2.19)
        name = name.lstrip("/")
    if not name or len(name) > 64 or ".." in name or not re.fullmatch(r"[A-Za-z0-9_+\-/]+", name):
        return None
    try:
        return ZoneInfo(name)
    except Exception:  # ZoneInfoNotFoundError, ValueError, IsADirectoryError on odd names
        return None


#: Windows zone names Outlook and Exchange put in TZID, for when the calendar carries no
#: usable VTIMEZONE (from the Unicode CLDR windowsZones table, territory "001").
WINDOWS_ZONES = {
    "Dateline Standard Time": "Etc/GMT+12",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "Alaskan Standard Time": "America/Anchorage",
    "Pacific Standard Time": "America/Los_Angeles",
    "Mountain Standard Time": "America/Denver",
    "US Mountain Standard Time": "America/Phoenix",
    "Central Standard Time": "America/Chicago",
    "Eastern Standard Time": "America/New_York",
    "Atlantic Standard Time": "America/Halifax",
    "Newfoundland Standard Time": "America/St_Johns",
    "E. South America Standard Time": "America/Sao_Paulo",
    "Argentina Standard Time": "America/Buenos_Aires",
    "UTC": "Etc/UTC",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "W. Europe Standard Time": "Europe/Berlin",
    "Central Europe Standard Time": "Europe/Budapest",
    "Central European Standard Time": "Europe/Warsaw",
    "Romance Standard Time": "Europe/Paris",
    "GTB Standard Time": "Europe/Bucharest",
    "FLE Standard Time": "Europe/Kiev",
    "E. Europe Standard Time": "Europe/Chisinau",
    "Israel Standard Time": "Asia/Jerusalem",
    "Turkey Standard Time": "Europe/Istanbul",
    "Russian Standard Time": "Europe/Moscow",
    "Arabian Standard Time": "Asia/Dubai",
    "India Standard Time": "Asia/Calcutta",
    "China Standard Time": "Asia/Shanghai",
    "Singapore Standard Time": "Asia/Singapore",
    "Tokyo Standard Time": "Asia/Tokyo",
    "Korea Standard Time": "Asia/Seoul",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "E. Australia Standard Time": "Australia/Brisbane",
    "New Zealand Standard Time": "Pacific/Auckland",
    "South Africa Standard Time": "Africa/Johannesburg",
}


class ZoneResolver:
    """TZID -> tzinfo: an IANA name through zoneinfo, else the calendar's own VTIMEZONE, else a
    Windows zone name; None when nothing fits (the time is then shown as written)."""

    def __init__(self, calendar: Component | None = None) -> None:
        self.vtimezones: dict[str, Component] = {}
        if calendar is not None:
            for vtz in calendar.walk("VTIMEZONE"):
                tzid = vtz.value("TZID")
                if tzid:
                    self.vtimezones.setdefault(tzid, vtz)
        self._cache: dict[str, tzinfo | None] = {}

    def resolve(self, tzid: str) -> tzinfo | None:
        if tzid not in self._cache:
            self._cache[tzid] = self._resolve(tzid)
        return self._cache[tzid]

    def _resolve(self, tzid: str) -> tzinfo | None:
        zone = zoneinfo_of(tzid)
        if zone is not None:
            return zone
        vtz = self.vtimezones.get(tzid)
        if vtz is not None:
            defined = VTimezone.from_component(vtz)
            if defined is not None:
                return defined
        windows = WINDOWS_ZONES.get(tzid.strip())
        return zoneinfo_of(windows) if windows else None


_OFFSET = re.compile(r"([+-])(\d{2})(\d{2})(\d{2})?")


def parse_offset(text: str) -> timedelta | None:
    m = _OFFSET.fullmatch(text.strip())
    if not m:
        return None
    sign, h, mi, s = m.groups()
    delta = timedelta(hours=int(h), minutes=int(mi), seconds=int(s or 0))
    if delta >= timedelta(hours=24):
        return None
    return -delta if sign == "-" else delta


@dataclass
class _Observance:
    start: datetime  # local wall time of the first onset
    offset_from: timedelta
    offset_to: timedelta
    name: str
    month: int = 0  # yearly rule: month and (ordinal, weekday), or month day
    ordinal: int = 0
    weekday: int = -1
    monthday: int = 0
    until: datetime | None = None
    rdates: list[datetime] = field(default_factory=list)

    def onsets(self, year: int) -> list[datetime]:
        """Local wall times (before the change) at which this observance begins in ``year``."""
        out = [d for d in self.rdates if d.year == year]
        if self.start.year == year:
            out.append(self.start)
        if self.month and year > self.start.year:
            day = None
            if self.weekday >= 0 and self.ordinal:
                day = nth_weekday(year, self.month, self.ordinal, self.weekday)
            elif self.monthday:
                day = self.monthday
            if day:
                try:
                    onset = datetime(year, self.month, day, self.start.hour, self.start.minute, self.start.second)
                except ValueError:
                    onset = None
                if onset and (self.until is None or onset <= self.until):
                    out.append(onset)
        return out


def nth_weekday(year: int, month: int, ordinal: int, weekday: int) -> int | None:
    """The day of the month of the ``ordinal``-th ``weekday`` (0 = Monday; -1 = last)."""
    import calendar as _cal

    days = [d for d in range(1, _cal.monthrange(year, month)[1] + 1) if date(year, month, d).weekday() == weekday]
    try:
        return days[ordinal - 1] if ordinal > 0 else days[ordinal]
    except IndexError:
        return None


class VTimezone(tzinfo):
    """A tzinfo built from a VTIMEZONE's STANDARD/DAYLIGHT observances (yearly rules by month
    and weekday or month day, and RDATEs) — what Outlook's "Atlantic Standard Time" means."""

    def __init__(self, tzid: str, observances: list[_Observance]) -> None:
        self.tzid = tzid
        self.observances = observances

    @classmethod
    def from_component(cls, vtz: Component) -> VTimezone | None:
        observances: list[_Observance] = []
        for child in vtz.children[:20]:
            if child.name not in ("STANDARD", "DAYLIGHT"):
                continue
            start = parse_when_value(child.value("DTSTART"))
            offset_from = parse_offset(child.value("TZOFFSETFROM"))
            offset_to = parse_offset(child.value("TZOFFSETTO"))
            if start is None or not isinstance(start.value, datetime) or offset_to is None:
                continue
            obs = _Observance(
                start.value.replace(tzinfo=None), offset_from if offset_from is not None else offset_to, offset_to, child.text("TZNAME")[:16]
            )
            rule = parse_rrule(child.value("RRULE")) if child.get("RRULE") else {}
            if rule.get("FREQ") == "YEARLY":
                months = [int(x) for x in rule.get("BYMONTH", "").split(",") if x.isdigit() and 1 <= int(x) <= 12]
                obs.month = months[0] if months else obs.start.month
                days = parse_byday(rule.get("BYDAY", ""))
                if days:
                    obs.ordinal, obs.weekday = days[0][0] or 1, days[0][1]
                else:
                    mdays = [int(x) for x in rule.get("BYMONTHDAY", "").split(",") if re.fullmatch(r"-?\d+", x)]
                    obs.monthday = mdays[0] if mdays and mdays[0] > 0 else obs.start.day
                until = parse_when_value(rule.get("UNTIL", ""))
                if until is not None and isinstance(until.value, datetime):
                    obs.until = until.value.replace(tzinfo=None) + obs.offset_from if until.kind == "utc" else until.value.replace(tzinfo=None)
            for rdate in child.all("RDATE")[:50]:
                for raw in rdate.value.split(",")[:50]:
                    w = parse_when_value(raw.strip())
                    if w is not None and isinstance(w.value, datetime):
                        obs.rdates.append(w.value.replace(tzinfo=None))
            observances.append(obs)
        return cls(vtz.value("TZID"), observances) if observances else None

    def _current(self, dt: datetime) -> _Observance:
        wall = dt.replace(tzinfo=None)
        best: tuple[datetime, _Observance] | None = None
        for year in (wall.year - 1, wall.year):
            for obs in self.observances:
                for onset in obs.onsets(year):
                    if onset <= wall and (best is None or onset > best[0]):
                        best = (onset, obs)
        if best is not None:
            return best[1]
        # before every onset: the earliest observance's "from" side is what applied
        return min(self.observances, key=lambda o: o.start)

    def utcoffset(self, dt: datetime | None) -> timedelta:
        if dt is None:
            return self.observances[0].offset_to
        return self._current(dt).offset_to

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        if dt is None:
            return self.tzid
        return self._current(dt).name or self.tzid

    def __repr__(self) -> str:
        return f"VTimezone({self.tzid!r})"
