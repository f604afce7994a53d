"""TLS between the cluster's hosts, table-tested: how a host connects to
another (postgresql_config.conninfo: verified TLS with channel binding, or
TLS where offered when postgresql_tls is off), and the TLS variables'
refusals (postgresql_rules.problems: a CA of the user's own comes whole,
renewal leaves certificates some life). The rest of the rules are held by
tests/integration/test_bad_input_table.py."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.dockyard.platform.plugins.module_utils import postgresql_config, postgresql_rules

CERT = "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nsecret-key-material\n-----END PRIVATE KEY-----\n"


def values(**tls: Any) -> dict[str, Any]:
    return {
        "port": 5432, "version": "", "password": "correct-horse-battery-staple", "user": "replicator",
        "synchronous": 0, "wal_senders": 0, "slot_wal_keep": "2GB", "address": "", "client_networks": [],
        "databases": [], "users": [], "settings": {},
        "tls": {"enabled": True, "ca_cert": "", "ca_key": "", "renew_days": 30, "certificate_days": 397, **tls},
    }  # fmt: skip


# name: (tls values, words of the refusal; none: accepted)
CASES: dict[str, tuple[dict[str, Any], list[str]]] = {
    "Dockyard's own CA": ({}, []),
    "a CA of your own": ({"ca_cert": CERT, "ca_key": KEY}, []),
    "a certificate without its key": ({"ca_cert": CERT}, ["postgresql_tls_ca_cert is set but postgresql_tls_ca_key"]),
    "a key without its certificate": ({"ca_key": KEY}, ["postgresql_tls_ca_key is set but postgresql_tls_ca_cert"]),
    "a certificate that is no PEM": ({"ca_cert": "cert", "ca_key": KEY}, ["is not a PEM certificate"]),
    "a key that is no PEM": ({"ca_cert": CERT, "ca_key": "not a key"}, ["is not a PEM private key"]),
    "renewal as long as the certificate": ({"renew_days": 397}, ["postgresql_tls_renew_days (397) must be"]),
    "no renewal": ({"renew_days": 0}, ["must be above 0"]),
    "TLS off: nothing to check": ({"enabled": False, "ca_cert": CERT}, []),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_tls_variables(case: str) -> None:
    tls, words = CASES[case]
    found = postgresql_rules.problems(values(**tls), "db1", 1, False)
    if not words:
        assert found == []
    for word in words:
        assert any(word in problem and problem.startswith("db1: ") for problem in found), (word, found)
    assert all("secret-key-material" not in problem for problem in found)


# name: (arguments, keyword arguments, connection string)
CONNINFO = {
    "streaming with TLS": (
        ("192.168.231.11", 5432, "replicator", "/var/lib/postgresql/.pgpass"),
        {"application_name": "db2", "keepalives": True, "ca_file": "/etc/dockyard/postgresql-tls/ca.crt"},
        "host=192.168.231.11 port=5432 user=replicator passfile=/var/lib/postgresql/.pgpass application_name=db2"
        " sslmode=verify-full sslrootcert=/etc/dockyard/postgresql-tls/ca.crt channel_binding=require"
        " connect_timeout=5 keepalives_idle=10 keepalives_interval=5 keepalives_count=3",
    ),
    "pg_rewind's source, without TLS": (
        ("10.0.0.1", 5433, "replicator", "/p"),
        {"dbname": "postgres", "connect_timeout": 10},
        "host=10.0.0.1 port=5433 user=replicator dbname=postgres passfile=/p sslmode=prefer connect_timeout=10",
    ),
    "a value with a space and a quote is quoted": (
        ("h", 1, "o'brien x", "/p"),
        {},
        "host=h port=1 user='o\\'brien x' passfile=/p sslmode=prefer connect_timeout=5",
    ),
}


@pytest.mark.parametrize("case", list(CONNINFO), ids=list(CONNINFO))
def test_connection_strings_between_cluster_hosts(case: str) -> None:
    args, kwargs, expected = CONNINFO[case]
    assert postgresql_config.conninfo(*args, **kwargs) == expected
