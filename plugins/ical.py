"""A small, careful iCalendar (RFC 5545) reader and writer for the calendar plugin.

Not a plugin itself: ``pigeon.plugins.calendar`` uses it. It reads what invitations carry —
components, properties with parameters, escaped text, dates and date-times (UTC, floating, or
with a TZID resolved by ``pigeon.plugins.ical_tz``: ``zoneinfo``, the calendar's own
VTIMEZONE, or a Windows zone name), durations and recurrence rules — and writes content lines
back (escaping, folding at 75 octets). Input is hostile: nothing here raises on bad data except :class:`ICalError`, and
sizes are bounded.

Why not the ``icalendar`` package: invitations need a few hundred lines of it, and its
dependency chain (dateutil, tzdata) and parse-on-access errors would have to be wrapped anyway;
the tests use it to check that what pigeon writes is read back by an independent parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

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


def parse_when(prop: Prop, zones: Any = None) -> When | None:
    """The first value of a DTSTART/DTEND/DUE/RECURRENCE-ID/UNTIL-like property."""
    raw = prop.value.strip().split(",")[0].strip()
    return parse_when_value(raw, prop.param("TZID"), prop.param("VALUE").upper(), zones)


def parse_when_value(raw: str, tzid: str = "", value_type: str = "", zones: Any = None) -> When | None:
    """A DATE or DATE-TIME; ``zones`` (a ``ZoneResolver``) resolves TZIDs, else zoneinfo alone."""
    from pigeon.plugins.ical_tz import zoneinfo_of

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
            zone = zones.resolve(tzid) if zones else zoneinfo_of(tzid)
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


# --------------------------------------------------------------------------- recurrence


def parse_rrule(value: str) -> dict[str, str]:
    """``FREQ=WEEKLY;BYDAY=MO`` as a dict with upper-case keys (values as written)."""
    out: dict[str, str] = {}
    for piece in value.strip().split(";")[:30]:
        key, sep, val = piece.partition("=")
        if sep and key.strip():
            out[key.strip().upper()] = val.strip().upper()
    return out


_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
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
