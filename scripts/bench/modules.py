#!/usr/bin/env python3
"""Do the two home-made modules that replace standard ones "to save round
trips" pay? Each is timed against the standard tasks it replaces, on one
throwaway systemd host from the lab image (docker connection, pipelining on),
cold (nothing in place: everything written or shipped) and warm (all in place:
changed=0), alternating the variants.

1. Six small files (a few hundred bytes to a few KB, owner/group/mode, one a
   0600 passfile), as roles/postgresql_replication/tasks/configure.yml writes
   them: dockyard.platform.postgresql_replication_files (one call) against
   ansible.builtin.copy (content=) in a loop, and ansible.builtin.template in
   a loop (each with a task for the one missing parent directory, and the
   passfile in a task of its own under no_log, as the standard modules need).
2. A `docker save` archive shipped from the control machine and loaded into
   the host's engine, as roles/microservices/tasks/ship.yml does, behind the
   same "is the image there?" check (the module itself checks nothing and
   always loads): dockyard.platform.microservices_image_load (one task)
   against ansible.builtin.copy + community.docker.docker_image_load (needs
   python3-requests on the host; the lab image lacks it, the docker_engine
   role installs it) and against copy + ansible.builtin.command `docker load`
   (what a host without requests can do), each followed by the two removals
   the module does (archive on the host and on the control machine).

    .venv/bin/python scripts/bench/modules.py [--runs 5] [--image IMAGE] [--json FILE] [--keep]

The host gets docker.io and python3-requests from Debian's mirror (apt) at
the start, outside the timings. Wall seconds are ansible-playbook's, start-up
included; the floor row (one ansible.builtin.ping) is that fixed cost.
Round trips are counted once per variant and state, in an untimed -vvv run:
docker exec calls into the host (EXEC, PUT) and local module runs on the
control machine. Talks only to its own container (removed at the end unless
--keep) and, for `docker save`, to this machine's engine.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

from benchlab import REPO, machine

PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
SHIP_TAG = "dockyard-bench/modules-ship:1"
HOST_ARCHIVE = "/var/tmp/dockyard-bench-image.tar"
NEW_DIR = "/usr/local/lib/dockyard"  # the parent no package makes


# --- the six files -----------------------------------------------------------------


def lines(prefix: str, size: int) -> str:
    """Text of about size bytes: numbered lines like a configuration file's
    (no Jinja delimiters: the template variant renders it as it is)."""
    out, n = [], 0
    while sum(len(line) for line in out) < size:
        out.append(f"{prefix}_{n:03d} = 'value {n} of the benchmark file'   # set by dockyard\n")
        n += 1
    return "".join(out)


def the_files() -> tuple[list[dict], list[dict]]:
    """(files, secret_files) as configure.yml passes them."""
    pg = {"owner": "postgres", "group": "postgres", "mode": "0640"}
    conf = "/etc/postgresql/16/main"
    hba = "# TYPE  DATABASE        USER            ADDRESS                 METHOD\n" + "".join(
        f"hostssl replication     replicator      192.168.{n // 250}.{n % 250}/32       scram-sha-256\n"
        for n in range(50)
    )
    script = "#!/bin/sh\n# Refuses to start a server whose data directory is not the cluster's.\n" + "".join(
        f'test -e "$1/marker-{n}" || {{ echo "missing marker {n}" >&2; exit 1; }}\n' for n in range(30)
    )
    files = [
        {"path": f"{conf}/conf.d/50-dockyard.conf", "content": lines("setting", 1800), **pg},
        {"path": f"{conf}/conf.d/60-dockyard-standby.conf", "content": lines("primary_conninfo", 400), **pg},
        {"path": f"{conf}/pg_hba.conf", "content": hba, **pg},
        {"path": f"{conf}/dockyard-peers", "content": lines("peer", 300), **pg},
        {
            "path": f"{NEW_DIR}/postgresql-start-check",
            "content": script,
            "owner": "root",
            "group": "root",
            "mode": "0755",
        },
    ]
    secret = [
        {
            "path": "/var/lib/postgresql/.dockyard-pgpass",
            "content": "*:5432:*:replicator:s3cr3t-benchmark-only\n",
            "owner": "postgres",
            "group": "postgres",
            "mode": "0600",
        },
    ]
    return files, secret


FILES_PLAYBOOKS = {
    "postgresql_replication_files": """
