#!/usr/bin/env python3
"""The whole platform's figures on a lab of its own (app1, db1 primary, db2 and
db3 replicas): the cold `dockyard up` from bare hosts, the warm re-run, where
each spends its time per role, the apt floor and the cold converge's ratio to
it, then replication lag under pgbench and the switchover and failover figures
(scripts/bench/replication.py's measures, on the same lab).

    .venv/bin/python scripts/bench/stack.py [--reruns 3] [--json FILE] [--keep]

The apt floor is the same packages the roles install (`apt-mark showmanual`
after the converge, less the bare image's), installed by hand with one
`apt-get update && apt-get install` per host into fresh bare lab hosts, all
hosts at once: what a converge cannot beat. The by-hand floor (byhand.py) goes on to what an
admin would type for the same platform: load the image, build and start the
services, set up the primary, clone the replicas. Time per role is taken from the
run's ansible-runner events the way profile_tasks takes it (from a task's start
to the next one's), summed per role over the parts `dockyard up` ran side by
side (apps.yml and replication.yml), whose own wall times are shown too.

Targets (issue #7): cold converge within 1.3x the apt floor; warm re-run of the
four-host lab under 20 s. Uses DOCKYARD_LAB_NAME=dockyard-bench on
192.168.234.0/24 in a scratch project, removed at the end unless --keep; talks
only to that lab's containers.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import re
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from benchlab import DOCKYARD, LAB, REPO, bench_lab, dockyard_json, machine, run
from byhand import by_hand_floor
from cpu import cpu_meter
from replication import failover_figures, lag_figures, print_table, replication_rows

from dockyard.lab import lab_image

HOSTS = ["app1", "db1", "db2", "db3"]


def manual_packages(host: str) -> set[str]:
    argv = ["docker", "exec", f"{LAB}-{host}", "apt-mark", "showmanual"]
    return set(subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split())


def refuse_stale_engine_data() -> None:
    """app1's /var/lib/docker is a named volume: left behind by a lab host
    removed by hand, it would give the new host the old images and containers,
    and the cold run would not be cold."""
    argv = ["docker", "exec", f"{LAB}-app1", "sh", "-c", "ls -A /var/lib/docker"]
    left = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()
    if left:
        raise SystemExit(
            f"{LAB}-app1's /var/lib/docker already holds {', '.join(left)}: a stale volume "
            f"{LAB}-app1-docker; remove it (docker volume rm) or run `dockyard lab down` with this lab's name"
        )


def last_up_parts(project: Path) -> dict[str, list[dict]]:
    """The events of the last `dockyard up`, per playbook it ran: site.yml, or
    apps.yml and replication.yml side by side (their runs share a stamp)."""
    runs = sorted(path for path in (project / ".dockyard" / "artifacts").iterdir() if path.is_dir())
    if not runs:
        raise SystemExit(f"no artifacts under {project / '.dockyard'}")
    stamp = runs[-1].name.split("-", 1)[0]
    parts = {}
    for run_dir in runs:
        if run_dir.name.split("-", 1)[0] == stamp:
            events = [json.loads(path.read_text()) for path in (run_dir / "job_events").glob("*.json")]
            parts[run_dir.name.split("-", 1)[1]] = sorted(events, key=lambda event: event["counter"])
    return parts


def part_seconds(parts: dict[str, list[dict]]) -> dict[str, float]:
    """Each part's wall time, first event to last."""
    walls = {}
    for name, events in parts.items():
        moments = [datetime.fromisoformat(event["created"]) for event in events if event.get("created")]
        walls[name] = round((max(moments) - min(moments)).total_seconds(), 1)
    return walls


def task_seconds(events: list[dict]) -> list[tuple[str, str, float]]:
    """(role, task, seconds) of every task: profile_tasks' measure (a task's
    start to the next one's); plays' own tasks have the role "(playbook)"."""
    marks = ("playbook_on_task_start", "playbook_on_handler_task_start", "playbook_on_play_start", "playbook_on_stats")
    starts = [
        (
            datetime.fromisoformat(event["created"]),
            event["event_data"].get("role") or "(playbook)",
            event["event_data"].get("task", ""),
            event["event"],
        )
        for event in events
        if event["event"] in marks
    ]
    return [
        (role, task, (following - moment).total_seconds())
        for (moment, role, task, kind), (following, *_) in itertools.pairwise(starts)
        if kind != "playbook_on_play_start"
    ]


