"""Bad PostgreSQL inventories are refused before any host changes.

Each case runs playbooks/replication.yml for real. The one real host is a
fresh systemd container; the other cluster hosts are names only (their
containers do not exist), which is enough: the checks run on the control
machine in the validate play, so the run must fail there, say which host
and variable is wrong and how to fix it, and never reach a host."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import Host, recap_changed, run_playbook, systemd_host

GOOD_PASSWORD = "correct-horse-battery-staple"


def inventory(host: Host, primaries: list[str], replicas: list[str], variables: dict) -> dict:
    """An inventory where `testhost` is the real container and every other
    name is a host that does not exist."""

    def entry(name: str) -> dict:
        if name == "testhost":
            return {"ansible_connection": "community.docker.docker", "ansible_host": host.container}
        return {"ansible_connection": "community.docker.docker", "ansible_host": f"dockyard-absent-{name}"}

    return {
        "all": {
            "vars": {"ansible_python_interpreter": "/usr/bin/python3", **variables},
            "children": {
                "postgresql": {
                    "children": {
                        "postgresql_primary": {"hosts": {name: entry(name) for name in primaries}},
                        "postgresql_replicas": {"hosts": {name: entry(name) for name in replicas}},
                    }
                }
            },
        }
    }


BASE = {"postgresql_replication_password": GOOD_PASSWORD}

# name: (primaries, replicas, variables, fragments the message must contain)
BAD_INVENTORIES = {
    "replicas without a primary": (
        [],
        ["testhost", "db3"],
        BASE,
        ["postgresql_primary must hold exactly one host", "holds 0", "for 2 replicas"],
    ),
    "two primaries": (
        ["testhost", "db9"],
        ["db2"],
        BASE,
        ["postgresql_primary must hold exactly one host", "holds 2 (testhost, db9)"],
    ),
    "a host in both groups": (
        ["testhost"],
        ["testhost", "db2"],
        BASE,
        ["testhost is in both postgresql_primary and postgresql_replicas"],
    ),
    "more replicas than wal senders": (
        ["testhost"],
        ["db2", "db3"],
        {**BASE, "postgresql_max_wal_senders": 3},
        ["testhost: postgresql_max_wal_senders is 3 for 2 replica(s)", "at least 4"],
    ),
    "synchronous replicas above the replica count": (
        ["testhost"],
        ["db2", "db3"],
        {**BASE, "postgresql_synchronous_replicas": 3},
        ["testhost: postgresql_synchronous_replicas is 3", "2 replica(s)", "from 0 (asynchronous) to 2"],
    ),
    "a missing replication password": (
        ["testhost"],
        ["db2"],
        {},
        ["testhost: postgresql_replication_password is missing or empty", "ansible-vault"],
    ),
    "an empty replication password": (
        ["testhost"],
        ["db2"],
        {"postgresql_replication_password": ""},
        ["testhost: postgresql_replication_password is missing or empty"],
    ),
    "a short replication password": (
        ["testhost"],
        ["db2"],
        {"postgresql_replication_password": "fifteen-chars!!"},
        ["testhost: postgresql_replication_password is shorter than 16 characters"],
    ),
    "a port out of range": (
        ["testhost"],
        ["db2"],
        {**BASE, "postgresql_port": 70000},
        ["testhost: postgresql_port is 70000", "between 1 and 65535"],
    ),
    "an unknown role attribute": (
        ["testhost"],
        ["db2"],
        {**BASE, "postgresql_users": [{"name": "app", "password": GOOD_PASSWORD, "role_attr_flags": "LOGIN,ADMIN"}]},
        ["testhost: postgresql_users 'app' has role_attr_flags ADMIN", "e.g. LOGIN,CREATEDB"],
    ),
    "a port of zero": (
        ["testhost"],
        ["db2"],
        {**BASE, "postgresql_port": 0},
        ["testhost: postgresql_port is 0"],
    ),
    "a setting name with a newline": (
        ["testhost"],
        ["db2"],
        {**BASE, "postgresql_settings": {"work_mem = '1MB'\nshared_preload_libraries": "evil"}},
        ["testhost: postgresql_settings has the key", "not a setting name"],
    ),
    "a setting value with a newline": (
        ["testhost"],
        ["db2"],
        {**BASE, "postgresql_settings": {"work_mem": "1MB'\nssl = 'off"}},
        ["testhost: postgresql_settings 'work_mem' must be one value on one line"],
    ),
    "a host name with a space": (
        ["testhost"],
        ["db 2"],
        BASE,
        ["'db 2' is not a name Dockyard can use for a PostgreSQL host", "ansible_host"],
    ),
    "an application user that is a superuser": (
        ["testhost"],
        ["db2"],
        {
            **BASE,
            "postgresql_users": [{"name": "app", "password": GOOD_PASSWORD, "role_attr_flags": "LOGIN,SUPERUSER"}],
        },
        ["testhost: postgresql_users 'app' asks for SUPERUSER"],
    ),
    "an application user with a short password": (
        ["testhost"],
        ["db2"],
        {**BASE, "postgresql_users": [{"name": "app", "password": "app"}]},
        ["testhost: postgresql_users 'app' has a password shorter than 16 characters"],
    ),
    "a short replication password in the lab": (
        ["testhost"],
        ["db2"],
        {"dockyard_lab": True, "postgresql_replication_password": "lab"},
        ["testhost: postgresql_replication_password is shorter than 16 characters"],
    ),
}


@pytest.fixture(scope="module")
def db_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    with systemd_host(tmp_path_factory.mktemp("inventory"), groups=("postgresql_primary",)) as host:
        yield host


def write_inventory(tmp_path: Path, content: dict) -> Path:
    path = tmp_path / "hosts.json"
    path.write_text(json.dumps(content))
    return path


@pytest.mark.parametrize("case", list(BAD_INVENTORIES), ids=list(BAD_INVENTORIES))
def test_bad_inventory_is_refused_before_any_change(db_host: Host, tmp_path: Path, case: str) -> None:
    primaries, replicas, variables, expected = BAD_INVENTORIES[case]
    path = write_inventory(tmp_path, inventory(db_host, primaries, replicas, variables))
    run = run_playbook("replication.yml", path)
    assert run.rc != 0, run.output
    assert recap_changed(run.output) == 0, run.output
    # Refused in the validate plays: no task of the play that touches hosts ran.
    touching = run.output.split("PLAY [PostgreSQL streaming replication]")[1:]
    assert not any("TASK [" in part for part in touching), run.output
    for fragment in expected:
        assert fragment in run.output, f"missing {fragment!r} in:\n{run.output}"
    # The secret never shows, whatever the message.
    assert GOOD_PASSWORD not in run.output


def test_the_refused_runs_left_the_host_untouched(db_host: Host) -> None:
    assert not db_host.package_installed("postgresql-common")
    assert not db_host.exists("/etc/postgresql-common")
    assert not db_host.exists("/var/lib/postgresql")


def test_the_lab_allows_short_application_passwords(db_host: Host, tmp_path: Path) -> None:
    # The lab's throwaway application users may keep short passwords; its
    # replication password never may (the lab generates 32 characters).
    users = [{"name": "app", "password": "app"}]
    variables = {"dockyard_lab": True, "postgresql_replication_password": GOOD_PASSWORD, "postgresql_users": users}
    path = write_inventory(tmp_path, inventory(db_host, ["testhost"], ["db2"], variables))
    run = run_playbook("validate.yml", path)
    assert run.rc == 0, run.output
