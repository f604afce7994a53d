"""Housekeeping of ansible-runner's artifacts: the folders of the last runs
are kept, older ones removed, once per `dockyard` command and before any
playbook starts.

ansible-runner can rotate artifacts itself (rotate_artifacts), but each run
does it when it starts: two runs side by side deleted the same folders at
once and one died of the other's deletion. Here the pruning happens once,
under a lock (two `dockyard` commands at once), and never fails a run."""

from __future__ import annotations

import contextlib
import fcntl
import shutil
from pathlib import Path


def run_of(folder: Path) -> str:
    """The run a folder belongs to: artifacts are named <stamp>-<playbook>,
    and the parts of one side-by-side run share the stamp."""
    return folder.name.split("-", 1)[0]


def prune(artifacts: Path, keep: int) -> None:
    """Leave room for one more run: keep the newest keep - 1 runs' folders."""
    if not artifacts.is_dir():
        return
    with contextlib.suppress(OSError), open(artifacts / ".prune.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        folders = [path for path in artifacts.iterdir() if path.is_dir()]
        runs = sorted({run_of(folder) for folder in folders})
        stale = set(runs[: max(0, len(runs) - max(keep - 1, 0))])
        for folder in folders:
            if run_of(folder) in stale:
                # A folder another command removed first is no failure.
                shutil.rmtree(folder, ignore_errors=True)
