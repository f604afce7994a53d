#!/usr/bin/env python3
"""CLI overhead: `dockyard` against plain `ansible-playbook` on the same playbook
and inventory (localhost, connection local), alternating runs.

    .venv/bin/python scripts/bench/cli_overhead.py [--runs 7] [--tasks 30] [--json FILE]

Target (issue #3): under 5 % slower, or under 0.5 s, whichever is larger.
Prints a table; writes JSON with --json. Talks to nothing but this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def make_project(root: Path, tasks: int) -> Path:
    (root / "playbooks").mkdir(parents=True)
    (root / "roles").symlink_to(REPO / "roles")
    (root / ".collections").symlink_to(REPO / ".collections")
    (root / "playbooks" / "validate.yml").symlink_to(REPO / "playbooks" / "validate.yml")
    shutil.copy(REPO / "ansible.cfg", root / "ansible.cfg")
    lines = ["---", "- name: Benchmark play", "  hosts: all", "  gather_facts: false", "  tasks:"]
    for n in range(tasks):
        module = "ansible.builtin.command: 'true'" if n % 3 == 0 else f"ansible.builtin.debug:\n        msg: task {n}"
        lines += [f"    - name: Task {n}", f"      {module}", "      changed_when: false"]
    (root / "playbooks" / "site.yml").write_text("\n".join(lines) + "\n")
    inventory = root / "inventory.yml"
    inventory.write_text(
        "all:\n  hosts:\n    bench1:\n      ansible_connection: local\n"
        "      ansible_python_interpreter: '{{ ansible_playbook_python }}'\n"
    )
    return inventory


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--tasks", type=int, default=30)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        inventory = make_project(root, args.tasks)
        env = {**os.environ, "DOCKYARD_HOME": str(root), "ANSIBLE_CONFIG": str(root / "ansible.cfg")}
        plain = [str(bin_dir / "ansible-playbook"), "-i", str(inventory), "playbooks/site.yml"]
        cli = [str(bin_dir / "dockyard"), "up", "-i", str(inventory)]
        timed(plain, root, env)  # warm caches (imports, facts dir) for both
        timed(cli, root, env)
        plain_s, cli_s = [], []
        for _ in range(args.runs):
            plain_s.append(timed(plain, root, env))
            cli_s.append(timed(cli, root, env))

    plain_med, cli_med = statistics.median(plain_s), statistics.median(cli_s)
    overhead = cli_med - plain_med
    allowed = max(0.05 * plain_med, 0.5)
    figures = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "tasks": args.tasks,
        "runs": args.runs,
        "ansible_playbook_median_s": round(plain_med, 3),
        "dockyard_median_s": round(cli_med, 3),
        "overhead_s": round(overhead, 3),
        "overhead_pct": round(100 * overhead / plain_med, 1),
        "allowed_s": round(allowed, 3),
        "within_target": overhead <= allowed,
    }
    print(f"CLI overhead, {args.tasks} tasks on localhost, median of {args.runs} alternating runs")
    print(f"  {'ansible-playbook':<18}{plain_med:8.2f} s   (min {min(plain_s):.2f})")
    print(f"  {'dockyard up':<18}{cli_med:8.2f} s   (min {min(cli_s):.2f})")
    print(f"  {'overhead':<18}{overhead:8.2f} s   ({figures['overhead_pct']:+.1f} %)")
    print(f"  target: <= {allowed:.2f} s -> {'met' if figures['within_target'] else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
