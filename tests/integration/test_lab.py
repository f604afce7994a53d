"""playbooks/lab.yml creates the lab hosts and their inventory, and removes all
of it again. Runs under its own lab name so a user's lab is never touched."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from support import REPO_ROOT, recap_changed, run_playbook

LAB = "dockyard-pytest"
SUBNET = "192.168.232.0/24"


def docker_json(*argv: str) -> list[dict]:
    out = subprocess.run(["docker", *argv], capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def docker_inspect(*argv: str) -> list[dict]:
    out = subprocess.run(["docker", *argv], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def lab_objects() -> dict[str, list[str]]:
    label = f"label=org.dockyard.lab={LAB}"
    return {
        "containers": [c["Names"] for c in docker_json("ps", "-a", "--filter", label, "--format", "{{json .}}")],
        "volumes": [v["Name"] for v in docker_json("volume", "ls", "--filter", label, "--format", "{{json .}}")],
        "networks": [n["Name"] for n in docker_json("network", "ls", "--filter", label, "--format", "{{json .}}")],
    }


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):
    inventory_dir = tmp_path_factory.mktemp("lab") / "inventory"
    lab_vars = {
        "lab_name": LAB,
        "lab_subnet": SUBNET,
        "lab_replicas": 1,
        "lab_inventory_dir": str(inventory_dir),
    }
    localhost = REPO_ROOT / "inventory" / "localhost.yml"
    created = run_playbook("lab.yml", localhost, lab_vars)
    yield {"vars": lab_vars, "inventory": inventory_dir, "created": created, "localhost": localhost}
    run_playbook("lab.yml", localhost, {**lab_vars, "lab_state": "absent"})


def test_lab_hosts_run_systemd_on_their_network(lab) -> None:
    assert lab["created"].rc == 0, lab["created"].output
    assert sorted(lab_objects()["containers"]) == [f"{LAB}-app1", f"{LAB}-db1", f"{LAB}-db2"]
    for name in ("app1", "db1", "db2"):
        state = subprocess.run(
            ["docker", "exec", f"{LAB}-{name}", "systemctl", "is-system-running"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        assert state in ("running", "degraded")
    network = docker_inspect("network", "inspect", f"{LAB}-lab")[0]
    assert network["IPAM"]["Config"][0]["Subnet"] == SUBNET
    # Hosts reach each other by their inventory names.
    ping = subprocess.run(["docker", "exec", f"{LAB}-db2", "getent", "hosts", "db1"], capture_output=True, text=True)
    assert ping.returncode == 0 and ping.stdout.startswith("192.168.232.")


def test_docker_hosts_get_a_data_volume(lab) -> None:
    assert lab_objects()["volumes"] == [f"{LAB}-app1-docker"]
    mounts = docker_inspect("inspect", f"{LAB}-app1")[0]["Mounts"]
    assert any(m["Destination"] == "/var/lib/docker" and m["Type"] == "volume" for m in mounts)


def test_inventory_and_secrets(lab) -> None:
    inventory: Path = lab["inventory"]
    hosts = (inventory / "hosts.yml").read_text()
    for group in ("docker_hosts", "app_hosts", "postgresql_primary", "postgresql_replicas"):
        assert group in hosts
    secrets = inventory / "group_vars" / "all" / "secrets.yml"
    assert oct(secrets.stat().st_mode & 0o777) == "0o600"
    assert oct(inventory.stat().st_mode & 0o777) == "0o700"
    password = secrets.read_text().split("postgresql_replication_password:")[1].strip()
    assert len(password) >= 32
    assert password not in lab["created"].output


def test_inventory_reaches_every_host(lab) -> None:
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg")}
    result = subprocess.run(
        ["ansible", "-i", str(lab["inventory"]), "all", "-m", "ansible.builtin.ping"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == 3


def test_second_create_changes_nothing_and_keeps_secrets(lab) -> None:
    secrets = lab["inventory"] / "group_vars" / "all" / "secrets.yml"
    before = secrets.read_text()
    again = run_playbook("lab.yml", lab["localhost"], lab["vars"])
    assert again.rc == 0, again.output
    assert recap_changed(again.output) == 0, again.output
    assert secrets.read_text() == before


def test_destroy_leaves_nothing_behind(lab) -> None:
    gone = run_playbook("lab.yml", lab["localhost"], {**lab["vars"], "lab_state": "absent"})
    assert gone.rc == 0, gone.output
    assert lab_objects() == {"containers": [], "volumes": [], "networks": []}
    assert not lab["inventory"].exists()
