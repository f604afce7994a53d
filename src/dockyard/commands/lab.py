"""`dockyard lab up` and `dockyard lab down`: the local lab of systemd
containers (playbooks/lab.yml)."""

from __future__ import annotations

import argparse

from dockyard import lab
from dockyard.commands.common import Consoles, finish, run_options, run_with_progress
from dockyard.errors import EXIT_OK
from dockyard.project import Project


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
    if not lab.image_exists(args.release):
        consoles.err.print(f"Building the lab image {lab.lab_image(args.release)} (first time only, about a minute)")
        lab.build_image(project, args.release)
    lab_settings = {
        **lab.lab_vars(project, args.release),
        "lab_replicas": args.replicas,
        "lab_connection": args.connection,
    }
    options = run_options(args, lab.control_inventory(project), lab_settings)
    lab.forget_facts(project)
    result, _ = run_with_progress(consoles, project, "lab.yml", options, "lab up")
    code = finish(args, consoles, result)
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
    options = run_options(args, lab.control_inventory(project), {**lab.lab_vars(project), "lab_state": "absent"})
    result, _ = run_with_progress(consoles, project, "lab.yml", options, "lab down")
    lab.forget_facts(project)
    return finish(args, consoles, result)
