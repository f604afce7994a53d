"""Stopping everything a cancelled run left running."""

from __future__ import annotations

import contextlib
import time

import psutil

POLL_INTERVAL_S = 0.05


def terminate_children(grace_s: float = 2.0) -> None:
    """Stop everything this process started: SIGTERM, then SIGKILL for what
    still runs after grace_s. ansible-runner only kills the ansible-playbook
    process group, but Ansible's workers run in sessions of their own
    (setsid), and their modules would outlive a cancelled run."""
    # psutil lists parents before their children: deepest first, modules stop
    # before the workers waiting on them.
    processes = list(reversed(psutil.Process().children(recursive=True)))
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    deadline = time.monotonic() + grace_s
    running = [process for process in processes if _running(process)]
    while running and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL_S)
        running = [process for process in running if _running(process)]
    for process in running:
        with contextlib.suppress(psutil.Error):
            process.kill()


def _running(process: psutil.Process) -> bool:
    """Whether it still runs, without waiting for it as psutil.wait_procs
    would: waiting reaps our own children, and ansible-playbook is
    ansible-runner's (through pexpect), whose next waitpid() would then fail
    and end the run with an exception. A zombie has stopped; its parent reaps
    it."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
