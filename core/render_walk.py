"""The MIME walk of the render pipeline (``pigeon.core.render``): one message's tree, part by
part, asking the rendering and crypto hooks; it collects attachments, links, banners and the
body's chunks. ``render_message`` in ``pigeon.core.render`` drives it and sanitises the result."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from email.message import Message
from typing import Any

from pigeon.core import mime
from pigeon.core.pluginmanager import call_isolated
from pigeon.core.sanitize import sanitize_line
from pigeon.hooks.types import (
    Attachment,
    Banner,
    DecryptResult,
    Link,
    RenderContext,
    Rendered,
    SignatureStatus,
)

NESTED_HEADERS = ("Date", "From", "To", "Cc", "Subject")
MAX_DEPTH = 40  # MIME nesting shown; deeper levels are summarised (flanker has 3 MB of nesting)
MAX_PARTS = 500  # leaf parts rendered per message
MAX_RECOVERIES = 10  # multiparts re-parsed per message after a boundary failure

_PGP_MESSAGE = re.compile(r"^-----BEGIN PGP MESSAGE-----\s*$(.*?)^-----END PGP MESSAGE-----\s*$", re.M | re.S)
_PGP_SIGNED = re.compile(r"^-----BEGIN PGP SIGNED MESSAGE-----\s*$", re.M)
_FOREIGN_MESSAGE = ("message/rfc822", "message/global", "message/news")
_SMIME_TYPES = ("application/pkcs7-mime", "application/x-pkcs7-mime")


@dataclass
class _Chunk:
    """One piece of body text and what it is (for the separator drawn before it)."""

    text: str
    label: str = ""


class _Walker:
    """Walks one message's MIME tree, asking the hooks; collects attachments, links, banners."""

    def __init__(self, pm: Any, ctx: RenderContext, root: Message) -> None:
        self.pm = pm
        self.ctx = ctx
        self.root = root
        self.attachments: list[Attachment] = []
        self.links: list[Link] = []
        self.banners: list[Banner] = []
        self.protected_headers: dict[str, str] = {}
        self.leaves = 0
        self.recovered = 0
        # parts that stand for the whole message: the root, and the decrypted content of an
        # encrypted root (so a signature inside it speaks for the message, not for "part 1")
        self.roots: set[int] = {id(root)}

    # ------------------------------------------------------------------ hooks, guarded

    def _first(self, hook: str, **kwargs: Any) -> Any:
        results = call_isolated(self.pm, hook, **kwargs)
        return results[0] if results else None

    def _collect(self, hook: str, **kwargs: Any) -> list[Any]:
        out: list[Any] = []
        for result in call_isolated(self.pm, hook, **kwargs):
            if isinstance(result, list | tuple):
                out.extend(result)
            elif result is not None:
                out.append(result)
        return out

    # ------------------------------------------------------------------ structure

    def entity(self, part: Message, path: str, depth: int) -> list[_Chunk]:
        ctype = mime.content_type(part)
        if depth > MAX_DEPTH:
            return [_Chunk(f"[{ctype} part {path}: nested too deeply to show]", path)]
        if self.leaves >= MAX_PARTS:
            return []
        if ctype.startswith("message/"):
            return self.message_part(part, ctype, path, depth)
        if mime.is_multipart(part):
            children = mime.subparts(part)
            if ctype == "multipart/alternative":
                return self.alternative(children, path, depth)
            if ctype == "multipart/related":
                return self.related(part, children, path, depth)
            if ctype == "multipart/signed":
                return self.signed(part, children, path, depth)
            if ctype == "multipart/encrypted":
                return self.encrypted(part, path, depth)
            chunks: list[_Chunk] = []
            preamble = getattr(part, "preamble", None) if ctype == "multipart/report" else None
            if isinstance(preamble, str) and preamble.strip():
                chunks.append(_Chunk(preamble, ""))
            for i, child in enumerate(children, 1):
                chunks += self.entity(child, _sub(path, i), depth + 1)
            return chunks
        if ctype.startswith("multipart/"):
            raw = mime.part_text(part)
            if not raw.strip():
                return []
            if self.recovered < MAX_RECOVERIES:
                recovered = mime.recover_multipart(part)
                if recovered is not None:
                    self.recovered += 1
                    chunks = self.entity(recovered, path, depth + 1)
                    if chunks:
                        note = self._notes([f"{ctype} with a malformed boundary: its parts were recovered"])
                        chunks[0].text = note + chunks[0].text
                        return chunks
            self.leaves += 1
            note = f"{ctype} without a usable boundary: its raw text follows"
            return [_Chunk(self._notes([note]) + raw, f"part {path} · {ctype}")]
        if ctype in _SMIME_TYPES and _param(part, "smime-type").lower() in ("enveloped-data", "authenveloped-data"):
            return self.encrypted(part, path, depth)  # S/MIME encryption: the crypto hooks answer
        return self.leaf(part, ctype, path)

    def alternative(self, children: list[Message], path: str, depth: int) -> list[_Chunk]:
        if not children:
            return []
        chosen = self._first("pigeon_choose_alternative", alternatives=list(children), ctx=self.ctx)
        if not any(chosen is c for c in children):
            plain = [c for c in children if mime.content_type(c) == "text/plain"]
            chosen = plain[-1] if plain else children[-1]
        index = next(i for i, c in enumerate(children, 1) if c is chosen)
        if self.ctx.purpose == "view":
            self.hidden_links([c for c in children if c is not chosen])
        return self.entity(chosen, _sub(path, index), depth + 1)

    def hidden_links(self, others: list[Message]) -> None:
        """Links of the alternatives not shown, for banners: a phishing mail's plain text may
        show a harmless URL while its HTML links elsewhere (``ctx.state["hidden_links"]``)."""
        for other in others:
            html = _first_leaf(other, "text/html")
            if html is None:
                continue
            scratch = replace(self.ctx, link_start=1, state={"from": self.ctx.state.get("from", ""), "hidden": True})
            result = self._first("pigeon_render_part", part=html, ctx=scratch)
            if isinstance(result, Rendered):
                links = [lk for lk in (result.links or []) if isinstance(lk, Link)]
                self.ctx.state.setdefault("hidden_links", []).extend(links)

    def related(self, part: Message, children: list[Message], path: str, depth: int) -> list[_Chunk]:
        if not children:
            return []
        root_index = 0
        try:
            start = str(part.get_param("start") or "").strip("<> ")
        except Exception:
            start = ""
        if start:
            for i, child in enumerate(children):
                if mime.header_str(child, "Content-ID").strip("<> ") == start:
                    root_index = i
        chunks = self.entity(children[root_index], _sub(path, root_index + 1), depth + 1)
        for i, child in enumerate(children):
            if i != root_index and not mime.is_multipart(child):
                self.attachment(child, mime.content_type(child))
        return chunks

    def signed(self, part: Message, children: list[Message], path: str, depth: int) -> list[_Chunk]:
        if not children:
            return []
        chunks = self.entity(children[0], _sub(path, 1), depth + 1)
        for i, extra in enumerate(children[2:], 3):  # a well-formed signed part has two children
            chunks += self.entity(extra, _sub(path, i), depth + 1)
        if self.ctx.purpose != "view":
            return chunks
        is_root = id(part) in self.roots
        where = "message" if is_root else f"part {path}"
        statuses = self._first("pigeon_verify", part=part, ctx=self.ctx)
        if statuses is None:
            self.banners.append(Banner("info", f"signed {where}: signature not checked (no crypto plugin)", "core"))
        else:
            self.signature_banners(statuses, where)
        if is_root:
            return chunks
        return [_Chunk(self.frame(f"signed part {path}", _join(chunks)), self._label(f"signed part {path}"))]

    def signature_banners(self, statuses: Any, where: str) -> None:
        statuses = [s for s in (statuses or []) if isinstance(s, SignatureStatus)]
        if not statuses:
            self.banners.append(Banner("warning", f"signed {where}: no signature found", "core"))
        for status in statuses:
            who = ", ".join(status.uids) or "unknown key"
            fpr = f" [{status.fingerprint}]" if status.fingerprint else ""
            # a problem the plugin's summary already names is not said twice
            extra = [p for p in status.problems if p not in (status.summary or "")]
            problems = f"; {'; '.join(extra)}" if extra else ""
            if not status.valid and status.missing_key:
                # not checked at all: no forgery shown, and nothing verified either
                self.banners.append(Banner("warning", f"{where}: unverified: no public key for {status.missing_key}{problems}", "core"))
                continue
            if not status.valid:
                severity, verdict = "danger", "BAD or unverifiable signature"
            elif status.signer_matches_from is False:
                severity, verdict = "warning", "good signature by someone other than the sender"
            elif status.problems:
                severity, verdict = "warning", "signature with problems"
            else:
                severity, verdict = "ok", "good signature"
            summary = f" ({status.summary})" if status.summary else ""
            self.banners.append(Banner(severity, f"{where}: {verdict} from {who}{fpr}{summary}{problems}", "core"))

    def encrypted(self, part: Message, path: str, depth: int, *, inline: bool = False, whole: bool = True) -> list[_Chunk]:
        is_root = id(part) in self.roots and whole
        label = f"encrypted part {path}"
        if self.ctx.purpose == "index":
            # the crypto plugin decides: it decrypts for the index only when the user opted in
            result = self._first("pigeon_decrypt", part=part, ctx=self.ctx)
            if isinstance(result, DecryptResult) and result.ok and result.message is not None:
                return self.entity(result.message, path, depth + 1)
            return []
        if self.ctx.purpose == "quote" and not is_root:
            return [_Chunk("[an encrypted part is left out of the quote]", label)]
        result = self._first("pigeon_decrypt", part=part, ctx=self.ctx)
        if result is None and inline:
            return []
        if not isinstance(result, DecryptResult):
            return [_Chunk("[encrypted part (no crypto plugin)]", label)]
        if not result.ok or result.message is None:
            self.banners.append(Banner("warning", f"{label} could not be decrypted", "core"))
            return [_Chunk(f"[{label}: not decrypted: {result.error or 'unknown error'}]", label)]
        if is_root:
            self.roots.add(id(result.message))
            self.banners.append(Banner("ok", "message decrypted", "core"))
            self.protected_headers.update(_protected_headers(result))
        else:
            self.banners.append(Banner("warning", f"only part {path} is encrypted; the rest of the message is not", "core"))
        if result.signatures:
            self.signature_banners(result.signatures, "decrypted " + ("message" if is_root else f"part {path}"))
        inner = self.entity(result.message, path, depth + 1)
        if self.ctx.purpose == "quote":
            return inner
        return [_Chunk(self.frame(f"decrypted part {path}", _join(inner)), self._label(label))]

    def message_part(self, part: Message, ctype: str, path: str, depth: int) -> list[_Chunk]:
        label = f"part {path} · {ctype}"
        if ctype == "message/partial":
            self.attachment(part, ctype)
            return [_Chunk(f"[{ctype}: a fragment of a larger message, not reassembled]", label)]
        if ctype == "message/external-body":
            access = _param(part, "access-type")
            return [_Chunk(f"[{ctype}: content stored elsewhere (access type {access or 'unknown'}); never fetched]", label)]
        inner = mime.subparts(part)
        if ctype in _FOREIGN_MESSAGE and inner:
            nested = inner[0]
            lines = [f"{name}: {value}" for name in NESTED_HEADERS for value in mime.header_strs(nested, name)]
            body = _join(self.entity(nested, path, depth + 1))
            text = "\n".join(lines) + ("\n\n" if lines else "") + body
            if self.ctx.purpose == "index":
                return [_Chunk(text, label)]
            return [_Chunk(self.frame(f"attached message (part {path})", text), self._label(label))]
        # delivery-status, disposition-notification, feedback-report...: header blocks as text
        self.leaves += 1
        blocks = []
        for block in inner or [part]:
            fields = [f"{k}: {mime.decode_header_value(v, k)}" for k, v in _raw_items(block)]
            if not mime.is_multipart(block) and block is not part:
                body = mime.part_text(block).strip()
                if body:
                    fields.append(body)
            blocks.append("\n".join(fields))
        text = "\n\n".join(b for b in blocks if b) or mime.part_text(part)
        return [_Chunk(text, label)]

    def leaf(self, part: Message, ctype: str, path: str) -> list[_Chunk]:
        label = f"part {path} · {ctype}"
        if (
            self.protected_headers
            and ctype in ("text/plain", "text/rfc822-headers")
            and _param(part, "protected-headers")
            and not (part.get("Subject") or part.get("From"))  # the carrier of the headers is the body itself
        ):
            return []  # the "legacy display" copy of headers already shown above
        if mime.disposition(part) == "attachment":
            att = self.attachment(part, ctype)
            return self.attachment_inline(att, f"{label} · attachment [{att.index}]")
        if ctype == "text/plain" and self.ctx.purpose != "index":
            chunks = self.inline_pgp(part, path)
            if chunks is not None:
                return chunks
        self.leaves += 1
        result = self._first("pigeon_render_part", part=part, ctx=self.ctx)
        if isinstance(result, str):
            result = Rendered(result)
        if isinstance(result, Rendered) and isinstance(result.text, str):
            links = [lk for lk in (result.links or []) if isinstance(lk, Link)]
            self.links += links
            self.ctx.state.setdefault("links", []).extend(links)
            notes = [str(n) for n in (result.notes or [])] if self.ctx.purpose == "view" else []
            return [_Chunk(self._notes(notes) + result.text, label)]
        if ctype.startswith("text/"):
            return [_Chunk(mime.part_text(part), label)]
        self.leaves -= 1
        self.attachment(part, ctype)
        return []

    def inline_pgp(self, part: Message, path: str) -> list[_Chunk] | None:
        """Inline PGP in a text part: decrypt or verify it through the crypto hooks."""
        text = mime.part_text(part)
        if "-----BEGIN PGP" not in text:
            return None
        m = _PGP_MESSAGE.search(text)
        if m:
            before, after = text[: m.start()].strip("\n"), text[m.end() :].strip("\n")
            # text around the block is not encrypted: the block is then only a part
            inner = self.encrypted(part, path, 0, inline=True, whole=not (before.strip() or after.strip()))
            if not inner:
                return None  # nobody decrypts: show the armored text as it is
            chunks = [_Chunk(before, f"part {path}")] if before.strip() else []
            chunks += inner
            if after.strip():
                chunks.append(_Chunk(after, f"part {path} (after the encrypted block)"))
            return chunks
        if _PGP_SIGNED.search(text) and self.ctx.purpose == "view":
            statuses = self._first("pigeon_verify", part=part, ctx=self.ctx)
            if statuses is not None:
                self.signature_banners(statuses, f"inline-signed part {path}")
        return None

    def attachment(self, part: Message, ctype: str) -> Attachment:
        raw_name = mime.filename(part)
        size = len(mime.part_bytes(part))
        att = Attachment(
            name=sanitize_line(raw_name),
            content_type=sanitize_line(ctype),
            size=size,
            index=len(self.attachments) + 1,
            part=part,  # type: ignore[arg-type]
            raw_name=raw_name,
        )
        att.warnings = [str(w) for w in self._collect("pigeon_attachment_warnings", attachment=att, ctx=self.ctx) if w]
        self.attachments.append(att)
        return att

    def attachment_inline(self, att: Attachment, label: str) -> list[_Chunk]:
        """An attachment a plugin chooses to show in the body too (``pigeon_render_attachment``)."""
        if self.ctx.purpose == "index":
            return []
        result = self._first("pigeon_render_attachment", attachment=att, ctx=self.ctx)
        if isinstance(result, Rendered) and isinstance(result.text, str) and result.text.strip():
            return [_Chunk(result.text, label)]
        return []

    # ------------------------------------------------------------------ drawing

    def frame(self, label: str, text: str) -> str:
        """A boundary drawn by pigeon around content that must not mix with its neighbours."""
        if self.ctx.purpose != "view":
            return f"----- {label} -----\n{text}\n----- end of {label} -----"
        body = "\n".join("│ " + line if line else "│" for line in text.rstrip("\n").split("\n"))
        return f"┌── {label} ──\n{body}\n└── end of {label} ──"

    def _label(self, label: str) -> str:
        """Framed content needs no separator before it in the view: the frame names it."""
        return "" if self.ctx.purpose == "view" else label

    def _notes(self, notes: list[str]) -> str:
        return "".join(f"[{n}]\n" for n in notes if n) if self.ctx.purpose == "view" else ""


