"""ansible-runner's events condensed into what a run's result needs: each
host's outcomes, the recap, the failures, the steps and their timing, and
what a cancel cut short."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from dockyard.runner.model import RECAP_KEYS, HostFailure, Step

EventHandler = Callable[[dict[str, Any]], None]

REPORT_TASK_PREFIX = "Dockyard report:"
# Set on a result event the collector found cut short by a cancel (for the display).
INTERRUPTED_MARK = "dockyard_interrupted"
RESULT_EVENTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_skipped": "skipped",
    "runner_on_unreachable": "unreachable",
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


def unrescued(failures: list[HostFailure], recap: dict[str, dict[str, int]]) -> list[HostFailure]:
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


class EventCollector:
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
