"""`dockyard lab up --connection ssh && dockyard up && dockyard status`, then
`dockyard lab down`, for real: a lab of its own (name, subnet, inventory),
reached the way production servers are (SSH as an unprivileged user, sudo for
the rest, host keys learned once), Docker Engine installed on its app host,
nothing left behind. The Molecule default scenario deploys the same stack
through the docker connection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from support import REPO_ROOT, wait_for

LAB = "dockyard-clitest"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("cli-lab") / "project"
    root.mkdir()
    for name in ("roles", "playbooks", "ansible.cfg", "scripts", "services", ".collections"):
        (root / name).symlink_to(REPO_ROOT / name)
    (root / "inventory").mkdir()
    (root / "inventory" / "localhost.yml").symlink_to(REPO_ROOT / "inventory" / "localhost.yml")
    yield root
    dockyard(root, "lab", "down")


def dockyard(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DOCKYARD_HOME": str(project),
        "DOCKYARD_LAB_NAME": LAB,
        "DOCKYARD_LAB_SUBNET": "192.168.233.0/24",
    }
    return subprocess.run(
        [sys.executable, "-m", "dockyard", *args], cwd=project, env=env, capture_output=True, text=True, timeout=900
    )


def get_items(url: str, served_by: str | None = "replica") -> list[dict]:
    """The items; served by a replica while one streams (its address stays private)."""
    with urllib.request.urlopen(f"{url}/api/items", timeout=15) as response:
        assert served_by is None or response.headers["X-Served-By"] == served_by
        return json.load(response)


def post_and_find(url: str, name: str, served_by: str | None = "replica") -> str:
    """POST an item through the gateway (201) and wait until GET lists it."""
    request = urllib.request.Request(
        f"{url}/api/items", data=json.dumps({"name": name}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        assert response.status == 201
    assert wait_for(lambda: name in [item["name"] for item in get_items(url, served_by)])
    return name


def lab_secrets(project: Path) -> list[str]:
    """The values of the lab's generated secrets file."""
    text = (project / "inventory" / "lab" / "group_vars" / "all" / "secrets.yml").read_text()
    return [line.split(":", 1)[1].strip() for line in text.splitlines() if ":" in line and not line.startswith("#")]


def labelled(kind: str) -> list[str]:
    argv = ["docker", kind, "ls", "--filter", f"label=org.dockyard.lab={LAB}", "--format", "{{.Name}}"]
    if kind == "container":
        argv.insert(3, "-a")
        argv[-1] = "{{.Names}}"
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()


