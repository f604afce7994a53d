#!/usr/bin/env python3
"""The whole platform on each Debian release the lab runs, in one run: for
bookworm (Debian 12) and trixie (Debian 13), a lab of its own (app1, db1
primary, db2 and db3 replicas), the cold `dockyard up` from bare hosts and the
warm re-runs (each must change nothing), with the PostgreSQL and Docker
versions each release brought.

    .venv/bin/python scripts/bench/releases.py [--reruns 2] [--json FILE]

Builds dockyard-lab:trixie first if it is missing (scripts/build-lab-image.sh
--release trixie). Uses DOCKYARD_LAB_NAME=dockyard-bench on 192.168.234.0/24
in a scratch project, one release after the other, each removed at the end;
talks only to that lab's containers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchlab import LAB, REPO, bench_lab, dockyard_json, machine

RELEASES = ("bookworm", "trixie")


def versions() -> dict[str, str]:
    def out(container: str, *argv: str) -> str:
        result = subprocess.run(["docker", "exec", container, *argv], capture_output=True, text=True)
        return result.stdout.strip()

    return {
        "postgresql": out(f"{LAB}-db1", "sh", "-c", "ls /usr/lib/postgresql"),
        "docker": out(f"{LAB}-app1", "docker", "version", "--format", "{{.Server.Version}}"),
        "systemd": out(f"{LAB}-db1", "sh", "-c", "systemctl --version | head -1"),
    }


def measure(release: str, reruns: int) -> dict[str, object]:
    subprocess.run([str(REPO / "scripts" / "build-lab-image.sh"), "--release", release], check=True)
    with bench_lab(release=release) as (project, env):
        print(f"{release}: cold dockyard up", file=sys.stderr)
        cold, _ = dockyard_json(["up"], env, project)
        warm = []
        for number in range(reruns):
            print(f"{release}: warm dockyard up #{number + 1}", file=sys.stderr)
            elapsed, result = dockyard_json(["up"], env, project)
            changed = {host: counts["changed"] for host, counts in result["recap"].items()}
            if any(changed.values()):
                raise SystemExit(f"{release}: a re-run changed hosts: {changed}")
            warm.append(elapsed)
        found = versions()
    return {
        "cold_up_s": round(cold, 1),
        "warm_up_s_median": round(statistics.median(warm), 1),
        "warm_up_s_all": [round(w, 1) for w in warm],
        "versions": found,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reruns", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.reruns < 1:
        parser.error("--reruns must be at least 1")
    figures = {release: measure(release, args.reruns) for release in RELEASES}
    for release, found in figures.items():
        v = found["versions"]
        print(
            f"{release:<9} cold dockyard up {found['cold_up_s']:>6} s   warm re-run (median of {args.reruns})"
            f" {found['warm_up_s_median']:>5} s   PostgreSQL {v['postgresql']}, Docker {v['docker']}, {v['systemd']}"
        )
    if args.json:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO)
        result = {
            "date": time.strftime("%Y-%m-%d"),
            "machine": machine(),
            "commit": commit.stdout.strip(),
            "releases": figures,
        }
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
