"""What the benchmarks share: a scratch project that points at this checkout,
the environment that gives it a lab of its own (dockyard-bench,
192.168.234.0/24, so the user's lab is never touched), and a timed run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAB = "dockyard-bench"
SUBNET = "192.168.234.0/24"
VENV_BIN = Path(sys.executable).parent
DOCKYARD = str(VENV_BIN / "dockyard")


def make_project(root: Path) -> Path:
    project = root / "project"
    project.mkdir()
    for name in ("roles", "playbooks", "ansible.cfg", "scripts", "services", ".collections"):
        (project / name).symlink_to(REPO / name)
    (project / "inventory").mkdir()
    (project / "inventory" / "localhost.yml").symlink_to(REPO / "inventory" / "localhost.yml")
    return project


def environment(project: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": str(VENV_BIN) + os.pathsep + os.environ.get("PATH", ""),
        "DOCKYARD_HOME": str(project),
        "DOCKYARD_LAB_NAME": LAB,
        "DOCKYARD_LAB_SUBNET": SUBNET,
        "ANSIBLE_CONFIG": str(project / "ansible.cfg"),
        "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(project / ".cache" / "facts"),
    }


@contextmanager
def bench_lab(
    keep: bool = False, connection: str = "docker", release: str = ""
) -> Iterator[tuple[Path, dict[str, str]]]:
    """A scratch project with its lab up: (project, environment). The lab is
    removed at the end, even after a failure, unless keep. connection is
    `dockyard lab up --connection` (docker exec as root, or ssh as deploy + sudo);
    release its --release (the hosts' Debian release; '' for this machine's)."""
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as scratch:
        project = make_project(Path(scratch))
        env = environment(project)
        try:
            print("bench lab up", file=sys.stderr)
            run(
                [DOCKYARD, "lab", "up", "--connection", connection, *(["--release", release] if release else [])],
                env,
                project,
            )
            yield project, env
        finally:
            if not keep:
                subprocess.run([DOCKYARD, "lab", "down"], env=env, cwd=project, capture_output=True)


def run(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    """Runs a command to success and returns its wall time in seconds."""
    started = time.monotonic()
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"failed: {' '.join(argv)}")
    if "changed=" in result.stdout and argv[0].endswith("ansible-playbook"):
        changed = sum(int(p.split()[0]) for p in result.stdout.split(" changed=")[1:])
        print(f"  {Path(argv[-1]).name}: {elapsed:.1f} s, changed={changed}", file=sys.stderr)
    return elapsed


def dockyard_json(args: list[str], env: dict[str, str], project: Path, check: bool = True) -> tuple[float, dict]:
    """`dockyard ARGS --json`: wall time and the parsed result; stops on
    failure unless check is false."""
    started = time.monotonic()
    result = subprocess.run([DOCKYARD, *args, "--json"], env=env, cwd=project, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if result.returncode != 0 and check:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"failed: dockyard {' '.join(args)}")
    return elapsed, json.loads(result.stdout)


def psql(container: str, sql: str, db: str = "postgres") -> str:
    return subprocess.run(
        ["docker", "exec", "-u", "postgres", container, "/usr/bin/psql", "-X", "-At", "-d", db, "-c", sql],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def machine() -> str:
    import platform

    return f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"