def slowest_host_tasks(parts: dict[str, list[dict]], count: int = 25) -> list[dict[str, object]]:
    """The longest task runs on a host (a module's own start and end, as
    ansible-runner reports them), with when each started in the run."""
    runs = [
        (part, event["event_data"])
        for part, events in parts.items()
        for event in events
        if event["event"] in ("runner_on_ok", "runner_on_failed") and event["event_data"].get("start")
    ]
    if not runs:
        return []
    first = min(datetime.fromisoformat(data["start"]) for _, data in runs)
    timed = [
        {
            "part": part,
            "host": data.get("host"),
            "task": data.get("task"),
            "at_s": round((datetime.fromisoformat(data["start"]) - first).total_seconds(), 1),
            "seconds": round(
                (datetime.fromisoformat(data["end"]) - datetime.fromisoformat(data["start"])).total_seconds(), 1
            ),
        }
        for part, data in runs
    ]
    return sorted(timed, key=lambda run: -float(run["seconds"]))[:count]


def seconds_per_role(tasks: list[tuple[str, str, float]]) -> dict[str, float]:
    totals: collections.Counter[str] = collections.Counter()
    for role, _, seconds in tasks:
        totals[role] += seconds
    return {role: round(seconds, 1) for role, seconds in totals.most_common()}


# Work of a cold converge that installing packages by hand does not do either:
# shipping the lab image into app1's engine and building the two services.
IMAGE_WORK = re.compile(r"^(Export from the control machine|Load into the host|Build the images)")


def image_seconds(tasks: list[tuple[str, str, float]]) -> float:
    return round(sum(seconds for _, task, seconds in tasks if IMAGE_WORK.match(task)), 1)


