#!/usr/bin/env python3
"""PostgreSQL replication figures on a lab of its own: converge time of the
three-host cluster from bare hosts, the idempotent re-run time, replay lag on
the replicas while pgbench writes on the primary; then, while a client on
app1 writes one row at a time and records each acknowledged one: write
unavailability during a switchover, time from the failover command (after
the primary's host is killed) to the first accepted write, rows lost, how
long each new primary ran without synchronous commits after its promotion
(read from its server log), and rejoin time.

    .venv/bin/python scripts/bench/replication.py [--reruns 3] [--pgbench-seconds 30] [--json FILE] [--keep]

Targets: re-run under 15 s; p99 replay lag under 100 ms (issue #5);
switchover write unavailability under 3 s, failover to first write under
10 s, 0 rows lost (issue #6); 0 s without synchronous commits.
Brings up its own lab (DOCKYARD_LAB_NAME=dockyard-bench, 192.168.234.0/24) in
a scratch project and removes it at the end unless --keep. Talks only to that
lab's containers.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from benchlab import DOCKYARD, LAB, SUBNET, bench_lab, machine, psql, run

PRIMARY = f"{LAB}-db1"
PSQL = "/usr/bin/psql"


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


WRITER = """#!/bin/sh
rm -f /tmp/stop-writer /tmp/acked
while [ ! -e /tmp/stop-writer ]; do
  if id=$(PGPASSWORD="$2" PGCONNECT_TIMEOUT=1 psql -XAtq \\
      "host=$1 dbname=app user=app target_session_attrs=read-write" \\
      -c "INSERT INTO acked DEFAULT VALUES RETURNING id" 2>/dev/null); then
    echo "$(date +%s.%N) $id" >> /tmp/acked
  fi
done
"""


def lab_secret(project: Path, name: str) -> str:
    import yaml

    secrets = yaml.safe_load((project / "inventory" / "lab" / "group_vars" / "all" / "secrets.yml").read_text())
    return str(secrets[name])


def acked_rows() -> list[tuple[float, int]]:
    out = subprocess.run(["docker", "exec", f"{LAB}-app1", "cat", "/tmp/acked"], capture_output=True, text=True).stdout
    fields = out.split()
    return [(float(fields[i]), int(fields[i + 1])) for i in range(0, len(fields) - 1, 2)]


def wait_rows_after(moment: float, timeout: float = 60.0) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        later = [t for t, _ in acked_rows() if t > moment]
        if later:
            return min(later)
        time.sleep(0.2)
    return None


def _log_time(line: str) -> datetime | None:
    """The timestamp Debian's log_line_prefix ('%m [%p] ') starts a line with."""
    try:
        return datetime.strptime(" ".join(line.split()[:2]), "%Y-%m-%d %H:%M:%S.%f")
    except ValueError:
        return None


