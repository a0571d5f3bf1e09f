"""The server's TLS certificate: the operator's, or a self-signed one made once and kept."""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from protocol.fingerprint import grouped, public_key_fingerprint

log = logging.getLogger(__name__)

# Long, because clients pin the key and not the certificate; a new one with the same key changes nothing.
SELF_SIGNED_DAYS = 3650


@dataclass(frozen=True)
class TlsIdentity:
    cert_file: str
    key_file: str
    fingerprint: str  # SHA-256 of the public key (SPKI), as clients pin it
    self_signed: bool


def load_identity(cert_file: str | None, key_file: str | None, data_dir: str) -> TlsIdentity:
    """The operator's certificate (`--cert`/`--key`), else ours in `data_dir`/tls, made on first start."""
    if cert_file or key_file:
        if not (cert_file and key_file):
            raise ValueError("--cert and --key go together")
        return TlsIdentity(cert_file, key_file, _fingerprint_of(cert_file), self_signed=False)
    directory = Path(data_dir) / "tls"
    cert_path, key_path = directory / "server.crt", directory / "server.key"
    if not (cert_path.exists() and key_path.exists()):
        make_self_signed(cert_path, key_path)
        log.info("made a self-signed TLS certificate in %s", directory)
    return TlsIdentity(str(cert_path), str(key_path), _fingerprint_of(str(cert_path)), self_signed=True)


def make_self_signed(cert_path: Path, key_path: Path, names: list[str] | None = None) -> None:
    """An ECDSA P-256 key and a certificate for it naming this host, localhost and loopback.

    The key file is written owner-only before any key byte goes in.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    names = names or sorted({socket.gethostname(), "localhost"})
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.UTC)
    alt_names: list[x509.GeneralName] = [x509.DNSName(name) for name in names]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", "::1")]
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=SELF_SIGNED_DAYS))
            .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _fingerprint_of(cert_file: str) -> str:
    with open(cert_file, "rb") as pem:
        # The first certificate of a chain file (Let's Encrypt's fullchain.pem) is the server's own.
        first = x509.load_pem_x509_certificates(pem.read())[0]
    return public_key_fingerprint(first.public_bytes(serialization.Encoding.DER))


def describe(identity: TlsIdentity) -> str:
    kind = "self-signed" if identity.self_signed else "operator's"
    return (f"TLS on ({kind} certificate {identity.cert_file}); public key SHA-256 fingerprint "
            f"{identity.fingerprint} ({grouped(identity.fingerprint)})")
