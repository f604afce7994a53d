"""terminate_children stops a real process tree: a child, and a grandchild in
a session of its own as Ansible's workers are; one that ignores SIGTERM is
killed once the grace period is over.

Each tree is started and stopped by a helper process of its own, since
terminate_children stops every descendant of the process that calls it, and
pytest's own would be among them."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

import dockyard

# The child starts a grandchild in a new session, says both are ready, sleeps.
CHILD = """
import signal, subprocess, sys, time
if sys.argv[1] == "ignore-sigterm":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
grandchild = subprocess.Popen(sleeper, stdout=subprocess.DEVNULL, start_new_session=True)
print(grandchild.pid, flush=True)
time.sleep(60)
"""
# The helper starts the tree and says which it is, stops it and says what
# became of its child. The tree holds none of the helper's output open: a tree
# left running fails the test instead of hanging it.
HELPER = """
import json, subprocess, sys, time
import psutil
from dockyard.runner.processes import terminate_children

grace_s, child_mode, child_code = float(sys.argv[1]), sys.argv[2], sys.argv[3]
child = subprocess.Popen(
    [sys.executable, "-c", child_code, child_mode],
    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
)
grandchild_pid = int(child.stdout.readline())
tree = {pid: psutil.Process(pid).create_time() for pid in (child.pid, grandchild_pid)}
print(json.dumps({"child": [child.pid, tree[child.pid]], "grandchild": [grandchild_pid, tree[grandchild_pid]]}))
sys.stdout.flush()
started = time.monotonic()
terminate_children(grace_s)
elapsed_s = time.monotonic() - started
print(json.dumps({"returncode": child.wait(timeout=5), "elapsed_s": elapsed_s}))
"""


def stop_tree(grace_s: float, child_mode: str = "plain") -> dict[str, Any]:
    # The dockyard these tests import, wherever it is, not an installed one.
    env = {**os.environ, "PYTHONPATH": str(Path(dockyard.__file__).resolve().parents[1])}
    done = subprocess.run(
        [sys.executable, "-c", HELPER, str(grace_s), child_mode, CHILD],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    lines = done.stdout.splitlines()
    tree = json.loads(lines[0]) if lines else {}
    if done.returncode != 0:
        for pid, started in tree.values():
            kill_if_left(pid, started)
        raise AssertionError(f"the helper failed: {done.stderr}")
    return {**tree, **json.loads(lines[1])}


def gone(pid: int, wait_s: float = 5.0) -> bool:
    """Stopped, or a zombie waiting for whoever adopted it to reap it."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def kill_if_left(pid: int, started: float) -> None:
    """Clean up after a failed test, and only that process, not one that came
    to have its pid since."""
    with contextlib.suppress(psutil.Error):
        process = psutil.Process(pid)
        if process.create_time() == started:
            process.kill()


def test_child_and_grandchild_in_its_own_session_are_terminated() -> None:
    stopped = stop_tree(grace_s=10)
    try:
        # As the helper's own wait() read it: terminate_children left its
        # child for it to reap, as ansible-runner reaps ansible-playbook.
        assert stopped["returncode"] == -signal.SIGTERM
        assert gone(stopped["grandchild"][0])
        # Both took SIGTERM: nothing waited for the grace period to end.
        assert stopped["elapsed_s"] < 5
    finally:
        kill_if_left(*stopped["grandchild"])


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace_period() -> None:
    stopped = stop_tree(grace_s=1, child_mode="ignore-sigterm")
    try:
        assert stopped["returncode"] == -signal.SIGKILL
        assert stopped["elapsed_s"] >= 1
        assert gone(stopped["grandchild"][0])
    finally:
        kill_if_left(*stopped["child"])
        kill_if_left(*stopped["grandchild"])


def test_processes_it_did_not_start_are_left_alone() -> None:
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stopped = stop_tree(grace_s=10)
        kill_if_left(*stopped["grandchild"])
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
