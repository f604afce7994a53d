"""What the commands share: reading -e and the environment into RunOptions,
checking the inventory, running a playbook with live progress, and turning
its result into output and an exit code."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from dockyard import inventory, report
from dockyard.errors import EXIT_BAD_INPUT, EXIT_CANCELLED, EXIT_OK, EXIT_RUN_FAILED, BadInput
from dockyard.progress import Progress
from dockyard.project import VAULT_PASSWORD_FILE_ENV, Project, vault_password_file
from dockyard.runner.model import DEFAULT_KEEP_RUNS, RunOptions, RunResult
from dockyard.runner.playbook import PlaybookRun

KEEP_RUNS_ENV = "DOCKYARD_KEEP_RUNS"


@dataclass
class Consoles:
    out: Console
    err: Console


Handler = Callable[[argparse.Namespace, Consoles], int]


def parse_extra_vars(values: Sequence[str]) -> dict[str, Any]:
    """-e KEY=VALUE, -e '{"json": "object"}' or -e @file.yml, merged in order."""
    import yaml

    merged: dict[str, Any] = {}
    for value in values:
        if value.startswith("@"):
            path = Path(value[1:]).expanduser()
            try:
                loaded = yaml.safe_load(path.read_text())
            except (OSError, yaml.YAMLError) as error:
                raise BadInput(f"-e {value}: cannot read {path}: {error}") from error
            if not isinstance(loaded, dict):
                raise BadInput(f"-e {value}: {path} must hold a mapping of variables.")
            merged.update(loaded)
        elif value.lstrip().startswith("{"):
            try:
                loaded = json.loads(value)
            except json.JSONDecodeError as error:
                raise BadInput(f"-e {value}: not valid JSON ({error.msg}).") from error
            if not isinstance(loaded, dict):
                raise BadInput(f"-e {value}: must be a JSON object.")
            merged.update(loaded)
        else:
            merged.update(_key_values(value))
    return merged


def _key_values(value: str) -> dict[str, str]:
    """-e "a=1 b='two words'" as ansible-playbook reads it: space-separated
    KEY=VALUE pairs, shell-style quoting."""
    from ansible.errors import AnsibleError
    from ansible.parsing.splitter import parse_kv

    try:
        pairs = parse_kv(value)
    except AnsibleError as error:
        raise BadInput(f"-e {value}: {error}") from error
    if not pairs or "_raw_params" in pairs or any(not key.strip() for key in pairs):
        raise BadInput(f"-e {value}: use KEY=VALUE (several separated by spaces), a JSON object, or @FILE.")
    return {key: str(raw) for key, raw in pairs.items()}


def _keep_runs() -> int:
    raw = os.environ.get(KEEP_RUNS_ENV, str(DEFAULT_KEEP_RUNS))
    if not raw.isdigit() or int(raw) < 1:
        raise BadInput(f"{KEEP_RUNS_ENV} must be a whole number of at least 1, got {raw!r}.")
    return int(raw)


def run_options(args: argparse.Namespace, inventory_path: Path, extra: dict[str, Any] | None = None) -> RunOptions:
    extra_vars = parse_extra_vars(getattr(args, "extra_vars", None) or [])
    extra_vars.update(extra or {})
    return RunOptions(
        inventory=inventory_path,
        limit=getattr(args, "limit", None),
        tags=getattr(args, "tags", None),
        check=getattr(args, "check", False),
        diff=getattr(args, "diff", False),
        verbosity=getattr(args, "verbose", 0),
        extra_vars=extra_vars,
        vault_password_file=vault_password_file(getattr(args, "vault_password_file", None)),
        keep_runs=_keep_runs(),
    )


def prepare_inventory(
    args: argparse.Namespace, project: Project, parse: bool = False
) -> tuple[Path, inventory.Inventory | None]:
    """The inventory path, checked; parsed in-process only where its contents
    are needed (--limit, validate), since parsing costs a third of a second
    that ansible-playbook spends again anyway. An unparsable inventory still
    stops the run before any play (see runner/arguments.py)."""
    path = inventory.resolve(project, args.inventory)
    if inventory.holds_vault_data(path) and not (args.vault_password_file or os.environ.get(VAULT_PASSWORD_FILE_ENV)):
        raise BadInput(
            f"{path} holds vault-encrypted data: pass --vault-password-file FILE or set {VAULT_PASSWORD_FILE_ENV}."
        )
    limit = getattr(args, "limit", None)
    if not (parse or limit):
        return path, None
    inv = inventory.load(path)
    inv.check_limit(limit)
    return path, inv


def run_with_progress(
    consoles: Consoles, project: Project, playbook: str, options: RunOptions, title: str
) -> tuple[RunResult, PlaybookRun]:
    progress = Progress(consoles.err, title, verbosity=options.verbosity)
    run = PlaybookRun(project=project, playbook=playbook, options=options, on_event=progress)
    with progress:
        result = run.execute()
    return result, run


def report_of(run: PlaybookRun, task: str) -> dict[str, Any] | None:
    """The msg of the run's report task `task` ("Dockyard report: ..."), from
    the first host that ran it; None when none did (a run that stopped
    before it) or its msg is no mapping."""
    for results in run.results.values():
        msg = (results.get(task) or {}).get("msg")
        if isinstance(msg, dict):
            return msg
    return None


def exit_code(result: RunResult) -> int:
    if result.ok:
        return EXIT_OK
    if result.cancelled:
        return EXIT_CANCELLED
    if result.bad_input:
        return EXIT_BAD_INPUT
    return EXIT_RUN_FAILED


def finish(args: argparse.Namespace, consoles: Consoles, result: RunResult, more: dict[str, Any] | None = None) -> int:
    """The result on the consoles (as JSON too with --json, with `more`'s keys
    added: what a command's report task said), and its exit code."""
    if args.json:
        report.print_result(consoles.err, result)
        report.print_json(consoles.out, {**result.as_dict(), **(more or {})})
    else:
        report.print_result(consoles.out, result)
    return exit_code(result)
