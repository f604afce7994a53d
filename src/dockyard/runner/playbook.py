"""One run of one playbook through ansible-runner, condensed into a RunResult
(recap per host, failures, timing, where the artifacts are); runs side by side;
Ctrl-C cancelling them."""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dockyard import access, artifacts, hostkeys
from dockyard.errors import BadInput
from dockyard.project import Project
from dockyard.runner.arguments import extra_vars_file, run_arguments
from dockyard.runner.events import EventCollector, EventHandler, unrescued
from dockyard.runner.model import RunOptions, RunResult, Step, merge_results
from dockyard.runner.processes import terminate_children


@dataclass
class PlaybookRun:
    """One run of one playbook of the project."""

    project: Project
    playbook: str
    options: RunOptions
    on_event: EventHandler | None = None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    _cancel_requested: bool = False

    _cancel_done: bool = False

    def request_cancel(self) -> None:
        self._cancel_requested = True

    def _should_cancel(self) -> bool:
        if self._cancel_requested and not self._cancel_done:
            terminate_children()
            self._cancel_done = True
        return self._cancel_requested

    def execute(self) -> RunResult:
        artifacts.prune(self.project.run_dir / "artifacts", self.options.keep_runs)
        with _ctrl_c_cancels([self]):
            return self._execute(_run_stamp())

    def _execute(self, stamp: str) -> RunResult:
        """The run itself; the caller owns SIGINT (only the main thread may)."""
        import ansible_runner

        playbook_path = self.project.playbook(self.playbook)
        run_dir = self.project.run_dir
        run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        run_dir.chmod(0o700)
        ident = f"{stamp}-{playbook_path.stem}"
        collector = EventCollector(self.on_event, lambda: self._cancel_requested)
        started = time.monotonic()
        with extra_vars_file(run_dir, ident, self.options.extra_vars) as vars_file:
            runner = ansible_runner.run(
                **run_arguments(self.project, playbook_path, self.options, ident, vars_file),
                event_handler=collector,
                cancel_callback=self._should_cancel,
            )
        elapsed = time.monotonic() - started
        artifact_dir = run_dir / "artifacts" / ident
        self._restrict(artifact_dir)
        self._restrict(self.project.fact_cache_for(self.options.inventory))
        self.results = collector.results
        self.steps = collector.steps
        if runner.status == "failed" and collector.plays_started == 0:
            raise BadInput(self._startup_error(runner, playbook_path.name))
        return RunResult(
            playbook=playbook_path.name,
            rc=int(runner.rc if runner.rc is not None else 1),
            status=str(runner.status),
            elapsed_s=elapsed,
            recap=collector.recap or collector.counted,
            failures=[
                dataclasses.replace(
                    failure, message=access.explain(hostkeys.explain(failure.message, self.options.inventory))
                )
                for failure in unrescued(collector.failures, collector.recap)
            ],
            artifact_dir=artifact_dir if artifact_dir.exists() else None,
            changes=collector.changes,
            interrupted=collector.cut_short() if runner.status == "canceled" else [],
        )

    def _startup_error(self, runner: Any, playbook: str) -> str:
        """ansible-playbook stopped before its first play: its own words."""
        try:
            output = runner.stdout.read()
        except (OSError, AttributeError):
            output = ""
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        flagged = [line for line in lines if line.startswith(("[ERROR]", "[WARNING]", "Origin:"))]
        detail = " ".join((flagged or lines)[:4]) or "no output"
        if "inventory" in output.lower():
            return f"Cannot read inventory {self.options.inventory}: {detail}"
        return f"{playbook} stopped before its first play (nothing was changed): {detail}"

    @staticmethod
    def _restrict(folder: Path) -> None:
        """Artifacts hold task output, the fact cache what hosts told: readable
        by their owner only."""
        if not folder.exists():
            return
        folder.parent.chmod(0o700)
        for path in [folder, *folder.rglob("*")]:
            with contextlib.suppress(OSError):
                path.chmod(0o700 if path.is_dir() else 0o600)


def _run_stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")


@contextlib.contextmanager
def _ctrl_c_cancels(runs: Sequence[PlaybookRun]) -> Iterator[None]:
    """Ctrl-C cancels every run (ansible-runner then stops at its next poll)."""
    previous_handler = signal.getsignal(signal.SIGINT)

    def on_sigint(signum: int, frame: Any) -> None:
        for run in runs:
            run.request_cancel()

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous_handler)


def execute_side_by_side(runs: Sequence[PlaybookRun], playbook: str) -> RunResult:
    """Runs whose plays touch disjoint hosts, at the same time, each in a thread
    of its own; one result for them all, named after `playbook` (the playbook
    they stand in for). A run that fails does not stop the others: they touch
    other hosts, and each has checked the whole inventory before changing any."""
    stamp = _run_stamp()
    artifacts.prune(runs[0].project.run_dir / "artifacts", max(run.options.keep_runs for run in runs))
    outcomes: list[RunResult | BaseException | None] = [None] * len(runs)

    def work(index: int) -> None:
        try:
            outcomes[index] = runs[index]._execute(stamp)
        except BaseException as error:  # re-raised in the calling thread
            outcomes[index] = error
            # A run that could not start (a playbook Ansible cannot read) would
            # have stopped site.yml before any play: stop the others too, which
            # are still in their inventory checks at this point.
            for run in runs:
                run.request_cancel()

    started = time.monotonic()
    with _ctrl_c_cancels(runs):
        threads = [threading.Thread(target=work, args=(index,), daemon=True) for index in range(len(runs))]
        for thread in threads:
            thread.start()
        for thread in threads:
            # A timeout keeps the main thread able to take Ctrl-C.
            while thread.is_alive():
                thread.join(0.2)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    results = [outcome for outcome in outcomes if isinstance(outcome, RunResult)]
    return merge_results(playbook, results, time.monotonic() - started)
