"""When a re-run keeps the certificates it has (module_utils/tls_certificates.py)
and skips community.crypto: a table of certificates made here with
cryptography (the library community.crypto uses on the control machine),
each differing from a current one in one respect."""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from ansible_collections.dockyard.platform.plugins.module_utils.tls_certificates import ca_current, host_current
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
RENEW_DAYS = 30


def key_pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def make_ca(days: int = 3650, name: str = "Dockyard PostgreSQL CA (main)") -> tuple[Any, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP384R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


CA_KEY, CA = make_ca()
OTHER_CA_KEY, OTHER_CA = make_ca()
ENDING_CA_KEY, ENDING_CA = make_ca(days=10)
HOST_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())


def host_cert(
    days: int = 397,
    dns: tuple[str, ...] = ("db1",),
    ips: tuple[str, ...] = ("10.0.0.11",),
    usages: tuple[Any, ...] = (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH),
    signer: tuple[Any, x509.Certificate] = (CA_KEY, CA),
    key: Any = HOST_KEY,
) -> str:
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns[0] if dns else "db1")]))
        .issuer_name(signer[1].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=days))
    )
    names = [x509.DNSName(n) for n in dns] + [x509.IPAddress(ipaddress.ip_address(a)) for a in ips]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
    return cert_pem(builder.sign(signer[0], hashes.SHA256()))


# name: (certificate, key, CA, current?)
HOSTS = {
    "as a run would issue it": (host_cert(), key_pem(HOST_KEY), cert_pem(CA), True),
    "within the renewal window": (host_cert(days=20), key_pem(HOST_KEY), cert_pem(CA), False),
    "another key (the key file was replaced)": (host_cert(), key_pem(OTHER_KEY), cert_pem(CA), False),
    "signed by another CA (the CA was replaced)": (host_cert(), key_pem(HOST_KEY), cert_pem(OTHER_CA), False),
    "the host's address changed": (host_cert(ips=("10.0.0.99",)), key_pem(HOST_KEY), cert_pem(CA), False),
    "an extra name": (host_cert(dns=("db1", "db1.example")), key_pem(HOST_KEY), cert_pem(CA), False),
    "no client use (replicas present it too)": (
        host_cert(usages=(ExtendedKeyUsageOID.SERVER_AUTH,)),
        key_pem(HOST_KEY),
        cert_pem(CA),
        False,
    ),
    "no names at all": (host_cert(dns=(), ips=()), key_pem(HOST_KEY), cert_pem(CA), False),
    "no certificate yet": ("", key_pem(HOST_KEY), cert_pem(CA), False),
    "no key yet": (host_cert(), "", cert_pem(CA), False),
    "no CA yet (check mode before the first run)": (host_cert(), key_pem(HOST_KEY), "", False),
    "a damaged certificate file": ("-----BEGIN CERTIFICATE-----\nnot base64\n", key_pem(HOST_KEY), cert_pem(CA), False),
}


@pytest.mark.parametrize("case", HOSTS.values(), ids=list(HOSTS))
def test_host_current(case: tuple[str, str, str, bool]) -> None:
    cert, key, ca, current = case
    assert host_current(cert, key, ca, RENEW_DAYS, ["db1"], ["10.0.0.11"], now=NOW) is current


def test_an_address_written_differently_is_the_same_address() -> None:
    cert = host_cert(ips=("fd00::11",))
    assert host_current(cert, key_pem(HOST_KEY), cert_pem(CA), RENEW_DAYS, ["db1"], ["fd00:0::11"], now=NOW)


def test_a_certificate_not_valid_yet_is_not_kept() -> None:
    later = host_cert()
    assert not host_current(later, key_pem(HOST_KEY), cert_pem(CA), RENEW_DAYS, ["db1"], ["10.0.0.11"],
                            now=NOW - timedelta(days=2))  # fmt: skip


# name: (certificate, key, current?)
CAS = {
    "a CA good for ten years": (cert_pem(CA), key_pem(CA_KEY), True),
    "a CA within the renewal window": (cert_pem(ENDING_CA), key_pem(ENDING_CA_KEY), False),
    "a CA whose key is another": (cert_pem(CA), key_pem(OTHER_CA_KEY), False),
    "a host certificate where the CA should be": (host_cert(), key_pem(HOST_KEY), False),
    "no CA yet": ("", "", False),
}


@pytest.mark.parametrize("case", CAS.values(), ids=list(CAS))
def test_ca_current(case: tuple[str, str, bool]) -> None:
    cert, key, current = case
    assert ca_current(cert, key, RENEW_DAYS, now=NOW) is current
