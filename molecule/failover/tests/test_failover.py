"""The failover scenario's story, in file order, for real: a switchover while
a client outside the cluster writes and records every acknowledged row;
then the primary's host is killed and a replica is failed over to; the old
primary's host comes back and must not start as a second primary; it rejoins
by pg_rewind; a last converge changes nothing. The refusals are tried on the
way, each leaving the cluster as it was. Figures are printed, not asserted
(benchmarks measure speed, tests do not)."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import time
from functools import partial
from pathlib import Path

import yaml

import support
from support import psql, sh

DB1, DB2, DB3 = "dockyard-molecule-db1", "dockyard-molecule-db2", "dockyard-molecule-db3"
CLIENT = "dockyard-molecule-client"
ADDRESSES = {DB1: "192.168.235.11", DB2: "192.168.235.12", DB3: "192.168.235.13"}
APP_PASSWORD = "molecule-app-secret-3f7c0a64"
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
PLAYBOOKS = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"]) / "playbooks"
SCENARIO = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])
# Promotions, rewinds and restarts: a minute before a wait gives up.
wait_for = partial(support.wait_for, timeout=60.0)

WRITER = f"""#!/bin/sh
# Inserts one row at a time into whichever host accepts writes; logs each
# acknowledged id with the time, and each failed attempt.
rm -f /tmp/stop-writer
while [ ! -e /tmp/stop-writer ]; do
  if id=$(PGPASSWORD={APP_PASSWORD} PGCONNECT_TIMEOUT=1 psql -XAtq \\
      "host={",".join(ADDRESSES.values())} dbname=app user=app target_session_attrs=read-write" \\
      -c "INSERT INTO acked DEFAULT VALUES RETURNING id" 2>/dev/null); then
    echo "$(date +%s.%N) $id" >> /tmp/acked
  else
    echo "$(date +%s.%N)" >> /tmp/failed
  fi
done
"""


def playbook(name: str, *options: str, inventory: Path | None = None) -> tuple[int, str, float]:
    argv = ["ansible-playbook", "-i", str(inventory or os.environ["MOLECULE_INVENTORY_FILE"]), *options, str(name)]
    env = dict(os.environ, ANSIBLE_CONFIG=str(EPHEMERAL / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    started = time.monotonic()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
    return result.returncode, result.stdout + result.stderr, time.monotonic() - started


def operation(kind: str, target: str, *options: str) -> tuple[int, str, float]:
    return playbook(str(PLAYBOOKS / f"{kind}.yml"), "-e", f"dockyard_target={target}", *options)


def changed_total(output: str) -> int:
    return sum(int(n) for n in re.findall(r" changed=(\d+)", output))


def task_output(output: str, task: str) -> str:
    """What a playbook printed under one task, up to the next task."""
    sections = re.split(r"^TASK \[", output, flags=re.M)
    return "\n".join(part for part in sections if part.startswith(f"postgresql_replication : {task}]"))


def in_recovery(container: str) -> str:
    return psql(container, "SELECT pg_is_in_recovery()")


def streams_from(replica: str, primary: str) -> bool:
    row = psql(primary, f"SELECT state FROM pg_stat_replication WHERE application_name = '{replica}'")
    return row == "streaming"


def acked() -> list[tuple[float, int]]:
    lines = sh(CLIENT, "cat /tmp/acked 2>/dev/null").stdout.split()
    return [(float(lines[i]), int(lines[i + 1])) for i in range(0, len(lines) - 1, 2)]


def longest_gap(rows: list[tuple[float, int]], after: float) -> float:
    times = sorted(t for t, _ in rows if t >= after)
    return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


def data_dir_inode(container: str) -> str:
    return sh(container, "stat -c %i /var/lib/postgresql/*/main").stdout.strip()


def assert_synchronous_from_the_promotion(container: str) -> None:
    """The server log of a new primary: synchronous_standby_names was set to a
    quorum before its last promotion, and not changed after it, so no commit
    was ever acknowledged by it alone (a window of 13-24 s before)."""
    log = sh(container, "cat /var/log/postgresql/postgresql-*-main.log").stdout.splitlines()
    promoted = max(i for i, line in enumerate(log) if "selected new timeline ID" in line)
    changes = [(i, line) for i, line in enumerate(log) if 'parameter "synchronous_standby_names" changed' in line]
    before = [line for i, line in changes if i < promoted]
    assert before and 'changed to "ANY ' in before[-1], changes
    assert not [line for i, line in changes if i > promoted], changes


# A replica's WAL sender on a new primary started before the promotion, which
# wrote the newest timeline history file.
STREAMED_SINCE_BEFORE_THE_PROMOTION = """
SELECT r.backend_start < (SELECT max(modification) FROM pg_ls_waldir() WHERE name LIKE '%.history')
  FROM pg_stat_replication r WHERE r.application_name = '{replica}'
