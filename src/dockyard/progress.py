"""Live progress of a playbook run, from ansible-runner's events.

On a terminal, a redrawn panel: current play and task, per-host counts and the
elapsed time. Elsewhere (CI logs, pipes), plain lines: one per task, one per host
that changed, failed or was unreachable. With verbosity, Ansible's own output as
it comes. Runs made side by side (runner.playbook.execute_side_by_side) feed it through
lane(): each lane's play and task are shown, and its plain lines say whose
they are."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from dockyard.runner.events import INTERRUPTED_MARK, Outcomes, add_outcome

COUNTERS = ("ok", "changed", "failed", "unreachable", "skipped")
STYLES = {
    "ok": "green",
    "changed": "yellow",
    "failed": "red",
    "unreachable": "magenta",
    "skipped": "cyan",
}


@dataclass
class HostCounts:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    last_task: str = ""


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes):02d}:{secs:04.1f}"


class Progress:
    """Feed it events; use as a context manager around the run."""

    def __init__(self, console: Console, title: str, verbosity: int = 0) -> None:
        self.console = console
        self.title = title
        self.verbosity = verbosity
        self.live_mode = console.is_terminal and verbosity == 0
        self.started = time.monotonic()
        # lane -> [play, task]; the lane of a lone run is "".
        self.lanes: dict[str, list[str]] = {}
        # Lanes whose run has ended (its stats came) while another goes on.
        self.finished: set[str] = set()
        self.outcomes: dict[str, Outcomes] = {}
        self.hosts: dict[str, HostCounts] = {}
        self._live: Live | None = None
        # ansible-runner calls lanes' handlers from their own threads.
        self._lock = threading.Lock()

    def __enter__(self) -> Progress:
        self.started = time.monotonic()
        if self.live_mode:
            self._live = Live(self._render(), console=self.console, refresh_per_second=4, transient=True)
            self._live.__enter__()
        else:
            self.console.print(f"dockyard: running {self.title}", highlight=False)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def lane(self, name: str) -> Callable[[dict[str, Any]], None]:
        """The event handler of one of several runs made side by side."""
        self.lanes.setdefault(name, ["", ""])
        return lambda event: self.handle(event, name)

    def __call__(self, event: dict[str, Any]) -> None:
        self.handle(event, "")

    def handle(self, event: dict[str, Any], lane: str) -> None:
        with self._lock:
            self._handle(event, lane)

    def _handle(self, event: dict[str, Any], lane: str) -> None:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        where = self.lanes.setdefault(lane, ["", ""])
        if self.verbosity and event.get("stdout"):
            self.console.print(Text(event["stdout"]), highlight=False)
        if kind == "playbook_on_play_start":
            where[0] = data.get("play", "")
            if not self.live_mode and not self.verbosity:
                self._line(f"PLAY {where[0]}", lane)
        elif kind == "playbook_on_task_start" or kind == "playbook_on_handler_task_start":
            where[1] = data.get("task", "")
            if not self.live_mode and not self.verbosity:
                prefix = "HANDLER" if "handler" in kind else "TASK"
                self._line(f"  {prefix} {where[1]}", lane)
        elif kind == "playbook_on_stats" and lane:
            # A part that finished while the other runs on: shown as done,
            # not as still busy with its last task.
            self.finished.add(lane)
            if not self.live_mode and not self.verbosity:
                self._line("done", lane)
        outcome = self.outcomes.setdefault(lane, Outcomes()).read(event)
        if event.get(INTERRUPTED_MARK):
            outcome = "interrupted"
        self._count(outcome, data, lane)
        if self._live is not None:
            self._live.update(self._render())

    def _count(self, outcome: str | None, data: dict[str, Any], lane: str) -> None:
        if outcome is None:
            return
        host = data.get("host", "?")
        counts = self.hosts.setdefault(host, HostCounts())
        if outcome != "interrupted":
            add_outcome(counts.counts, outcome)
        counts.last_task = data.get("task", "")
        if not self.live_mode and not self.verbosity and outcome in ("changed", "failed", "unreachable", "interrupted"):
            # Lines of parts side by side interleave: each names its task.
            self._line(f"    {outcome}: {host} | {counts.last_task}", lane)

    def _line(self, text: str, lane: str = "") -> None:
        where = f"{lane} | " if lane else ""
        self.console.print(f"[{_elapsed(self.elapsed)}] {where}{text}", highlight=False, markup=False)

    def _render(self) -> Group:
        header = Text.assemble((f"{self.title}  ", "bold"), (_elapsed(self.elapsed), "dim"))
        for lane, (play, task) in (self.lanes or {"": ["", ""]}).items():
            label = f"{lane}: " if lane else ""
            if lane in self.finished:
                header.append_text(Text.assemble("\n", (label, "dim"), ("done", "green")))
                continue
            header.append_text(Text.assemble("\n", (f"{label}play: ", "dim"), play or "-"))
            header.append_text(Text.assemble("\n", (f"{label}task: ", "dim"), task or "-"))
        table = Table(box=None, pad_edge=False, show_edge=False)
        table.add_column("host")
        for name in COUNTERS:
            table.add_column(name, justify="right", style=STYLES[name])
        for host, counts in sorted(self.hosts.items()):
            table.add_row(host, *(str(counts.counts[name]) for name in COUNTERS))
        return Group(header, table)
