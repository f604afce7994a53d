"""Every kind of bad input a review of Dockyard tried, in one table, refused by
`dockyard validate` with exit 2 and a message that names the host, the
variable and the fix.

The host-scoped cases share one inventory (a host per case, in the groups the
case needs) and one validate run, since validate checks every host and reports
each mistake before it stops; the cases about the inventory as a whole or a
command's arguments run on their own. Validate connects to no host: the hosts
here are names only. The per-role suites (test_*_input.py) run the same kinds
of mistakes against real hosts to show that nothing changes there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from support import REPO_ROOT

IMAGE = "dockyard-test/busybox:latest"
API = REPO_ROOT / "services" / "api"
GOOD_PASSWORD = "correct-horse-battery-staple"
TYPO_PASSWORD = "typo-password-never-printed-4711"
CIPHER_PASS = "cipher-pass-never-printed-0815"
ONE = {"name": "a", "image": IMAGE}


def services(*listed: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"microservices": list(listed), **more}


# host: (group, its variables, words its refusal must contain). The host's
# name is one of the words each refusal must contain, except where noted.
HOST_CASES: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    # microservices (app hosts)
    "svc-same-port": (
        "app",
        services({**ONE, "ports": ["8080:80"]}, {"name": "b", "image": IMAGE, "ports": ["8080:81"]}),
        ["service 'b'", "ports", "service 'a' already publishes"],
    ),
    "svc-wildcard-port": (
        "app",
        services({**ONE, "ports": ["127.0.0.1:9000:80"]}, {"name": "b", "image": IMAGE, "ports": ["9000:80"]}),
        ["service 'b'", "0.0.0.0:9000/tcp"],
    ),
    "svc-port-range": ("app", services({**ONE, "ports": ["70000:80"]}), ["ports", "70000 is outside 1-65535"]),
    "svc-port-syntax": ("app", services({**ONE, "ports": ["80:http"]}), ["ports", "is not Docker's -p syntax"]),
    "svc-port-ip": (
        "app",
        services({**ONE, "ports": ["999.999.999.999:8080:80"]}),
        ["ports", "999.999.999.999 is not an IP address"],
    ),
    "svc-no-image": ("app", services({"name": "a"}), ["service 'a'", "needs image", "or build"]),
    "svc-image-shell": (
        "app",
        services({"name": "a", "image": "nginx; rm -rf /"}),
        ["service 'a'", "is not an image reference"],
    ),
    "svc-unknown-dependency": (
        "app",
        services({**ONE, "depends_on": ["db"]}),
        ["service 'a'", "depends_on names 'db'"],
    ),
    "svc-cycle": (
        "app",
        services({**ONE, "depends_on": ["b"]}, {"name": "b", "image": IMAGE, "depends_on": ["a"]}),
        ["depends_on forms a cycle"],
    ),
    "svc-bad-name": ("app", services({"name": "Web_App", "image": IMAGE}), ["'Web_App'", "DNS label"]),
    "svc-undeclared-network": (
        "app",
        services({**ONE, "networks": ["nowhere"]}),
        ["network 'nowhere' is not declared in microservices_networks"],
    ),
    # The argument spec's nested options: Ansible's own checks.
    "svc-unknown-field": (
        "app",
        services({**ONE, "port": ["8080:80"]}),
        ["microservices.port", "Supported parameters"],
    ),
    "svc-restart-policy": (
        "app",
        services({**ONE, "restart_policy": "sometimes"}),
        ["restart_policy must be one of", "unless-stopped", "got: sometimes"],
    ),
    "svc-build-without-context": (
        "app",
        services({"name": "a", "build": {"dockerfile": "Dockerfile"}}),
        ["missing required arguments: context"],
    ),
    "svc-database-user": (
        "app",
        services({**ONE, "database": {"name": "app", "user": "nobody"}}),
        ["service 'a': database user 'nobody' is not in postgresql_users", "database 'app' is not in"],
    ),
    "svc-ports-mapping": ("app", services({**ONE, "ports": {"8080": 80}}), ["ports", "unable to convert to list"]),
    "svc-memory": ("app", services({**ONE, "memory": "lots"}), ["memory 'lots' is not a size"]),
    "svc-cpus": ("app", services({**ONE, "cpus": "many"}), ["cpus 'many' is not a number of CPUs"]),
    "svc-docker-socket": (
        "app",
        services({**ONE, "volumes": ["/var/run/docker.sock:/var/run/docker.sock"]}),
        ["mounts the host's /var/run/docker.sock", "host_mounts: true"],
    ),
    "svc-host-root": ("app", services({**ONE, "volumes": ["/:/host"]}), ["mounts the host's /", "host_mounts: true"]),
    "svc-build-dir-root": (
        "app",
        services({"name": "etc", "build": {"context": str(API)}}, microservices_build_dir="/"),
        ["microservices_build_dir"],
    ),
    # docker_engine (docker hosts)
    "docker-source": ("docker", {"docker_engine_source": "snap"}, ["docker_engine_source", "official", "distro"]),
    "docker-users": ("docker", {"docker_engine_users": "alice"}, ["docker_engine_users must be a YAML list"]),
    "docker-options": (
        "docker",
        {"docker_engine_daemon_options": ["log-driver", "local"]},
        ["docker_engine_daemon_options"],
    ),
    "docker-unknown-key": (
        "docker",
        {"docker_engine_daemon_options": {"log-levle": "warn"}},
        ["docker_engine_daemon_options", "log-levle"],
    ),
    "docker-tcp": (
        "docker",
        {"docker_engine_daemon_options": {"hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"]}},
        ["tcp://0.0.0.0:2375 without TLS", "docker_engine_allow_insecure_tcp"],
    ),
    "docker-loopback-tcp": (
        "docker",
        {"docker_engine_daemon_options": {"hosts": ["tcp://127.0.0.1:2375"]}},
        ["tcp://127.0.0.1:2375 without TLS", "every local user"],
    ),
    "docker-sources": (
        "docker",
        {"docker_engine_published_ports_allowed_sources": ["999.1.1.1/99"]},
        ["docker_engine_published_ports_allowed_sources", "999.1.1.1/99"],
    ),
    "docker-version": ("docker", {"docker_engine_version": "latest; rm -rf /"}, ["docker_engine_version"]),
    "docker-environment": (
        "docker",
        {"docker_engine_environment": {"HTTPS_PROXY": "http://u:proxy-secret@proxy:3128\nExecStartPre=/bin/evil"}},
        ["docker_engine_environment values must be one line", "HTTPS_PROXY"],
    ),
    # postgresql_replication (replicas of one cluster whose primary is sound)
    "pg-setting-key": (
        "replica",
        {"postgresql_settings": {"work_mem = '1MB'\nshared_preload_libraries": "evil"}},
        ["postgresql_settings has the key", "not a setting name"],
    ),
    "pg-setting-value": (
        "replica",
        {"postgresql_settings": {"work_mem": "1MB'\nssl = 'off"}},
        ["postgresql_settings 'work_mem' must be one value on one line"],
    ),
    "pg-superuser": (
        "replica",
        {"postgresql_users": [{"name": "app", "password": GOOD_PASSWORD, "role_attr_flags": "LOGIN,SUPERUSER"}]},
        ["postgresql_users 'app' asks for SUPERUSER"],
    ),
    "pg-short-app-password": (
        "replica",
        {"postgresql_users": [{"name": "app", "password": "app"}]},
        ["postgresql_users 'app' has a password shorter than 16 characters"],
    ),
    "pg-role-flag": (
        "replica",
        {"postgresql_users": [{"name": "app", "password": GOOD_PASSWORD, "role_attr_flags": "LOGIN,ADMIN"}]},
        ["postgresql_users 'app' has role_attr_flags ADMIN"],
    ),
    # A typo in a user's keys: refused by the spec's nested options, and the
    # password (the entry is no_log) is not repeated in the refusal.
    "pg-user-typo": (
        "replica",
        {"postgresql_users": [{"name": "app", "passwrd": TYPO_PASSWORD}]},
        ["postgresql_users.passwrd", "Supported parameters include"],
    ),
    "pg-grant-without-database": (
        "replica",
        {"postgresql_users": [{"name": "app", "password": GOOD_PASSWORD, "grants": [{"privileges": "CONNECT"}]}]},
        ["missing required arguments: database"],
    ),
    "pg-port": ("replica", {"postgresql_port": 70000}, ["postgresql_port is 70000", "between 1 and 65535"]),
    "pg-short-lab-password": (
        "replica",
        {"dockyard_lab": True, "postgresql_replication_password": "lab"},
        ["postgresql_replication_password is shorter than 16 characters"],
    ),
    "pg-wal-senders": ("replica", {"postgresql_max_wal_senders": 3}, ["postgresql_max_wal_senders is 3"]),
    "pg-synchronous": ("replica", {"postgresql_synchronous_replicas": 99}, ["postgresql_synchronous_replicas is 99"]),
    # The backup repository's host (postgresql_backup_hosts). The table puts
    # several in the group: each is also told the group holds more than one.
    "bk-no-cipher": ("backup", {}, ["postgresql_backup_cipher_pass is empty", "vault"]),
    "bk-schedule": (
        "backup",
        {
            "postgresql_backup_cipher_pass": CIPHER_PASS,
            "postgresql_backup_schedule": {"full": "every sunday", "diff": ""},
        },
        ["postgresql_backup_schedule is not what systemd reads", 'full "every sunday"', "man systemd.time"],
    ),
    "bk-schedule-key": (
        "backup",
        {
            "postgresql_backup_cipher_pass": CIPHER_PASS,
            "postgresql_backup_schedule": {"full": "", "diff": "", "hourly": "*:00"},
        },
        ["postgresql_backup_schedule", "hourly"],
    ),
    "bk-retention": (
        "backup",
        {"postgresql_backup_cipher_pass": CIPHER_PASS, "postgresql_backup_retention_full": 0},
        ["postgresql_backup_retention_full is 0"],
    ),
    "bk-on-a-database-host": (
        "backup-replica",
        {"postgresql_backup_cipher_pass": CIPHER_PASS},
        ["is in postgresql_backup_hosts and is also a database host", "outside postgresql_primary"],
    ),
}
CLUSTER_PRIMARY = "pg-primary"
# A host name libpq would read as more parameters: refused by name, wherever it is.
SPACED = "pg space"


def host_inventory() -> dict[str, Any]:
    def hosts(group: str) -> dict[str, Any]:
        return {name: variables for name, (kind, variables, _) in HOST_CASES.items() if kind == group}

    apps = hosts("app")
    return {
        "all": {
            "vars": {"ansible_connection": "local", "postgresql_replication_password": GOOD_PASSWORD},
            "children": {
                "docker_hosts": {"hosts": {**{name: None for name in apps}, **hosts("docker")}},
                "app_hosts": {"hosts": apps},
                "postgresql": {
                    "children": {
                        "postgresql_primary": {"hosts": {CLUSTER_PRIMARY: None}},
                        "postgresql_replicas": {"hosts": {**hosts("replica"), **hosts("backup-replica"), SPACED: None}},
                    }
                },
                "postgresql_backup_hosts": {
                    "hosts": {**hosts("backup"), **{name: None for name in hosts("backup-replica")}}
                },
            },
        }
    }


def dockyard(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dockyard", *args],
        cwd=project,
        env={**os.environ, "DOCKYARD_HOME": str(project)},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("table") / "project"
    root.mkdir()
    for name in ("roles", "playbooks", "ansible.cfg", "services", ".collections"):
        (root / name).symlink_to(REPO_ROOT / name)
    (root / "inventory").mkdir()
    return root


@pytest.fixture(scope="module")
def refusals(project: Path) -> dict[str, str]:
    """Each host's refusals, from one `dockyard validate --json` of them all,
    as the CLI shows them: the host, then the message (its words may or may
    not repeat the host's name)."""
    inventory = project / "inventory" / "cases"
    inventory.mkdir()
    (inventory / "hosts.yml").write_text(yaml.safe_dump(host_inventory()))
    result = dockyard(project, "validate", "-i", str(inventory), "--json")
    assert result.returncode == 2, result.stdout + result.stderr
    messages: dict[str, str] = {}
    for failure in json.loads(result.stdout)["failures"]:
        said = f"{failure['host']}: {' '.join(failure['message'].split())}"
        messages[failure["host"]] = f"{messages.get(failure['host'], '')} {said}"
    return messages


@pytest.mark.parametrize("host", list(HOST_CASES), ids=list(HOST_CASES))
def test_a_host_with_bad_variables_is_refused_with_its_name_variable_and_fix(
    refusals: dict[str, str], host: str
) -> None:
    _, _, words = HOST_CASES[host]
    said = refusals.get(host, "")
    for word in [host, *words]:
        assert word in said, f"{host}: {word!r} not in {said!r}"


def test_a_refusal_never_repeats_a_password(refusals: dict[str, str]) -> None:
    said = " ".join(refusals.values())
    assert TYPO_PASSWORD not in said and GOOD_PASSWORD not in said and CIPHER_PASS not in said


def test_a_host_name_libpq_would_misread_is_refused(refusals: dict[str, str]) -> None:
    said = " ".join(refusals.values())
    assert f"'{SPACED}' is not a name Dockyard can use for a PostgreSQL host" in said
    assert "ansible_host" in said  # the fix: a plain name, the address in ansible_host


def test_the_sound_hosts_are_not_blamed(refusals: dict[str, str]) -> None:
    assert set(refusals) - {CLUSTER_PRIMARY, SPACED} <= set(HOST_CASES)
    assert all(host in refusals for host in HOST_CASES)


def cluster(primaries: str, replicas: str, more: str = "") -> str:
    """A hosts.yml of these PostgreSQL groups (YAML flow mappings of names)."""
    groups = f"    postgresql_replicas: {{hosts: {{{replicas}}}}}\n{more}"
    if primaries:
        groups = f"    postgresql_primary: {{hosts: {{{primaries}}}}}\n{groups}"
    return f"all:\n  children:\n{groups}"


# name: (hosts.yml, command, words the refusal must contain)
INVENTORY_CASES: dict[str, tuple[str, list[str], list[str]]] = {
    "an inventory with none of Dockyard's groups": (
        "db1\n",
        ["validate"],
        ["puts no host in any of Dockyard's groups", "docker_hosts", "inventory/example/ shows the layout"],
    ),
    "two primaries": (
        cluster("db1: , db9: ", "db2: "),
        ["validate"],
        ["postgresql_primary must hold exactly one host", "db1, db9", "Put one host in postgresql_primary"],
    ),
    "replicas without a primary": (
        cluster("", "db2: , db3: "),
        ["validate"],
        ["postgresql_primary must hold exactly one host", "holds 0"],
    ),
    "a host in both groups": (
        cluster("db1: ", "db1: , db2: "),
        ["validate"],
        ["db1 is in both postgresql_primary and postgresql_replicas", "remove it from one"],
    ),
    "a switchover to a host not in the inventory": (
        cluster("db1: ", "db2: "),
        ["switchover", "--to", "db9"],
        ["db9", "--to", "db2"],
    ),
    "a switchover to a host outside the cluster": (
        cluster("db1: ", "db2: ", "    app_hosts: {hosts: {app1: }}\n    docker_hosts: {hosts: {app1: }}\n"),
        ["switchover", "--to", "app1"],
        ["app1", "--to", "db2"],
    ),
}


@pytest.mark.parametrize("case", list(INVENTORY_CASES), ids=list(INVENTORY_CASES))
def test_an_inventory_or_command_that_cannot_work_is_refused(project: Path, tmp_path: Path, case: str) -> None:
    content, command, words = INVENTORY_CASES[case]
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    (inventory / "hosts.yml").write_text(
        content.replace("all:\n", f"all:\n  vars: {{postgresql_replication_password: {GOOD_PASSWORD}}}\n", 1)
        if content.startswith("all:")
        else content
    )
    result = dockyard(project, *command, "-i", str(inventory))
    assert result.returncode == 2, result.stdout + result.stderr
    said = " ".join((result.stdout + result.stderr).split())
    for word in words:
        assert word in said, f"{word!r} not in {said!r}"


def test_a_yaml_mistake_in_group_vars_names_the_file_and_line(project: Path, tmp_path: Path) -> None:
    inventory = tmp_path / "inventory"
    (inventory / "group_vars").mkdir(parents=True)
    (inventory / "hosts.yml").write_text("all:\n  children:\n    docker_hosts: {hosts: {app1: }}\n")
    (inventory / "group_vars" / "all.yml").write_text("docker_engine_users: [alice\nother: 1\n")
    result = dockyard(project, "validate", "-i", str(inventory))
    assert result.returncode == 2, result.stdout + result.stderr
    said = " ".join((result.stdout + result.stderr).split())
    assert str(inventory / "group_vars" / "all.yml") in said and "line" in said, said
