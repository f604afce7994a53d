"""ansible.builtin.assert under a name that says why: what the conditions
check is the input or the state a step needs to be safe. The CLI reads a run
whose only failures are refusals (and that changed nothing) as refused,
exit 2; a failure of any other task is a failed run, exit 1."""

from __future__ import annotations

import importlib

# "assert" is a keyword: the module is reached by name.
AssertAction = importlib.import_module("ansible.plugins.action.assert").ActionModule


class ActionModule(AssertAction):  # type: ignore[misc,valid-type]
    """The assert action itself; only its name differs."""