- hosts: bench
  gather_facts: false
  tasks:
    - name: Write the server configuration (one call)
      dockyard.platform.postgresql_replication_files:
        files: "{{ bench_files }}"
        secret_files: "{{ bench_secret_files }}"
""",
    "copy loop": """
- hosts: bench
  gather_facts: false
  tasks:
    - name: The directory no package makes
      ansible.builtin.file: {path: @NEW_DIR@, state: directory, owner: root, group: root, mode: "0755"}
    - name: Write the server configuration (one copy per file)
      ansible.builtin.copy:
        content: "{{ item.content }}"
        dest: "{{ item.path }}"
        owner: "{{ item.owner }}"
        group: "{{ item.group }}"
        mode: "{{ item.mode }}"
      loop: "{{ bench_files }}"
      loop_control: {label: "{{ item.path }}"}
    - name: Write the passfile
      ansible.builtin.copy:
        content: "{{ item.content }}"
        dest: "{{ item.path }}"
        owner: "{{ item.owner }}"
        group: "{{ item.group }}"
        mode: "{{ item.mode }}"
      loop: "{{ bench_secret_files }}"
      no_log: true
""".replace("@NEW_DIR@", NEW_DIR),
    "template loop": """
- hosts: bench
  gather_facts: false
  tasks:
    - name: The directory no package makes
      ansible.builtin.file: {path: @NEW_DIR@, state: directory, owner: root, group: root, mode: "0755"}
    - name: Write the server configuration (one template per file)
      ansible.builtin.template:
        src: "{{ item.src }}"
        dest: "{{ item.path }}"
        owner: "{{ item.owner }}"
        group: "{{ item.group }}"
        mode: "{{ item.mode }}"
      loop: "{{ bench_file_templates }}"
      loop_control: {label: "{{ item.path }}"}
    - name: Write the passfile
      ansible.builtin.template:
        src: "{{ item.src }}"
        dest: "{{ item.path }}"
        owner: "{{ item.owner }}"
        group: "{{ item.group }}"
        mode: "{{ item.mode }}"
      loop: "{{ bench_secret_templates }}"
      no_log: true
""".replace("@NEW_DIR@", NEW_DIR),
}


# --- the image ---------------------------------------------------------------------

CHECK = """
    - name: Is the image on the host?
      ansible.builtin.command:
        argv: [docker, image, ls, --quiet, "{{ bench_image }}"]
      register: bench_present
      changed_when: false
"""
SHIP_STANDARD = """
    - name: Send the archive
      ansible.builtin.copy: {src: "{{ bench_archive }}", dest: @HOST@, mode: "0600"}
      when: bench_present.stdout == ''
@LOAD@
      when: bench_present.stdout == ''
    - name: Remove the archive on the host
      ansible.builtin.file: {path: @HOST@, state: absent}
      when: bench_present.stdout == ''
    - name: Remove the archive on the control machine
      ansible.builtin.file: {path: "{{ bench_archive }}", state: absent}
      delegate_to: localhost
      vars: {ansible_python_interpreter: "{{ ansible_playbook_python }}"}
      when: bench_present.stdout == ''
"""


def standard_ship(load: str) -> str:
    return SHIP_STANDARD.replace("@LOAD@", f"    - name: Load it\n      {load}").replace("@HOST@", HOST_ARCHIVE)


HEAD = "\n- hosts: bench\n  gather_facts: false\n  tasks:\n"
IMAGE_PLAYBOOKS = {
    "microservices_image_load": HEAD
    + CHECK
    + """
    - name: Send and load the archive (one task)
      dockyard.platform.microservices_image_load:
        archive: "{{ bench_archive }}"
      when: bench_present.stdout == ''
""",
    "copy + docker_image_load": HEAD + CHECK + standard_ship("community.docker.docker_image_load: {path: @HOST@}"),
    "copy + command docker load": HEAD
    + CHECK
    + standard_ship("ansible.builtin.command: {argv: [docker, load, --input, @HOST@]}"),
}
FLOOR_PLAYBOOK = "\n- hosts: bench\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n"


# --- the host ----------------------------------------------------------------------


def container_args() -> list[str]:
    """The lab's recipe for systemd without --privileged (tests/integration/support.py)."""
    cgroup = "rw" if Path("/sys/fs/cgroup/cgroup.controllers").exists() else "ro"
    return [
        "--cap-add",
        "SYS_ADMIN",
        "--cap-add",
        "NET_ADMIN",
        "--cap-add",
        "SYS_PTRACE",
        "--security-opt",
        "seccomp=unconfined",
        "--security-opt",
        "apparmor=unconfined",
        "--cgroupns",
        "host",
        "--tmpfs",
        "/run",
        "--tmpfs",
        "/run/lock",
        "--tmpfs",
        "/tmp",
        "-v",
        f"/sys/fs/cgroup:/sys/fs/cgroup:{cgroup}",
        # The inner engine's data on a real filesystem (overlay2), as app1's volume in the lab.
        "-v",
        "/var/lib/docker",
    ]