def test_lab_up_up_status_down(project: Path) -> None:
    # What a lab whose app1 was removed by hand leaves: its engine's volume.
    # lab up warns that the new app1 inherits it (and keeps it: no force flag).
    volume = f"{LAB}-app1-docker"
    create = ["docker", "volume", "create", "--label", f"org.dockyard.lab={LAB}", volume]
    subprocess.run(create, capture_output=True, check=True)
    up = dockyard(project, "lab", "up", "--replicas", "1", "--connection", "ssh")
    assert up.returncode == 0, up.stdout + up.stderr
    assert f"Warning: the volume {volume} holds the Docker data of an earlier app1" in " ".join(up.stderr.split())
    again = dockyard(project, "lab", "up", "--replicas", "1", "--connection", "ssh")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Warning" not in again.stderr
    assert "Lab is up: app1, db1, db2 (over SSH as deploy, with sudo)" in up.stdout
    lab_dir = project / "inventory" / "lab"
    assert (lab_dir / "hosts.yml").is_file()
    settings = (lab_dir / "group_vars" / "all" / "lab.yml").read_text()
    assert "ansible_connection: ssh" in settings and "ansible_user: deploy" in settings
    assert (lab_dir / "id_ed25519").stat().st_mode & 0o077 == 0

    deploy = dockyard(project, "up", "--json")
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    result = json.loads(deploy.stdout)
    assert result["ok"] is True and result["playbook"] == "site.yml"
    assert result["recap"]["app1"]["changed"] > 0
    # app1 and the database hosts share no host: both parts ran at once, and
    # then the backups (app1 holds the lab's repository).
    assert "(apps.yml and replication.yml side by side, then backup-setup.yml)" in deploy.stderr

    # Over SSH: every host's key was learned into the lab inventory's known_hosts.
    for address in ("192.168.233.10", "192.168.233.11", "192.168.233.12"):
        found = subprocess.run(["ssh-keygen", "-F", address, "-f", str(lab_dir / "known_hosts")], capture_output=True)
        assert found.returncode == 0, f"no host key learned for {address}"

    status = dockyard(project, "status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    payload = json.loads(status.stdout)
    assert payload["ok"] is True and payload["primary"] == "db1", payload
    hosts = payload["hosts"]
    assert sorted(hosts) == ["app1", "db1", "db2"]
    assert hosts["app1"]["reachable"] and hosts["app1"]["docker"]["running"]
    assert hosts["app1"]["docker"]["version"]
    assert hosts["db1"]["docker"] is None
    assert hosts["app1"]["postgresql"] is None
    primary, replica = hosts["db1"]["postgresql"], hosts["db2"]["postgresql"]
    assert primary["role"] == "primary" and primary["upstream"] is None and primary["timeline"] == 1
    assert replica["role"] == "replica" and replica["upstream"] == "db1" and replica["streaming"] is True
    # The lab asks one replica to confirm each commit: with one replica, it is sync.
    assert replica["sync_state"] in ("sync", "quorum") and replica["lag_bytes"] >= 0
    assert primary["tls"] is True and replica["tls"] is True

    # The sample services run on app1; the gateway's URL works from here, and
    # the api writes to the primary and reads from the replica.
    containers = {c["name"]: c for c in hosts["app1"]["containers"]}
    assert containers["api"]["state"] == "running" and containers["api"]["health"] == "healthy"
    gateway = containers["gateway"]
    assert gateway["health"] == "healthy"
    assert gateway["ports"] == ["0.0.0.0:8080->8080/tcp"]
    url = gateway["urls"][0]
    with urllib.request.urlopen(f"{url}/api/health", timeout=10) as response:
        health = json.load(response)
    assert health["status"] == "ok" and health["database"] == "ok", health
    name = f"item-{time.time_ns()}"
    request = urllib.request.Request(
        f"{url}/api/items", data=json.dumps({"name": name}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
    assert wait_for(lambda: name in [item["name"] for item in get_items(url)])

    # The whole stack re-run: nothing changes (no rebuild, no recreate).
    again = dockyard(project, "up", "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    recap = json.loads(again.stdout)["recap"]
    assert all(counts["changed"] == 0 for counts in recap.values()), recap

    table = dockyard(project, "status")
    assert table.returncode == 0
    assert "app1  Docker " in table.stdout

    # The lab's generated secrets (the replication password, the api's
    # database password, which reaches its container through secret_env)
    # appear in no output, -v included, and in nothing the runs kept.
    secrets = lab_secrets(project)
    assert len(secrets) >= 2
    # The lab's SSH private key, too (its base64 body, line by line).
    key_lines = (lab_dir / "id_ed25519").read_text().splitlines()
    secrets += [line for line in key_lines if not line.startswith("-----") and len(line) > 20]
    # Every process's command line, sampled while a verbose run deploys.
    command_lines: set[str] = set()
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
            command_lines.update(ps.splitlines())
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        verbose = dockyard(project, "up", "-v")
    finally:
        stop.set()
        sampler.join()
    assert verbose.returncode == 0, verbose.stdout + verbose.stderr
    assert any("ansible-playbook" in line for line in command_lines), "the sampler saw no run"
    for secret in secrets:
        assert not [line for line in command_lines if secret in line], "a secret on a command line"
    checked = dockyard(project, "validate")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # A replica whose server is down: reported as such, and the platform as
    # not healthy (exit 1), not as a host without PostgreSQL.
    # The pattern must match the whole unit name, .service included.
    service = "postgresql@*-main.service"
    assert subprocess.run(["docker", "exec", f"{LAB}-db2", "sh", "-c", f"systemctl stop '{service}'"]).returncode == 0
    down = dockyard(project, "status", "--json")
    assert down.returncode == 1, down.stdout + down.stderr
    stopped = json.loads(down.stdout)
    assert stopped["ok"] is False and stopped["primary"] == "db1"
    assert stopped["hosts"]["db2"]["postgresql"]["role"] is None
    assert stopped["hosts"]["db2"]["postgresql"]["running"] is False
    text = dockyard(project, "status")
    assert "installed, not running" in text.stdout and "Not healthy" in text.stdout, text.stdout
    restart = ["docker", "exec", f"{LAB}-db2", "sh", "-c", "systemctl start postgresql@$(ls /etc/postgresql)-main"]
    assert subprocess.run(restart).returncode == 0
    assert wait_for(lambda: json.loads(dockyard(project, "status", "--json").stdout)["ok"], timeout=60)
    moved = dockyard(project, "switchover", "--to", "db2")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    # The api follows the primary with no redeploy: libpq tries every cluster
    # host and keeps the one that takes writes.
    after_switchover = post_and_find(url, f"after-switchover-{time.time_ns()}")
    with urllib.request.urlopen(f"{url}/api/health", timeout=10) as response:
        assert json.load(response) == {"status": "ok", "database": "ok", "writes": True}
    writes_to = json.loads(dockyard(project, "status", "--json").stdout)["hosts"]["app1"]["containers"]
    assert {c["name"]: c["database"] for c in writes_to}["api"] == {"name": "app", "writes_to": "db2"}

    # db2, the primary now, is lost (its host stops): failover to db1 over SSH,
    # then db2 comes back, stays down (db1 is on a newer timeline) and rejoins.
    assert subprocess.run(["docker", "stop", f"{LAB}-db2"], capture_output=True).returncode == 0
    failed_over = dockyard(project, "failover", "--to", "db1")
    assert failed_over.returncode == 0, failed_over.stdout + failed_over.stderr
    # Again with no `dockyard up` in between: the rows written before and
    # after the switchover are there, and a new one goes to db1.
    # db2 is down: db1, the only server, serves the reads too.
    post_and_find(url, f"after-failover-{time.time_ns()}", served_by="primary")
    assert after_switchover in [item["name"] for item in get_items(url, served_by="primary")]
    assert subprocess.run(["docker", "start", f"{LAB}-db2"], capture_output=True).returncode == 0

    def booted() -> bool:
        state = subprocess.run(["docker", "exec", f"{LAB}-db2", "systemctl", "is-system-running"], capture_output=True)
        return state.stdout.strip() in (b"running", b"degraded")

    assert wait_for(booted, timeout=60)
    rejoined = dockyard(project, "rejoin", "db2")
    assert rejoined.returncode == 0, rejoined.stdout + rejoined.stderr
    back = json.loads(dockyard(project, "status", "--json").stdout)
    assert back["primary"] == "db1" and back["hosts"]["db2"]["postgresql"]["role"] == "replica", back
    assert wait_for(lambda: json.loads(dockyard(project, "status", "--json").stdout)["ok"], timeout=60)

    # The moves needed no redeploy, and the next two runs change nothing
    # (the first may only follow the new primary on the database hosts).
    settle = dockyard(project, "up", "--json")
    assert settle.returncode == 0, settle.stdout + settle.stderr
    assert json.loads(settle.stdout)["recap"]["app1"]["changed"] == 0, settle.stdout
    second = dockyard(project, "up", "--json")
    assert second.returncode == 0, second.stdout + second.stderr
    assert all(c["changed"] == 0 for c in json.loads(second.stdout)["recap"].values()), second.stdout

    for run in (deploy, again, status, table, verbose, checked, moved, failed_over, rejoined, settle, second):
        for secret in secrets:
            assert secret not in run.stdout + run.stderr, f"a secret in the output of {run.args}"
    for kept in (project / ".dockyard", project / ".cache"):
        for path in kept.rglob("*"):
            if path.is_file():
                text = path.read_text(errors="replace")
                for secret in secrets:
                    assert secret not in text, f"a secret in {path}"

    down = dockyard(project, "lab", "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert labelled("container") == []
    assert labelled("volume") == []
    assert labelled("network") == []
    assert not (project / "inventory" / "lab").exists()
