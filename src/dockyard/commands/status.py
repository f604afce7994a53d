"""`dockyard status`: engine, containers, ports and PostgreSQL of every host
(playbooks/status.yml), as a table or JSON."""

from __future__ import annotations

import argparse

from dockyard import report, status
from dockyard.commands.common import Consoles, prepare_inventory, run_options, run_with_progress
from dockyard.errors import EXIT_CANCELLED, EXIT_OK, EXIT_RUN_FAILED
from dockyard.project import Project


def cmd_status(args: argparse.Namespace, consoles: Consoles) -> int:
    project = Project.locate()
    path, _ = prepare_inventory(args, project)
    options = run_options(args, path)
    result, run = run_with_progress(consoles, project, "status.yml", options, f"status of {path}")
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
