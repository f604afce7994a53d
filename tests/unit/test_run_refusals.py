"""Which failed runs are refusals (exit 2) and which are failed runs (exit 1):
only the tasks that refuse (dockyard.platform.refuse and require, Ansible's
argument spec checks) make a refusal, and only when nothing changed."""

from __future__ import annotations

from pathlib import Path

import pytest

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
