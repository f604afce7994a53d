"""Live progress of a playbook run, from ansible-runner's events.

On a terminal, a redrawn panel: current play and task, per-host counts and the
elapsed time. Elsewhere (CI logs, pipes), plain lines: one per task, one per host
that changed, failed or was unreachable. With verbosity, Ansible's own output as
it comes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from dockyard.runner import add_outcome, result_outcome

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
        self.play = ""
        self.task = ""
        self.hosts: dict[str, HostCounts] = {}
        self._live: Live | None = None

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

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        if self.verbosity and event.get("stdout"):
            self.console.print(Text(event["stdout"]), highlight=False)
        if kind == "playbook_on_play_start":
            self.play = data.get("play", "")
            if not self.live_mode and not self.verbosity:
                self._line(f"PLAY {self.play}")
        elif kind == "playbook_on_task_start" or kind == "playbook_on_handler_task_start":
            self.task = data.get("task", "")
            if not self.live_mode and not self.verbosity:
                prefix = "HANDLER" if "handler" in kind else "TASK"
                self._line(f"  {prefix} {self.task}")
        elif kind.startswith("runner_on_") and kind not in ("runner_on_start",):
            self._count(kind, data)
        if self._live is not None:
            self._live.update(self._render())

    def _count(self, kind: str, data: dict[str, Any]) -> None:
        host = data.get("host", "?")
        counts = self.hosts.setdefault(host, HostCounts())
        outcome = result_outcome(kind, data)
        if outcome is None:
            return
        add_outcome(counts.counts, outcome)
        counts.last_task = data.get("task", "")
        if not self.live_mode and not self.verbosity and outcome in ("changed", "failed", "unreachable"):
            self._line(f"    {outcome}: {host}")

    def _line(self, text: str) -> None:
        self.console.print(f"[{_elapsed(self.elapsed)}] {text}", highlight=False, markup=False)

    def _render(self) -> Group:
        header = Text.assemble(
            (f"{self.title}  ", "bold"),
            (_elapsed(self.elapsed), "dim"),
            "\n",
            ("play: ", "dim"),
            self.play or "-",
            "\n",
            ("task: ", "dim"),
            self.task or "-",
        )
        table = Table(box=None, pad_edge=False, show_edge=False)
        table.add_column("host")
        for name in COUNTERS:
            table.add_column(name, justify="right", style=STYLES[name])
        for host, counts in sorted(self.hosts.items()):
            table.add_row(host, *(str(counts.counts[name]) for name in COUNTERS))
        return Group(header, table)
