"""The server's key fingerprint, as the server prints it and clients pin it."""

from __future__ import annotations

import hashlib

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def public_key_fingerprint(certificate_der: bytes) -> str:
    """SHA-256 of the certificate's SubjectPublicKeyInfo, 64 lowercase hex digits.

    The key, not the certificate: a server that renews its certificate with
    the same key keeps its fingerprint, so pinned clients go on trusting it.
    """
    spki = x509.load_der_x509_certificate(certificate_der).public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


def normalize_fingerprint(text: str) -> str:
    """What a person typed or pasted (colons, spaces, capitals) as the 64-digit form; else ValueError."""
    digits = "".join(ch for ch in text.lower() if ch not in ": \t")
    if len(digits) != 64 or any(ch not in "0123456789abcdef" for ch in digits):
        raise ValueError(f"not a SHA-256 fingerprint (64 hex digits): {text!r}")
    return digits


def grouped(fingerprint: str) -> str:
    """For reading aloud and comparing by eye: pairs of digits joined by colons."""
    return ":".join(fingerprint[i:i + 2] for i in range(0, len(fingerprint), 2)).upper()
