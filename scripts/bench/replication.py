#!/usr/bin/env python3
"""PostgreSQL replication figures on a lab of its own: converge time of the
three-host cluster from bare hosts, the idempotent re-run time, replay lag on
the replicas while pgbench writes on the primary; then, while a client on
app1 writes one row at a time and records each acknowledged one: write
unavailability during a switchover, time from the failover command (after
the primary's host is killed) to the first accepted write, rows lost, how
long each new primary ran without synchronous commits after its promotion
(read from its server log), and rejoin time.

The same switchover and failover are measured through the sample services
too (apps.yml deploys them on app1 after the replication figures): beside
the libpq writer, an HTTP writer on this machine POSTs items one at a time to
app1's gateway (a new connection each, 3 s timeout) and records each 201.
Its figures: the longest gap between acknowledged POSTs around the
switchover, seconds from the failover command to the first acknowledged
POST, and how many acknowledged POSTs the new primary lacks (by name).

    .venv/bin/python scripts/bench/replication.py [--reruns 3] [--pgbench-seconds 30] [--json FILE] [--keep]

Targets: re-run under 15 s; p99 replay lag under 100 ms (issue #5);
switchover write unavailability under 3 s, failover to first write under
10 s, 0 rows lost (issue #6); 0 s without synchronous commits; through the
gateway: switchover write gap under 2 s, first acknowledged POST under 10 s
after the failover command, 0 acknowledged POSTs lost.
Brings up its own lab (DOCKYARD_LAB_NAME=dockyard-bench, 192.168.234.0/24) in
a scratch project and removes it at the end unless --keep. Talks only to that
lab's containers and to app1's gateway (192.168.234.10:8080).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from benchlab import DOCKYARD, LAB, SUBNET, bench_lab, machine, psql, run

PRIMARY = f"{LAB}-db1"
PSQL = "/usr/bin/psql"
# app1 is .10 of the bench lab's subnet (playbooks/tasks/lab-create.yml); its
# gateway publishes 8080 and sends /api/ to the api.
GATEWAY_ITEMS = f"http://{SUBNET.rsplit('.', 1)[0]}.10:8080/api/items"
POST_TIMEOUT_S = 3.0
# After a refused POST: the api answers 503 at once while no host takes
# writes, and retrying at once would spend the machine's two cores on refusals
# (50 ms is well under the gaps measured).
RETRY_PAUSE_S = 0.05


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


def post_item(opener: urllib.request.OpenerDirector, name: str) -> int | None:
    """One item POSTed through the gateway: its id when the api answered 201,
    None for a refusal, an error or a timeout. urllib opens a connection per
    request (and says Connection: close), so no kept-alive socket to the
    gateway hides a reconnect."""
    body = json.dumps({"name": name}).encode()
    request = urllib.request.Request(
        GATEWAY_ITEMS, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with opener.open(request, timeout=POST_TIMEOUT_S) as response:
            if response.status != 201:
                return None
            return int(json.loads(response.read())["id"])
    except (OSError, http.client.HTTPException, ValueError, KeyError, TypeError):
        return None


@dataclass
class GatewayWriter:
    """Items POSTed one at a time from a thread until stopped: each
    acknowledged one as (time of its 201, id, name), and the time of each
    refused one. Names start with prefix, unique to the run, so rows of an
    earlier run on a kept lab are not taken for this one's."""

    prefix: str
    acked: list[tuple[float, int, str]] = field(default_factory=list)
    refused: list[float] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> None:
        # A daemon: a benchmark that stops on an error must not wait for it.
        self.thread = threading.Thread(target=self._write, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread:
            self.thread.join(timeout=POST_TIMEOUT_S + 2)

    def _write(self) -> None:
        # No proxy: an http_proxy of the control machine must not carry the lab's address.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        for number in itertools.count(1):
            if self.stopping.is_set():
                return
            name = f"{self.prefix}{number}"
            item = post_item(opener, name)
            if item is None:
                self.refused.append(time.time())
                self.stopping.wait(RETRY_PAUSE_S)
            else:
                self.acked.append((time.time(), item, name))

    def ack_times(self) -> list[float]:
        return sorted(t for t, _, _ in list(self.acked))

    def first_ack_after(self, moment: float, timeout: float = 60.0) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            later = [t for t in self.ack_times() if t > moment]
            if later:
                return later[0]
            time.sleep(0.2)
        return None

    def lost_on(self, container: str) -> int:
        """Acknowledged items whose name the primary in container lacks."""
        rows = psql(container, f"SELECT name FROM items WHERE name LIKE '{self.prefix}%'", "app")
        return len({name for _, _, name in self.acked} - set(rows.splitlines()))


def longest_gap(times: list[float], start: float, end: float) -> float:
    """The longest wait between consecutive acknowledgements from the last one
    before start to the first one after end, so a gap across either edge
    counts whole; nan when none came after end (writes never came back)."""
    ordered = sorted(times)
    after = [t for t in ordered if t > end][:1]
    if not after:
        return float("nan")
    window = [t for t in ordered if t < start][-1:] + [t for t in ordered if start <= t <= end] + after
    return max((b - a for a, b in itertools.pairwise(window)), default=float("nan"))


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
    """Switchover, failover and rejoin under a one-row-at-a-time libpq writer
    on app1 and, at the same time, an HTTP writer through app1's gateway."""
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
    gateway = GatewayWriter(prefix=f"bench-gateway-{int(time.time())}-")
    gateway.start()
    if gateway.first_ack_after(time.time() + 1) is None:
        raise SystemExit(f"no POST to {GATEWAY_ITEMS} was acknowledged: are the services up on app1?")

    started = time.time()
    switchover_s = run([dockyard, "switchover", "--to", "db2"], env, project)
    switched = time.time()
    switchover_async_s = async_window_s(f"{LAB}-db2")
    wait_rows_after(time.time() + 1)
    times = sorted(t for t, _ in acked_rows() if t >= started)
    unavailable = max((b - a for a, b in itertools.pairwise(times)), default=float("nan"))
    gateway.first_ack_after(switched)
    gateway_gap = longest_gap(gateway.ack_times(), started, switched)

    subprocess.run(["docker", "kill", f"{LAB}-db2"], check=True, capture_output=True)
    killed = time.time()
    target = "db1"
    # The gateway's figure counts from the command that moved the primary (the
    # second one when db1 is refused for lagging).
    commanded = time.time()
    probe = subprocess.run([dockyard, "failover", "--to", target], env=env, cwd=project, capture_output=True, text=True)
    if probe.returncode != 0 and "bytes behind" in probe.stdout + probe.stderr:
        target = "db3"
        commanded = time.time()
        probe = subprocess.run(
            [dockyard, "failover", "--to", target], env=env, cwd=project, capture_output=True, text=True
        )
    if probe.returncode != 0:
        raise SystemExit(probe.stdout[-3000:] + probe.stderr[-3000:])
    first_write = wait_rows_after(killed)
    first_post = gateway.first_ack_after(commanded)
    failover_async_s = async_window_s(f"{LAB}-{target}")
    subprocess.run(["docker", "exec", app1, "touch", "/tmp/stop-writer"], check=True)
    gateway.stop()
    time.sleep(2)
    acknowledged = {i for _, i in acked_rows()}
    present = set(map(int, psql(f"{LAB}-{target}", "SELECT id FROM acked", "app").split()))
    gateway_lost = gateway.lost_on(f"{LAB}-{target}")

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
        "gateway_switchover_write_gap_s": round(gateway_gap, 2),
        "gateway_failover_command_to_first_post_s": round(first_post - commanded, 1) if first_post else float("nan"),
        "gateway_posts_acknowledged": len(gateway.acked),
        "gateway_posts_lost": gateway_lost,
        "gateway_posts_refused": len(gateway.refused),
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
        (
            "switchover: write gap through the gateway (HTTP writer)",
            f"{failover['gateway_switchover_write_gap_s']} s (target < 2 s)",
        ),
        (
            f"failover to {failover['failover_target']}: command -> first acknowledged POST",
            f"{failover['gateway_failover_command_to_first_post_s']} s (target < 10 s)",
        ),
        (
            "POSTs lost over switchover + failover (gateway)",
            f"{failover['gateway_posts_lost']} of {failover['gateway_posts_acknowledged']} acknowledged (target 0);"
            f" {failover['gateway_posts_refused']} refused or timed out",
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
        # The gateway writer needs the sample services on app1; deployed after the
        # figures above so that they stay those of PostgreSQL alone.
        apps = run(
            [playbook, "-i", str(project / "inventory" / "lab"), str(project / "playbooks" / "apps.yml")], env, project
        )
        failover = failover_figures(project, env)

    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "cold_converge_s": round(cold, 1),
        "rerun_s_median": round(statistics.median(warm), 1),
        "rerun_s_all": [round(w, 1) for w in warm],
        "apps_converge_s": round(apps, 1),
        **lag,
        "failover": failover,
    }
    print_table(
        [
            ("cold converge, 3 bare hosts (replication.yml)", f"{result['cold_converge_s']} s"),
            (f"idempotent re-run, median of {args.reruns}", f"{result['rerun_s_median']} s (target < 15 s)"),
            ("sample services on app1 (apps.yml, for the gateway writer)", f"{result['apps_converge_s']} s"),
            *replication_rows(lag, failover),
        ]
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
