#!/usr/bin/env python3
"""Backup and restore figures on a lab of its own (app1 holds the pgBackRest
repository, db1 is the primary, db2 and db3 stream from it):

- a pgbench database of --scale (50: about 750 MB) is loaded on the primary;
- `dockyard backup --type full`: wall time, pgBackRest's own duration, the
  database size, throughput, and the repository's size (compressed,
  encrypted);
- `dockyard restore --time T --force` to a point just after the load: wall
  time, which includes rebuilding both replicas from the restored primary;
- the recovery point: while a writer on this machine inserts one row at a
  time for 75 s into the primary (through `docker exec psql`, each acknowledged id
  recorded), the primary's server is killed and its data directory removed;
  `dockyard restore --latest --force` then brings back what the archive
  held. Rows lost = acknowledged rows the restored primary lacks; seconds
  lost = from the last restored row's acknowledgement to the last
  acknowledged row's.

    .venv/bin/python scripts/bench/backup.py [--scale 50] [--json FILE] [--keep]

Brings up its own lab (DOCKYARD_LAB_NAME=dockyard-bench, 192.168.234.0/24) in
a scratch project and removes it at the end unless --keep. Talks only to that
lab's containers.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from benchlab import DOCKYARD, LAB, bench_lab, dockyard_json, machine, psql, run

PRIMARY = f"{LAB}-db1"


def sh(container: str, command: str) -> str:
    return subprocess.run(
        ["docker", "exec", container, "sh", "-c", command], capture_output=True, text=True, check=True
    ).stdout.strip()


class Writer(threading.Thread):
    """Inserts one row at a time into the primary and records the time each
    acknowledged id came back; stops at the first failure after `stop`."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.acked: list[tuple[float, int]] = []
        self.stop = threading.Event()
        self.started = time.time()

    def run(self) -> None:
        while not self.stop.is_set():
            result = subprocess.run(
                [
                    "docker",
                    "exec",
                    "-u",
                    "postgres",
                    PRIMARY,
                    "/usr/bin/psql",
                    "-X",
                    "-Atq",
                    "-d",
                    "app",
                    "-c",
                    "INSERT INTO recovery_point DEFAULT VALUES RETURNING id",
                ],
                capture_output=True,
                text=True,
            )
            if result.returncode == 0 and result.stdout.strip().isdigit():
                self.acked.append((time.time(), int(result.stdout.strip())))
            else:
                time.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=50, help="pgbench scale of the database backed up (default 50)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the bench lab afterwards")
    args = parser.parse_args()
    figures: dict[str, object] = {
        "date": datetime.now(timezone.utc).date().isoformat(),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
        "machine": machine(),
        "scale": args.scale,
    }
    with bench_lab(keep=args.keep) as (project, env):
        figures["up_cold_s"] = round(run([DOCKYARD, "up"], env, project), 1)
        figures["up_warm_s"] = round(run([DOCKYARD, "up"], env, project), 1)

        started = time.monotonic()
        subprocess.run(
            ["docker", "exec", "-u", "postgres", PRIMARY, "/usr/bin/pgbench", "-i", "-q", "-s", str(args.scale), "app"],
            check=True,
            capture_output=True,
        )
        figures["pgbench_load_s"] = round(time.monotonic() - started, 1)
        database_bytes = int(psql(PRIMARY, "SELECT pg_database_size('app')"))
        figures["database_mb"] = round(database_bytes / 1e6, 1)

        wall, full = dockyard_json(["backup", "--type", "full"], env, project)
        backup = full["backup"]
        figures["full_backup"] = {
            "wall_s": round(wall, 1),
            "pgbackrest_s": backup["duration_s"],
            "size_mb": round(backup["size_bytes"] / 1e6, 1),
            "repository_mb": round(backup["repository_bytes"] / 1e6, 1),
            "throughput_mb_s": round(backup["size_bytes"] / 1e6 / max(backup["duration_s"], 1), 1),
        }
        print(f"full backup: {figures['full_backup']}", file=sys.stderr)

        psql(
            PRIMARY,
            "CREATE TABLE recovery_point (id bigserial PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())",
            "app",
        )
        time.sleep(1.5)
        target = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        time.sleep(1.5)
        wall, restored = dockyard_json(["restore", "--time", target, "--force"], env, project)
        figures["restore_to_time"] = {"wall_s": round(wall, 1), "set": restored["restore"]["set"]}
        print(f"restore --time: {figures['restore_to_time']}", file=sys.stderr)

        writer = Writer()
        writer.start()
        # Longer than postgresql_archive_timeout (60 s), so that what is lost
        # is bounded by it rather than by the writer's run.
        time.sleep(75)
        # The disaster: the primary's server dies and its data directory is gone.
        sh(
            PRIMARY,
            "systemctl kill -s KILL 'postgresql@*-main.service'; systemctl stop 'postgresql@*-main.service';"
            " rm -rf /var/lib/postgresql/*/main",
        )
        lost_at = time.time()
        time.sleep(2)
        writer.stop.set()
        writer.join(timeout=30)
        acked = [(at, row) for at, row in writer.acked if at <= lost_at]
        wall, _ = dockyard_json(["restore", "--latest", "--force"], env, project)
        restored_max = int(psql(PRIMARY, "SELECT coalesce(max(id), 0) FROM recovery_point", "app"))
        acked_ids = {row for _, row in acked}
        lost = sorted(row for row in acked_ids if row > restored_max)
        last_restored_at = max((at for at, row in acked if row <= restored_max), default=None)
        figures["recovery_point"] = {
            "restore_latest_wall_s": round(wall, 1),
            "acknowledged_rows": len(acked_ids),
            "rows_lost": len(lost),
            # From the last acknowledged row the restore kept (or the writer's
            # start, when it kept none) to the last acknowledged row.
            "seconds_lost": round(acked[-1][0] - (last_restored_at or writer.started), 2) if acked else 0.0,
        }
        print(f"recovery point: {figures['recovery_point']}", file=sys.stderr)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