def sh(container: str, script: str, check: bool = True) -> str:
    result = subprocess.run(["docker", "exec", container, "sh", "-c", script], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise SystemExit(f"{container}: {script}: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def start_host(image: str) -> str:
    name = f"dockyard-bench-modules-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["docker", "run", "-d", "--name", name, "--hostname", "benchhost", *container_args(), image],
        check=True,
        capture_output=True,
    )
    for _ in range(120):
        state = subprocess.run(
            ["docker", "exec", name, "systemctl", "is-system-running"], capture_output=True, text=True
        ).stdout.strip()
        if state in ("running", "degraded"):
            break
        time.sleep(0.5)
    else:
        raise SystemExit(f"{name}: systemd did not finish booting")
    return name


def prepare_host(container: str) -> dict[str, str]:
    """What a host of the roles has before the timed tasks: the postgres user and
    the directories the server package makes; an engine (docker.io) and
    python3-requests, which the docker_engine role installs."""
    before = sh(container, "python3 -c 'import requests' 2>/dev/null && echo yes || echo no").strip()
    print("host: apt-get install docker.io python3-requests (untimed)", file=sys.stderr)
    sh(
        container,
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io "
        "python3-requests >/dev/null 2>&1",
    )
    sh(container, "systemctl start docker && docker info >/dev/null")
    sh(
        container,
        "useradd --system --home-dir /var/lib/postgresql --create-home --shell /bin/bash postgres && "
        "mkdir -p /etc/postgresql/16/main/conf.d && chown -R postgres:postgres /etc/postgresql",
    )
    engine = sh(container, "docker version --format '{{.Server.Version}}'").strip()
    return {"requests_in_lab_image": before, "engine": engine}


def image_archive(scratch: Path, image: str | None) -> tuple[Path, int, str]:
    """A `docker save` archive of SHIP_TAG: (path, bytes, what it is). The
    image is the one asked, else dockyard-test/busybox:latest when this
    machine has it, else an image of one file made here (docker import)."""

    def present(name: str) -> bool:
        return subprocess.run(["docker", "image", "inspect", name], capture_output=True).returncode == 0

    source = image or ("dockyard-test/busybox:latest" if present("dockyard-test/busybox:latest") else None)
    if source:
        subprocess.run(["docker", "tag", source, SHIP_TAG], check=True, capture_output=True)
    else:
        source = "one file, docker import"
        rootfs = io.BytesIO()
        with tarfile.open(fileobj=rootfs, mode="w") as tar:
            data = b"dockyard benchmark\n" * 512
            info = tarfile.TarInfo("hello.txt")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        subprocess.run(["docker", "import", "-", SHIP_TAG], input=rootfs.getvalue(), check=True, capture_output=True)
    archive = scratch / "image.tar"
    try:
        subprocess.run(["docker", "save", "--output", str(archive), SHIP_TAG], check=True, capture_output=True)
    finally:
        subprocess.run(["docker", "rmi", SHIP_TAG], capture_output=True)
    return archive, archive.stat().st_size, source


# --- runs --------------------------------------------------------------------------


def ansible_env() -> dict[str, str]:
    return {
        **os.environ,
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_CACHE_PLUGIN": "ansible.builtin.memory",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_PIPELINING": "True",
    }


def play(playbook: Path, inventory: Path, extra: Path, verbose: bool = False) -> tuple[float, int, str]:
    """One ansible-playbook run to success: (wall seconds, changed, output)."""
    argv = [PLAYBOOK, "-i", str(inventory), "-e", f"@{extra}", *(["-vvv"] if verbose else []), str(playbook)]
    started = time.monotonic()
    result = subprocess.run(argv, cwd=REPO, env=ansible_env(), capture_output=True, text=True, timeout=600)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"failed: {' '.join(argv)}")
    changed = sum(int(part.split()[0]) for part in result.stdout.split(" changed=")[1:])
    return elapsed, changed, result.stdout