"""


# --- Refusals on the converged cluster: each must change nothing ---------------


def service(container: str) -> str:
    """The cluster's unit (a glob would not match a stopped, unloaded unit)."""
    version = sh(container, "ls /etc/postgresql").stdout.split()[0]
    return f"postgresql@{version}-main.service"


def test_switchover_to_a_replica_that_does_not_stream_is_refused():
    assert sh(DB3, f"systemctl stop {service(DB3)}").returncode == 0
    try:
        rc, output, _ = operation("switchover", DB3)
    finally:
        assert sh(DB3, f"systemctl start {service(DB3)}").returncode == 0
    assert rc != 0
    assert f"{DB3} is not a streaming replica of {DB1}" in output, output
    assert "nothing changed" in output
    assert changed_total(output) == 0, output
    assert in_recovery(DB1) == "f"
    assert wait_for(lambda: streams_from(DB3, DB1))


def test_rejoin_of_the_live_primary_is_refused():
    rc, output, _ = operation("rejoin", DB1)
    assert rc != 0
    assert f"{DB1} is the live primary" in output, output
    assert changed_total(output) == 0, output
    assert in_recovery(DB1) == "f"


# --- The story -------------------------------------------------------------------


def test_switchover_under_writes_loses_nothing():
    psql(
        DB1,
        "CREATE TABLE IF NOT EXISTS acked (id bigserial PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())",
        "app",
    )
    psql(DB1, "ALTER TABLE acked OWNER TO app", "app")
    subprocess.run(
        ["docker", "exec", "-i", CLIENT, "sh", "-c", "cat > /tmp/writer.sh"], input=WRITER, text=True, check=True
    )
    subprocess.run(["docker", "exec", "-d", CLIENT, "sh", "/tmp/writer.sh"], check=True)
    assert wait_for(lambda: len(acked()) > 20, timeout=30), sh(CLIENT, "cat /tmp/failed | wc -l").stdout

    started = time.time()
    rc, output, elapsed = operation("switchover", DB2)
    assert rc == 0, output
    assert wait_for(lambda: len([r for r in acked() if r[0] > started + elapsed]) > 20, timeout=30)
    print(f"\nswitchover: playbook {elapsed:.1f} s, longest write gap {longest_gap(acked(), started):.2f} s")

    assert in_recovery(DB2) == "f"
    assert in_recovery(DB1) == "t" and in_recovery(DB3) == "t"
    assert wait_for(lambda: streams_from(DB1, DB2) and streams_from(DB3, DB2))
    ids = {i for _, i in acked()}
    present = set(map(int, psql(DB2, "SELECT id FROM acked", "app").split()))
    assert ids <= present, f"lost {len(ids - present)} acknowledged rows"
    assert_synchronous_from_the_promotion(DB2)
    # db3 was pointed at db2 before db1 stopped, and its connection carried it
    # through db2's promotion: the new primary's first commits found their
    # quorum streaming (the write gap's last seconds before).
    assert psql(DB2, STREAMED_SINCE_BEFORE_THE_PROMOTION.format(replica=DB3)) == "t"
    assert psql(DB2, STREAMED_SINCE_BEFORE_THE_PROMOTION.format(replica=DB1)) == "f"


