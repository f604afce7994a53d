"""SSH host keys: learned once per inventory, checked on every run after.

A new host's key is accepted and written to the inventory's known_hosts file
(StrictHostKeyChecking=accept-new); a key that differs from the one learned
stops the connection, so a man in the middle never gets the root and the
vault secrets a run sends. DOCKYARD_HOST_KEY_CHECKING=false turns checking
off (unsafe: for throwaway hosts whose keys change on every rebuild)."""

from __future__ import annotations

import configparser
import os
from pathlib import Path

from dockyard.errors import BadInput

CHECKING_ENV = "DOCKYARD_HOST_KEY_CHECKING"


def known_hosts_file(inventory: Path) -> Path:
    """known_hosts beside the inventory: in its directory, or beside the file."""
    inventory = Path(inventory)
    return (inventory if inventory.is_dir() else inventory.parent) / "known_hosts"


def checking_enabled() -> bool:
    raw = os.environ.get(CHECKING_ENV, "true").strip().lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise BadInput(f"{CHECKING_ENV} must be true or false, got {raw!r}.")


def _configured_ssh_args(ansible_cfg: Path) -> str:
    """ansible.cfg's [ssh_connection] ssh_args, which ANSIBLE_SSH_ARGS replaces:
    kept, so that the file stays the one place for them."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ansible_cfg)
    return parser.get("ssh_connection", "ssh_args", fallback="").strip()


def ansible_env(inventory: Path, ansible_cfg: Path) -> dict[str, str]:
    """Environment for ansible-playbook: checking on (ansible-runner turns it
    off unless told), new keys learned into the inventory's known_hosts."""
    if not checking_enabled():
        return {"ANSIBLE_HOST_KEY_CHECKING": "False"}
    known_hosts = known_hosts_file(inventory)
    base = _configured_ssh_args(ansible_cfg)
    return {
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_SSH_ARGS": f"{base} -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile={known_hosts}".strip(),
    }


# Mitogen's words for a key it does not know: its SSH checks strictly, learns none.
UNKNOWN_TO_MITOGEN = "SSH reported an unrecognized or mismatching host key"


def explain(message: str, inventory: Path) -> str:
    """A failure message, with what to do when ssh refused a changed key."""
    known_hosts = known_hosts_file(inventory)
    if UNKNOWN_TO_MITOGEN in message:
        return (
            f"{message}\nWith DOCKYARD_STRATEGY=mitogen, host keys must be known already: Mitogen learns none."
            " Run once without it to learn new hosts' keys into"
            f" {known_hosts}; if the host had a key there, it changed: see the next run's message."
        )
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" not in message and "Host key verification failed" not in message:
        return message
    return (
        f"{message}\nThe host's SSH key is not the one learned in {known_hosts}: someone may be intercepting the"
        " connection, or the host was reinstalled. If you know it was reinstalled, remove its old key"
        f" (ssh-keygen -R HOST -f {known_hosts}) and run again."
    )
