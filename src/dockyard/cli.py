"""The `dockyard` command: parses arguments, runs playbooks through runner/,
prints progress, a recap and failures, or one JSON object with --json."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from dockyard import __version__, inventory, lab, report, site, status
from dockyard.errors import (
    EXIT_BAD_INPUT,
    EXIT_CANCELLED,
    EXIT_OK,
    EXIT_RUN_FAILED,
    BadInput,
    DockyardError,
)
from dockyard.progress import Progress
from dockyard.project import VAULT_PASSWORD_FILE_ENV, Project, vault_password_file
from dockyard.runner.model import DEFAULT_KEEP_RUNS, RunOptions, RunResult
from dockyard.runner.playbook import PlaybookRun, execute_side_by_side

KEEP_RUNS_ENV = "DOCKYARD_KEEP_RUNS"


@dataclass
class Consoles:
    out: Console
    err: Console


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


def _options(args: argparse.Namespace, inventory_path: Path, extra: dict[str, Any] | None = None) -> RunOptions:
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


def _prepare_inventory(
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


def _run(
    consoles: Consoles, project: Project, playbook: str, options: RunOptions, title: str
) -> tuple[RunResult, PlaybookRun]:
    progress = Progress(consoles.err, title, verbosity=options.verbosity)
    run = PlaybookRun(project=project, playbook=playbook, options=options, on_event=progress)
    with progress:
        result = run.execute()
    return result, run


def _exit_code(result: RunResult) -> int:
    if result.ok:
        return EXIT_OK
    if result.cancelled:
        return EXIT_CANCELLED
    if result.bad_input:
        return EXIT_BAD_INPUT
    return EXIT_RUN_FAILED


def _finish(args: argparse.Namespace, consoles: Consoles, result: RunResult) -> int:
    if args.json:
        report.print_result(consoles.err, result)
        report.print_json(consoles.out, result.as_dict())
    else:
        report.print_result(consoles.out, result)
    return _exit_code(result)


TOPOLOGY_REPORT = "Dockyard report: topology"


def playbook_command(
    playbook: str, extra: Callable[[argparse.Namespace], dict[str, Any]] | None = None, moves_primary: bool = False
):
    """A command that runs one playbook. Those that move the PostgreSQL primary
    (switchover, failover, rejoin) also print their steps with durations and
    bring the inventory in line with the new primary (see _follow_topology)."""

    def handler(args: argparse.Namespace, consoles: Consoles) -> int:
        project = Project.locate()
        project.playbook(playbook)
        path, inv = _prepare_inventory(args, project, parse=moves_primary)
        extra_vars = extra(args) if extra else None
        if moves_primary and inv is not None and extra_vars:
            # Answered from the inventory at once, not after a playbook's start.
            inv.require_cluster_host(extra_vars["dockyard_target"], "--to" if hasattr(args, "to") else "rejoin")
        options = _options(args, path, extra_vars)
        result, run = _run(consoles, project, playbook, options, f"{playbook} on {path}")
        if moves_primary:
            report.print_steps(consoles.err if args.json else consoles.out, run.steps)
        code = _finish(args, consoles, result)
        if moves_primary and code == EXIT_OK and not getattr(args, "check", False):
            _follow_topology(args, consoles, project, path, run)
        return code

    return handler


def cmd_up(args: argparse.Namespace, consoles: Consoles) -> int:
    """site.yml; its application and database parts side by side where they
    share no host (see site.py)."""
    project = Project.locate()
    path, inv = _prepare_inventory(args, project, parse=True)
    assert inv is not None
    inv.require_dockyard_groups()
    plan = site.plan(inv, args.limit)
    options = _options(args, path)
    if not plan.side_by_side:
        result, _ = _run(consoles, project, site.SITE_PLAYBOOK, options, f"{site.SITE_PLAYBOOK} on {path}")
        return _finish(args, consoles, result)
    title = f"{site.SITE_PLAYBOOK} on {path} ({' and '.join(plan.playbooks)} side by side)"
    progress = Progress(consoles.err, title, verbosity=options.verbosity)
    runs = [
        PlaybookRun(project=project, playbook=playbook, options=options, on_event=progress.lane(Path(playbook).stem))
        for playbook in plan.playbooks
    ]
    with progress:
        result = execute_side_by_side(runs, site.SITE_PLAYBOOK)
    return _finish(args, consoles, result)


def _follow_topology(
    args: argparse.Namespace, consoles: Consoles, project: Project, path: Path, run: PlaybookRun
) -> None:
    """After a promotion: the lab inventory names the new primary; any other
    inventory gets a message saying which host to move."""
    reports = [r[TOPOLOGY_REPORT].get("msg", {}) for r in run.results.values() if TOPOLOGY_REPORT in r]
    if not reports:
        return
    topology = reports[0]
    message = consoles.err if args.json else consoles.out
    if path.resolve() == project.lab_inventory.resolve():
        hosts_file = lab.record_topology(project, topology["primary"], list(topology["replicas"]))
        message.print(f"{topology['primary']} is the primary; {hosts_file} updated.", highlight=False)
    else:
        message.print(str(topology.get("inventory", "")), highlight=False)
    left_out = [str(host) for host in topology.get("left_out") or []]
    if left_out:
        message.print(
            f"Not following {topology['primary']}: {', '.join(left_out)} (fenced, stopped, unreachable or ahead)."
            " Bring each back with `dockyard rejoin HOST` once it is up.",
            highlight=False,
        )


def cmd_validate(args: argparse.Namespace, consoles: Consoles) -> int:
    project = Project.locate()
    path, inv = _prepare_inventory(args, project, parse=True)
    assert inv is not None
    inv.require_dockyard_groups()
    options = _options(args, path)
    result, _ = _run(consoles, project, "validate.yml", options, f"checks of {path}")
    code = _finish(args, consoles, result)
    if code == EXIT_OK and not args.json:
        groups = ", ".join(f"{name} ({len(hosts)})" for name, hosts in sorted(inv.groups.items()))
        consoles.out.print(
            f"{inv.path}: {len(inv.hosts)} hosts; groups: {groups or 'none'}. Every check passed.",
            highlight=False,
        )
    # A failed check is bad input: nothing was changed, the message says what to fix.
    return EXIT_BAD_INPUT if code == EXIT_RUN_FAILED else code


def cmd_status(args: argparse.Namespace, consoles: Consoles) -> int:
    project = Project.locate()
    path, _ = _prepare_inventory(args, project)
    options = _options(args, path)
    result, run = _run(consoles, project, "status.yml", options, f"status of {path}")
    hosts = tuple(sorted(set(run.results) | set(result.recap) | {f.host for f in result.failures}))
    payload = status.build(result, hosts, run.results)
    if args.json:
        report.print_json(consoles.out, payload)
    else:
        status.render(consoles.out, payload)
    real_failures = [f for f in result.failures if not f.unreachable]
    if result.cancelled:
        return EXIT_CANCELLED
    if real_failures:
        report.print_result(consoles.err, result)
        return EXIT_RUN_FAILED
    # A platform that is not healthy is a failed check, for scripts and monitors.
    return EXIT_OK if payload["ok"] else EXIT_RUN_FAILED


def cmd_lab_up(args: argparse.Namespace, consoles: Consoles) -> int:
    project = Project.locate()
    lab.check_replicas(args.replicas)
    lab.check_docker()
    if stale := lab.stale_engine_volume():
        consoles.err.print(
            f"Warning: the volume {stale} holds the Docker data of an earlier app1 whose container "
            "is gone; the new app1's engine starts with its images and containers. For a clean app1, "
            "run `dockyard lab down` (it removes the volume) and then `dockyard lab up`.",
            highlight=False,
        )
    if not lab.image_exists():
        consoles.err.print(f"Building the lab image {lab.lab_image()} (first time only, about a minute)")
        lab.build_image(project)
    lab_settings = {**lab.lab_vars(project), "lab_replicas": args.replicas, "lab_connection": args.connection}
    options = _options(args, lab.control_inventory(project), lab_settings)
    lab.forget_facts(project)
    result, _ = _run(consoles, project, "lab.yml", options, "lab up")
    code = _finish(args, consoles, result)
    if code == EXIT_OK and not args.json:
        hosts = ["app1", "db1", *(f"db{n}" for n in range(2, args.replicas + 2))]
        consoles.out.print(
            f"Lab is up: {', '.join(hosts)}{' (over SSH as deploy, with sudo)' if args.connection == 'ssh' else ''};"
            f" inventory in {project.lab_inventory}. Next: dockyard up",
            highlight=False,
        )
    return code


def cmd_lab_down(args: argparse.Namespace, consoles: Consoles) -> int:
    project = Project.locate()
    lab.check_docker()
    options = _options(args, lab.control_inventory(project), {**lab.lab_vars(project), "lab_state": "absent"})
    result, _ = _run(consoles, project, "lab.yml", options, "lab down")
    lab.forget_facts(project)
    return _finish(args, consoles, result)


EXAMPLES = {
    "up": "examples:\n  dockyard up\n  dockyard up -i inventory/production --limit app_hosts\n"
    "  dockyard up --check --diff",
    "validate": "examples:\n  dockyard validate\n  dockyard validate -i inventory/production --json",
    "status": "examples:\n  dockyard status\n  dockyard status --json | jq '.hosts.app1.containers'",
    "docker": "examples:\n  dockyard docker\n  dockyard docker -e docker_engine_version=27.3.1 --limit app1",
    "services": "examples:\n  dockyard services\n  dockyard services --tags microservices",
    "replication": "examples:\n  dockyard replication\n  dockyard replication --check",
    "switchover": "examples:\n  dockyard switchover --to db2",
    "failover": "examples:\n  dockyard failover --to db2\n  dockyard failover --to db3 --force",
    "rejoin": "examples:\n  dockyard rejoin db1",
    "lab up": "examples:\n  dockyard lab up\n  dockyard lab up --replicas 3\n  dockyard lab up --connection ssh",
    "lab down": "examples:\n  dockyard lab down",
}


def _output_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--json", action="store_true", help="print one JSON object on stdout and nothing else")
    parent.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="show Ansible's own output (-vvv for more)",
    )
    return parent


def _inventory_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "-i",
        "--inventory",
        metavar="INVENTORY",
        help="inventory file or directory (default: the lab)",
    )
    parent.add_argument(
        "--vault-password-file", metavar="FILE", help=f"vault password file (or set {VAULT_PASSWORD_FILE_ENV})"
    )
    return parent


def _limit_option() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--limit", metavar="PATTERN", help="only these hosts or groups")
    return parent


def _change_options() -> argparse.ArgumentParser:
    """What only means something for a run that may change hosts."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--tags", metavar="TAGS", help="only tasks with these tags")
    parent.add_argument("--check", action="store_true", help="report what would change, change nothing")
    parent.add_argument("--diff", action="store_true", help="show the changes to files")
    return parent


