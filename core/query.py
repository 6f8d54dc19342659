"""The query language (DESIGN.md §5), parsed to a tree and compiled to SQL over the index.

    query   := or
    or      := and ("or" and)*
    and     := unary (["and"] unary)*          adjacent terms are ANDed, as in notmuch
    unary   := ("not" | "-") unary | "(" or ")" | term
    term    := "*" | word | "phrase" | prefix ":" (word | "phrase" | "{" query "}")

Free words and phrases search the full text (subject, addresses, body, attachment names), case
folded and stemmed. Prefixes: from to cc subject body folder path account tag is has attachment
mimetype date size id thread search, and the names plugins index through
``pigeon_index_fields``. Operators are case-insensitive. A syntax error is a ``QueryError``
naming the position (1-based column) in the query.
"""

from __future__ import annotations

import time

from pigeon.core.errors import PigeonError
from pigeon.core.query_values import parse_date_range, parse_size_range

# typing costs ~2 ms to import and annotations are strings here: keep it for checkers
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FTS_COLUMNS = {
    "from": "sender",
    "to": "recipients",
    "cc": "cc",
    "subject": "subject",
    "body": "body",
    "attachment": "attachment",
}
BOOLEAN_PREFIXES = {"folder", "path", "account", "tag", "is", "has", "mimetype", "date", "size", "id", "thread", "search",
                    "mid"}
KNOWN = set(FTS_COLUMNS) | BOOLEAN_PREFIXES
OPERATORS = {"and", "or", "not"}


class QueryError(PigeonError):
    """A query that cannot be parsed; the message names the position."""

    def __init__(self, message: str, position: int, query: str = "") -> None:
        self.position = position
        super().__init__(f"query syntax error at position {position + 1}: {message}")


# Plain classes, not dataclasses: ``pigeon search`` must start fast, and each dataclass costs
# about a millisecond of code generation at import.


class Token:
    """One lexical token; ``kind`` is one of ( ) - word phrase term op."""

    __slots__ = ("kind", "text", "pos", "prefix", "quoted", "sub")

    def __init__(self, kind: str, text: str, pos: int, prefix: str = "", quoted: bool = False, sub: str = "") -> None:
        self.kind, self.text, self.pos, self.prefix, self.quoted, self.sub = kind, text, pos, prefix, quoted, sub


class Node:
    """A node of the query tree; ``kind`` is one of and or not all term."""

    __slots__ = ("kind", "children", "prefix", "value", "quoted", "pos")

    def __init__(self, kind: str, children: tuple[Node, ...] = (), prefix: str = "", value: str = "",
                 quoted: bool = False, pos: int = 0) -> None:
        self.kind, self.children, self.prefix, self.value, self.quoted, self.pos = (
            kind, children, prefix, value, quoted, pos)

    def __eq__(self, other: object) -> bool:  # positions aside: the same query
        return (isinstance(other, Node) and (self.kind, self.children, self.prefix, self.value, self.quoted)
                == (other.kind, other.children, other.prefix, other.value, other.quoted))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if self.kind == "term":
            return f"Node(term {self.prefix}:{self.value!r})"
        return f"Node({self.kind} {list(self.children)!r})"


# --------------------------------------------------------------------------- lexing

# Plain loops, not regular expressions: ``re`` (with enum) costs ~4 ms of a ~20 ms search
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_PREFIX_CHARS = _ASCII_LETTERS | frozenset("0123456789_.-")


