"""What a run is given (RunOptions) and what it gives back (RunResult), and one
result for runs made side by side."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The tasks that refuse: Dockyard's refuse and require (fail and assert under
# names that say "the input or the state found makes this unsafe") and
# Ansible's argument spec checks. A run whose only failures are refusals, and
# that changed nothing, ends with exit code 2; any other failure (a health
# check, the canary, a report after a rollback) is a failed run.
REFUSAL_ACTIONS = frozenset(
    {
        "dockyard.platform.refuse",
        "dockyard.platform.require",
        "validate_argument_spec",
        "ansible.builtin.validate_argument_spec",
    }
)
RECAP_KEYS = {
    "ok": "ok",
    "changed": "changed",
    "failures": "failed",
    "dark": "unreachable",
    "skipped": "skipped",
}
DEFAULT_KEEP_RUNS = 10


@dataclass
class HostFailure:
    host: str
    task: str
    message: str
    unreachable: bool = False
    action: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"host": self.host, "task": self.task, "message": self.message}


@dataclass
class Step:
    """One task of a run as a whole: how long the play spent on it (over all
    hosts) and where it changed something."""

    play: str
    task: str
    seconds: float = 0.0
    changed: list[str] = field(default_factory=list)


@dataclass
class RunOptions:
    inventory: Path
    limit: str | None = None
    tags: str | None = None
    check: bool = False
    diff: bool = False
    verbosity: int = 0
    extra_vars: dict[str, Any] = field(default_factory=dict)
    vault_password_file: Path | None = None
    keep_runs: int = DEFAULT_KEEP_RUNS


@dataclass
class RunResult:
    playbook: str
    rc: int
    status: str
    elapsed_s: float
    recap: dict[str, dict[str, int]]
    failures: list[HostFailure]
    artifact_dir: Path | None
    # (host, task) of each result that changed something, in the order they came.
    changes: list[tuple[str, str]] = field(default_factory=list)
    # (host, task) of the tasks a cancel cut short: their "failures" (a module
    # killed mid-run) are the cancel's doing, not the host's.
    interrupted: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.rc == 0 and self.status == "successful"

    @property
    def cancelled(self) -> bool:
        return self.status == "canceled"

    @property
    def bad_input(self) -> bool:
        """Refused (only refusals failed) before any host changed."""
        nothing_changed = all(counts.get("changed", 0) == 0 for counts in self.recap.values())
        return (
            not self.ok
            and not self.cancelled
            and bool(self.failures)
            and nothing_changed
            and all(f.action in REFUSAL_ACTIONS for f in self.failures)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rc": self.rc,
            "playbook": self.playbook,
            "elapsed_s": round(self.elapsed_s, 1),
            "recap": self.recap,
            "failures": [f.as_dict() for f in self.failures],
        }


def merge_results(playbook: str, results: Sequence[RunResult], elapsed_s: float) -> RunResult:
    """One result for runs made side by side: recaps added up per host (a host
    may appear in several, for the inventory checks), every failure, the first
    failed run's exit code and artifacts."""
    recap: dict[str, dict[str, int]] = {}
    for result in results:
        for host, counts in result.recap.items():
            merged = recap.setdefault(host, dict.fromkeys(RECAP_KEYS.values(), 0))
            for key, value in counts.items():
                merged[key] = merged.get(key, 0) + value
    failed = [result for result in results if not result.ok]
    if any(result.cancelled for result in results):
        status = "canceled"
    elif failed:
        status = "failed"
    else:
        status = "successful"
    first = failed[0] if failed else results[0]
    return RunResult(
        playbook=playbook,
        rc=first.rc if failed else 0,
        status=status,
        elapsed_s=elapsed_s,
        recap=dict(sorted(recap.items())),
        failures=[failure for result in results for failure in result.failures],
        artifact_dir=first.artifact_dir,
        changes=[change for result in results for change in result.changes],
        interrupted=[task for result in results for task in result.interrupted],
    )
