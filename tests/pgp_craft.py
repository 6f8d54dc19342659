"""Crafting hostile OpenPGP mail for the SECURITY.md cases, with plain gpg on the other side."""

from __future__ import annotations

import base64
import struct
from pathlib import Path

from fixtures.gpg import gpg


def crc24(data: bytes) -> int:
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def armor(data: bytes, kind: str = "MESSAGE") -> str:
    b64 = base64.b64encode(data).decode()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    check = base64.b64encode(struct.pack(">I", crc24(data))[1:]).decode()
    return "\n".join([f"-----BEGIN PGP {kind}-----", "", *lines, "=" + check, f"-----END PGP {kind}-----", ""])


def literal_packet(body: bytes, filename: bytes = b"", mode: bytes = b"b") -> bytes:
    """An OpenPGP literal data packet (tag 11, new format, one-octet or two-octet length)."""
    content = mode + bytes([len(filename)]) + filename + b"\0\0\0\0" + body
    n = len(content)
    if n < 192:
        length = bytes([n])
    else:
        n2 = n - 192
        length = bytes([(n2 >> 8) + 192, n2 & 0xFF])
    return bytes([0xC0 | 11]) + length + content


def encrypt(home: Path, data: bytes, to: str, *, sign_as: list[str] = (), armored: bool = True, extra: tuple[str, ...] = ()) -> bytes:
    args = ["--trust-model", "always", "-r", to, "--encrypt", *extra]
    for signer in sign_as:
        args += ["-u", signer, "--sign"]
    if armored:
        args.append("--armor")
    return gpg(home, *args, input=data).stdout


def detached(home: Path, data: bytes, *signers: str) -> bytes:
    args = []
    for s in signers:
        args += ["-u", s]
    return gpg(home, *args, "--armor", "--detach-sign", input=data).stdout


def clearsign(home: Path, text: bytes, signer: str) -> bytes:
    return gpg(home, "-u", signer, "--clearsign", input=text).stdout


def pgp_mime_encrypted(headers: str, ciphertext: bytes | str, boundary: str = "enc-b") -> bytes:
    ct = ciphertext.decode() if isinstance(ciphertext, bytes) else ciphertext
    return (
        f"{headers}MIME-Version: 1.0\n"
        f'Content-Type: multipart/encrypted; boundary="{boundary}"; protocol="application/pgp-encrypted"\n\n'
        f"--{boundary}\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n"
        f"--{boundary}\nContent-Type: application/octet-stream\n\n{ct}\n--{boundary}--\n"
    ).encode()


def encrypted_part(ciphertext: bytes | str, boundary: str = "enc-inner") -> str:
    ct = ciphertext.decode() if isinstance(ciphertext, bytes) else ciphertext
    return (
        f'Content-Type: multipart/encrypted; boundary="{boundary}"; protocol="application/pgp-encrypted"\n\n'
        f"--{boundary}\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n"
        f"--{boundary}\nContent-Type: application/octet-stream\n\n{ct}\n--{boundary}--\n"
    )


def signed_entity(home: Path, entity: bytes, *signers: str, boundary: str = "sig-b") -> str:
    """A multipart/signed part over ``entity`` (CRLF canonical), as text."""
    canon = entity.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    sig = detached(home, canon, *signers).decode()
    return (
        f'Content-Type: multipart/signed; boundary="{boundary}"; micalg=pgp-sha512; protocol="application/pgp-signature"\n\n'
        f"--{boundary}\n{entity.decode()}\n--{boundary}\nContent-Type: application/pgp-signature\n\n{sig}\n--{boundary}--\n"
    )