def prefix_at(query: str, i: int) -> str | None:
    """The ``name`` of a ``name:`` starting at ``i`` (an ASCII letter, then letters, digits,
    ``_.-``, then the colon), else None."""
    n = len(query)
    if i >= n or query[i] not in _ASCII_LETTERS:
        return None
    j = i + 1
    while j < n and query[j] in _PREFIX_CHARS:
        j += 1
    return query[i:j] if j < n and query[j] == ":" else None


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "()":
            tokens.append(Token(ch, ch, i))
            i += 1
            continue
        if ch == "-" and i + 1 < n and not query[i + 1].isspace() and query[i + 1] != ")":
            if not tokens or tokens[-1].kind in ("(", "op", "-") or query[i - 1].isspace():
                tokens.append(Token("-", "-", i))
                i += 1
                continue
        if ch == '"':
            text, j = _read_quoted(query, i)
            tokens.append(Token("phrase", text, i, quoted=True))
            i = j
            continue
        name = prefix_at(query, i)
        if name is not None and name.lower() not in OPERATORS:
            prefix = name.lower()
            j = i + len(name) + 1
            if j < n and query[j] == '"':
                text, k = _read_quoted(query, j)
                tokens.append(Token("term", text, i, prefix=prefix, quoted=True))
                i = k
                continue
            if j < n and query[j] == "{":
                depth, k = 0, j
                while k < n:
                    if query[k] == "{":
                        depth += 1
                    elif query[k] == "}":
                        depth -= 1
                        if depth == 0:
                            break
                    k += 1
                if k >= n:
                    raise QueryError("'{' is never closed", j, query)
                tokens.append(Token("term", query[j + 1 : k], i, prefix=prefix, sub=query[j + 1 : k]))
                i = k + 1
                continue
            k = _word_end(query, j)
            if k == j:
                raise QueryError(f"'{name}:' needs a value", i, query)
            tokens.append(Token("term", query[j:k], i, prefix=prefix))
            i = k
            continue
        k = _word_end(query, i)
        if k == i:
            raise QueryError(f"unexpected {ch!r}", i, query)
        word = query[i:k]
        if word.lower() in OPERATORS:
            tokens.append(Token("op", word.lower(), i))
        else:
            tokens.append(Token("word", word, i))
        i = k
    return tokens


def _read_quoted(query: str, start: int) -> tuple[str, int]:
    out = []
    i = start + 1
    while i < len(query):
        if query[i] == '"':
            if i + 1 < len(query) and query[i + 1] == '"':  # "" is a literal quote, as in Xapian
                out.append('"')
                i += 2
                continue
            return "".join(out), i + 1
        out.append(query[i])
        i += 1
    raise QueryError("unterminated quoted phrase", start, query)


def _word_end(query: str, i: int) -> int:
    while i < len(query) and not query[i].isspace() and query[i] not in '()"':
        i += 1
    return i


# --------------------------------------------------------------------------- parsing


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = tokenize(query)
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def parse(self) -> Node:
        if not self.tokens:
            return Node("all")
        node = self.parse_or()
        tok = self.peek()
        if tok is not None:
            raise QueryError(f"unexpected {tok.text!r}", tok.pos, self.query)
        return node

    def parse_or(self) -> Node:
        parts = [self.parse_and()]
        while (tok := self.peek()) is not None and tok.kind == "op" and tok.text == "or":
            self.i += 1
            parts.append(self.parse_and(after=tok))
        return parts[0] if len(parts) == 1 else Node("or", tuple(parts))

    def parse_and(self, after: Token | None = None) -> Node:
        parts = [self.parse_unary(after)]
        while (tok := self.peek()) is not None and not (tok.kind == ")" or (tok.kind == "op" and tok.text == "or")):
            if tok.kind == "op" and tok.text == "and":
                self.i += 1
                parts.append(self.parse_unary(tok))
            else:
                parts.append(self.parse_unary())
        return parts[0] if len(parts) == 1 else Node("and", tuple(parts))

    def parse_unary(self, after: Token | None = None) -> Node:
        tok = self.peek()
        if tok is None:
            where = len(self.query)
            what = f"'{after.text}' needs something after it" if after else "query ends too early"
            raise QueryError(what, where, self.query)
        if (tok.kind == "op" and tok.text == "not") or tok.kind == "-":
            self.i += 1
            return Node("not", (self.parse_unary(tok),), pos=tok.pos)
        if tok.kind == "(":
            self.i += 1
            if (nxt := self.peek()) is not None and nxt.kind == ")":
                raise QueryError("empty parentheses", nxt.pos, self.query)
            node = self.parse_or()
            close = self.peek()
            if close is None or close.kind != ")":
                raise QueryError("'(' is never closed", tok.pos, self.query)
            self.i += 1
            return node
        if tok.kind in (")", "op"):
            raise QueryError(f"unexpected {tok.text!r}", tok.pos, self.query)
        self.i += 1
        if tok.kind == "word" and tok.text == "*":
            return Node("all", pos=tok.pos)
        if tok.kind == "term":
            if tok.sub and tok.prefix != "thread":
                raise QueryError("'{…}' is only allowed after thread:", tok.pos, self.query)
            if tok.sub:
                inner = _Parser(tok.sub)
                try:
                    sub = inner.parse()
                except QueryError as exc:
                    raise QueryError(str(exc).split(": ", 1)[1], tok.pos + len(tok.prefix) + 2 + exc.position,
                                     self.query) from None
                return Node("term", (sub,), prefix="thread", value=tok.sub, pos=tok.pos)
            return Node("term", prefix=tok.prefix, value=tok.text, quoted=tok.quoted, pos=tok.pos)
        return Node("term", prefix="", value=tok.text, quoted=tok.quoted, pos=tok.pos)