PROTECTED_HEADERS = ("Subject", "From", "To", "Cc", "Reply-To", "Date")


def _protected_headers(result: DecryptResult) -> dict[str, str]:
    """Headers protected by the encryption: from the plugin, else from the decrypted entity
    when it says ``protected-headers="v1"`` (draft-autocrypt-lamps-protected-headers)."""
    try:
        given = {str(k): str(v) for k, v in dict(result.protected_headers or {}).items()}
    except Exception:
        given = {}
    inner = result.message
    if given or inner is None or not _param(inner, "protected-headers"):
        return given
    return {name: value for name in PROTECTED_HEADERS if (value := mime.header_str(inner, name))}


def _first_leaf(part: Message, ctype: str, depth: int = 0) -> Message | None:
    """The first leaf of type ``ctype`` in ``part`` (itself included), not looking too deep."""
    if mime.content_type(part) == ctype and not mime.is_multipart(part):
        return part
    if depth < 4 and mime.content_type(part).startswith("multipart/"):
        for child in mime.subparts(part):
            found = _first_leaf(child, ctype, depth + 1)
            if found is not None:
                return found
    return None


def _sub(path: str, index: int) -> str:
    return f"{path}.{index}" if path else str(index)


def _param(part: Message, name: str) -> str:
    try:
        return str(part.get_param(name) or "")
    except Exception:
        return ""


def _raw_items(part: Message) -> list[tuple[str, str]]:
    try:
        return [(str(k), str(v)) for k, v in part.raw_items()]
    except Exception:
        return []


def _join(chunks: list[_Chunk]) -> str:
    """Chunks as one text; from the second on, each gets a separator line naming its part."""
    out: list[str] = []
    for i, chunk in enumerate(chunks):
        text = chunk.text.strip("\n")
        if i and chunk.label:
            out.append(f"── {chunk.label} ──")
        out.append(text)
    return "\n\n".join(out)
