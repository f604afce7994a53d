"""Which failed runs are refusals (exit 2) and which are failed runs (exit 1):
only the tasks that refuse (dockyard.platform.refuse and require, Ansible's
argument spec checks) make a refusal, and only when nothing changed; and how
a refusal reads after the run."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from dockyard import report
from dockyard.runner.model import HostFailure, RunResult

REFUSE = "dockyard.platform.refuse"
REQUIRE = "dockyard.platform.require"
SPEC = "ansible.builtin.validate_argument_spec"


def run(actions: list[str], changed: int = 0, status: str = "failed") -> RunResult:
    return RunResult(
        playbook="site.yml",
        rc=2 if status == "failed" else 0,
        status=status,
        elapsed_s=1.0,
        recap={"db1": {"ok": 3, "changed": changed, "failed": len(actions), "unreachable": 0, "skipped": 0}},
        failures=[HostFailure(host="db1", task=f"task {i}", message="no", action=a) for i, a in enumerate(actions)],
        artifact_dir=Path("/nonexistent"),
    )


# name: (failed actions, changed count, status, is it a refusal)
CASES = {
    "a refusal": ([REFUSE], 0, "failed", True),
    "a requirement not met": ([REQUIRE], 0, "failed", True),
    "the argument spec": ([SPEC], 0, "failed", True),
    "refusals on several hosts": ([REFUSE, REQUIRE, SPEC], 0, "failed", True),
    "a refusal after a change": ([REFUSE], 1, "failed", False),
    # Before: any assert or fail with nothing changed read as bad input, so a
    # re-run whose canary did not reach a replica (an assert) said exit 2.
    "the canary's assert": (["ansible.builtin.assert"], 0, "failed", False),
    "a report after a rollback": (["ansible.builtin.fail"], 0, "failed", False),
    "a module failure": (["ansible.builtin.apt"], 0, "failed", False),
    "a refusal beside a module failure": ([REFUSE, "ansible.builtin.command"], 0, "failed", False),
    "a cancelled run": ([REFUSE], 0, "canceled", False),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_only_refusals_that_changed_nothing_are_refused_runs(case: str) -> None:
    actions, changed, status, refused = CASES[case]
    assert run(actions, changed, status).bad_input is refused


def printed(result: RunResult) -> str:
    out = io.StringIO()
    report.print_result(Console(file=out, width=200, highlight=False, color_system=None), result)
    return out.getvalue()


def test_a_refused_run_lists_refusals_not_failures() -> None:
    lost = (
        "db1: restoring to 2026-12-02 01:45:00+00 discards every write after it: 2 h 13 min of WAL.\n"
        "Re-run with --force to restore."
    )
    refused = run([REFUSE])
    refused.playbook = "restore.yml"
    refused.failures = [HostFailure("db1", "Refuse to restore without --force", lost, action=REFUSE)]
    text = printed(refused)
    assert "REFUSED db1  task: Refuse to restore without --force" in text
    assert "    db1: restoring to 2026-12-02 01:45:00+00 discards every write after it: 2 h 13 min of WAL." in text
    assert "    Re-run with --force to restore." in text
    assert "restore.yml bad input: nothing was changed" in text
    failed = run(["ansible.builtin.command"])
    assert "FAILED db1  task: task 0" in printed(failed)


def test_a_long_message_wraps_under_itself_and_keeps_paths_whole() -> None:
    # A long refusal once went on at the left margin, under the recap's verdict.
    message = (
        "db1: restoring to 2026-12-02 01:45:00+00 discards every write after it; the old data directory would be"
        " kept in /var/lib/postgresql/15/main.before-restore-20261202T014500Z. Run again with --force.\n"
        "  second line, indented"
    )
    lines = report.indented(message, 60)
    assert all(line.startswith("    ") and len(line) <= 60 for line in lines if "/var/lib" not in line), lines
    assert any(line.strip() == "/var/lib/postgresql/15/main.before-restore-20261202T014500Z." for line in lines)
    assert lines[-1] == "      second line, indented"
    assert " ".join(line.strip() for line in lines[:-1]) == message.splitlines()[0]
