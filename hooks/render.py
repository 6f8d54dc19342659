"""Rendering hooks: how a message becomes text on the terminal.

After every plugin has run, the core strips control characters and terminal escape sequences
from everything bound for the terminal; no plugin can skip that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pigeon.hooks import hookspec

if TYPE_CHECKING:  # the email package costs ~7 ms to import: annotations only
    from email.message import EmailMessage

    from pigeon.hooks.types import Attachment, Banner, RenderContext, Rendered


@hookspec(firstresult=True)
def pigeon_render_part(part: EmailMessage, ctx: RenderContext) -> Rendered | None:
    """Render one leaf MIME part (``text/plain``, ``text/html``, ``text/calendar``, ...) as text.

    Called for every leaf part not marked as an attachment, in message order. A part no plugin
    renders is shown as its raw text when it is ``text/*``, else listed as an attachment. If
    an implementation raises, the part falls back to its raw decoded text. Number each link
    with ``ctx.next_link_number()`` and return it in ``links``. Built-ins: ``render_plain``
    (text/plain, format=flowed, quotes and signatures; trylast) and ``render_html`` (text/html to
    text, nothing fetched, links listed with their real targets).

    :param part: the MIME part; decode it with ``pigeon.core.mime.part_text(part)``, which never
        raises (``part.get_content()`` does, on unknown charsets and broken parts).
    :param ctx: the rendering context (width, purpose, link numbering, per-message state).
    :return: a ``Rendered`` or None when this plugin does not handle the part's type.

    Semantics: firstresult.
    """


@hookspec(firstresult=True)
def pigeon_choose_alternative(
    alternatives: list[EmailMessage], ctx: RenderContext
) -> EmailMessage | None:
    """Choose which part of a ``multipart/alternative`` to show.

    :param alternatives: the alternatives in message order (the last is the sender's favourite).
    :param ctx: the rendering context; ``ctx.prefer_html`` reflects the user's setting.
    :return: one of ``alternatives``, or None to let the next implementation choose.

    Semantics: firstresult.
    """


@hookspec
def pigeon_message_banners(message: EmailMessage, ctx: RenderContext) -> list[Banner] | None:
    """Contribute banners shown above the body: warnings, list information, reminders.

    Called once per message viewed (not for index or quote text), after its parts have been
    rendered, so ``ctx.state`` holds what the part renderers found (for example
    ``ctx.state["links"]``, every ``Link``, and ``ctx.state["from"]``, the From address).

    :param message: the whole message.
    :param ctx: the rendering context.
    :return: a list of ``Banner`` or None.

    Semantics: collect (every implementation's banners are shown, most severe first).
    """


@hookspec
def pigeon_attachment_warnings(attachment: Attachment, ctx: RenderContext) -> list[str] | None:
    """Say what is dangerous or deceptive about an attachment (double extension, executable, ...).

    :param attachment: the attachment as the core describes it (sanitised name, type, size).
    :param ctx: the rendering context.
    :return: short warnings to show beside the attachment, or None.

    Semantics: collect.
    """


@hookspec(firstresult=True)
def pigeon_render_attachment(attachment: Attachment, ctx: RenderContext) -> Rendered | None:
    """Show an attachment's content in the body as well as listing it (a calendar invitation).

    Called for every part marked as an attachment (``Content-Disposition: attachment``), after
    it was listed and its warnings collected. Most attachments stay in the list only: answer
    None unless the content is safe and useful to read inline (the built-in ``calendar`` plugin
    shows an ``.ics`` holding an event). The core sanitises the text like any other.

    :param attachment: the attachment (``attachment.part`` is the MIME part; decode it with
        ``pigeon.core.mime.part_text``).
    :param ctx: the rendering context.
    :return: a ``Rendered`` shown in the body after the parts before it, or None.

    Semantics: firstresult.
    """
