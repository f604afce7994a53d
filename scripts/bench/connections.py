#!/usr/bin/env python3
"""The whole stack through each connection and strategy, in one run: the cold
`dockyard up` from bare lab hosts and the warm re-runs (changed=0), with the
lab reached through `docker exec` as root (the default lab) and over SSH as the
`deploy` user with sudo (`dockyard lab up --connection ssh`, the shape of a
production inventory); each with Ansible's own strategy and with Mitogen's
(DOCKYARD_STRATEGY=mitogen).

    .venv/bin/python scripts/bench/connections.py [--reruns 3] [--strategies linear,mitogen] [--json FILE]

Each pair gets a lab of its own (dockyard-bench, 192.168.234.0/24: app1,
db1, db2, db3), removed before the next; talks only to those containers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from benchlab import REPO, SUBNET, bench_lab, dockyard_json, machine

CONNECTIONS = ("docker", "ssh")
HOSTS = ("app1", "db1", "db2", "db3")


def learn_host_keys(project: Path) -> None:
    """Mitogen checks host keys strictly and learns none (no accept-new): the
    lab hosts' keys go into the lab's known_hosts first, as a first run with
    Ansible's strategy would have put them."""
    addresses = [f"{SUBNET.rsplit('.', 1)[0]}.{n}" for n in range(10, 10 + len(HOSTS))]
    scan = subprocess.run(["ssh-keyscan", "-t", "ed25519", *addresses], capture_output=True, text=True, check=True)
    (project / "inventory" / "lab" / "known_hosts").write_text(scan.stdout)


def measure(connection: str, strategy: str, reruns: int) -> dict[str, object]:
    with bench_lab(connection=connection) as (project, lab_env):
        env = {**lab_env, "DOCKYARD_STRATEGY": strategy}
        if connection == "ssh" and strategy == "mitogen":
            learn_host_keys(project)
        print(f"{connection}, {strategy}: cold dockyard up", file=sys.stderr)
        cold, result = dockyard_json(["up"], env, project, check=False)
        if not result.get("ok"):
            # A pair that cannot deploy is a finding too: what failed is kept.
            failure = (result.get("failures") or [{}])[0]
            reason = f"{failure.get('task', '?')}: {str(failure.get('message', result.get('error', '?')))[:300]}"
            print(f"{connection}, {strategy}: cold run failed: {reason}", file=sys.stderr)
            return {"connection": connection, "strategy": strategy, "failed": reason}
        changed = sum(counts["changed"] for counts in result["recap"].values())
        warm = []
        for attempt in range(reruns):
            seconds, again = dockyard_json(["up"], env, project)
            unchanged = all(counts["changed"] == 0 for counts in again["recap"].values())
            if not unchanged:
                raise SystemExit(f"{connection}, {strategy}: warm run {attempt + 1} changed: {again['recap']}")
            warm.append(round(seconds, 1))
    return {
        "connection": connection,
        "strategy": strategy,
        "cold_s": round(cold, 1),
        "cold_changed": changed,
        "warm_s": warm,
        "warm_median_s": statistics.median(warm),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reruns", type=int, default=3)
    parser.add_argument("--strategies", default="linear,mitogen")
    parser.add_argument("--connections", default=",".join(CONNECTIONS))
    parser.add_argument("--json", type=Path, default=REPO / ".cache" / "bench" / "connections.json")
    args = parser.parse_args()
    strategies = [name.strip() for name in args.strategies.split(",") if name.strip()]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    rows: list[dict[str, object]] = []
    report = {
        "when": datetime.now().isoformat(timespec="seconds"),
        "commit": commit.stdout.strip(),
        "machine": machine(),
        "runs": rows,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    for connection in [name.strip() for name in args.connections.split(",") if name.strip()]:
        for strategy in strategies:
            rows.append(measure(connection, strategy, args.reruns))
            # Kept as each pair ends: a later pair that fails loses nothing measured.
            args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{'':34}{'cold':>10}{'warm (median)':>16}  warm runs")
    for row in rows:
        if "failed" in row:
            print(f"{row['connection']}, {row['strategy']}: failed: {row['failed']}")
            continue
        who = "docker exec, root" if row["connection"] == "docker" else "ssh, deploy + sudo"
        label = f"{who}, {row['strategy']}"
        print(f"{label:34}{row['cold_s']:>8.1f} s{row['warm_median_s']:>14.1f} s  {row['warm_s']}")
    base = rows[0]
    for row in [row for row in rows[1:] if "failed" not in row]:
        cold_ratio, warm_ratio = row["cold_s"] / base["cold_s"], row["warm_median_s"] / base["warm_median_s"]
        print(f"{row['connection']}, {row['strategy']} / {base['connection']}, {base['strategy']}:"
              f" cold {cold_ratio:.2f}x, warm {warm_ratio:.2f}x")  # fmt: skip
    print(f"written: {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
