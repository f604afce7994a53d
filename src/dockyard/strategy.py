"""Which Ansible strategy runs the playbooks: Ansible's own (linear), or
Mitogen's (DOCKYARD_STRATEGY=mitogen), which keeps a Python interpreter on
each host and sends modules into it instead of copying and starting each.

Mitogen hooks in as a strategy plugin, a kind of plugin ansible-core 2.19
deprecates for third parties (it prints a deprecation warning; a later
ansible-core may drop the hook). Over SSH and local connections it takes the
connection over; for community.docker.docker it runs Ansible's own
connection."""

from __future__ import annotations

import os
from pathlib import Path

from dockyard.errors import BadInput

STRATEGY_ENV = "DOCKYARD_STRATEGY"
STRATEGIES = ("linear", "mitogen")


def chosen() -> str:
    value = os.environ.get(STRATEGY_ENV, "linear").strip().lower() or "linear"
    if value not in STRATEGIES:
        raise BadInput(f"{STRATEGY_ENV} must be one of {', '.join(STRATEGIES)}, got {value!r}.")
    return value


def ansible_env() -> dict[str, str]:
    """Environment for ansible-playbook that selects the chosen strategy."""
    if chosen() == "linear":
        return {}
    try:
        import ansible_mitogen
    except ImportError as error:
        raise BadInput(
            f"{STRATEGY_ENV}=mitogen needs Mitogen in Dockyard's Python: pip install 'mitogen>=0.3.25,<0.4'"
            " (or pip install 'dockyard[mitogen]')."
        ) from error
    plugins = Path(ansible_mitogen.__file__).parent / "plugins" / "strategy"
    return {"ANSIBLE_STRATEGY_PLUGINS": str(plugins), "ANSIBLE_STRATEGY": "mitogen_linear"}
