"""`dockyard up`: the whole platform (playbooks/site.yml)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from dockyard import site
from dockyard.commands.common import Consoles, finish, prepare_inventory, run_options, run_with_progress
from dockyard.progress import Progress
from dockyard.project import Project
from dockyard.runner.model import merge_results
from dockyard.runner.playbook import PlaybookRun, execute_side_by_side


def cmd_up(args: argparse.Namespace, consoles: Consoles) -> int:
    """site.yml; its application and database parts side by side where they
    share no host (see site.py)."""
    project = Project.locate()
    path, inv = prepare_inventory(args, project, parse=True)
    assert inv is not None
    inv.require_dockyard_groups()
    plan = site.plan(inv, args.limit)
    options = run_options(args, path)
    if not plan.side_by_side:
        result, _ = run_with_progress(consoles, project, site.SITE_PLAYBOOK, options, f"{site.SITE_PLAYBOOK} on {path}")
        return finish(args, consoles, result)
    then = f", then {', '.join(plan.then)}" if plan.then else ""
    title = f"{site.SITE_PLAYBOOK} on {path} ({' and '.join(plan.playbooks)} side by side{then})"
    progress = Progress(consoles.err, title, verbosity=options.verbosity)
    runs = [
        PlaybookRun(project=project, playbook=playbook, options=options, on_event=progress.lane(Path(playbook).stem))
        for playbook in plan.playbooks
    ]
    with progress:
        result = execute_side_by_side(runs, site.SITE_PLAYBOOK)
        started = time.monotonic() - result.elapsed_s
        for playbook in plan.then if result.ok else ():
            after = PlaybookRun(
                project=project, playbook=playbook, options=options, on_event=progress.lane(Path(playbook).stem)
            )
            result = merge_results(site.SITE_PLAYBOOK, [result, after.execute()], time.monotonic() - started)
    return finish(args, consoles, result)
