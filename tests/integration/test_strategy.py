"""DOCKYARD_STRATEGY, for real: a run on this machine (connection local)
with Mitogen's strategy runs its modules in Mitogen's interpreter (the parent
of a command task is a process named "mitogen:..."), the default does not,
and a strategy Dockyard does not know is refused before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.errors import BadInput
from dockyard.project import Project
from dockyard.runner.model import RunOptions
from dockyard.runner.playbook import PlaybookRun

from support import local_project

PLAYBOOK = """---
- name: Where modules run
  hosts: all
  gather_facts: false
  tasks:
    - name: "Dockyard report: parent"
      ansible.builtin.shell: "tr '\\\\0' ' ' < /proc/$PPID/cmdline"
      changed_when: false
"""


def parent_of_a_module(tmp_path: Path) -> str:
    root, inventory = local_project(tmp_path, "where.yml", PLAYBOOK)
    run = PlaybookRun(Project(root), "where.yml", RunOptions(inventory=inventory))
    result = run.execute()
    assert result.ok, result.failures
    return run.results["local1"]["Dockyard report: parent"]["stdout"]


def test_mitogen_runs_the_modules_when_chosen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_STRATEGY", "mitogen")
    assert "(mitogen:" in parent_of_a_module(tmp_path)


def test_ansibles_own_strategy_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKYARD_STRATEGY", raising=False)
    assert "mitogen" not in parent_of_a_module(tmp_path)


def test_an_unknown_strategy_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_STRATEGY", "free")
    with pytest.raises(BadInput, match="DOCKYARD_STRATEGY must be one of linear, mitogen"):
        parent_of_a_module(tmp_path)
