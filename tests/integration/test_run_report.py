"""What the CLI says about a run, from a real ansible-runner run of a small
playbook on localhost: results of no_log tasks are counted as the recap counts
them (ansible-runner censors their "changed"), and what changed is named task
by task."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from rich.console import Console

from dockyard import report
from dockyard.progress import Progress
from dockyard.project import Project
from dockyard.runner.model import RunOptions
from dockyard.runner.playbook import PlaybookRun

from support import local_project

PLAYBOOK = """---
- name: Secrets and changes
  hosts: all
  gather_facts: false
  tasks:
    - name: Change something secret
      ansible.builtin.command: "true"
      no_log: true
    - name: Change secret items
      ansible.builtin.command: "true"
      loop: [1, 2]
      no_log: true
    - name: Read something secret
      ansible.builtin.command: "true"
      changed_when: false
      no_log: true
    - name: Change something plain
      ansible.builtin.command: "true"
"""


def test_no_log_results_count_as_the_recap_counts_them(tmp_path: Path) -> None:
    root, inventory = local_project(tmp_path, "secrets.yml", PLAYBOOK)
    progress = Progress(Console(file=StringIO(), width=200), "secrets.yml")
    run = PlaybookRun(Project(root), "secrets.yml", RunOptions(inventory=inventory), on_event=progress)
    with progress:
        result = run.execute()
    assert result.ok, result.failures
    assert result.recap["local1"]["changed"] == 3 and result.recap["local1"]["ok"] == 4
    # The live panel's counts, as they stood when the run ended.
    panel = progress.hosts["local1"].counts
    assert {key: panel[key] for key in ("ok", "changed", "failed")} == {"ok": 4, "changed": 3, "failed": 0}
    assert result.changes == [
        ("local1", "Change something secret"),
        ("local1", "Change secret items"),
        ("local1", "Change something plain"),
    ]
    assert [step.changed for step in run.steps] == [["local1"], ["local1"], [], ["local1"]]
    out = StringIO()
    report.print_result(Console(file=out, width=200), result)
    assert "Change secret items" in out.getvalue() and "Read something secret" not in out.getvalue()
