"""A throw-away self-signed certificate for the loopback server (127.0.0.1 only).

Why TLS on loopback at all: ccxt's binance chooses its USD-M error table (where -5022 means
``OrderNotFillable``) by the request URL, which must start with ``https://fapi.<hostname>/``.
See ``ghostsim.ftconfig.ccxt_urls``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def write_self_signed(directory: Path) -> tuple[Path, Path]:
    """Write cert.pem and key.pem for 127.0.0.1 into ``directory``; return their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ghostguard-sim")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


# A running server's base URL -> its certificate, so that the ccxt settings pointing at it
# trust that certificate instead of turning verification off (which made urllib3 warn
# "InsecureRequestWarning" on every request of the bot).
_TRUSTED: dict[str, Path] = {}


def _base(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def trust(url: str, cert: Path) -> None:
    _TRUSTED[_base(url)] = cert


def forget(url: str) -> None:
    _TRUSTED.pop(_base(url), None)


def ccxt_tls(server_url: str) -> dict[str, Any]:
    """ccxt settings for an https server on 127.0.0.1: verified against the server's own
    certificate (sync ccxt passes `verify and validateServerSsl` to requests, so a path there
    is the CA bundle; async ccxt builds its SSL context from `cafile`); verification off only
    for a server this process did not start."""
    cert = _TRUSTED.get(_base(server_url))
    if cert is None:
        return {"verify": False}
    return {"validateServerSsl": str(cert), "cafile": str(cert)}


__all__ = ["ccxt_tls", "forget", "trust", "write_self_signed"]
