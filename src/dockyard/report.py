"""What the user reads after a run: the recap table, the failures, the JSON."""

from __future__ import annotations

import json
import textwrap
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from dockyard.runner.model import RunResult, Step

RECAP_COLUMNS = ("ok", "changed", "failed", "unreachable", "skipped")
RECAP_STYLES = {"changed": "yellow", "failed": "red", "unreachable": "magenta"}
# A first run changes a hundred tasks; past this many the table says how many more.
MOST_CHANGES_SHOWN = 20


def print_json(console: Console, payload: dict[str, Any]) -> None:
    """One object on stdout and nothing else (console is the stdout console)."""
    console.file.write(json.dumps(payload, sort_keys=False) + "\n")
    console.file.flush()


def recap_table(result: RunResult) -> Table:
    table = Table(title=f"{result.playbook}: recap", title_justify="left")
    table.add_column("host")
    for name in RECAP_COLUMNS:
        table.add_column(name, justify="right")
    for host, counts in result.recap.items():
        cells = []
        for name in RECAP_COLUMNS:
            value = counts.get(name, 0)
            style = RECAP_STYLES.get(name, "") if value else "dim"
            cells.append(Text(str(value), style=style))
        table.add_row(host, *cells)
    return table


def changes_lines(result: RunResult, most: int = MOST_CHANGES_SHOWN) -> list[str]:
    """What changed, task by task, each with the hosts it changed: the recap's
    "changed" counts say how many, this says which. Plain lines, for a pipe
    and a terminal alike."""
    hosts_by_task: dict[str, list[str]] = {}
    for host, task in result.changes:
        hosts = hosts_by_task.setdefault(task, [])
        if host not in hosts:
            hosts.append(host)
    if not hosts_by_task:
        return []
    rows = list(hosts_by_task.items())
    lines = ["Changed:", *(f"  {task}: {', '.join(hosts)}" for task, hosts in rows[:most])]
    if len(rows) > most:
        lines.append(f"  ... and {len(rows) - most} more tasks (each is in the run's artifacts)")
    return lines


def indented(message: str, width: int, indent: str = "    ") -> list[str]:
    """A failure's message under its host and task, each line wrapped to
    `width` under itself: a long line (a refusal that says what it would cost
    and how to go on) once continued at the margin. Paths and flags are not
    broken at their hyphens."""
    lines: list[str] = []
    for line in message.splitlines() or [""]:
        lines.extend(
            textwrap.wrap(
                line,
                width=max(width, 40),
                initial_indent=indent,
                subsequent_indent=indent,
                break_on_hyphens=False,
                break_long_words=False,
            )
            or [indent]
        )
    return lines


def print_result(console: Console, result: RunResult) -> None:
    if result.recap:
        console.print(recap_table(result))
    for line in changes_lines(result):
        console.print(Text(line), highlight=False)
    for failure in result.failures:
        # A refused run's failures are the refusals: their messages say what
        # was found unsafe and how to go on, not that something broke.
        kind = "UNREACHABLE" if failure.unreachable else "REFUSED" if result.bad_input else "FAILED"
        console.print(Text.assemble((f"{kind} ", "bold red"), (failure.host, "bold"), f"  task: {failure.task}"))
        for line in indented(failure.message, console.width):
            console.print(Text(line), highlight=False)
    if result.cancelled:
        during = "; ".join(f"{task} on {host}" for host, task in dict.fromkeys(result.interrupted))
        where = f" during {during}" if during else ""
        console.print(
            Text(f"Cancelled: the run was stopped{where}; the recap shows what had been done.", "yellow"),
            highlight=False,
        )
    verdict = (
        Text("ok", "bold green")
        if result.ok
        else Text("bad input: nothing was changed", "bold red")
        if result.bad_input
        else Text("cancelled", "bold yellow")
        if result.cancelled
        else Text("failed", "bold red")
    )
    console.print(Text.assemble(f"{result.playbook} ", verdict, f" in {result.elapsed_s:.1f} s"))
    if not result.ok and result.artifact_dir is not None:
        console.print(Text(f"Run artifacts: {result.artifact_dir}", "dim"), highlight=False)


def print_steps(
    console: Console, steps: list[Step], skip_play_prefix: str = "Validate", min_seconds: float = 0.5
) -> None:
    """What a switchover, failover or rejoin did, step by step: each task that
    took a noticeable time or changed something, with how long the run spent
    on it. Task names say what a step waits for."""
    shown = [
        s for s in steps
        if not s.play.startswith(skip_play_prefix) and (s.seconds >= min_seconds or s.changed)
    ]  # fmt: skip
    if not shown:
        return
    table = Table(title="Steps", title_justify="left", show_edge=False)
    table.add_column("step")
    table.add_column("took", justify="right")
    table.add_column("changed on")
    for step in shown:
        table.add_row(step.task, f"{step.seconds:.1f} s", ", ".join(dict.fromkeys(step.changed)))
    console.print(table)
