"""The start check (roles/postgresql_replication/files/postgresql-start-check)
fails closed: a cluster that would start as a primary and whose state it
cannot read stays down. Run for real in a throwaway systemd host, on a data
directory laid out as Debian's (no server is started: the check runs before
one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support import REPO_ROOT, Host, systemd_host

SCRIPT = REPO_ROOT / "roles" / "postgresql_replication" / "files" / "postgresql-start-check"
CHECK = "/usr/local/lib/dockyard/postgresql-start-check"
DATA = "/var/lib/postgresql/99/main"
PEERS = "/etc/postgresql/99/main/dockyard-peers"


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    with systemd_host(Path(tmp_path_factory.mktemp("inventory"))) as host:
        host.run("mkdir", "-p", "/usr/local/lib/dockyard", DATA, "/etc/postgresql/99/main", check=True)
        host.write(CHECK, SCRIPT.read_text())
        host.run("chmod", "0755", CHECK, check=True)
        host.write(f"{DATA}/PG_VERSION", "99\n")
        yield host


def check(host: Host):
    return host.run(CHECK, "99-main")


def test_a_primary_whose_control_data_cannot_be_read_stays_down(host: Host) -> None:
    # No pg_controldata for version 99: the check cannot tell the timeline.
    host.write(PEERS, "user replicator\nwait 1\n192.0.2.1 5432 db2\n")
    result = check(host)
    assert result.returncode != 0, result.stderr
    assert "stays down" in result.stderr and "pg_controldata cannot read" in result.stderr


def test_a_standby_and_a_cluster_without_peers_file_may_start(host: Host) -> None:
    host.write(f"{DATA}/standby.signal", "")
    assert check(host).returncode == 0
    host.run("rm", f"{DATA}/standby.signal", check=True)
    host.run("rm", PEERS, check=True)
    assert check(host).returncode == 0  # not Dockyard's cluster: not its to judge


def test_a_fenced_cluster_stays_down(host: Host) -> None:
    host.write(f"{DATA}/dockyard.fenced", "fenced by a failover to db2\n")
    try:
        result = check(host)
        assert result.returncode != 0
        assert "is fenced" in result.stderr
    finally:
        host.run("rm", f"{DATA}/dockyard.fenced", check=True)
