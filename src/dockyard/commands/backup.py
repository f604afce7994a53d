"""`dockyard backup`, `backups` and `restore`: pgBackRest backups of the
PostgreSQL cluster (playbooks/backup.yml, backups.yml, restore.yml), each
printing what its playbook's report task said."""

from __future__ import annotations

import argparse
from typing import Any

from dockyard import backups, report, restore_time
from dockyard.commands.common import Consoles, finish, prepare_inventory, report_of, run_options, run_with_progress
from dockyard.errors import EXIT_OK, EXIT_RUN_FAILED, DockyardError
from dockyard.project import Project

BACKUP_TYPES = ("full", "diff", "incr")


def cmd_backup(args: argparse.Namespace, consoles: Consoles) -> int:
    project = Project.locate()
    project.playbook("backup.yml")
    path, inv = prepare_inventory(args, project, parse=True)
    assert inv is not None
    inv.require_backup_host("backup")
    options = run_options(args, path, {"dockyard_backup_type": args.type})
    result, run = run_with_progress(consoles, project, "backup.yml", options, f"backup.yml on {path}")
    made = report_of(run, backups.BACKUP_REPORT)
    code = finish(args, consoles, result, {"backup": made})
    if code == EXIT_OK and made is not None:
        line = backups.backup_line(made) if backups.configured(made) else backups.NOT_CONFIGURED
        (consoles.err if args.json else consoles.out).print(line, highlight=False)
    return code


def cmd_backups(args: argparse.Namespace, consoles: Consoles) -> int:
    """Read-only, like status: the catalog as a table or one JSON object; exit 1
    when the repository or the WAL archive is not fine, for monitors."""
    project = Project.locate()
    project.playbook("backups.yml")
    path, _ = prepare_inventory(args, project)
    result, run = run_with_progress(consoles, project, "backups.yml", run_options(args, path), f"backups of {path}")
    catalog = report_of(run, backups.BACKUPS_REPORT)
    if not result.ok:
        return finish(args, consoles, result)
    if catalog is None:
        raise DockyardError(
            f"backups.yml ran but its task {backups.BACKUPS_REPORT!r} reported nothing: is {project.root}"
            " a checkout whose playbooks match this dockyard?"
        )
    payload = backups.backups_payload(catalog)
    if args.json:
        report.print_json(consoles.out, payload)
    else:
        backups.render_backups(consoles.out, catalog)
    return EXIT_OK if payload["ok"] else EXIT_RUN_FAILED


def _restore_vars(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "dockyard_restore_target": "" if args.latest else restore_time.parse(args.time),
        "dockyard_restore_latest": bool(args.latest),
        "dockyard_force": bool(args.force),
    }


def cmd_restore(args: argparse.Namespace, consoles: Consoles) -> int:
    """A long run that replaces the cluster's data: its steps with their
    durations, like a switchover's, then what was restored and kept."""
    # A time that cannot be read is refused before anything else is looked at.
    extra = _restore_vars(args)
    project = Project.locate()
    project.playbook("restore.yml")
    path, inv = prepare_inventory(args, project, parse=True)
    assert inv is not None
    inv.require_backup_host("restore")
    options = run_options(args, path, extra)
    result, run = run_with_progress(consoles, project, "restore.yml", options, f"restore.yml on {path}")
    report.print_steps(consoles.err if args.json else consoles.out, run.steps)
    restored = report_of(run, backups.RESTORE_REPORT)
    code = finish(args, consoles, result, {"restore": restored})
    if code == EXIT_OK and restored is not None:
        for line in backups.restore_lines(restored):
            (consoles.err if args.json else consoles.out).print(line, highlight=False)
    return code