def test_failover_to_a_replica_behind_another_is_refused():
    # db3 stops receiving from the primary (db2) while db1 keeps confirming
    # writes: db3 falls behind. Then the primary's host dies.
    assert sh(DB3, f"iptables -I INPUT -s {ADDRESSES[DB2]} -p tcp --sport 5432 -j DROP").returncode == 0
    count = len(acked())
    assert wait_for(lambda: len(acked()) > count + 20, timeout=30)
    subprocess.run(["docker", "kill", DB2], check=True, capture_output=True)
    try:
        rc, output, _ = operation("failover", DB3)
    finally:
        assert sh(DB3, "iptables -D INPUT 1").returncode == 0
    assert rc != 0
    assert f"{DB3} is " in output and f"bytes behind {DB1}" in output, output
    assert "--force" in output
    assert changed_total(output) == 0, output
    assert in_recovery(DB1) == "t" and in_recovery(DB3) == "t"


def test_failover_promotes_the_most_advanced_replica_and_loses_nothing():
    killed = time.time()
    rc, output, elapsed = operation("failover", DB1)
    assert rc == 0, output
    assert_synchronous_from_the_promotion(DB1)
    assert in_recovery(DB1) == "f"
    assert wait_for(lambda: streams_from(DB3, DB1))
    assert wait_for(lambda: any(t > killed for t, _ in acked()), timeout=30)
    first_write = min(t for t, _ in acked() if t > killed)
    print(f"\nfailover: playbook {elapsed:.1f} s, first write {first_write - killed:.1f} s after the kill")
    ids = {i for _, i in acked()}
    present = set(map(int, psql(DB1, "SELECT id FROM acked", "app").split()))
    assert ids <= present, f"lost {len(ids - present)} acknowledged rows"


def test_the_old_primary_does_not_come_back_as_a_primary():
    subprocess.run(["docker", "start", DB2], check=True, capture_output=True)
    assert wait_for(lambda: sh(DB2, "systemctl is-system-running").stdout.strip() in ("running", "degraded"))
    # Its server refused to start: db1 is on a newer timeline.
    assert wait_for(lambda: sh(DB2, f"systemctl is-failed {service(DB2)}").stdout.strip() == "failed", timeout=30)
    log = sh(DB2, f"journalctl -u {service(DB2)} --no-pager").stdout
    assert "Not starting as a second primary" in log, log
    assert sh(DB2, "pg_isready -q").returncode != 0


def test_rejoin_rewinds_the_old_primary():
    inode = data_dir_inode(DB2)
    started = time.monotonic()
    rc, output, _ = operation("rejoin", DB2)
    assert rc == 0, output
    print(f"\nrejoin: {time.monotonic() - started:.1f} s")
    assert "Rewind it (pg_rewind)" in output
    assert data_dir_inode(DB2) == inode  # a clone would have made a new directory
    assert in_recovery(DB2) == "t"
    assert wait_for(lambda: streams_from(DB2, DB1) and streams_from(DB3, DB1))


def test_rejoin_of_a_replica_that_already_follows_changes_nothing():
    started = psql(DB2, "SELECT pg_postmaster_start_time()")
    rc, output, _ = operation("rejoin", DB2)
    assert rc == 0, output
    assert f"{DB2} already streams from the live primary {DB1}: nothing to rejoin" in output, output
    assert changed_total(output) == 0, output
    assert psql(DB2, "SELECT pg_postmaster_start_time()") == started
    assert streams_from(DB2, DB1)


def test_every_acknowledged_row_is_on_the_primary_and_its_replicas():
    sh(CLIENT, "touch /tmp/stop-writer")
    time.sleep(2)
    ids = {i for _, i in acked()}
    for host in (DB1, DB2, DB3):
        assert wait_for(lambda h=host: ids <= set(map(int, psql(h, "SELECT id FROM acked", "app").split())))


