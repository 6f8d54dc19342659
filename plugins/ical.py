"""A small, careful iCalendar (RFC 5545) reader and writer for the calendar plugin.

Not a plugin itself: ``pigeon.plugins.calendar`` uses it. It reads what invitations carry —
components, properties with parameters, escaped text, dates and date-times (UTC, floating, or
with a TZID resolved through ``zoneinfo``, the calendar's own VTIMEZONE, or a Windows zone
name), durations and recurrence rules — and writes content lines back (escaping, folding at
75 octets). Input is hostile: nothing here raises on bad data except :class:`ICalError`, and
sizes are bounded.

Why not the ``icalendar`` package: invitations need a few hundred lines of it, and its
dependency chain (dateutil, tzdata) and parse-on-access errors would have to be wrapped anyway;
the tests use it to check that what pigeon writes is read back by an independent parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

MAX_LINES = 20000  # content lines read from one calendar
MAX_DEPTH = 8  # component nesting (VCALENDAR > VEVENT > VALARM is 3)
MAX_BYTES = 2 * 1024 * 1024


class ICalError(ValueError):
    """The text is not an iCalendar object pigeon can use."""


@dataclass
class Prop:
    """One content line: ``NAME;PARAM=v1,v2:VALUE`` (the value still escaped)."""

    name: str
    value: str
    params: dict[str, list[str]] = field(default_factory=dict)

    def param(self, name: str, default: str = "") -> str:
        values = self.params.get(name.upper())
        return values[0] if values else default

    @property
    def text(self) -> str:
        """The value as TEXT (RFC 5545 §3.3.11), unescaped."""
        return unescape_text(self.value)


@dataclass
class Component:
    """``BEGIN:NAME`` ... ``END:NAME`` with its properties and sub-components."""

    name: str
    props: list[Prop] = field(default_factory=list)
    children: list[Component] = field(default_factory=list)

    def get(self, name: str) -> Prop | None:
        name = name.upper()
        return next((p for p in self.props if p.name == name), None)

    def all(self, name: str) -> list[Prop]:
        name = name.upper()
        return [p for p in self.props if p.name == name]

    def text(self, name: str, default: str = "") -> str:
        prop = self.get(name)
        return prop.text if prop is not None else default

    def value(self, name: str, default: str = "") -> str:
        prop = self.get(name)
        return prop.value.strip() if prop is not None else default

    def walk(self, name: str) -> list[Component]:
        """Every sub-component named ``name``, at any depth, in order."""
        out: list[Component] = []
        for child in self.children:
            if child.name == name.upper():
                out.append(child)
            out += child.walk(name)
        return out


# --------------------------------------------------------------------------- reading


def unfold(text: str) -> list[str]:
    """Content lines: CRLF, LF or CR endings; a line starting with a space or tab continues
    the one before (the folding whitespace is dropped, RFC 5545 §3.1)."""
    lines: list[str] = []
    for raw in re.split(r"\r\n|\n|\r", text):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += raw[1:]
        elif raw.strip():
            lines.append(raw)
    return lines


_NAME = re.compile(r"[A-Za-z0-9-]+")


def parse_line(line: str) -> Prop | None:
    """Split one content line; None when it is not one (no name, no colon)."""
    m = _NAME.match(line)
    if not m:
        return None
    name = m.group(0).upper()
    i = m.end()
    params: dict[str, list[str]] = {}
    n = len(line)
    while i < n and line[i] == ";":
        pm = _NAME.match(line, i + 1)
        if not pm:
            return None
        pname = pm.group(0).upper()
        i = pm.end()
        values: list[str] = []
        if i < n and line[i] == "=":
            i += 1
            while True:
                if i < n and line[i] == '"':
                    end = line.find('"', i + 1)
                    if end < 0:
                        return None
                    values.append(line[i + 1 : end])
                    i = end + 1
                else:
                    start = i
                    while i < n and line[i] not in ";:,":
                        i += 1
                    values.append(line[start:i])
                if i < n and line[i] == ",":
                    i += 1
                    continue
                break
        params.setdefault(pname, []).extend(_param_unescape(v) for v in values)
    if i >= n or line[i] != ":":
        return None
    return Prop(name, line[i + 1 :], params)


def _param_unescape(value: str) -> str:
    # RFC 6868: ^n newline, ^' double quote, ^^ caret
    if "^" not in value:
        return value
    return re.sub(r"\^(.)", lambda m: {"n": "\n", "'": '"', "^": "^"}.get(m.group(1), m.group(0)), value)


def parse(text: str) -> list[Component]:
    """The top-level components of ``text`` (normally one VCALENDAR).

    Tolerant the way mail clients must be: lines outside any component and unmatched END lines
    are skipped, components left open at the end are closed. Raises ``ICalError`` only when
    nothing usable is found.
    """
    if len(text) > MAX_BYTES:
        text = text[:MAX_BYTES]
    roots: list[Component] = []
    stack: list[Component] = []
    for count, line in enumerate(unfold(text)):
        if count >= MAX_LINES:
            break
        prop = parse_line(line)
        if prop is None:
            continue
        if prop.name == "BEGIN":
            comp = Component(prop.value.strip().upper())
            if len(stack) >= MAX_DEPTH:
                continue
            if stack:
                stack[-1].children.append(comp)
            else:
                roots.append(comp)
            stack.append(comp)
        elif prop.name == "END":
            name = prop.value.strip().upper()
            for depth in range(len(stack) - 1, -1, -1):
                if stack[depth].name == name:
                    del stack[depth:]
                    break
        elif stack:
            stack[-1].props.append(prop)
    if not roots:
        raise ICalError("no iCalendar component found")
    return roots


def calendar_of(text: str) -> Component:
    """The VCALENDAR in ``text`` (the first one), or ``ICalError``."""
    for comp in parse(text):
        if comp.name == "VCALENDAR":
            return comp
    raise ICalError("no VCALENDAR")


def unescape_text(value: str) -> str:
    """TEXT value: ``\\n``/``\\N`` newline, ``\\,`` ``\\;`` ``\\\\``; other backslashes kept."""
    if "\\" not in value:
        return value
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "N": "\n"}.get(m.group(1), m.group(1) if m.group(1) in ",;\\" else m.group(0)), value)


def address_of(value: str) -> str:
    """The e-mail address of a CAL-ADDRESS (``mailto:a@b``); other URIs as they are."""
    value = value.strip()
    if value.lower().startswith("mailto:"):
        value = value[7:]
    return value.strip()


# --------------------------------------------------------------------------- time


@dataclass
class When:
    """A DATE or DATE-TIME value. ``kind``: "date", "utc", "zoned" (``value`` aware),
    "floating" (naive: the same wall time wherever you are) or "unknown-zone" (naive: a TZID
    pigeon could not resolve)."""

    value: datetime | date
    kind: str
    tzid: str = ""

    def aware(self) -> datetime | None:
        """An aware datetime, or None for dates and floating times."""
        return self.value if isinstance(self.value, datetime) and self.value.tzinfo is not None else None


_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DATETIME = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)", re.I)


def parse_when(prop: Prop, zones: ZoneResolver | None = None) -> When | None:
    """The first value of a DTSTART/DTEND/DUE/RECURRENCE-ID/UNTIL-like property."""
    raw = prop.value.strip().split(",")[0].strip()
    return parse_when_value(raw, prop.param("TZID"), prop.param("VALUE").upper(), zones)


def parse_when_value(raw: str, tzid: str = "", value_type: str = "", zones: ZoneResolver | None = None) -> When | None:
    m = _DATETIME.fullmatch(raw)
    if m and value_type != "DATE":
        y, mo, d, h, mi, s, z = m.groups()
        try:
            naive = datetime(int(y), int(mo), int(d), int(h), int(mi), min(int(s), 59))
        except ValueError:
            return None
        if z:
            return When(naive.replace(tzinfo=UTC), "utc")
        if tzid:
            zone = zones.resolve(tzid) if zones else _zoneinfo(tzid)
            if zone is None:
                return When(naive, "unknown-zone", tzid)
            return When(naive.replace(tzinfo=zone), "zoned", tzid)
        return When(naive, "floating")
    m = _DATE.fullmatch(raw[:8]) if len(raw) == 8 else None
    if m:
        try:
            return When(date(int(m.group(1)), int(m.group(2)), int(m.group(3))), "date")
        except ValueError:
            return None
    return None


_DURATION = re.compile(r"([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", re.I)


def parse_duration(text: str) -> timedelta | None:
    """``P1W``, ``PT1H30M``, ``-P1DT2H`` ...; None when it is not a duration."""
    text = text.strip()
    m = _DURATION.fullmatch(text)
    if not m or text.upper().rstrip("T").endswith("P"):
        return None
    sign, w, d, h, mi, s = m.groups()
    try:
        delta = timedelta(weeks=int(w or 0), days=int(d or 0), hours=int(h or 0), minutes=int(mi or 0), seconds=int(s or 0))
    except OverflowError:
        return None
    return -delta if sign == "-" else delta


def _zoneinfo(name: str) -> tzinfo | None:
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
        zone = _zoneinfo(tzid)
        if zone is not None:
            return zone
        vtz = self.vtimezones.get(tzid)
        if vtz is not None:
            defined = VTimezone.from_component(vtz)
            if defined is not None:
                return defined
        windows = WINDOWS_ZONES.get(tzid.strip())
        return _zoneinfo(windows) if windows else None


_OFFSET = re.compile(r"([+-])(\d{2})(\d{2})(\d{2})?")
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


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


# --------------------------------------------------------------------------- recurrence


def parse_rrule(value: str) -> dict[str, str]:
    """``FREQ=WEEKLY;BYDAY=MO`` as a dict with upper-case keys (values as written)."""
    out: dict[str, str] = {}
    for piece in value.strip().split(";")[:30]:
        key, sep, val = piece.partition("=")
        if sep and key.strip():
            out[key.strip().upper()] = val.strip().upper()
    return out


_BYDAY = re.compile(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")


def parse_byday(value: str) -> list[tuple[int, int]]:
    """``1SU,-1FR,MO`` -> [(1, 6), (-1, 4), (0, 0)]: (ordinal or 0, weekday 0 = Monday)."""
    out: list[tuple[int, int]] = []
    for piece in value.split(",")[:14]:
        m = _BYDAY.fullmatch(piece.strip().upper())
        if m:
            ordinal = int(m.group(1)) if m.group(1) else 0
            if -53 <= ordinal <= 53:
                out.append((ordinal, _WEEKDAYS.index(m.group(2))))
    return out


# --------------------------------------------------------------------------- writing


def escape_text(value: str) -> str:
    """A TEXT value: backslash, semicolon, comma and newlines escaped; other controls dropped."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", value)
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def param_value(value: str) -> str:
    """A parameter value, quoted when it holds ``:;,``; quotes and controls cannot be written
    (RFC 5545 has no escape for them before RFC 6868), so they are dropped."""
    value = re.sub(r'[\x00-\x1f\x7f"]', "", value)
    return f'"{value}"' if re.search(r"[:;,]", value) else value