def async_window_s(container: str) -> float:
    """Seconds between a new primary's last promotion and the moment its
    synchronous_standby_names became a quorum: 0 when it was one already
    (set on the standby before the promotion), the window otherwise."""
    log = subprocess.run(
        ["docker", "exec", container, "sh", "-c", "cat /var/log/postgresql/postgresql-*-main.log"],
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    promoted = max((i for i, line in enumerate(log) if "selected new timeline ID" in line), default=None)
    if promoted is None:
        return float("nan")
    changes = [(i, line) for i, line in enumerate(log) if 'parameter "synchronous_standby_names" changed' in line]
    before = [line for i, line in changes if i < promoted]
    if before and 'changed to "ANY ' in before[-1] and not any(i > promoted for i, _ in changes):
        return 0.0
    after = [line for i, line in changes if i > promoted and 'changed to "ANY ' in line]
    start, end = _log_time(log[promoted]), _log_time(after[0]) if after else None
    return round((end - start).total_seconds(), 2) if start and end else float("nan")


def failover_figures(project: Path, env: dict[str, str], dockyard: str = DOCKYARD) -> dict[str, float | int | str]:
    """Switchover, failover and rejoin under a one-row-at-a-time writer."""
    app1 = f"{LAB}-app1"
    subprocess.run(
        [
            "docker",
            "exec",
            app1,
            "sh",
            "-c",
            "apt-get install -y -q postgresql-client >/dev/null 2>&1 "
            "|| (apt-get update -q >/dev/null && apt-get install -y -q postgresql-client >/dev/null)",
        ],
        check=True,
    )
    psql(PRIMARY, "CREATE TABLE IF NOT EXISTS acked (id bigserial PRIMARY KEY)", "app")
    psql(PRIMARY, "ALTER TABLE acked OWNER TO app", "app")
    subprocess.run(
        ["docker", "exec", "-i", app1, "sh", "-c", "cat > /tmp/writer.sh"], input=WRITER, text=True, check=True
    )
    base = SUBNET.rsplit(".", 1)[0]
    hosts = ",".join(f"{base}.{n}" for n in (11, 12, 13))
    subprocess.run(
        ["docker", "exec", "-d", app1, "sh", "/tmp/writer.sh", hosts, lab_secret(project, "lab_app_db_password")],
        check=True,
    )
    if wait_rows_after(time.time() + 1) is None:
        raise SystemExit("the writer on app1 never got a row in")

    started = time.time()
    switchover_s = run([dockyard, "switchover", "--to", "db2"], env, project)
    switchover_async_s = async_window_s(f"{LAB}-db2")
    wait_rows_after(time.time() + 1)
    times = sorted(t for t, _ in acked_rows() if t >= started)
    unavailable = max((b - a for a, b in itertools.pairwise(times)), default=float("nan"))

    subprocess.run(["docker", "kill", f"{LAB}-db2"], check=True, capture_output=True)
    killed = time.time()
    target = "db1"
    probe = subprocess.run([dockyard, "failover", "--to", target], env=env, cwd=project, capture_output=True, text=True)
    if probe.returncode != 0 and "bytes behind" in probe.stdout + probe.stderr:
        target = "db3"
        probe = subprocess.run(
            [dockyard, "failover", "--to", target], env=env, cwd=project, capture_output=True, text=True
        )
    if probe.returncode != 0:
        raise SystemExit(probe.stdout[-3000:] + probe.stderr[-3000:])
    first_write = wait_rows_after(killed)
    failover_async_s = async_window_s(f"{LAB}-{target}")
    subprocess.run(["docker", "exec", app1, "touch", "/tmp/stop-writer"], check=True)
    time.sleep(2)
    acknowledged = {i for _, i in acked_rows()}
    present = set(map(int, psql(f"{LAB}-{target}", "SELECT id FROM acked", "app").split()))

    subprocess.run(["docker", "start", f"{LAB}-db2"], check=True, capture_output=True)
    time.sleep(5)
    rejoin_s = run([dockyard, "rejoin", "db2"], env, project)
    return {
        "switchover_command_s": round(switchover_s, 1),
        "switchover_write_unavailable_s": round(unavailable, 2),
        "failover_target": target,
        "failover_kill_to_first_write_s": round(first_write - killed, 1) if first_write else float("nan"),
        "rows_acknowledged": len(acknowledged),
        "rows_lost": len(acknowledged - present),
        "switchover_async_window_s": switchover_async_s,
        "failover_async_window_s": failover_async_s,
        "rejoin_s": round(rejoin_s, 1),
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def lag_figures(seconds: int, clients: int) -> dict[str, object]:
    """Replay lag of the replicas, sampled while pgbench writes on the primary."""
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
            str(clients),
            "-j",
            "2",
            "-T",
            str(seconds),
            "bench",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    stop.set()
    sampler.join(timeout=5)
    tps = next((line.split("=")[1].split()[0] for line in bench.stdout.splitlines() if line.startswith("tps")), "?")
    sync = psql(PRIMARY, "SHOW synchronous_standby_names") or "(asynchronous)"
    lag_bytes = [sample[0] for sample in samples]
    lag_ms = [sample[1] for sample in samples]
    return {
        "pgbench": {"seconds": seconds, "clients": clients, "tps": tps, "synchronous_standby_names": sync},
        "replay_lag": {
            "samples": len(samples),
            "bytes_p50": percentile(lag_bytes, 0.5),
            "bytes_p99": percentile(lag_bytes, 0.99),
            "ms_p50": round(percentile(lag_ms, 0.5), 2),
            "ms_p99": round(percentile(lag_ms, 0.99), 2),
        },
    }


def replication_rows(lag: dict, failover: dict) -> list[tuple[str, str]]:
    """The lag, switchover and failover lines of a result table."""
    pgbench, replay = lag["pgbench"], lag["replay_lag"]
    return [
        (
            f"pgbench {pgbench['clients']} clients {pgbench['seconds']} s",
            f"{pgbench['tps']} tps, sync: {pgbench['synchronous_standby_names']}",
        ),
        ("replay lag p50 / p99 (bytes)", f"{replay['bytes_p50']:.0f} / {replay['bytes_p99']:.0f}"),
        ("replay lag p50 / p99 (ms)", f"{replay['ms_p50']} / {replay['ms_p99']} (target p99 < 100 ms)"),
        ("lag samples", str(replay["samples"])),
        (
            "switchover: write unavailability (one-row writer)",
            f"{failover['switchover_write_unavailable_s']} s (target < 3 s);"
            f" command {failover['switchover_command_s']} s",
        ),
        (
            f"failover to {failover['failover_target']}: host killed -> first accepted write",
            f"{failover['failover_kill_to_first_write_s']} s (target < 10 s)",
        ),
        (
            "rows lost over switchover + failover (sync ANY 1)",
            f"{failover['rows_lost']} of {failover['rows_acknowledged']} acknowledged (target 0)",
        ),
        (
            "new primary without synchronous commits (switchover / failover)",
            f"{failover['switchover_async_window_s']} s / {failover['failover_async_window_s']} s (target 0)",
        ),
        ("rejoin of the old primary (pg_rewind)", f"{failover['rejoin_s']} s"),
    ]


def print_table(rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reruns", type=int, default=3)
    parser.add_argument("--pgbench-seconds", type=int, default=30)
    parser.add_argument("--pgbench-clients", type=int, default=4)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", action="store_true", help="leave the bench lab up")
    args = parser.parse_args()

    playbook = str(Path(sys.executable).parent / "ansible-playbook")
    with bench_lab(args.keep) as (project, env):
        converge = [playbook, "-i", str(project / "inventory" / "lab"), str(project / "playbooks" / "replication.yml")]
        cold = run(converge, env, project)
        warm = [run(converge, env, project) for _ in range(args.reruns)]
        lag = lag_figures(args.pgbench_seconds, args.pgbench_clients)
        failover = failover_figures(project, env)

    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "cold_converge_s": round(cold, 1),
        "rerun_s_median": round(statistics.median(warm), 1),
        "rerun_s_all": [round(w, 1) for w in warm],
        **lag,
        "failover": failover,
    }
    print_table(
        [
            ("cold converge, 3 bare hosts (replication.yml)", f"{result['cold_converge_s']} s"),
            (f"idempotent re-run, median of {args.reruns}", f"{result['rerun_s_median']} s (target < 15 s)"),
            *replication_rows(lag, failover),
        ]
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
