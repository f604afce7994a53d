"""`dockyard up` runs site.yml's application part (apps.yml) and its database
part (replication.yml) side by side when no host is in both, and site.yml in
order otherwise.

The plan is checked against inventories parsed by Ansible itself. The runs
are real ansible-runner runs of small playbooks on two local hosts: each part
waits for the other's start marker, so parts run one after the other would
time out and fail; a failing part leaves the other to finish; Ctrl-C stops
both."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from dockyard import inventory, site
from dockyard.progress import Progress
from dockyard.runner.model import HostFailure, RunResult, merge_results

from support import REPO_ROOT, processes_running

LAB_LIKE = """
all:
  children:
    docker_hosts: {hosts: {app1: }}
    app_hosts: {hosts: {app1: }}
    postgresql:
      children:
        postgresql_primary: {hosts: {db1: }}
        postgresql_replicas: {hosts: {db2: , db3: }}
"""
ONE_SERVER = """
all:
  children:
    docker_hosts: {hosts: {server: }}
    app_hosts: {hosts: {server: }}
    postgresql_primary: {hosts: {server: }}
"""
APPS_ONLY = """
all:
  children:
    docker_hosts: {hosts: {app1: , app2: }}
    app_hosts: {hosts: {app1: }}
"""


def plan_for(tmp_path: Path, text: str, limit: str | None = None) -> tuple[str, ...]:
    path = tmp_path / "hosts.yml"
    path.write_text(text)
    return site.plan(inventory.load(path), limit).playbooks


def test_disjoint_parts_run_side_by_side(tmp_path: Path) -> None:
    assert plan_for(tmp_path, LAB_LIKE) == ("apps.yml", "replication.yml")
    assert plan_for(tmp_path, LAB_LIKE, "app1,db2") == ("apps.yml", "replication.yml")


def test_backups_are_set_up_after_both_parts(tmp_path: Path) -> None:
    """The repository host's stanza is created from the primary the database
    part set up, and it may be an application host: after, never beside."""
    with_backups = LAB_LIKE + "    postgresql_backup_hosts: {hosts: {app1: }}\n"
    path = tmp_path / "hosts.yml"
    path.write_text(with_backups)
    plan = site.plan(inventory.load(path))
    assert plan.playbooks == ("apps.yml", "replication.yml")
    assert plan.then == ("backup-setup.yml",)
    path.write_text(LAB_LIKE)
    assert site.plan(inventory.load(path)).then == ()


def test_a_host_in_both_parts_gets_site_yml_in_order(tmp_path: Path) -> None:
    assert plan_for(tmp_path, ONE_SERVER) == ("site.yml",)


def test_a_limit_or_an_inventory_with_one_part_gets_site_yml(tmp_path: Path) -> None:
    assert plan_for(tmp_path, LAB_LIKE, "postgresql") == ("site.yml",)
    assert plan_for(tmp_path, LAB_LIKE, "all:!postgresql") == ("site.yml",)
    assert plan_for(tmp_path, APPS_ONLY) == ("site.yml",)


def result(recap: dict, rc: int = 0, status: str = "successful", failures=()) -> RunResult:
    return RunResult("x.yml", rc, status, 1.0, recap, list(failures), None)


def counts(ok: int = 0, changed: int = 0, failed: int = 0, skipped: int = 0) -> dict[str, int]:
    return {"ok": ok, "changed": changed, "failed": failed, "unreachable": 0, "skipped": skipped}


def test_results_merge_into_one_for_site_yml() -> None:
    # Both parts check the whole inventory, so a host may appear in both recaps.
    apps = result({"app1": counts(ok=10, changed=2), "db1": counts(ok=3, skipped=1)})
    databases = result({"app1": counts(ok=3), "db1": counts(ok=20, changed=1)})
    merged = merge_results("site.yml", [apps, databases], 12.5)
    assert merged.ok and merged.playbook == "site.yml" and merged.elapsed_s == 12.5
    assert merged.recap == {"app1": counts(ok=13, changed=2), "db1": counts(ok=23, changed=1, skipped=1)}


def test_one_failed_part_fails_the_whole() -> None:
    failure = HostFailure("db1", "Start PostgreSQL", "boom", action="ansible.builtin.systemd_service")
    databases = result({"db1": counts(ok=5, failed=1)}, rc=2, status="failed", failures=[failure])
    merged = merge_results("site.yml", [result({"app1": counts(ok=9)}), databases], 3.0)
    assert not merged.ok and merged.rc == 2 and merged.status == "failed"
    assert merged.failures == [failure] and not merged.bad_input


def test_progress_lines_say_which_part_they_belong_to() -> None:
    stream = StringIO()
    progress = Progress(Console(file=stream, width=200), "site.yml")
    apps, databases = progress.lane("apps"), progress.lane("replication")
    with progress:
        apps({"event": "playbook_on_task_start", "event_data": {"task": "Install the engine packages"}})
        databases({"event": "playbook_on_task_start", "event_data": {"task": "Install PostgreSQL"}})
        databases({"event": "runner_on_ok", "event_data": {"host": "db1", "task": "x", "res": {"changed": True}}})
        databases({"event": "playbook_on_stats", "event_data": {}})
    lines = stream.getvalue().splitlines()
    assert re.fullmatch(r"\[\d\d:\d\d\.\d\] apps \|   TASK Install the engine packages", lines[1]), lines
    assert re.fullmatch(r"\[\d\d:\d\d\.\d\] replication \|   TASK Install PostgreSQL", lines[2]), lines
    assert re.fullmatch(r"\[\d\d:\d\d\.\d\] replication \|     changed: db1 \| x", lines[3]), lines
    assert re.fullmatch(r"\[\d\d:\d\d\.\d\] replication \| done", lines[4]), lines


def test_the_live_panel_shows_a_finished_part_as_done() -> None:
    # The panel as drawn (a console that is not a terminal renders it once).
    progress = Progress(Console(file=StringIO(), width=200), "site.yml")
    apps, databases = progress.lane("apps"), progress.lane("replication")
    apps({"event": "playbook_on_task_start", "event_data": {"task": "Install the engine packages"}})
    databases({"event": "playbook_on_task_start", "event_data": {"task": "Write the server configuration"}})
    databases({"event": "playbook_on_stats", "event_data": {}})
    drawn = StringIO()
    Console(file=drawn, width=200).print(progress._render())
    assert "apps: task: Install the engine packages" in drawn.getvalue()
    assert "replication: done" in drawn.getvalue()
    assert "Write the server configuration" not in drawn.getvalue()


# --- Real runs ------------------------------------------------------------------

PART = """---
- name: {title}
  hosts: {hosts}
  gather_facts: false
  tasks:
    - name: Mark that {name} started
      ansible.builtin.file:
        path: "{{{{ marker_dir }}}}/{name}.started"
        state: touch
        mode: "0644"
    # Run one after the other, the first part would wait here in vain.
    - name: Wait for {other} to start
      ansible.builtin.wait_for:
        path: "{{{{ marker_dir }}}}/{other}.started"
        timeout: 60
    - name: Fail in {name} when asked
      ansible.builtin.fail:
        msg: "{name} failed as asked"
      when: fail_part | default('') == '{name}'
    - name: Sleep in {name} when asked
      ansible.builtin.command: sleep 93.7
      when: sleep_parts | default(false) | bool
      changed_when: false
    - name: Mark that {name} finished
      ansible.builtin.file:
        path: "{{{{ marker_dir }}}}/{name}.finished"
        state: touch
        mode: "0644"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "playbooks").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "ansible.cfg", root / "ansible.cfg")
    (root / "roles").mkdir()
    markers = tmp_path / "markers"
    markers.mkdir()
    (root / "playbooks" / "apps.yml").write_text(
        PART.format(title="Apps", hosts="docker_hosts:app_hosts", name="apps", other="replication")
    )
    (root / "playbooks" / "replication.yml").write_text(
        PART.format(title="Databases", hosts="postgresql_primary:postgresql_replicas", name="replication", other="apps")
    )
    (root / "playbooks" / "site.yml").write_text("---\n- name: Unused\n  hosts: all\n  tasks: []\n")
    (root / "inventory").mkdir()
    (root / "inventory" / "hosts.yml").write_text(
        "all:\n  vars:\n    ansible_connection: local\n"
        '    ansible_python_interpreter: "{{ ansible_playbook_python }}"\n'
        f"    marker_dir: {markers}\n"
        "  children:\n"
        "    docker_hosts: {hosts: {local1: }}\n    app_hosts: {hosts: {local1: }}\n"
        "    postgresql_primary: {hosts: {local2: }}\n"
    )
    return root


