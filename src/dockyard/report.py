"""What the user reads after a run: the recap table, the failures, the JSON."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from dockyard.runner import RunResult, Step

RECAP_COLUMNS = ("ok", "changed", "failed", "unreachable", "skipped")
RECAP_STYLES = {"changed": "yellow", "failed": "red", "unreachable": "magenta"}


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


def print_result(console: Console, result: RunResult) -> None:
    if result.recap:
        console.print(recap_table(result))
    for failure in result.failures:
        kind = "UNREACHABLE" if failure.unreachable else "FAILED"
        console.print(Text.assemble((f"{kind} ", "bold red"), (failure.host, "bold"), f"  task: {failure.task}"))
        for line in failure.message.splitlines():
            console.print(Text("    " + line), highlight=False)
    if result.cancelled:
        console.print(Text("Cancelled: the run was stopped; the recap shows what had been done.", "yellow"))
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
