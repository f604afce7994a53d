"""SSH host keys are checked, for real: a systemd host from the lab image runs
sshd; the first `dockyard` run over SSH learns its key into the inventory's
known_hosts, a later one with the same key goes through, and once the host's
key changes (what a man in the middle shows) the run stops with exit 1 and a
message saying what happened and what to do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import REPO_ROOT, Host, sh, systemd_host, wait_for


@pytest.fixture(scope="module")
def ssh_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Host, Path, str]]:
    keys = tmp_path_factory.mktemp("keys")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "id")], check=True)
    with systemd_host(tmp_path_factory.mktemp("unused")) as host:
        # The lab image carries openssh-server without host keys (each host makes its own).
        assert sh(host.container, "ssh-keygen -A").returncode == 0
        host.run("mkdir", "-p", "-m", "0700", "/root/.ssh", check=True)
        host.write("/root/.ssh/authorized_keys", (keys / "id.pub").read_text())
        assert sh(host.container, "systemctl restart ssh").returncode == 0
        address = subprocess.run(
            ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", host.container],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert wait_for(lambda: sh(host.container, "ss -ltn | grep -q ':22 '").returncode == 0)
        yield host, keys / "id", address


def ssh_inventory(folder: Path, address: str, key: Path, user: str = "root", **more: object) -> Path:
    """An inventory directory with the SSH host as sshhost, a docker host."""
    folder.mkdir()
    host_vars = {
        "ansible_host": address,
        "ansible_user": user,
        "ansible_ssh_private_key_file": str(key),
        "ansible_python_interpreter": "/usr/bin/python3",
        **more,
    }
    (folder / "hosts.yml").write_text(
        json.dumps({"all": {"children": {"docker_hosts": {"hosts": {"sshhost": host_vars}}}}})
    )
    return folder


def learned_for(known_hosts: Path, address: str) -> bool:
    """Whether known_hosts holds a key for address (names may be hashed)."""
    found = subprocess.run(["ssh-keygen", "-F", address, "-f", str(known_hosts)], capture_output=True, text=True)
    return found.returncode == 0 and bool(found.stdout.strip())


def dockyard(inventory: Path, control: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DOCKYARD_HOME": str(REPO_ROOT),
        # Each run opens its own SSH connection: a master kept from the run
        # before would skip the host key check.
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control),
    }
    return subprocess.run(
        [sys.executable, "-m", "dockyard", *args, "-i", str(inventory)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_keys_are_learned_once_and_a_changed_key_stops_the_run(ssh_host, tmp_path: Path) -> None:
    host, key, address = ssh_host
    inventory_dir = ssh_inventory(tmp_path / "inventory", address, key)
    known_hosts = inventory_dir / "known_hosts"
    # The inventory is the directory, as inventory/example and the lab's are:
    # the known_hosts the first run writes there must not be read as inventory.

    for attempt in range(2):
        control = tmp_path / f"cp{attempt}"
        control.mkdir()
        result = dockyard(inventory_dir, control, "status", "--json")
        assert result.returncode == 0, result.stdout + result.stderr
        assert json.loads(result.stdout)["hosts"]["sshhost"]["reachable"] is True, result.stdout
        assert known_hosts.is_file() and learned_for(known_hosts, address)
    learned = known_hosts.read_text()
    # validate parses the inventory itself, strictly: known_hosts is no part of it.
    checked = dockyard(inventory_dir, tmp_path, "validate")
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # The host now shows another key.
    assert sh(host.container, "rm /etc/ssh/ssh_host_* && ssh-keygen -A && systemctl restart ssh").returncode == 0
    control = tmp_path / "cp-changed"
    control.mkdir()
    result = dockyard(inventory_dir, control, "docker", "--check")
    assert result.returncode == 1, result.stdout + result.stderr
    message = " ".join((result.stdout + result.stderr).split())
    assert "is not the one learned in" in message and "ssh-keygen -R HOST" in message, message
    assert known_hosts.read_text() == learned, "a changed key must not be learned over the old one"


def test_a_login_without_password_less_sudo_is_explained(ssh_host, tmp_path: Path) -> None:
    # Over SSH as a user sudo asks for a password (the production shape with
    # become: true, minus the sudoers line): the run stops on its first task,
    # before any change, and says what to add on the host.
    host, key, address = ssh_host
    host.run("sh", "-c", "id nosudo || useradd -m nosudo", check=True)
    host.run("install", "-d", "-m", "0700", "-o", "nosudo", "-g", "nosudo", "/home/nosudo/.ssh", check=True)
    host.write("/home/nosudo/.ssh/authorized_keys", key.with_suffix(".pub").read_text())
    host.run("chown", "nosudo:nosudo", "/home/nosudo/.ssh/authorized_keys", check=True)
    inventory_dir = ssh_inventory(tmp_path / "inventory", address, key, user="nosudo", ansible_become=True)
    (tmp_path / "cp").mkdir()
    result = dockyard(inventory_dir, tmp_path / "cp", "docker", "--check")
    assert result.returncode == 1, result.stdout + result.stderr
    message = " ".join((result.stdout + result.stderr).split())
    assert "password-less sudo" in message and "NOPASSWD" in message, message
    assert not host.exists("/etc/docker")


def test_mitogen_meeting_an_unknown_host_key_says_how_to_learn_it(
    ssh_host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Mitogen's SSH enforces known_hosts and learns nothing (no accept-new).
    _, key, address = ssh_host
    inventory_dir = ssh_inventory(tmp_path / "inventory", address, key)
    (tmp_path / "cp").mkdir()
    monkeypatch.setenv("DOCKYARD_STRATEGY", "mitogen")
    result = dockyard(inventory_dir, tmp_path / "cp", "docker", "--check")
    assert result.returncode == 1, result.stdout + result.stderr
    message = " ".join((result.stdout + result.stderr).split())
    assert "Mitogen learns none" in message and "Run once without it" in message, message