def dockyard(project: Path, *args: str, **popen: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "dockyard", "up", "-i", str(project / "inventory"), *args],
        cwd=project,
        env={**os.environ, "DOCKYARD_HOME": str(project)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def test_both_parts_run_at_once_and_report_as_site_yml(project: Path, tmp_path: Path) -> None:
    stdout, stderr = dockyard(project, "--json").communicate(timeout=180)
    payload = json.loads(stdout)
    assert payload["ok"] is True and payload["playbook"] == "site.yml", stdout + stderr
    assert set(payload["recap"]) == {"local1", "local2"}
    assert "(apps.yml and replication.yml side by side)" in stderr
    assert re.search(r"^\[\d\d:\d\d\.\d\] replication \|   TASK Wait for apps to start$", stderr, re.M), stderr
    assert sorted(p.name for p in (tmp_path / "markers").iterdir()) == [
        "apps.finished",
        "apps.started",
        "replication.finished",
        "replication.started",
    ]
    runs = sorted(p.name.split("-", 1)[1] for p in (project / ".dockyard" / "artifacts").iterdir())
    assert runs == ["apps", "replication"]


def test_a_failing_part_fails_the_run_and_lets_the_other_finish(project: Path, tmp_path: Path) -> None:
    process = dockyard(project, "--json", "-e", "fail_part=replication")
    stdout, stderr = process.communicate(timeout=180)
    assert process.returncode == 1, stdout + stderr
    payload = json.loads(stdout)
    assert payload["failures"] == [
        {"host": "local2", "task": "Fail in replication when asked", "message": "replication failed as asked"}
    ]
    assert payload["recap"]["local1"]["failed"] == 0
    assert (tmp_path / "markers" / "apps.finished").exists()
    assert not (tmp_path / "markers" / "replication.finished").exists()


def _sleepers() -> list[str]:
    return processes_running("sleep 93.7")


def test_ctrl_c_stops_both_parts(project: Path) -> None:
    process = dockyard(project, "-e", "sleep_parts=true")
    deadline = time.monotonic() + 90
    while len(_sleepers()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(_sleepers()) == 2, "both parts should be sleeping"
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stdout + stderr
    said = " ".join(stdout.split())
    assert "Cancelled: the run was stopped during" in said
    assert "Sleep in apps when asked on local1" in said and "Sleep in replication when asked on local2" in said
    assert "FAILED" not in stdout
    time.sleep(0.5)
    assert _sleepers() == [], "the cancelled runs left processes behind"


def test_a_part_that_cannot_start_stops_the_other(project: Path, tmp_path: Path) -> None:
    (project / "playbooks" / "apps.yml").write_text("---\n- name: Broken\n  hosts: all\n  tasks: [\n")
    process = dockyard(project)
    # The other part waits 60 s for apps to start: it must be stopped long before.
    stdout, stderr = process.communicate(timeout=45)
    assert process.returncode == 2, stdout + stderr
    assert "apps.yml stopped before its first play (nothing was changed)" in stderr
    assert not (tmp_path / "markers" / "replication.finished").exists()


def test_runs_in_a_row_keep_only_the_last_and_never_crash(project: Path) -> None:
    # Each side-by-side part once rotated the artifacts itself: with
    # DOCKYARD_KEEP_RUNS=1 the second or third `dockyard up` died of the other
    # part deleting the same folders (FileNotFoundError in ansible-runner).
    env = {**os.environ, "DOCKYARD_HOME": str(project), "DOCKYARD_KEEP_RUNS": "1"}
    for attempt in range(4):
        result = subprocess.run(
            [sys.executable, "-m", "dockyard", "up", "-i", str(project / "inventory"), "--json"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, f"run {attempt + 1}: {result.stdout}{result.stderr}"
        assert json.loads(result.stdout)["ok"] is True
    folders = [p for p in (project / ".dockyard" / "artifacts").iterdir() if p.is_dir()]
    # One run kept: its two parts, which share the run's stamp.
    assert len(folders) == 2 and len({p.name.split("-", 1)[0] for p in folders}) == 1, folders
