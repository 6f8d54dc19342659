"""Mark messages from the people who matter with a banner.

Messages whose From address is in ``[vip] senders`` (config.toml) are shown with the banner
"VIP: <name>" above the body. The comparison ignores case. A display name that merely *says*
a VIP's address does not count: only the real address does.
"""

from __future__ import annotations

from email.utils import getaddresses

from pigeon.hooks import hookimpl
from pigeon.hooks.types import Banner

VIPS: set[str] = set()


@hookimpl
def pigeon_add_settings(settings):
    settings.add("vip.senders", list, [], "Addresses whose messages get a VIP banner.")


@hookimpl
def pigeon_configure(config):
    VIPS.clear()
    VIPS.update(str(a).strip().lower() for a in config.get("vip.senders", []))


@hookimpl
def pigeon_message_banners(message, ctx):
    for name, addr in getaddresses([str(message.get("From", "") or "")]):
        if addr.lower() in VIPS:
            return [Banner("info", f"VIP: {name or addr}", source="vip")]
    return None
