"""A command that rot13s text, for the spoilers of a certain newsgroup culture.

``M-x rot13 some text`` prints the text rot13'd; without text it rot13s the body of the
message at point (its plain-text part).
"""

from __future__ import annotations

import codecs

from pigeon.core.errors import CommandError
from pigeon.hooks import hookimpl


def rot13(ctx, *words):
    """Rot13 the given words, or the plain-text body of the current message."""
    if words:
        ctx.print(codecs.encode(" ".join(words), "rot13"))
        return
    path = getattr(ctx.message, "path", None)
    if path is None:
        raise CommandError("rot13: give some text, or run it on a message")
    import email
    import email.policy

    with open(path, "rb") as fh:
        msg = email.message_from_binary_file(fh, policy=email.policy.default)
    body = msg.get_body(preferencelist=("plain",))
    if body is None:
        raise CommandError("rot13: the message has no plain-text part")
    ctx.print(codecs.encode(body.get_content(), "rot13"))


@hookimpl
def pigeon_register_commands(register):
    register(rot13)