def apt_floor(packages: dict[str, list[str]]) -> tuple[float, dict[str, float]]:
    """Installs each host's packages by hand, all hosts at once; returns the
    wall time and each host's own time."""
    times: dict[str, float] = {}

    def install(host: str) -> None:
        command = (
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
            + " ".join(packages[host])
            + " >/dev/null"
        )
        started = time.monotonic()
        subprocess.run(["docker", "exec", f"{LAB}-{host}", "sh", "-c", command], check=True, capture_output=True)
        times[host] = round(time.monotonic() - started, 1)

    started = time.monotonic()
    threads = [threading.Thread(target=install, args=(host,)) for host in HOSTS if packages[host]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if len(times) != len(threads):
        raise SystemExit("the apt floor's install failed on a host (see above)")
    return round(time.monotonic() - started, 1), times


def ratio(work: dict, floor: dict) -> float:
    return round(float(work["busy_core_s"]) / float(floor["busy_core_s"]), 2)


def cpu_row(figures: dict) -> str:
    hosts = ", ".join(f"{host} {seconds}" for host, seconds in figures["hosts_core_s"].items())
    return (
        f"{figures['busy_core_s']} busy ({figures['busy_share']:.0%} of the cores): hosts {hosts}; "
        f"control machine {figures['control_core_s']}, docker daemons {figures['docker_daemons_core_s']}, "
        f"other {figures['other_core_s']}"
    )


def git_commit() -> str:
    argv = ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]
    return subprocess.run(argv, capture_output=True, text=True).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reruns", type=int, default=3)
    parser.add_argument("--pgbench-seconds", type=int, default=30)
    parser.add_argument("--pgbench-clients", type=int, default=4)
    parser.add_argument("--json", type=Path, default=REPO / ".cache" / "bench" / "stack.json")
    parser.add_argument("--keep", action="store_true", help="leave the bench lab up at the end")
    args = parser.parse_args()

    with bench_lab(args.keep) as (project, env):
        bare = {host: manual_packages(host) for host in HOSTS}
        refuse_stale_engine_data()

        print("cold dockyard up", file=sys.stderr)
        with cpu_meter(HOSTS) as cold_cpu:
            cold, cold_result = dockyard_json(["up"], env, project)
        cold_parts = last_up_parts(project)
        cold_tasks = [task for events in cold_parts.values() for task in task_seconds(events)]
        cold_roles = seconds_per_role(cold_tasks)
        warm: list[float] = []
        warm_cpu: list[dict] = []
        for number in range(args.reruns):
            print(f"warm dockyard up #{number + 1}", file=sys.stderr)
            with cpu_meter(HOSTS) as figures:
                elapsed, result = dockyard_json(["up"], env, project)
            warm_cpu.append(figures)
            changed = {host: counts["changed"] for host, counts in result["recap"].items()}
            if any(changed.values()):
                raise SystemExit(f"a re-run changed hosts: {changed}")
            warm.append(elapsed)
        warm_parts = last_up_parts(project)
        warm_roles = seconds_per_role([task for events in warm_parts.values() for task in task_seconds(events)])
        packages = {host: sorted(manual_packages(host) - bare[host]) for host in HOSTS}

        print("replication lag under pgbench", file=sys.stderr)
        lag = lag_figures(args.pgbench_seconds, args.pgbench_clients)
        print("switchover, failover, rejoin", file=sys.stderr)
        failover = failover_figures(project, env)

        print("apt floor on fresh bare hosts", file=sys.stderr)
        run([DOCKYARD, "lab", "down"], env, project)
        run([DOCKYARD, "lab", "up"], env, project)
        with cpu_meter(HOSTS) as floor_cpu:
            floor, floor_hosts = apt_floor(packages)

        print("by-hand floor on fresh bare hosts", file=sys.stderr)
        run([DOCKYARD, "lab", "down"], env, project)
        run([DOCKYARD, "lab", "up"], env, project)
        with cpu_meter(HOSTS) as by_hand_cpu:
            by_hand, by_hand_hosts = by_hand_floor(packages, lab_image())

    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "commit": git_commit(),
        "cold_up_s": round(cold, 1),
        "cold_recap": cold_result["recap"],
        "cold_seconds_per_role": cold_roles,
        "warm_up_s_median": round(statistics.median(warm), 1),
        "warm_up_s_all": [round(w, 1) for w in warm],
        "warm_seconds_per_role": warm_roles,
        "warm_cpu_all": warm_cpu,
        "packages": packages,
        "apt_floor_s": floor,
        "apt_floor_s_per_host": floor_hosts,
        "cold_to_floor_ratio": round(cold / floor, 2),
        "by_hand_floor_s": by_hand,
        "by_hand_floor_s_per_host": by_hand_hosts,
        "cold_to_by_hand_ratio": round(cold / by_hand, 2),
        "cold_cpu": cold_cpu,
        "apt_floor_cpu": floor_cpu,
        "by_hand_floor_cpu": by_hand_cpu,
        "cold_to_floor_core_s_ratio": ratio(cold_cpu, floor_cpu),
        "cold_to_by_hand_core_s_ratio": ratio(cold_cpu, by_hand_cpu),
        "cold_seconds_per_part": part_seconds(cold_parts),
        "cold_image_ship_and_build_s": image_seconds(cold_tasks),
        "cold_slowest_host_tasks": slowest_host_tasks(cold_parts),
        "warm_seconds_per_part": part_seconds(warm_parts),
        **lag,
        "failover": failover,
    }
    rows = [
        ("cold `dockyard up`, 4 bare lab hosts", f"{result['cold_up_s']} s"),
        (
            "  per part (side by side)",
            ", ".join(f"{name} {s} s" for name, s in result["cold_seconds_per_part"].items())
            + f"; shipping the lab image and building the services {result['cold_image_ship_and_build_s']} s of apps",
        ),
        ("  per role (summed over the parts)", ", ".join(f"{role} {s} s" for role, s in cold_roles.items())),
        (
            "apt floor: the same packages by hand, hosts at once",
            f"{floor} s ({', '.join(f'{host} {s} s' for host, s in floor_hosts.items())})",
        ),
        ("cold converge / apt floor", f"{result['cold_to_floor_ratio']}x (target <= 1.3x)"),
        (
            "by-hand floor: the same platform typed by hand, hosts at once",
            f"{by_hand} s ({', '.join(f'{host} {s} s' for host, s in by_hand_hosts.items())})",
        ),
        ("cold converge / by-hand floor", f"{result['cold_to_by_hand_ratio']}x"),
        ("CPU (core-seconds, 2 cores = 2 per second)", ""),
        ("  cold converge", cpu_row(cold_cpu)),
        ("  apt floor", cpu_row(floor_cpu)),
        ("  by-hand floor", cpu_row(by_hand_cpu)),
        (
            "  cold / apt floor, cold / by-hand floor",
            f"{result['cold_to_floor_core_s_ratio']}x, {result['cold_to_by_hand_core_s_ratio']}x",
        ),
        (
            f"warm `dockyard up`, changed=0, median of {args.reruns}",
            f"{result['warm_up_s_median']} s (target < 20 s; all: {', '.join(map(str, result['warm_up_s_all']))})",
        ),
        ("  CPU of the last re-run (core-seconds)", cpu_row(warm_cpu[-1])),
        ("  per part (last re-run)", ", ".join(f"{name} {s} s" for name, s in result["warm_seconds_per_part"].items())),
        ("  per role (summed over the parts)", ", ".join(f"{role} {s} s" for role, s in warm_roles.items())),
        *replication_rows(lag, failover),
    ]
    print_table(rows)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nJSON: {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