def content_line(name: str, value: str, params: dict[str, str] | None = None) -> str:
    """One unfolded content line; parameter values are quoted as needed."""
    head = name.upper()
    for key, val in (params or {}).items():
        head += f";{key.upper()}={param_value(val)}"
    return f"{head}:{value}"


def fold(line: str) -> str:
    """Fold a content line at 75 octets, never inside a UTF-8 sequence (RFC 5545 §3.1)."""
    out: list[str] = []
    current = ""
    size = 0
    limit = 75
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            out.append(current)
            current, size, limit = " ", 1, 75
        current += ch
        size += n
    out.append(current)
    return "\r\n".join(out)


def serialize(component: Component) -> str:
    """A component as folded CRLF-terminated content lines (values written as given)."""
    lines = [f"BEGIN:{component.name}"]
    for prop in component.props:
        lines.append(content_line(prop.name, prop.value, {k: ",".join(v) for k, v in prop.params.items()}))
    body = "".join(fold(line) + "\r\n" for line in lines)
    for child in component.children:
        body += serialize(child)
    return body + f"END:{component.name}\r\n"


def format_utc(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def format_when(when: When) -> tuple[str, dict[str, str]]:
    """A When as a value plus the parameters it needs; zoned times go out in UTC so the reply
    needs no VTIMEZONE."""
    if when.kind == "date":
        return when.value.strftime("%Y%m%d"), {"VALUE": "DATE"}
    value = when.value
    assert isinstance(value, datetime)
    if when.kind in ("utc", "zoned"):
        return format_utc(value), {}
    if when.kind == "unknown-zone":
        return value.strftime("%Y%m%dT%H%M%S"), {"TZID": when.tzid}
    return value.strftime("%Y%m%dT%H%M%S"), {}
