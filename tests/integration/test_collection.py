"""The collection as a user gets it: the artifact `ansible-galaxy collection
build` makes from this repository, installed into a collections path of its
own, runs dockyard.platform.docker_engine on a fresh host from a playbook that
knows nothing of this repository (no roles_path, no .collections link)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from support import REPO_ROOT, recap_changed, systemd_host

PLAYBOOK = """---
- name: Docker Engine from the installed collection
  hosts: docker_hosts
  gather_facts: false
  become: true
  roles:
    - role: dockyard.platform.docker_engine
      docker_engine_source: distro
"""


def galaxy(*argv: str, cwd: Path) -> str:
    result = subprocess.run(
        [shutil.which("ansible-galaxy") or "ansible-galaxy", "collection", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_installed_artifact_runs_the_docker_engine_role(tmp_path: Path) -> None:
    galaxy("build", "--output-path", str(tmp_path / "build"), str(REPO_ROOT), cwd=tmp_path)
    [artifact] = (tmp_path / "build").glob("dockyard-platform-*.tar.gz")
    collections = tmp_path / "collections"
    galaxy("install", "--no-deps", "--offline", "-p", str(collections), str(artifact), cwd=tmp_path)
    installed = collections / "ansible_collections" / "dockyard" / "platform"
    assert (installed / "plugins" / "module_utils" / "ha_plans.py").is_file()
    assert not (installed / "tests" / "integration").exists()
    assert not (installed / "src").exists()

    (tmp_path / "site.yml").write_text(PLAYBOOK)
    (tmp_path / "ansible.cfg").write_text(
        f"[defaults]\ncollections_path = {collections}\ninterpreter_python = auto_silent\n"
        "[connection]\npipelining = True\n"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_") and key != "PYTHONPATH"}
    env.update(ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    with systemd_host(tmp_path) as host:
        # Check mode runs every task file of the role (and its modules and
        # filters) without installing anything.
        result = subprocess.run(
            [shutil.which("ansible-playbook") or "ansible-playbook", "-i", str(host.inventory), "--check", "site.yml"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert str(REPO_ROOT) not in output
        assert "dockyard.platform.docker_engine : " in output
        assert recap_changed(output) > 0
        assert not host.package_installed("docker.io")
