"""Helpers for the pytest suite: real containers from the lab image, real
ansible-playbook runs. Nothing here is faked."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
# Where Ansible (and Python: pyproject's pytest pythonpath) finds the repository
# as the collection dockyard.platform.
COLLECTIONS_PATH = REPO_ROOT / ".collections"
LAB_IMAGE = os.environ.get("DOCKYARD_LAB_IMAGE", "dockyard-lab:latest")


def load_source(name: str, path: Path) -> ModuleType:
    """A role's plugin or module file, imported as a Python module (roles are
    not packages), so its functions can be tested as they are."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


# How a container runs systemd without --privileged, as the lab and Molecule
# start their hosts (playbooks/tasks/systemd-hosts.yml): a test host is a lab host.
SYSTEMD_HOST = REPO_ROOT / "playbooks" / "vars" / "systemd-host.yml"


@functools.cache
def cgroup_v2() -> bool:
    """Whether the engine's host runs cgroup v2, asked of the engine as the
    playbooks ask it (docker_host_info's CgroupVersion)."""
    version = subprocess.run(
        ["docker", "info", "--format", "{{.CgroupVersion}}"], capture_output=True, text=True
    ).stdout.strip()
    return version == "2"


def systemd_host_settings() -> dict:
    return yaml.safe_load(SYSTEMD_HOST.read_text())["systemd_host"]


def systemd_container_args() -> list[str]:
    """The `docker run` options that run systemd in a container without
    --privileged (those before the image; systemd_container_command after it)."""
    settings = systemd_host_settings()
    cgroup = settings["cgroup"]
    args = ["--stop-signal", settings["stop_signal"]]
    for capability in settings["capabilities"]:
        args += ["--cap-add", capability]
    for option in settings["security_opts"]:
        args += ["--security-opt", option]
    if cgroup_v2():
        args += ["--cgroupns", settings["cgroupns_mode"]]
    for path in settings["tmpfs"]:
        args += ["--tmpfs", path]
    access = cgroup["v2"] if cgroup_v2() else cgroup["v1"]
    return [*args, "-v", f"{cgroup['path']}:{cgroup['path']}:{access}"]


def systemd_container_command() -> list[str]:
    return [systemd_host_settings()["command"]]


@dataclass
class Host:
    """A throwaway systemd host from the lab image."""

    container: str
    inventory: Path

    def run(self, *argv: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["docker", "exec", self.container, *argv], capture_output=True, text=True, check=check)

    def exists(self, path: str) -> bool:
        return self.run("test", "-e", path).returncode == 0

    def read(self, path: str) -> str:
        return self.run("cat", path, check=True).stdout

    def write(self, path: str, content: str) -> None:
        subprocess.run(
            ["docker", "exec", "-i", self.container, "sh", "-c", f"cat > {path}"],
            input=content,
            text=True,
            check=True,
        )

    def package_installed(self, name: str) -> bool:
        result = self.run("dpkg-query", "-W", "-f=${Status}", name)
        return result.returncode == 0 and "install ok installed" in result.stdout


def start_systemd_container(name: str, hostname: str, *options: str, image: str = LAB_IMAGE) -> None:
    """A systemd host in a container, from the one recipe; options (networks,
    volumes) go before the image."""
    argv = ["docker", "run", "-d", "--name", name, "--hostname", hostname, *systemd_container_args(), *options]
    subprocess.run([*argv, image, *systemd_container_command()], check=True, capture_output=True)


@contextmanager
def systemd_host(tmp_path: Path, groups: tuple[str, ...] = ("docker_hosts",)) -> Iterator[Host]:
    name = f"dockyard-pytest-{uuid.uuid4().hex[:8]}"
    start_systemd_container(name, "testhost")
    try:
        for _ in range(60):
            state = subprocess.run(
                ["docker", "exec", name, "systemctl", "is-system-running"],
                capture_output=True,
                text=True,
            ).stdout.strip()
            if state in ("running", "degraded"):
                break
            subprocess.run(["sleep", "0.5"], check=True)
        inventory = tmp_path / f"{name}.yml"
        host_vars = {
            "ansible_connection": "community.docker.docker",
            "ansible_host": name,
            "ansible_python_interpreter": "/usr/bin/python3",
        }
        inventory.write_text(json.dumps({"all": {"children": {g: {"hosts": {"testhost": host_vars}} for g in groups}}}))
        yield Host(container=name, inventory=inventory)
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True)


@dataclass
class PlaybookRun:
    rc: int
    output: str


def run_playbook(
    playbook: str,
    inventory: Path,
    extra_vars: dict | None = None,
    *options: str,
) -> PlaybookRun:
    """ansible-playbook with the project's ansible.cfg and no fact cache."""
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"),
        ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory",
        ANSIBLE_NOCOLOR="1",
    )
    argv = [shutil.which("ansible-playbook") or "ansible-playbook", "-i", str(inventory)]
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    argv += [*options, str(REPO_ROOT / "playbooks" / playbook)]
    result = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
    return PlaybookRun(rc=result.returncode, output=result.stdout + result.stderr)


def local_project(tmp_path: Path, playbook: str, text: str) -> tuple[Path, Path]:
    """A project of one playbook (playbooks/<playbook>) with the repository's
    ansible.cfg, and an inventory of one host, local1, on this machine:
    (project root, inventory). For tests of what the CLI makes of a real run."""
    root = tmp_path / "project"
    (root / "playbooks").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "ansible.cfg", root / "ansible.cfg")
    (root / "playbooks" / playbook).write_text(text)
    inventory = root / "hosts.yml"
    inventory.write_text(
        "all:\n  hosts:\n    local1:\n      ansible_connection: local\n"
        '      ansible_python_interpreter: "{{ ansible_playbook_python }}"\n'
    )
    return root, inventory


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.5) -> bool:
    """Poll predicate until it holds or time runs out. A predicate that asserts
    (a psql helper whose server is still starting) counts as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except AssertionError:
            pass
        time.sleep(interval)
    return False


def sh(container: str, command: str, user: str = "root") -> subprocess.CompletedProcess[str]:
    """A shell command in a container, its result returned whatever it is."""
    return subprocess.run(
        ["docker", "exec", "-u", user, container, "sh", "-c", command], capture_output=True, text=True, timeout=120
    )


def psql(container: str, sql: str, db: str = "postgres") -> str:
    """One SQL statement as postgres in a container; its unaligned output."""
    result = subprocess.run(
        ["docker", "exec", "-u", "postgres", container, "psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"{container}: {sql}: {result.stderr}"
    return result.stdout.strip()


def recap_changed(output: str) -> int:
    """Sum of changed= over the PLAY RECAP lines."""
    total = 0
    for line in output.splitlines():
        if " changed=" in line and "ok=" in line:
            total += int(line.split(" changed=")[1].split()[0])
    return total


def processes_running(marker: str) -> list[str]:
    """`ps` lines of processes whose command line holds marker (a cancelled run
    must leave none behind)."""
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in ps.splitlines() if marker in line and "ps -eo" not in line]


# The minimal host has no curl: its own python3 fetches the page.
HTTP_GET = (
    "import sys, urllib.request; "
    "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])).read().decode())"
)


def http_get_on(host, url: str, timeout: float = 3.0):
    """GET url from inside a Testinfra host; its command result (rc 0 and the
    body on stdout when the page answered with 2xx)."""
    return host.run("python3 -c %s %s %s", HTTP_GET, url, str(timeout))
