"""Where a measured stretch of a benchmark spends CPU, in core-seconds: the
whole machine (/proc/stat), each lab host (its container's cgroup: the host's
own processes, modules, apt, and the engine inside app1 with its builds), the
processes this benchmark ran and waited for on the control machine (Ansible,
the dockyard CLI, docker CLIs), and the Docker daemons serving `docker exec`.

On a machine whose cores stay busy for the whole stretch, wall time follows
the CPU work, so the core-seconds say what a change can gain where the
seconds alone cannot: the cold converge and the floors are compared on both.
Linux only (reads /proc and /sys/fs/cgroup)."""

from __future__ import annotations

import os
import resource
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchlab import LAB

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def machine_seconds() -> tuple[float, float]:
    """(busy, all) core-seconds since boot, from /proc/stat's first line."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / CLOCK_TICKS, sum(ticks) / CLOCK_TICKS


def container_cgroup_usage(container_id: str) -> Path | None:
    """The file that counts a container's CPU time, cgroup v1 or v2, where
    Docker's usual cgroup drivers put it."""
    candidates = [
        Path(f"/sys/fs/cgroup/cpuacct/docker/{container_id}/cpuacct.usage"),
        Path(f"/sys/fs/cgroup/cpu,cpuacct/docker/{container_id}/cpuacct.usage"),
        Path(f"/sys/fs/cgroup/docker/{container_id}/cpu.stat"),
        Path(f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/cpu.stat"),
    ]
    return next((path for path in candidates if path.exists()), None)


def cgroup_seconds(path: Path) -> float:
    text = path.read_text()
    if path.name == "cpu.stat":
        usage = next(line.split()[1] for line in text.splitlines() if line.startswith("usage_usec"))
        return int(usage) / 1e6
    return int(text) / 1e9


def lab_usage_files(hosts: list[str]) -> dict[str, Path]:
    files = {}
    for host in hosts:
        argv = ["docker", "inspect", "-f", "{{.Id}}", f"{LAB}-{host}"]
        container_id = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
        path = container_cgroup_usage(container_id)
        if path is not None:
            files[host] = path
    return files


def daemon_seconds() -> float:
    """CPU time of dockerd and containerd (and its shims) on this machine."""
    pids = subprocess.run(["pgrep", "-f", "dockerd|containerd"], capture_output=True, text=True).stdout.split()
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def children_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def cpu_meter(hosts: list[str]) -> Iterator[dict[str, object]]:
    """Measures the block; the yielded dict is filled in when it ends:
    busy and idle core-seconds, the busy share, and the split by where the
    work ran (hosts per name, control machine, docker daemons, the rest:
    other processes of this machine, and the kernel's own work)."""
    figures: dict[str, object] = {}
    files = lab_usage_files(hosts)
    hosts_before = {host: cgroup_seconds(path) for host, path in files.items()}
    busy_before, all_before = machine_seconds()
    control_before, daemons_before = children_seconds(), daemon_seconds()
    yield figures
    busy_after, all_after = machine_seconds()
    busy = busy_after - busy_before
    per_host = {host: round(cgroup_seconds(path) - hosts_before[host], 1) for host, path in files.items()}
    control = children_seconds() - control_before
    daemons = daemon_seconds() - daemons_before
    figures.update(
        {
            "busy_core_s": round(busy, 1),
            "busy_share": round(busy / (all_after - all_before), 2) if all_after > all_before else 0.0,
            "hosts_core_s": per_host,
            "control_core_s": round(control, 1),
            "docker_daemons_core_s": round(daemons, 1),
            "other_core_s": round(busy - sum(per_host.values()) - control - daemons, 1),
        }
    )
