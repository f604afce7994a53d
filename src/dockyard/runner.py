"""Runs one playbook through ansible-runner and condenses its events into a
RunResult: recap per host, failures, timing, where the artifacts are."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shlex
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dockyard import access, artifacts, hostkeys, strategy
from dockyard.errors import BadInput, DockyardError
from dockyard.project import Project

EventHandler = Callable[[dict[str, Any]], None]

# Tasks whose failure means the input was wrong, not that a host misbehaved;
# when only they failed and nothing changed, the run ends with exit code 2.
INPUT_CHECK_ACTIONS = frozenset(
    {
        "assert",
        "ansible.builtin.assert",
        "validate_argument_spec",
        "ansible.builtin.validate_argument_spec",
        "fail",
        "ansible.builtin.fail",
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
REPORT_TASK_PREFIX = "Dockyard report:"
# Set on a result event the collector found cut short by a cancel (for the display).
INTERRUPTED_MARK = "dockyard_interrupted"


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
        """Failed only in input checks, before any host changed."""
        nothing_changed = all(counts.get("changed", 0) == 0 for counts in self.recap.values())
        return (
            not self.ok
            and not self.cancelled
            and bool(self.failures)
            and nothing_changed
            and all(f.action in INPUT_CHECK_ACTIONS for f in self.failures)
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


def condense_failure(event_data: dict[str, Any], max_lines: int = 6) -> str:
    """The module's message and the useful end of stderr, a few lines long."""
    res = event_data.get("res") or {}
    if res.get("censored"):
        return res["censored"]
    parts: list[str] = []
    failed_items = [item for item in res.get("results", []) if isinstance(item, dict) and item.get("failed")]
    for source in [res, *failed_items]:
        message = source.get("msg")
        if message and str(message) not in parts:
            parts.append(str(message).strip())
        for stream in ("stderr", "module_stderr"):
            text = str(source.get(stream) or "").strip()
            if text:
                parts.append("\n".join(text.splitlines()[-max_lines:]))
    if not parts and res.get("stdout"):
        parts.append("\n".join(str(res["stdout"]).splitlines()[-max_lines:]))
    text = "\n".join(parts) or "failed without a message"
    lines = text.splitlines()
    if len(lines) > max_lines * 2:
        lines = [*lines[:max_lines], "...", *lines[-max_lines:]]
    return "\n".join(lines)


def search_path() -> str:
    """PATH with this Python's bin directory first, so that the venv's
    ansible-playbook runs even when the venv is not activated."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    if shutil.which("ansible-playbook", path=path) is None:
        raise DockyardError("ansible-playbook is not installed: run scripts/bootstrap.sh or pip install dockyard.")
    return path


RESULT_EVENTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_skipped": "skipped",
    "runner_on_unreachable": "unreachable",
}


def result_outcome(kind: str, data: dict[str, Any]) -> str | None:
    """ok, changed, failed, skipped or unreachable for a host's task result
    event; None for other events. Ignored failures count as ok, as Ansible
    counts them."""
    outcome = RESULT_EVENTS.get(kind)
    if outcome == "failed" and data.get("ignore_errors"):
        return "ok"
    if outcome == "ok" and (data.get("res") or {}).get("changed"):
        return "changed"
    return outcome


class Outcomes:
    """Reads each host's task results from the event stream, no_log ones
    included: ansible-runner replaces a no_log result by {"censored": ...},
    its "changed" with it, but the line Ansible printed for it (or for each of
    its loop items) still says "changed:". One per run: it remembers items."""

    def __init__(self) -> None:
        self._changed_items: set[tuple[str, str]] = set()

    def read(self, event: dict[str, Any]) -> str | None:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        key = (str(data.get("host", "")), str(data.get("task_uuid", "")))
        if kind == "runner_item_on_ok":
            if _printed_changed(event):
                self._changed_items.add(key)
            return None
        outcome = result_outcome(kind, data)
        censored = "censored" in (data.get("res") or {})
        if outcome == "ok" and censored and (_printed_changed(event) or key in self._changed_items):
            outcome = "changed"
        if outcome is not None:
            self._changed_items.discard(key)
        return outcome


def _printed_changed(event: dict[str, Any]) -> bool:
    # The task's banner may come first: the default callback delays it to the
    # first result it shows (display_skipped_hosts = False).
    return any(line.startswith("changed: [") for line in str(event.get("stdout") or "").splitlines())


def add_outcome(counts: dict[str, int], outcome: str) -> None:
    """Count like Ansible's recap: a changed result is also an ok one."""
    counts["ok" if outcome == "changed" else outcome] += 1
    if outcome == "changed":
        counts["changed"] += 1


