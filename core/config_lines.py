"""Where a key sits in config.toml: the best-effort line numbers that config errors name
(``pigeon.core.config`` and ``pigeon.core.config_oauth2``). Loaded only when an error is
worded, so a good config never pays for it.
"""

from __future__ import annotations

import re


def line_of(text: str, table: str, key: str) -> int | None:
    """Best-effort line number of ``key`` inside ``table`` (dotted) in the TOML text."""
    lines = text.splitlines()
    headers: dict[str, int] = {}
    for i, line in enumerate(lines):
        m = re.match(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?", line)
        if m:
            name = ".".join(p.strip().strip('"').strip("'") for p in m.group(1).split("."))
            headers.setdefault(name, i)
    parts = table.split(".") if table else []
    start = 0
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in headers:
            start = headers[".".join(parts[:n])]
            break
    key_re = re.compile(r'(^|[\s{,])(["\']?)' + re.escape(key) + r"\2\s*=")
    for i in range(start, len(lines)):
        if key_re.search(lines[i]):
            return i + 1
    if table and not parts[-1:] == [key]:
        return start + 1 if start else None
    return None


def line_of_item(text: str, table: str, array: str, index: int, key: str) -> int | None:
    """Best-effort line of ``key`` in element ``index`` of the array of tables ``array`` inside
    ``table``: written inline (``array = [{ ... }, { ... }]``) or as ``[[table.array]]``."""
    start = line_of(text, table, array)
    lines = text.splitlines()
    headers = [i for i, line in enumerate(lines) if re.match(rf"^\s*\[\[\s*{re.escape(table)}\.{re.escape(array)}\s*\]\]", line)]
    if headers:
        if index >= len(headers):
            return headers[-1] + 1
        begin = headers[index]
        end = headers[index + 1] if index + 1 < len(headers) else len(lines)
        key_re = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
        return next((i + 1 for i in range(begin, end) if key_re.search(lines[i])), begin + 1)
    if start is None:
        return None
    # inline tables: walk the array from its line, outside strings, and find element ``index``
    # (a "{" at the array's own level) and then ``key`` at that element's own level
    body = "\n".join(lines[start - 1 :])
    pos = body.find("=")
    brackets = braces = 0
    element = -1
    quote = ""
    key_re = re.compile(r'(["\']?)' + re.escape(key) + r"\1\s*=")
    i = pos + 1
    while 0 < i < len(body):
        ch = body[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "[":
            brackets += 1
        elif ch == "]":
            brackets -= 1
            if brackets <= 0:
                break
        elif ch == "{":
            braces += 1
            if brackets == 1 and braces == 1:
                element += 1
        elif ch == "}":
            braces -= 1
        elif element == index and brackets == 1 and braces == 1 and body[i - 1] in " \t{,\n" and key_re.match(body, i):
            return start + body.count("\n", 0, i)
        i += 1
    return start
