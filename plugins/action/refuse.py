"""ansible.builtin.fail under a name that says why: the input or the state
found makes the step unsafe, so nothing is done. The CLI reads a run whose
only failures are refusals (and that changed nothing) as refused, exit 2; a
failure of any other task is a failed run, exit 1."""

from __future__ import annotations

from ansible.plugins.action.fail import ActionModule as FailAction


class ActionModule(FailAction):
    """The fail action itself; only its name differs."""
