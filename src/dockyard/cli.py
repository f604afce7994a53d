"""The `dockyard` command: parses arguments and hands them to the subcommand
(commands/), which runs playbooks through runner/ and prints progress, a recap
and failures, or one JSON object with --json."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from dockyard import __version__, lab, report, restore_time
from dockyard.commands.backup import BACKUP_TYPES, cmd_backup, cmd_backups, cmd_restore
from dockyard.commands.common import Consoles, Handler
from dockyard.commands.lab import cmd_lab_down, cmd_lab_up
from dockyard.commands.playbooks import (
    cmd_docker,
    cmd_failover,
    cmd_rejoin,
    cmd_replication,
    cmd_services,
    cmd_switchover,
)
from dockyard.commands.status import cmd_status
from dockyard.commands.up import cmd_up
from dockyard.commands.validate import cmd_validate
from dockyard.errors import EXIT_CANCELLED, DockyardError
from dockyard.project import VAULT_PASSWORD_FILE_ENV

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
    "backup": "examples:\n  dockyard backup\n  dockyard backup --type full",
    "backups": "examples:\n  dockyard backups\n  dockyard backups --json | jq '.window'",
    "restore": (
        "examples:\n  dockyard restore --time '2026-12-02 01:45:00+00:00'    # says what would be lost\n"
        "  dockyard restore --time '2026-12-02 01:45:00+00:00' --force\n  dockyard restore --latest --force"
    ),
    "lab up": (
        "examples:\n  dockyard lab up\n  dockyard lab up --replicas 3\n  dockyard lab up --connection ssh\n"
        "  dockyard lab up --release trixie"
    ),
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

    def add(
        name: str,
        handler: Handler,
        help_text: str,
        parents: Sequence[argparse.ArgumentParser] = playbook_options,
    ) -> argparse.ArgumentParser:
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
    up.add_argument(
        "--release",
        choices=lab.LAB_RELEASES,
        default="",
        help="the Debian release of the lab hosts (default: this machine's; image dockyard-lab:RELEASE)",
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
    add("docker", cmd_docker, "Docker Engine only (playbooks/docker.yml)")
    add("services", cmd_services, "the microservices only (playbooks/services.yml)")
    add("replication", cmd_replication, "PostgreSQL replication only (playbooks/replication.yml)")
    switch = add(
        "switchover",
        cmd_switchover,
        "planned switchover to a replica, zero data loss",
        (output, target, extra),
    )
    switch.add_argument("--to", required=True, metavar="HOST", help="the replica to promote")
    fail = add(
        "failover",
        cmd_failover,
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
        cmd_rejoin,
        "bring an old primary back as a replica (pg_rewind)",
        (output, target, extra),
    )
    rejoin.add_argument("host", metavar="HOST", help="the host to rejoin")
    rejoin.add_argument("--force", action="store_true", help="re-clone if pg_rewind is impossible")
    backup = add("backup", cmd_backup, "a pgBackRest backup of the PostgreSQL cluster now", (output, target, extra))
    backup.add_argument(
        "--type",
        choices=BACKUP_TYPES,
        default="incr",
        help="full, diff (since the last full) or incr (since the last backup; the default:"
        " pgBackRest makes a full one when there is none yet)",
    )
    add("backups", cmd_backups, "the backups and the window a restore can reach; changes nothing", (output, target))
    restore = add(
        "restore",
        cmd_restore,
        "the cluster back to a point in time from the backups; the replicas are rebuilt",
        (output, target, extra),
    )
    point = restore.add_mutually_exclusive_group(required=True)
    point.add_argument(
        "--time",
        metavar="TS",
        help="the moment to restore to: ISO 8601 or 'YYYY-MM-DD HH:MM[:SS[.ffffff]]', with an offset or Z;"
        f" without one it is this machine's local time ({restore_time.local_zone_name()})",
    )
    point.add_argument("--latest", action="store_true", help="everything the backups and the WAL archive hold")
    restore.add_argument(
        "--force",
        action="store_true",
        help="replace the cluster's data; without it the restore changes nothing and says what would be lost",
    )
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
