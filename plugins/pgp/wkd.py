"""Web Key Directory lookup (draft-koch-openpgp-webkey-service): HTTPS only, on request."""

from __future__ import annotations

import hashlib
import ssl
import urllib.error
import urllib.parse
import urllib.request

_ZBASE32 = "ybndrfg8ejkmcpqxot1uwisza345h769"


def zbase32(data: bytes) -> str:
    bits = "".join(f"{b:08b}" for b in data)
    bits += "0" * (-len(bits) % 5)
    return "".join(_ZBASE32[int(bits[i : i + 5], 2)] for i in range(0, len(bits), 5))


def wkd_hash(local_part: str) -> str:
    return zbase32(hashlib.sha1(local_part.lower().encode("utf-8")).digest())


def wkd_urls(address: str, port: int | None = None) -> list[str]:
    """The advanced then the direct URL for ``address``."""
    local, _, domain = address.strip().rpartition("@")
    if not local or not domain or "/" in domain or ":" in domain:
        raise ValueError(f"not an e-mail address: {address!r}")
    domain = domain.lower()
    h = wkd_hash(local)
    q = urllib.parse.urlencode({"l": local})
    netloc_adv = f"openpgpkey.{domain}" + (f":{port}" if port else "")
    netloc_dir = domain + (f":{port}" if port else "")
    return [
        f"https://{netloc_adv}/.well-known/openpgpkey/{domain}/hu/{h}?{q}",
        f"https://{netloc_dir}/.well-known/openpgpkey/hu/{h}?{q}",
    ]


class _HttpsOnlyRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201
        if urllib.parse.urlsplit(newurl).scheme != "https":
            return None  # never follow a redirect away from HTTPS
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(address: str, *, cafile: str | None = None, port: int | None = None, timeout: float = 15.0) -> bytes | None:
    """The binary key WKD publishes for ``address``, or None. Certificates are always verified."""
    context = ssl.create_default_context(cafile=cafile or None)
    opener = urllib.request.build_opener(
        _HttpsOnlyRedirects(), urllib.request.HTTPSHandler(context=context)
    )
    for url in wkd_urls(address, port):
        request = urllib.request.Request(url, headers={"User-Agent": "pigeon"})
        try:
            with opener.open(request, timeout=timeout) as resp:
                if resp.status == 200:
                    data = resp.read(1 << 20)
                    if data:
                        return data
        except (urllib.error.URLError, OSError, ValueError):
            continue
    return None