def inventory_with_replicas_reversed() -> Path:
    """Molecule's inventory (its group_vars beside it) with postgresql_replicas
    in the other order, as the CLI's hosts.yml has it after a switchover there
    and back."""
    source = Path(os.environ["MOLECULE_INVENTORY_FILE"])
    copy = EPHEMERAL / "inventory-replicas-reversed"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(source.parent, copy)
    content = yaml.safe_load(source.read_text())

    def reverse(node: object) -> None:
        if isinstance(node, dict):
            replicas = node.get("postgresql_replicas")
            if isinstance(replicas, dict) and isinstance(replicas.get("hosts"), dict):
                replicas["hosts"] = dict(reversed(list(replicas["hosts"].items())))
            for value in node.values():
                reverse(value)

    reverse(content)
    (copy / source.name).write_text(yaml.safe_dump(content, sort_keys=False))
    return copy / source.name


def test_converge_again_changes_nothing_and_demotes_nobody():
    # With the replicas listed in the other order: no file may change for it.
    rc, output, _ = playbook(str(SCENARIO / "converge.yml"), inventory=inventory_with_replicas_reversed())
    assert rc == 0, output
    assert changed_total(output) == 0, output
    assert in_recovery(DB1) == "f"
    assert in_recovery(DB2) == "t" and in_recovery(DB3) == "t"


def test_a_stale_inventory_stops_converge_without_demoting_the_live_primary():
    # Molecule's inventory keeps naming db1 the primary; after this switchover
    # the live primary is db2.
    rc, output, _ = operation("switchover", DB2)
    assert rc == 0, output
    rc, output, _ = playbook(str(SCENARIO / "converge.yml"))
    assert rc != 0
    assert f"{DB1} is in postgresql_primary, but its data directory" in output, output
    assert "put that host in postgresql_primary" in output
    assert changed_total(output) == 0, output
    assert in_recovery(DB2) == "f"
    assert in_recovery(DB1) == "t" and in_recovery(DB3) == "t"
    assert wait_for(lambda: streams_from(DB1, DB2) and streams_from(DB3, DB2))


def test_failover_fences_a_primary_that_is_still_reachable():
    # db2 is the live primary and answers, but is declared lost: it is
    # stopped and marked so that it never starts as a primary again. It takes
    # writes until it stops, so the replicas' positions move while the
    # failover reads them (a commit every few milliseconds on db2 itself, and
    # the client's writer); what db2 acknowledged must all be on db1.
    psql(DB2, "CREATE TABLE IF NOT EXISTS churn (id bigserial PRIMARY KEY)", "app")
    churn = "DO $$ BEGIN FOR i IN 1..10000000 LOOP INSERT INTO churn DEFAULT VALUES; COMMIT; END LOOP; END $$"
    subprocess.run(["docker", "exec", "-d", "-u", "postgres", DB2, "psql", "-Xq", "-d", "app", "-c", churn], check=True)
    count = len(acked())
    subprocess.run(["docker", "exec", "-d", CLIENT, "sh", "/tmp/writer.sh"], check=True)
    assert wait_for(lambda: len(acked()) > count + 20, timeout=30)
    assert int(psql(DB2, "SELECT count(*) FROM churn", "app")) > 0
    # Without --force a failover away from a healthy primary is refused: that
    # is a switchover's job.
    rc, output, _ = operation("failover", DB1)
    assert rc != 0
    assert f"{DB2} is running as the primary and this machine reaches it" in output, output
    assert f"dockyard switchover --to {DB1}" in output
    assert changed_total(output) == 0, output
    assert in_recovery(DB2) == "f" and in_recovery(DB1) == "t"
    rc, output, _ = operation("failover", DB1, "-e", "dockyard_force=true")
    assert rc == 0, output
    done = time.time()
    # db1 was promoted once past db2's shutdown checkpoint, not after a race of positions.
    assert f"ok: [{DB2}]" in task_output(output, "Read where the old primary stopped"), output
    assert in_recovery(DB1) == "f"
    assert wait_for(lambda: streams_from(DB3, DB1))
    assert wait_for(lambda: any(t > done for t, _ in acked()), timeout=30)  # the writer found db1
    sh(CLIENT, "touch /tmp/stop-writer")
    time.sleep(2)
    ids = {i for _, i in acked()}
    present = set(map(int, psql(DB1, "SELECT id FROM acked", "app").split()))
    assert ids <= present, f"lost {len(ids - present)} acknowledged rows"
    assert sh(DB2, "cat /var/lib/postgresql/*/main/dockyard.fenced").stdout.startswith("fenced by a failover to")
    assert sh(DB2, "pg_isready -q").returncode != 0
    started = sh(DB2, f"systemctl start {service(DB2)}")
    assert started.returncode != 0
    log = sh(DB2, f"journalctl -u {service(DB2)} --no-pager").stdout
    assert "is fenced" in log, log
    assert sh(DB2, "pg_isready -q").returncode != 0


