"""What ansible-runner is called with for one run: where the playbook and
inventory are, ansible-playbook's command line and environment, and the file
that carries the extra vars."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dockyard import hostkeys, strategy
from dockyard.errors import DockyardError
from dockyard.project import Project
from dockyard.runner.model import RunOptions


def search_path() -> str:
    """PATH with this Python's bin directory first, so that the venv's
    ansible-playbook runs even when the venv is not activated."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    if shutil.which("ansible-playbook", path=path) is None:
        raise DockyardError("ansible-playbook is not installed: run scripts/bootstrap.sh or pip install dockyard.")
    return path


def cmdline(options: RunOptions, extra_vars_file: Path | None = None) -> str:
    args: list[str] = []
    if extra_vars_file is not None:
        args += ["-e", f"@{extra_vars_file}"]
    if options.check:
        args.append("--check")
    if options.diff:
        args.append("--diff")
    if options.vault_password_file:
        args += ["--vault-password-file", str(options.vault_password_file)]
    return shlex.join(args)


@contextlib.contextmanager
def extra_vars_file(run_dir: Path, ident: str, extra_vars: dict[str, Any]) -> Iterator[Path | None]:
    """The run's extra vars in a file only its owner reads, removed after the run."""
    if not extra_vars:
        yield None
        return
    path = run_dir / f".extra-vars-{ident}.json"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            json.dump(extra_vars, handle)
        yield path
    finally:
        path.unlink(missing_ok=True)


def run_arguments(
    project: Project, playbook_path: Path, options: RunOptions, ident: str, extra_vars_file: Path | None
) -> dict[str, Any]:
    """ansible_runner.run()'s arguments, but for the event handler and the
    cancel callback, which belong to the run."""
    return {
        "private_data_dir": str(project.run_dir),
        "project_dir": str(project.root),
        "playbook": str(playbook_path.relative_to(project.root)),
        "inventory": str(options.inventory),
        "ident": ident,
        # ansible-runner would keep facts in each run's artifacts, so
        # every run gathered them again; an absolute path is used as is.
        "fact_cache": str(project.fact_cache_for(options.inventory)),
        "limit": options.limit,
        "tags": options.tags,
        "verbosity": options.verbosity or None,
        # Extra vars (-e, --to) go in a 0600 file, never on the command
        # line, where `ps` and artifacts/<run>/command would show them.
        "cmdline": cmdline(options, extra_vars_file) or None,
        "envvars": {
            "ANSIBLE_CONFIG": str(project.ansible_cfg),
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_NOCOLOR": "1",
            "PATH": search_path(),
            # An inventory Ansible cannot parse stops the run instead of
            # running against no hosts and reporting success.
            "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
            **hostkeys.ansible_env(options.inventory, project.ansible_cfg),
            **strategy.ansible_env(),
        },
        # No plain-text env/ files (extravars, passwords) under the
        # private data dir, and no stale ones overriding this run.
        "suppress_env_files": True,
        # Pruned once per command beforehand (artifacts.prune): runner's
        # own rotation races between runs side by side.
        "rotate_artifacts": 0,
        "quiet": True,
        "settings": {"pexpect_timeout": 0.5, "suppress_ansible_output": False},
    }
