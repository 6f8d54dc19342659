"""The values of ``date:`` and ``size:`` terms: whole days in the local zone, relative spans,
open ends; sizes with k/M/G. ``fail(message)`` makes the caller's positioned error."""

from __future__ import annotations

import time

# typing costs ~2 ms to import and annotations are strings here: keep it for checkers
TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import date
    from typing import Any

_REL = r"^(\d+)\s*(h|hours?|d|days?|w|weeks?|m|months?|y|years?)$"
_UNIT_SECONDS = {"h": 3600, "d": 86400, "w": 7 * 86400, "m": 30 * 86400, "y": 365 * 86400}


def _day_start(d: date) -> int:
    return int(time.mktime(d.timetuple()))


def _parse_date_point(text: str, now: float, end: bool, fail: Any) -> int:
    """One end of a date range: an ISO date (whole days, local zone), or relative (7d, 2w)."""
    from datetime import date, datetime, timedelta

    t = text.strip().lower()
    m = _match(_REL, t)
    if m:
        return int(now - int(m.group(1)) * _UNIT_SECONDS[m.group(2)[0]])
    if t in ("today", "yesterday"):
        d = datetime.fromtimestamp(now).date() - timedelta(days=1 if t == "yesterday" else 0)
        return _day_start(d + timedelta(days=1)) - 1 if end else _day_start(d)
    if t == "now":
        return int(now)
    for fmt, step in (("%Y-%m-%d", "day"), ("%Y-%m", "month"), ("%Y", "year")):
        try:
            d = datetime.strptime(t, fmt).date()
        except ValueError:
            continue
        if not end:
            return _day_start(d)
        if step == "day":
            nxt = d + timedelta(days=1)
        elif step == "month":
            nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        else:
            nxt = date(d.year + 1, 1, 1)
        return _day_start(nxt) - 1
    raise fail(f"cannot read the date {text!r} (use YYYY-MM-DD, YYYY-MM, YYYY, today, or 7d)")


def parse_date_range(value: str, now: float, fail: Any) -> tuple[int, int]:
    """``A..B`` (either end open), a single day, or a relative span (``7d`` = the last 7 days)."""
    if ".." in value:
        a, b = value.split("..", 1)
        lo = _parse_date_point(a, now, False, fail) if a else -(2**62)
        hi = _parse_date_point(b, now, True, fail) if b else 2**62
        return lo, hi
    if _match(_REL, value.strip().lower()):
        return _parse_date_point(value, now, False, fail), 2**62
    return _parse_date_point(value, now, False, fail), _parse_date_point(value, now, True, fail)


_SIZE = r"^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$"


def _match(pattern: str, text: str):  # noqa: ANN202 - re.Match, re imported here
    """``re`` imported only for a query with date: or size: (it costs ~4 ms with enum)."""
    import re

    return re.match(pattern, text, re.I)


def _parse_size(text: str, fail: Any) -> int:
    m = _match(_SIZE, text.strip())
    if not m:
        raise fail(f"cannot read the size {text!r} (use 2000, 10k, 1M, 1G)")
    mult = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[m.group(2).lower()]
    return int(float(m.group(1)) * mult)


def parse_size_range(value: str, fail: Any) -> tuple[int, int]:
    """``A..B``, ``>N``, ``<N``, ``>=N``, ``<=N`` or an exact ``N`` (bytes, k, M, G)."""
    v = value.strip()
    if ".." in v:
        a, b = v.split("..", 1)
        return (_parse_size(a, fail) if a else 0), (_parse_size(b, fail) if b else 2**62)
    for op in (">=", "<=", ">", "<"):
        if v.startswith(op):
            n = _parse_size(v[len(op):], fail)
            return {">=": (n, 2**62), "<=": (0, n), ">": (n + 1, 2**62), "<": (0, n - 1)}[op]
    n = _parse_size(v, fail)
    return n, n