def test_failover_is_refused_while_replicas_stream_from_a_primary_out_of_reach():
    # db1 runs and db3 streams from it, but this machine cannot reach db1
    # (its connection points at a container that does not exist, as a cut
    # between the control machine and db1 would). Promoting db3 would make two
    # primaries.
    cut_off = EPHEMERAL / "cut-off-db1.json"
    cut_off.write_text(json.dumps({"all": {"hosts": {DB1: {"ansible_host": "dockyard-molecule-absent"}}}}))
    rc, output, _ = operation("failover", DB3, "-i", str(cut_off))
    assert rc != 0
    assert f"{DB3} still streams from {ADDRESSES[DB1]} ({DB1}), which answers it" in output, output
    assert "two hosts accepting writes" in output
    assert changed_total(output) == 0, output
    assert in_recovery(DB1) == "f" and in_recovery(DB3) == "t"
    assert streams_from(DB3, DB1)


def server_log(container: str) -> str:
    """The end of a host's PostgreSQL log and unit journal, for a failure message."""
    log = sh(container, "tail -n 40 /var/log/postgresql/postgresql-*-main.log").stdout
    journal = sh(container, f"journalctl -u {service(container)} --no-pager -n 20").stdout
    return f"\n--- {container} server log ---\n{log}\n--- {container} journal ---\n{journal}"


def test_failover_fences_a_stopped_primary():
    rc, output, _ = operation("rejoin", DB2)
    assert rc == 0, output[-6000:] + server_log(DB2)
    assert wait_for(lambda: streams_from(DB2, DB1) and streams_from(DB3, DB1))
    # db1's server stops (a crash, an admin) while its host stays reachable.
    assert sh(DB1, f"systemctl stop {service(DB1)}").returncode == 0
    rc, output, _ = operation("failover", DB2)
    assert rc == 0, output
    assert in_recovery(DB2) == "f"
    assert wait_for(lambda: streams_from(DB3, DB2))
    assert sh(DB1, "cat /var/lib/postgresql/*/main/dockyard.fenced").stdout.startswith("fenced by a failover to")
    started = sh(DB1, f"systemctl start {service(DB1)}")
    assert started.returncode != 0
    assert "is fenced" in sh(DB1, f"journalctl -u {service(DB1)} --no-pager").stdout
    assert sh(DB1, "pg_isready -q").returncode != 0


def test_a_primary_whose_peers_do_not_answer_stays_down_until_started_deliberately():
    # db2 is the primary; db1 is fenced and down, db3 is stopped too: when db2
    # restarts, no peer can say whether another host was promoted meanwhile.
    assert sh(DB3, f"systemctl stop {service(DB3)}").returncode == 0
    restarted = sh(DB2, f"systemctl restart {service(DB2)}")
    assert restarted.returncode != 0
    log = sh(DB2, f"journalctl -u {service(DB2)} --no-pager").stdout
    assert "no peer answered within 5 s" in log, log
    assert sh(DB2, "pg_isready -q").returncode != 0
    instance = service(DB2).removeprefix("postgresql@").removesuffix(".service")
    deliberate = (
        f"mkdir -p /run/dockyard && touch /run/dockyard/start-primary-{instance} && systemctl start {service(DB2)}"
    )
    assert sh(DB2, deliberate).returncode == 0
    assert "started deliberately" in sh(DB2, f"journalctl -u {service(DB2)} --no-pager").stdout
    assert wait_for(lambda: sh(DB2, "pg_isready -q").returncode == 0)
    assert sh(DB3, f"systemctl start {service(DB3)}").returncode == 0
    assert wait_for(lambda: streams_from(DB3, DB2))


