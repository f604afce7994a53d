#!/usr/bin/env python3
"""PostgreSQL replication figures on a lab of its own: converge time of the
three-host cluster from bare hosts, the idempotent re-run time, and replay lag
on the replicas while pgbench writes on the primary.

    .venv/bin/python scripts/bench/replication.py [--reruns 3] [--pgbench-seconds 30] [--json FILE] [--keep]

Targets (issue #5): re-run under 15 s; p99 replay lag under 100 ms.
Brings up its own lab (DOCKYARD_LAB_NAME=dockyard-bench, 192.168.234.0/24) in
a scratch project and removes it at the end unless --keep. Talks only to that
lab's containers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAB = "dockyard-bench"
SUBNET = "192.168.234.0/24"
PRIMARY = f"{LAB}-db1"
PSQL = "/usr/bin/psql"


def make_project(root: Path) -> Path:
    project = root / "project"
    project.mkdir()
    for name in ("roles", "playbooks", "ansible.cfg", "scripts", "services"):
        (project / name).symlink_to(REPO / name)
    (project / "inventory").mkdir()
    (project / "inventory" / "localhost.yml").symlink_to(REPO / "inventory" / "localhost.yml")
    return project


def environment(project: Path) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
        "DOCKYARD_HOME": str(project),
        "DOCKYARD_LAB_NAME": LAB,
        "DOCKYARD_LAB_SUBNET": SUBNET,
        "ANSIBLE_CONFIG": str(project / "ansible.cfg"),
        "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(project / ".cache" / "facts"),
    }


def run(argv: list[str], env: dict[str, str], cwd: Path) -> float:
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


def psql(container: str, sql: str, db: str = "postgres") -> str:
    return subprocess.run(
        ["docker", "exec", "-u", "postgres", container, PSQL, "-X", "-At", "-d", db, "-c", sql],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def sample_lag(stop: threading.Event, samples: list[tuple[float, float]]) -> None:
    """Replay lag of every replica as the primary sees it, about every 100 ms,
    from one shell loop inside the primary (no docker exec per sample)."""
    query = (
        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint, "
        "COALESCE(extract(epoch FROM replay_lag) * 1000, 0) FROM pg_stat_replication"
    )
    loop = f"while :; do {PSQL} -X -At -F ' ' -c \"{query}\"; sleep 0.1; done"
    process = subprocess.Popen(
        ["docker", "exec", "-u", "postgres", PRIMARY, "sh", "-c", loop], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    for line in process.stdout:
        if stop.is_set():
            break
        parts = line.split()
        if len(parts) == 2:
            samples.append((float(parts[0]), float(parts[1])))
    process.kill()
    subprocess.run(["docker", "exec", PRIMARY, "pkill", "-f", "pg_stat_replication"], capture_output=True)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reruns", type=int, default=3)
    parser.add_argument("--pgbench-seconds", type=int, default=30)
    parser.add_argument("--pgbench-clients", type=int, default=4)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", action="store_true", help="leave the bench lab up")
    args = parser.parse_args()

    dockyard = str(Path(sys.executable).parent / "dockyard")
    playbook = str(Path(sys.executable).parent / "ansible-playbook")
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as scratch:
        project = make_project(Path(scratch))
        env = environment(project)
        inventory = str(project / "inventory" / "lab")
        try:
            print("bringing up the bench lab", file=sys.stderr)
            run([dockyard, "lab", "up"], env, project)
            converge = [
                "ansible-playbook" if not Path(playbook).exists() else playbook,
                "-i",
                inventory,
                str(project / "playbooks" / "replication.yml"),
            ]
            cold = run(converge, env, project)
            warm = [run(converge, env, project) for _ in range(args.reruns)]

            major = int(psql(PRIMARY, "SHOW server_version_num")) // 10000
            pgbench = f"/usr/lib/postgresql/{major}/bin/pgbench"
            psql(PRIMARY, "DROP DATABASE IF EXISTS bench")
            psql(PRIMARY, "CREATE DATABASE bench")
            subprocess.run(
                ["docker", "exec", "-u", "postgres", PRIMARY, pgbench, "-q", "-i", "-s", "10", "bench"],
                check=True,
                capture_output=True,
            )
            samples: list[tuple[float, float]] = []
            stop = threading.Event()
            sampler = threading.Thread(target=sample_lag, args=(stop, samples), daemon=True)
            sampler.start()
            bench = subprocess.run(
                [
                    "docker",
                    "exec",
                    "-u",
                    "postgres",
                    PRIMARY,
                    pgbench,
                    "-n",
                    "-c",
                    str(args.pgbench_clients),
                    "-j",
                    "2",
                    "-T",
                    str(args.pgbench_seconds),
                    "bench",
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            stop.set()
            sampler.join(timeout=5)
            tps = next(
                (line.split("=")[1].split()[0] for line in bench.stdout.splitlines() if line.startswith("tps")), "?"
            )
            sync = psql(PRIMARY, "SHOW synchronous_standby_names") or "(asynchronous)"
        finally:
            if not args.keep:
                subprocess.run([dockyard, "lab", "down"], env=env, cwd=project, capture_output=True)

    lag_bytes = [s[0] for s in samples]
    lag_ms = [s[1] for s in samples]
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "cold_converge_s": round(cold, 1),
        "rerun_s_median": round(statistics.median(warm), 1),
        "rerun_s_all": [round(w, 1) for w in warm],
        "pgbench": {
            "seconds": args.pgbench_seconds,
            "clients": args.pgbench_clients,
            "tps": tps,
            "synchronous_standby_names": sync,
        },
        "replay_lag": {
            "samples": len(samples),
            "bytes_p50": percentile(lag_bytes, 0.5),
            "bytes_p99": percentile(lag_bytes, 0.99),
            "ms_p50": round(percentile(lag_ms, 0.5), 2),
            "ms_p99": round(percentile(lag_ms, 0.99), 2),
        },
    }
    rows = [
        ("cold converge, 3 bare hosts (replication.yml)", f"{result['cold_converge_s']} s"),
        (f"idempotent re-run, median of {args.reruns}", f"{result['rerun_s_median']} s (target < 15 s)"),
        (f"pgbench {args.pgbench_clients} clients {args.pgbench_seconds} s", f"{tps} tps, sync: {sync}"),
        (
            "replay lag p50 / p99 (bytes)",
            f"{result['replay_lag']['bytes_p50']:.0f} / {result['replay_lag']['bytes_p99']:.0f}",
        ),
        (
            "replay lag p50 / p99 (ms)",
            f"{result['replay_lag']['ms_p50']} / {result['replay_lag']['ms_p99']} (target p99 < 100 ms)",
        ),
        ("lag samples", str(len(samples))),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
