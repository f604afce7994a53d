"""The commands that each run one playbook: docker, services, replication,
and switchover, failover and rejoin, which move the PostgreSQL primary."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dockyard import lab, report
from dockyard.commands.common import (
    Consoles,
    Handler,
    finish,
    prepare_inventory,
    report_of,
    run_options,
    run_with_progress,
)
from dockyard.errors import EXIT_OK
from dockyard.project import Project
from dockyard.runner.playbook import PlaybookRun

TOPOLOGY_REPORT = "Dockyard report: topology"


def playbook_command(
    playbook: str, extra: Callable[[argparse.Namespace], dict[str, Any]] | None = None, moves_primary: bool = False
) -> Handler:
    """A command that runs one playbook. Those that move the PostgreSQL primary
    (switchover, failover, rejoin) also print their steps with durations and
    bring the inventory in line with the new primary (see _follow_topology)."""

    def handler(args: argparse.Namespace, consoles: Consoles) -> int:
        project = Project.locate()
        project.playbook(playbook)
        path, inv = prepare_inventory(args, project, parse=moves_primary)
        extra_vars = extra(args) if extra else None
        if moves_primary and inv is not None and extra_vars:
            # Answered from the inventory at once, not after a playbook's start.
            inv.require_cluster_host(extra_vars["dockyard_target"], "--to" if hasattr(args, "to") else "rejoin")
        options = run_options(args, path, extra_vars)
        result, run = run_with_progress(consoles, project, playbook, options, f"{playbook} on {path}")
        if moves_primary:
            report.print_steps(consoles.err if args.json else consoles.out, run.steps)
        code = finish(args, consoles, result)
        if moves_primary and code == EXIT_OK and not getattr(args, "check", False):
            _follow_topology(args, consoles, project, path, run)
        return code

    return handler


def _follow_topology(
    args: argparse.Namespace, consoles: Consoles, project: Project, path: Path, run: PlaybookRun
) -> None:
    """After a promotion: the lab inventory names the new primary; any other
    inventory gets a message saying which host to move."""
    topology = report_of(run, TOPOLOGY_REPORT)
    if topology is None:
        return
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


def _switchover_vars(args: argparse.Namespace) -> dict[str, Any]:
    return {"dockyard_target": args.to}


def _failover_vars(args: argparse.Namespace) -> dict[str, Any]:
    return {"dockyard_target": args.to, "dockyard_force": args.force}


def _rejoin_vars(args: argparse.Namespace) -> dict[str, Any]:
    return {"dockyard_target": args.host, "dockyard_force": args.force}


cmd_docker = playbook_command("docker.yml")
cmd_services = playbook_command("services.yml")
cmd_replication = playbook_command("replication.yml")
cmd_switchover = playbook_command("switchover.yml", _switchover_vars, moves_primary=True)
cmd_failover = playbook_command("failover.yml", _failover_vars, moves_primary=True)
cmd_rejoin = playbook_command("rejoin.yml", _rejoin_vars, moves_primary=True)