def round_trips(output: str, container: str) -> dict[str, int]:
    """From a -vvv run: docker exec calls into the host and local runs."""
    ours = [line for line in output.splitlines() if line.startswith(f"<{container}> ")]
    return {
        "host_exec": sum(" EXEC " in line for line in ours),
        "host_put": sum(" PUT " in line for line in ours),
        "local_exec": sum(line.startswith("<localhost> EXEC ") for line in output.splitlines()),
    }


def measure(
    name: str, playbook: Path, reset, check, inventory: Path, extra: Path, runs: int, container: str, cold: bool = True
) -> dict:
    """cold (after reset) and warm (right after) runs; returns the figures."""
    rows: dict[str, list] = {"cold_s": [], "cold_changed": [], "warm_s": [], "warm_changed": []}
    for _ in range(runs):
        if cold:
            reset()
            seconds, changed, _ = play(playbook, inventory, extra)
            check()
            rows["cold_s"].append(round(seconds, 2))
            rows["cold_changed"].append(changed)
        seconds, changed, _ = play(playbook, inventory, extra)
        if changed:
            raise SystemExit(f"{name}: warm run changed {changed}")
        rows["warm_s"].append(round(seconds, 2))
        rows["warm_changed"].append(changed)
        print(f"  {name}: cold {rows['cold_s'][-1:]} warm {rows['warm_s'][-1]}", file=sys.stderr)
    trips = {}
    if cold:
        reset()
        trips["cold"] = round_trips(play(playbook, inventory, extra, verbose=True)[2], container)
        check()
    trips["warm"] = round_trips(play(playbook, inventory, extra, verbose=True)[2], container)
    figures = {"variant": name, **rows, "round_trips": trips}
    for state in ("cold", "warm"):
        if rows[f"{state}_s"]:
            figures[f"{state}_median_s"] = round(statistics.median(rows[f"{state}_s"]), 2)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="cold and warm runs per variant (default 5)")
    parser.add_argument("--image", help="local image to ship (default dockyard-test/busybox:latest if present)")
    parser.add_argument("--lab-image", default=os.environ.get("DOCKYARD_LAB_IMAGE", "dockyard-lab:latest"))
    parser.add_argument("--json", type=Path, help="default scripts/bench/results/modules-<date>.json")
    parser.add_argument("--keep", action="store_true", help="leave the host container running")
    args = parser.parse_args()
    json_path = args.json or REPO / "scripts" / "bench" / "results" / f"modules-{time.strftime('%Y-%m-%d')}.json"

    container = None
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-modules-") as scratch_name:
        scratch = Path(scratch_name)
        try:
            container = start_host(args.lab_image)
            print(f"host: {container}", file=sys.stderr)
            host = prepare_host(container)
            inventory = scratch / "inventory.yml"
            inventory.write_text(
                json.dumps(
                    {
                        "all": {
                            "children": {
                                "bench": {
                                    "hosts": {
                                        container: {
                                            "ansible_connection": "community.docker.docker",
                                            "ansible_python_interpreter": "/usr/bin/python3",
                                        }
                                    }
                                }
                            }
                        }
                    }
                )
            )

            # Case 1: the files.
            files, secret = the_files()
            # The template variant's sources: the same contents, in files.
            templates = []
            for n, entry in enumerate(files + secret):
                source_file = scratch / f"file{n}.j2"
                source_file.write_text(entry["content"])
                templates.append({**{k: v for k, v in entry.items() if k != "content"}, "src": str(source_file)})
            files_vars = scratch / "files.json"
            files_vars.write_text(
                json.dumps(
                    {
                        "bench_files": files,
                        "bench_secret_files": secret,
                        "bench_file_templates": templates[: len(files)],
                        "bench_secret_templates": templates[len(files) :],
                    }
                )
            )
            everything = files + secret
            paths = " ".join(entry["path"] for entry in everything)
            wanted = "".join(
                f"{entry['path']} {entry['owner']} {entry['group']} {int(entry['mode'], 8):o} "
                f"{hashlib.sha256(entry['content'].encode()).hexdigest()}\n"
                for entry in everything
            )

            def reset_files() -> None:
                sh(container, f"rm -f {paths} && rm -rf {NEW_DIR}")

            def check_files() -> None:
                got = sh(
                    container,
                    f"for p in {paths}; do echo \"$p $(stat -c '%U %G %a' $p) "
                    f"$(sha256sum < $p | cut -d' ' -f1)\"; done",
                )
                if got != wanted:
                    raise SystemExit(f"files not as wanted:\n{got}\nwanted:\n{wanted}")

            floor_book = scratch / "floor.yml"
            floor_book.write_text(FLOOR_PLAYBOOK)
            floor = measure(
                "floor: one ansible.builtin.ping",
                floor_book,
                None,
                None,
                inventory,
                files_vars,
                args.runs,
                container,
                cold=False,
            )

            books = {}
            for name, text in {**FILES_PLAYBOOKS, **IMAGE_PLAYBOOKS}.items():
                books[name] = scratch / (name.replace(" ", "_").replace("+", "and") + ".yml")
                books[name].write_text(text)
            print("case 1: six files", file=sys.stderr)
            case1 = [
                measure(name, books[name], reset_files, check_files, inventory, files_vars, args.runs, container)
                for name in FILES_PLAYBOOKS
            ]

            # Case 2: the image.
            master, archive_bytes, source = image_archive(scratch, args.image)
            shipped = scratch / "ship" / "image.tar"
            shipped.parent.mkdir()
            image_vars = scratch / "image.json"
            image_vars.write_text(json.dumps({"bench_image": SHIP_TAG, "bench_archive": str(shipped)}))

            def reset_image() -> None:
                sh(
                    container,
                    f"docker rmi {SHIP_TAG} >/dev/null 2>&1; rm -f {HOST_ARCHIVE}; "
                    f'test -z "$(docker image ls --quiet {SHIP_TAG})"',
                )
                shutil.copy(master, shipped)

            def check_image() -> None:
                if not sh(container, f"docker image ls --quiet {SHIP_TAG}").strip():
                    raise SystemExit(f"{SHIP_TAG} not loaded on the host")
                if shipped.exists() or sh(container, f"test -e {HOST_ARCHIVE} && echo left", check=False).strip():
                    raise SystemExit("an archive was left behind")

            print(f"case 2: image archive of {archive_bytes} bytes ({source})", file=sys.stderr)
            case2 = [
                measure(name, books[name], reset_image, check_image, inventory, image_vars, args.runs, container)
                for name in IMAGE_PLAYBOOKS
            ]
        finally:
            if container and not args.keep:
                subprocess.run(["docker", "rm", "-f", "-v", container], capture_output=True)

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "commit": commit.stdout.strip(),
        "machine": machine(),
        "runs": args.runs,
        "host": {"image": args.lab_image, "connection": "community.docker.docker", "pipelining": True, **host},
        "floor": floor,
        "files": {
            "count": len(everything),
            "bytes": [len(entry["content"]) for entry in everything],
            "variants": case1,
        },
        "image": {"source": source, "archive_bytes": archive_bytes, "variants": case2},
    }
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2) + "\n")

    def trips(row: dict, state: str) -> str:
        t = row["round_trips"].get(state)
        return f"{t['host_exec'] + t['host_put']}+{t['local_exec']}" if t else "-"

    print(f"median of {args.runs} runs; trips = docker exec calls into the host + local module runs")
    header = f"{'':44}{'cold s':>8}{'chg':>5}{'trips':>7}{'warm s':>9}{'chg':>5}{'trips':>7}"
    for title, rows in (
        ("floor: ansible-playbook start-up and one module call", [floor]),
        (f"case 1: {len(everything)} files, {sum(result['files']['bytes'])} bytes", case1),
        (f"case 2: image archive, {archive_bytes // 1024} KiB ({source})", case2),
    ):
        print(f"\n{title}\n{header}")
        for row in rows:
            cold = (
                (f"{row['cold_median_s']:>8.2f}{statistics.median(row['cold_changed']):>5.0f}{trips(row, 'cold'):>7}")
                if "cold_median_s" in row
                else f"{'-':>8}{'-':>5}{'-':>7}"
            )
            print(f"{row['variant'][:43]:44}{cold}{row['warm_median_s']:>9.2f}{0:>5}{trips(row, 'warm'):>7}")
        base = rows[0]
        for row in rows[1:]:
            print(
                f"  {row['variant']} - {base['variant']}: cold {row['cold_median_s'] - base['cold_median_s']:+.2f} s,"
                f" warm {row['warm_median_s'] - base['warm_median_s']:+.2f} s"
            )
    print(f"\nwritten: {json_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