def test_rejoin_refuses_to_rewind_writes_a_split_primary_took():
    # db1, fenced on an older timeline, is started as a primary by hand and
    # takes writes beside db2: a rejoin would rewind them away.
    instance = service(DB1).removeprefix("postgresql@").removesuffix(".service")
    split = (
        "rm /var/lib/postgresql/*/main/dockyard.fenced && mkdir -p /run/dockyard"
        f" && touch /run/dockyard/start-primary-{instance} && systemctl start {service(DB1)}"
    )
    assert sh(DB1, split).returncode == 0
    assert wait_for(lambda: sh(DB1, "pg_isready -q").returncode == 0)
    psql(DB1, "CREATE TABLE split_writes AS SELECT g FROM generate_series(1, 1000) g", "app")
    rc, output, _ = operation("rejoin", DB1)
    assert rc != 0
    assert f"{DB1} runs as a primary on timeline" in output, output
    assert re.search(r"\d+ bytes of its WAL past the point where", output), output
    assert changed_total(output) == 0, output
    assert in_recovery(DB1) == "f"

    rc, output, _ = operation("rejoin", DB1, "-e", "dockyard_force=true")
    assert rc == 0, output
    assert in_recovery(DB1) == "t"
    assert wait_for(lambda: streams_from(DB1, DB2) and streams_from(DB3, DB2))


def test_a_switchover_cut_short_after_the_promotion_leaves_no_second_primary():
    # The control machine dies right after db3's promotion, before db2 (the
    # old primary, stopped) is made a standby: db2 must not be able to start
    # as a primary, even with no peer to ask.
    argv = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "-e", f"dockyard_target={DB3}"]
    env = dict(os.environ, ANSIBLE_CONFIG=str(EPHEMERAL / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    run = subprocess.Popen(
        [*argv, str(PLAYBOOKS / "switchover.yml")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        promoted = support.wait_for(lambda: in_recovery(DB3) == "f", timeout=120, interval=0.05)
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    assert promoted
    datadir = "/var/lib/postgresql/*/main"
    guard = sh(DB2, f"ls {datadir}/dockyard.fenced {datadir}/standby.signal").stdout.strip()
    assert guard, "db2 has neither a fence nor standby.signal: it may start as a primary"
    assert sh(DB2, "pg_isready -q").returncode != 0

    rc, output, _ = operation("rejoin", DB2)
    assert rc == 0, output
    assert in_recovery(DB2) == "t"
    assert wait_for(lambda: streams_from(DB2, DB3) and streams_from(DB1, DB3))


def test_a_forced_failover_compares_positions_after_the_old_primary_stopped():
    # db1 stops streaming from db3 (its receiver is turned off) while db2
    # streams on; nothing is written, so both hold the same WAL. A forced
    # failover to db1 stops db3 cleanly: db2 receives db3's shutdown
    # checkpoint, db1 does not, so db2 ends ahead of db1 and cannot follow it.
    # Positions compared before the stop said they were equal, and the run
    # then waited for db2 to follow db1 until it gave up.
    psql(DB1, "ALTER SYSTEM SET primary_conninfo = ''")
    psql(DB1, "SELECT pg_reload_conf()")
    assert wait_for(lambda: DB1 not in psql(DB3, "SELECT string_agg(application_name, ',') FROM pg_stat_replication"))
    try:
        rc, output, _ = operation("failover", DB1, "-e", "dockyard_force=true")
    finally:
        psql(DB1, "ALTER SYSTEM RESET primary_conninfo")
        psql(DB1, "SELECT pg_reload_conf()")
    assert rc == 0, output[-6000:]
    assert in_recovery(DB1) == "f"
    report = task_output(output, "Dockyard report: topology")
    assert DB2 in report.split("left_out")[1], report