def _extra_vars_option() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "-e",
        "--extra-vars",
        action="append",
        metavar="KEY=VALUE",
        help="extra variables (KEY=VALUE, JSON, or @FILE); repeatable",
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dockyard",
        description="Provision Docker Engine, microservices and PostgreSQL replication with Ansible.",
        epilog="examples:\n  dockyard lab up && dockyard up && dockyard status\n  dockyard up -i inventory/production",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"dockyard {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    output, target, limit, change, extra = (
        _output_options(),
        _inventory_options(),
        _limit_option(),
        _change_options(),
        _extra_vars_option(),
    )
    # Each command is offered only the options that mean something for it.
    playbook_options = (output, target, limit, change, extra)
    lab_common = output

    def add(name: str, handler, help_text: str, parents=playbook_options) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            parents=list(parents),
            help=help_text,
            description=help_text,
            epilog=EXAMPLES.get(name),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.set_defaults(handler=handler, subparser=sub)
        return sub

    lab_parser = commands.add_parser(
        "lab",
        help="the local lab of systemd containers",
        description="The local lab: systemd containers standing in for servers.",
    )
    lab_commands = lab_parser.add_subparsers(dest="lab_command", metavar="up|down", required=True)
    up = lab_commands.add_parser(
        "up",
        parents=[lab_common],
        help="start the lab hosts and write inventory/lab",
        epilog=EXAMPLES["lab up"],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    up.add_argument("--replicas", type=int, default=2, help="PostgreSQL replicas (default 2)")
    up.add_argument(
        "--connection",
        choices=("docker", "ssh"),
        default="docker",
        help="how Ansible reaches the hosts: docker exec as root (default), or ssh as a sudo user, as in production",
    )
    up.set_defaults(handler=cmd_lab_up, subparser=up)
    down = lab_commands.add_parser(
        "down",
        parents=[lab_common],
        help="remove every lab container, volume and network",
        epilog=EXAMPLES["lab down"],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    down.set_defaults(handler=cmd_lab_down, subparser=down)

    add("up", cmd_up, "deploy the whole platform (playbooks/site.yml)")
    add("validate", cmd_validate, "check the inventory and variables; changes nothing", (output, target, extra))
    add("status", cmd_status, "engine, containers, ports and PostgreSQL of every host", (output, target, limit))
    add("docker", playbook_command("docker.yml"), "Docker Engine only (playbooks/docker.yml)")
    add(
        "services",
        playbook_command("services.yml"),
        "the microservices only (playbooks/services.yml)",
    )
    add(
        "replication",
        playbook_command("replication.yml"),
        "PostgreSQL replication only (playbooks/replication.yml)",
    )
    switch = add(
        "switchover",
        playbook_command("switchover.yml", lambda a: {"dockyard_target": a.to}, moves_primary=True),
        "planned switchover to a replica, zero data loss",
        (output, target, extra),
    )
    switch.add_argument("--to", required=True, metavar="HOST", help="the replica to promote")
    fail = add(
        "failover",
        playbook_command(
            "failover.yml", lambda a: {"dockyard_target": a.to, "dockyard_force": a.force}, moves_primary=True
        ),
        "the primary is lost: promote a replica",
        (output, target, extra),
    )
    fail.add_argument("--to", required=True, metavar="HOST", help="the replica to promote")
    fail.add_argument(
        "--force",
        action="store_true",
        help="promote even if the old primary still runs (it is fenced) or another replica is further ahead",
    )
    rejoin = add(
        "rejoin",
        playbook_command(
            "rejoin.yml", lambda a: {"dockyard_target": a.host, "dockyard_force": a.force}, moves_primary=True
        ),
        "bring an old primary back as a replica (pg_rewind)",
        (output, target, extra),
    )
    rejoin.add_argument("host", metavar="HOST", help="the host to rejoin")
    rejoin.add_argument("--force", action="store_true", help="re-clone if pg_rewind is impossible")
    return parser


def _console(stream: Any) -> Console:
    # Logs and pipes get long lines instead of Rich's default 80 columns.
    width = None if stream.isatty() else 160
    return Console(file=stream, highlight=False, width=width)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # The command's own usage, not the top level's (exit 2: bad input).
        getattr(args, "subparser", parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    consoles = Consoles(out=_console(sys.stdout), err=_console(sys.stderr))
    try:
        return int(args.handler(args, consoles))
    except DockyardError as error:
        consoles.err.print(Text.assemble(("error: ", "bold red"), str(error)))
        if getattr(args, "json", False):
            report.print_json(consoles.out, {"ok": False, "rc": error.exit_code, "error": str(error)})
        return error.exit_code
    except KeyboardInterrupt:
        consoles.err.print(Text("Interrupted.", "yellow"))
        return EXIT_CANCELLED


if __name__ == "__main__":
    sys.exit(main())
