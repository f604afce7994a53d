"""Whether a certificate the control machine keeps is still the one a run
would issue, so that a re-run with valid certificates reads two files instead
of running community.crypto's key, info, CSR and signing modules for the CA
and for every host (each a module run on the control machine: about 6 s of
a warm re-run of a three-host cluster).

Only a "yes, keep it" is decided here; anything else (a missing or unreadable
file, a certificate near its end, another name or address, another issuer, a
key that does not match) sends the run through tls.yml's community.crypto
tasks, which make and sign what is needed.

Runs on the control machine only (a filter's code): cryptography is
ansible-core's own dependency there, imported when first used."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any


def _load(cert_pem: str, key_pem: str) -> tuple[Any, Any] | None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError):
        return None
    return cert, key


def _same_public_key(cert: Any, key: Any) -> bool:
    from cryptography.hazmat.primitives import serialization

    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return cert.public_key().public_bytes(*spki) == key.public_key().public_bytes(*spki)


def _lasts(cert: Any, renew_days: int, now: datetime | None) -> bool:
    moment = now or datetime.now(timezone.utc)
    return cert.not_valid_before_utc <= moment and cert.not_valid_after_utc > moment + timedelta(days=renew_days)


def _signed_by(cert: Any, issuer_pem: str) -> bool:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature

    try:
        issuer = x509.load_pem_x509_certificate(issuer_pem.encode())
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _names(cert: Any) -> tuple[set[str], set[str]]:
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set(), set()
    return set(san.get_values_for_type(x509.DNSName)), {str(a) for a in san.get_values_for_type(x509.IPAddress)}


def _server_and_client(cert: Any) -> bool:
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    try:
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return ExtendedKeyUsageOID.SERVER_AUTH in usage and ExtendedKeyUsageOID.CLIENT_AUTH in usage


def ca_current(cert_pem: str, key_pem: str, renew_days: int, now: datetime | None = None) -> bool:
    """The CA certificate Dockyard keeps may stay: it parses, is its own
    issuer, matches its key and lasts past the renewal window."""
    loaded = _load(cert_pem or "", key_pem or "")
    if loaded is None:
        return False
    cert, key = loaded
    return _same_public_key(cert, key) and _lasts(cert, int(renew_days), now) and _signed_by(cert, cert_pem)


def host_current(
    cert_pem: str,
    key_pem: str,
    issuer_pem: str,
    renew_days: int,
    dns_names: Sequence[str],
    ip_addresses: Sequence[str],
    now: datetime | None = None,
) -> bool:
    """A host's certificate may stay: it matches the host's key, was signed by
    the cluster's CA as it is now, names exactly these DNS names and
    addresses, serves as server and client, and lasts past the renewal
    window."""
    loaded = _load(cert_pem or "", key_pem or "")
    if loaded is None or not issuer_pem:
        return False
    cert, key = loaded
    try:
        wanted_ips = {str(ipaddress.ip_address(a)) for a in ip_addresses}
    except ValueError:
        return False
    return (
        _same_public_key(cert, key)
        and _lasts(cert, int(renew_days), now)
        and _signed_by(cert, issuer_pem)
        and _names(cert) == (set(dns_names), wanted_ips)
        and _server_and_client(cert)
    )
