"""postgresql_version other than the distribution's comes from the PostgreSQL
apt repository. CI reaches no such repository, so this checks what can be
checked for real on a fresh systemd host: the version decision and the deb822
source the role writes (suite, component, key bound by Signed-By)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import REPO_ROOT, Host, systemd_host

PLAY = """
- name: Version decision and repository
  hosts: all
  gather_facts: true
  become: true
  tasks:
    - name: Learn about the host
      ansible.builtin.include_role:
        name: postgresql_replication
        tasks_from: preflight.yml
    - name: Configure the repository when the version needs it
      ansible.builtin.include_role:
        name: postgresql_replication
        tasks_from: repository.yml
      when: postgresql_replication_from_pgdg
    - name: "Report"
      ansible.builtin.copy:
        dest: /tmp/decision.json
        content: "{{ {'major': postgresql_replication_major, 'pgdg': postgresql_replication_from_pgdg} | to_json }}"
        mode: "0644"
"""


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    with systemd_host(tmp_path_factory.mktemp("inventory"), groups=("postgresql_primary",)) as host:
        yield host


def converge(host: Host, tmp_path: Path, extra: dict) -> subprocess.CompletedProcess[str]:
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY)
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"), ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory")
    argv = [shutil.which("ansible-playbook") or "ansible-playbook", "-i", str(host.inventory)]
    argv += ["-e", json.dumps(extra), str(playbook)]
    return subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_the_distribution_version_needs_no_repository(host: Host, tmp_path: Path) -> None:
    run = converge(host, tmp_path, {"postgresql_version": ""})
    assert run.returncode == 0, run.stdout + run.stderr
    decision = json.loads(host.read("/tmp/decision.json"))
    assert decision == {"major": "15", "pgdg": False}  # Debian 12's own
    assert not host.exists("/etc/apt/sources.list.d/pgdg.sources")


def test_another_version_comes_from_the_postgresql_repository(host: Host, tmp_path: Path) -> None:
    host.write("/usr/share/keyrings/dockyard-test-pgdg.gpg", "a keyring stands here\n")
    run = converge(
        host,
        tmp_path,
        {"postgresql_version": "17", "postgresql_apt_signing_key": "/usr/share/keyrings/dockyard-test-pgdg.gpg"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads(host.read("/tmp/decision.json")) == {"major": "17", "pgdg": True}
    source = host.read("/etc/apt/sources.list.d/pgdg.sources")
    fields = dict(line.split(": ", 1) for line in source.splitlines() if ": " in line)
    assert fields["Types"] == "deb"
    assert fields["URIs"] == "https://apt.postgresql.org/pub/repos/apt"
    assert fields["Suites"] == "bookworm-pgdg"
    assert fields["Components"] == "main"
    assert fields["Signed-By"] == "/usr/share/keyrings/dockyard-test-pgdg.gpg"