def parse(query: str) -> Node:
    """The tree of a query; raises :class:`QueryError`."""
    return _Parser(query).parse()


# --------------------------------------------------------------------------- compiling


class Compiler:
    """Compiles a tree to a SQL condition over ``messages m`` (with parameters)."""

    def __init__(self, conn: Any, query: str, saved: dict[str, str] | None = None, now: float | None = None,
                 probe: bool = False) -> None:
        self.conn = conn
        self.probe = probe
        self.query = query
        self.saved = saved or {}
        self.now = time.time() if now is None else now
        self._fields: set[str] | None = None
        self._depth = 0

    def compile(self, node: Node) -> tuple[str, list[Any]]:
        if node.kind == "all":
            return "1", []
        if node.kind in ("and", "or"):
            sqls, params = [], []
            for child in node.children:
                s, p = self.compile(child)
                sqls.append(f"({s})")
                params += p
            return f" {node.kind.upper()} ".join(sqls), params
        if node.kind == "not":
            s, p = self.compile(node.children[0])
            return f"NOT ({s})", p
        return self.term(node)

    def member(self, col: str, table: str, cond: str) -> str:
        """``m`` is in a set: as a set built once (many hits), or probed row by row, which lets
        a walk down the date index stop at the first screenful (see ``Index._page``)."""
        if self.probe:
            return f"EXISTS (SELECT 1 FROM {table} WHERE ({cond}) AND {col}=m.id)"
        return f"m.id IN (SELECT {col} FROM {table} WHERE {cond})"

    def error(self, node: Node, message: str) -> QueryError:
        return QueryError(message, node.pos, self.query)

    def fts(self, column: str | None, node: Node) -> tuple[str, list[Any]]:
        """Full text: headers and body live in two FTS tables, so that ``subject:x`` never
        reads the (long) body posting lists; a free word looks in both."""
        value = node.value
        if not _has_token(value):
            return "0", []
        if not node.quoted and value.endswith("*") and len(value) > 1:
            expr = _fts_string(value[:-1]) + " *"
        else:
            expr = _fts_string(value)
        if column == "body":
            return self.member("rowid", "fts_body", "fts_body MATCH ?"), [expr]
        head = self.member("rowid", "fts_head", "fts_head MATCH ?")
        if column:
            return head, [f"{{{column}}} : {expr}"]
        body = self.member("rowid", "fts_body", "fts_body MATCH ?")
        return f"({head} OR {body})", [expr, expr]

    def address(self, field: str, node: Node) -> tuple[str, list[Any]] | None:
        """``from:alice@example.com``: a whole address is looked up exactly (an index seek)."""
        v = node.value.strip().strip("<>").lower()
        if node.value.endswith("*") or not is_address(v):
            return None
        return self.member("docid", "addresses", "addr=? AND field=?"), [v, field]

    def term(self, node: Node) -> tuple[str, list[Any]]:
        prefix, value = node.prefix, node.value
        if not prefix:
            return self.fts(None, node)
        if prefix == "attachment" and value == "*":
            return self.member("docid", "tags", "tag='attachment'"), []
        if prefix in ("from", "to", "cc") and (found := self.address(prefix, node)) is not None:
            return found
        if prefix in FTS_COLUMNS:
            return self.fts(FTS_COLUMNS[prefix], node)
        if prefix in ("tag", "is"):
            if value.endswith("*") and len(value) > 1:
                return self.member("docid", "tags", "tag GLOB ?"), [_glob_escape(value[:-1]) + "*"]
            return self.member("docid", "tags", "tag=?"), [value]
        if prefix == "has":
            if value.lower() in ("attachment", "attachments"):
                return self.member("docid", "tags", "tag='attachment'"), []
            raise self.error(node, f"unknown has:{value} (has:attachment is known)")
        if prefix == "folder":
            if value.endswith("*"):
                return self.member("docid", "files", "folder GLOB ?"), [_glob_escape(value[:-1]) + "*"]
            return self.member("docid", "files", "folder=?"), [value.strip("/")]
        if prefix == "path":
            if value.endswith("/**") or value == "**":
                base = value[:-3].strip("/") if value != "**" else ""
                if not base:
                    return "1", []
                return self.member("docid", "files", "dir=? OR dir GLOB ?"), [base, _glob_escape(base) + "/*"]
            return self.member("docid", "files", "dir=?"), [value.strip("/")]
        if prefix == "account":
            return self.member("docid", "files", "account=?"), [value]
        if prefix == "mimetype":
            v = value.lower()
            if v.endswith("*"):
                return self.member("docid", "mimetypes", "type GLOB ?"), [_glob_escape(v[:-1]) + "*"]
            if "/" in v:
                return self.member("docid", "mimetypes", "type=?"), [v]
            return self.member("docid", "mimetypes", "type GLOB ? OR type GLOB ?"), [
                _glob_escape(v) + "/*", "*/" + _glob_escape(v)]
        if prefix in ("id", "mid"):
            v = value.strip()
            if v.startswith("<") and v.endswith(">"):
                v = v[1:-1]
            return "m.msgid=?", [v]
        if prefix == "thread":
            if node.children:
                self._depth += 1
                if self._depth > 8:
                    raise self.error(node, "thread:{…} nested too deeply")
                probe, self.probe = self.probe, False  # the inner set is built once
                s, p = self.compile(node.children[0])
                self.probe = probe
                self._depth -= 1
                return f"m.thread IN (SELECT m.thread FROM messages m WHERE {s})", p
            try:
                return "m.thread=?", [int(value, 16)]
            except ValueError:
                raise self.error(node, f"thread:{value} is not a thread id") from None
        if prefix == "date":
            lo, hi = parse_date_range(value, self.now, lambda msg: self.error(node, msg))
            return "m.date BETWEEN ? AND ?", [lo, hi]
        if prefix == "size":
            lo, hi = parse_size_range(value, lambda msg: self.error(node, msg))
            return "m.size BETWEEN ? AND ?", [lo, hi]
        if prefix == "search":
            if value not in self.saved:
                known = ", ".join(sorted(self.saved)) or "none"
                raise self.error(node, f"no saved search named {value!r} (saved: {known})")
            self._depth += 1
            if self._depth > 8:
                raise self.error(node, "saved searches refer to each other in a loop")
            try:
                sub = parse(self.saved[value])
            except QueryError as exc:
                raise self.error(node, f"saved search {value!r}: {exc}") from None
            s, p = self.compile(sub)
            self._depth -= 1
            return s, p
        if self._fields is None:
            self._fields = {r[0] for r in self.conn.execute("SELECT DISTINCT name FROM fields")}
        if prefix in self._fields:
            return self.member("docid", "fields", "name=? AND value=?"), [prefix, value.lower()]
        # Not a prefix at all (a URL, "Re:"): the words themselves, as Xapian reads them.
        return self.fts(None, Node("term", value=f"{prefix}:{value}", quoted=True, pos=node.pos))


def is_address(text: str) -> bool:
    """``local@domain.tld``: one ``@``, no space or quote, a dot inside the domain."""
    local, at, domain = text.partition("@")
    if not (local and at) or "@" in domain or '"' in text or any(ch.isspace() for ch in text):
        return False
    return "." in domain[1:-1]


def _fts_string(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _has_token(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _glob_escape(text: str) -> str:
    import re

    return re.sub(r"([*?\[])", r"[\1]", text)


def compile_query(conn: Any, query: str, saved: dict[str, str] | None = None, now: float | None = None,
                  probe: bool = False) -> tuple[str, list[Any]]:
    """A SQL condition over ``messages m`` and its parameters; raises :class:`QueryError`.

    ``probe`` compiles set membership as correlated lookups, for plans that walk the date index.
    """
    return Compiler(conn, query, saved, now, probe).compile(parse(query))