def _descendants(root: int) -> list[int]:
    """Every process below root, deepest first (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                # The command name may hold spaces and parentheses: split after it.
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    queue = [root]
    while queue:
        pid = queue.pop()
        for child in children.get(pid, []):
            found.append(child)
            queue.append(child)
    return list(reversed(found))


def terminate_children(grace_s: float = 2.0) -> None:
    """Stop everything this process started. ansible-runner only kills the
    ansible-playbook process group, but Ansible's workers run in sessions of
    their own (setsid), and their modules would outlive a cancelled run."""
    if not os.path.isdir("/proc"):
        return
    pids = _descendants(os.getpid())
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.05)
    for pid in pids:
        if _alive(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _unrescued(failures: list[HostFailure], recap: dict[str, dict[str, int]]) -> list[HostFailure]:
    """Drop failures a block's rescue dealt with. Ansible reports them like any
    other, but its stats count only the failures that stood; those are the
    last ones of each host."""
    if not recap:
        return failures
    kept: list[HostFailure] = []
    for host in dict.fromkeys(f.host for f in failures):
        mine = [f for f in failures if f.host == host and not f.unreachable]
        standing = recap.get(host, {}).get("failed", len(mine))
        kept.extend(mine[len(mine) - standing :] if standing else [])
        kept.extend(f for f in failures if f.host == host and f.unreachable)
    return kept


class _Collector:
    """Keeps what the result needs from the event stream, then passes each
    event on to the display."""

    def __init__(self, forward: EventHandler | None, cancelling: Callable[[], bool] = lambda: False) -> None:
        self.forward = forward
        self.cancelling = cancelling
        self.outcomes = Outcomes()
        self.recap: dict[str, dict[str, int]] = {}
        self.failures: list[HostFailure] = []
        self.changes: list[tuple[str, str]] = []
        self.interrupted: list[tuple[str, str]] = []
        # (host, task uuid) -> task, for each task started on a host and not
        # finished there yet: what a cancel cuts short.
        self.in_flight: dict[tuple[str, str], str] = {}
        self.results: dict[str, dict[str, Any]] = {}
        # Counted from results as they come, for runs cut short before Ansible
        # reports its own stats (a cancelled run).
        self.counted: dict[str, dict[str, int]] = {}
        self.plays_started = 0
        self.steps: list[Step] = []
        self._play = ""
        self._step_started: float | None = None

    def _close_step(self, now: float) -> None:
        if self.steps and self._step_started is not None:
            self.steps[-1].seconds = now - self._step_started
        self._step_started = None

    def _time_steps(self, kind: str, data: dict[str, Any]) -> None:
        now = time.monotonic()
        if kind == "playbook_on_play_start":
            self._close_step(now)
            self._play = data.get("play", "")
        elif kind in ("playbook_on_task_start", "playbook_on_handler_task_start"):
            self._close_step(now)
            self.steps.append(Step(play=self._play, task=data.get("task", "")))
            self._step_started = now
        elif kind == "playbook_on_stats":
            self._close_step(now)

    def _count(self, outcome: str | None, data: dict[str, Any]) -> None:
        if outcome is None:
            return
        host = data.get("host", "?")
        counts = self.counted.setdefault(host, dict.fromkeys(RECAP_KEYS.values(), 0))
        add_outcome(counts, outcome)
        if outcome == "changed":
            self.changes.append((host, data.get("task", "?")))
            if self.steps:
                self.steps[-1].changed.append(host)

    def __call__(self, event: dict[str, Any]) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        outcome = self.outcomes.read(event)
        started_on = (str(data.get("host", "?")), str(data.get("task_uuid", "")))
        if kind == "runner_on_start":
            self.in_flight[started_on] = data.get("task", "?")
        elif kind in RESULT_EVENTS:
            self.in_flight.pop(started_on, None)
        interrupted = outcome in ("failed", "unreachable") and self.cancelling()
        if interrupted:
            # The cancel killed the module ("Module result deserialization
            # failed", a signal): not the host's failure, and not counted as one.
            self.interrupted.append((data.get("host", "?"), data.get("task", "?")))
            outcome = None
        self._time_steps(kind, data)
        self._count(outcome, data)
        if kind == "playbook_on_play_start":
            self.plays_started += 1
        if interrupted:
            event = {**event, INTERRUPTED_MARK: True}
        elif kind == "runner_on_failed" and not data.get("ignore_errors"):
            self.failures.append(
                HostFailure(
                    host=data.get("host", "?"),
                    task=data.get("task", "?"),
                    message=condense_failure(data),
                    action=data.get("task_action", ""),
                )
            )
        elif kind == "runner_on_unreachable":
            self.failures.append(
                HostFailure(
                    host=data.get("host", "?"),
                    task=data.get("task", "?"),
                    message=condense_failure(data),
                    unreachable=True,
                    action=data.get("task_action", ""),
                )
            )
        elif kind == "runner_on_ok":
            # Results of tasks named "Dockyard report: ..." carry data for the
            # CLI itself (status.yml); everything else is not kept.
            task = data.get("task", "")
            if task.startswith(REPORT_TASK_PREFIX):
                self.results.setdefault(data.get("host", "?"), {})[task] = data.get("res", {})
        elif kind == "playbook_on_stats":
            self.recap = self._recap(data)
        if self.forward is not None:
            self.forward(event)
        return True

    def cut_short(self) -> list[tuple[str, str]]:
        """(host, task) of each task a cancel stopped: killed with a result
        (then reported as a failure by Ansible), or before one."""
        return list(dict.fromkeys([*self.interrupted, *((h, t) for (h, _), t in self.in_flight.items())]))

    @staticmethod
    def _recap(stats: dict[str, Any]) -> dict[str, dict[str, int]]:
        hosts: set[str] = set()
        for key in RECAP_KEYS:
            hosts.update((stats.get(key) or {}).keys())
        return {
            host: {name: int((stats.get(key) or {}).get(host, 0)) for key, name in RECAP_KEYS.items()}
            for host in sorted(hosts)
        }


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

    def _cmdline(self, extra_vars_file: Path | None = None) -> str:
        args: list[str] = []
        if extra_vars_file is not None:
            args += ["-e", f"@{extra_vars_file}"]
        if self.options.check:
            args.append("--check")
        if self.options.diff:
            args.append("--diff")
        if self.options.vault_password_file:
            args += ["--vault-password-file", str(self.options.vault_password_file)]
        return shlex.join(args)

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
        collector = _Collector(self.on_event, lambda: self._cancel_requested)
        started = time.monotonic()
        with _extra_vars_file(run_dir, ident, self.options.extra_vars) as extra_vars_file:
            runner = self._run(ansible_runner, run_dir, playbook_path, ident, collector, extra_vars_file)
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
                for failure in _unrescued(collector.failures, collector.recap)
            ],
            artifact_dir=artifact_dir if artifact_dir.exists() else None,
            changes=collector.changes,
            interrupted=collector.cut_short() if runner.status == "canceled" else [],
        )

    def _run(
        self,
        ansible_runner: Any,
        run_dir: Path,
        playbook_path: Path,
        ident: str,
        collector: _Collector,
        extra_vars_file: Path | None,
    ) -> Any:
        return ansible_runner.run(
            private_data_dir=str(run_dir),
            project_dir=str(self.project.root),
            playbook=str(playbook_path.relative_to(self.project.root)),
            inventory=str(self.options.inventory),
            ident=ident,
            # ansible-runner would keep facts in each run's artifacts, so
            # every run gathered them again; an absolute path is used as is.
            fact_cache=str(self.project.fact_cache_for(self.options.inventory)),
            limit=self.options.limit,
            tags=self.options.tags,
            verbosity=self.options.verbosity or None,
            # Extra vars (-e, --to) go in a 0600 file, never on the command
            # line, where `ps` and artifacts/<run>/command would show them.
            cmdline=self._cmdline(extra_vars_file) or None,
            envvars={
                "ANSIBLE_CONFIG": str(self.project.ansible_cfg),
                "ANSIBLE_FORCE_COLOR": "0",
                "ANSIBLE_NOCOLOR": "1",
                "PATH": search_path(),
                # An inventory Ansible cannot parse stops the run instead of
                # running against no hosts and reporting success.
                "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
                **hostkeys.ansible_env(self.options.inventory, self.project.ansible_cfg),
                **strategy.ansible_env(),
            },
            # No plain-text env/ files (extravars, passwords) under the
            # private data dir, and no stale ones overriding this run.
            suppress_env_files=True,
            # Pruned once per command beforehand (artifacts.prune): runner's
            # own rotation races between runs side by side.
            rotate_artifacts=0,
            quiet=True,
            event_handler=collector,
            cancel_callback=self._should_cancel,
            settings={"pexpect_timeout": 0.5, "suppress_ansible_output": False},
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


@contextlib.contextmanager
def _extra_vars_file(run_dir: Path, ident: str, extra_vars: dict[str, Any]) -> Iterator[Path | None]:
    """The run's extra vars in a file only its owner reads, removed after the run."""
    if not extra_vars:
        yield None
        return
    path = run_dir / f".extra-vars-{ident}.json"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            json.dump(extra_vars, handle)
        yield path
    finally:
        path.unlink(missing_ok=True)


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
