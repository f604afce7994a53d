"""`dockyard validate`: the inventory and variables checked, nothing changed
(playbooks/validate.yml)."""

from __future__ import annotations

import argparse

from dockyard.commands.common import Consoles, finish, prepare_inventory, run_options, run_with_progress
from dockyard.errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_RUN_FAILED
from dockyard.project import Project


def cmd_validate(args: argparse.Namespace, consoles: Consoles) -> int:
    project = Project.locate()
    path, inv = prepare_inventory(args, project, parse=True)
    assert inv is not None
    inv.require_dockyard_groups()
    options = run_options(args, path)
    result, _ = run_with_progress(consoles, project, "validate.yml", options, f"checks of {path}")
    code = finish(args, consoles, result)
    if code == EXIT_OK and not args.json:
        groups = ", ".join(f"{name} ({len(hosts)})" for name, hosts in sorted(inv.groups.items()))
        consoles.out.print(
            f"{inv.path}: {len(inv.hosts)} hosts; groups: {groups or 'none'}. Every check passed.",
            highlight=False,
        )
    # A failed check is bad input: nothing was changed, the message says what to fix.
    return EXIT_BAD_INPUT if code == EXIT_RUN_FAILED else code
