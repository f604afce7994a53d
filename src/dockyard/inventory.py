"""Reading an inventory before anything runs, so that mistakes in it are
reported as bad input (exit 2) instead of a failed run."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.errors import BadInput
from dockyard.project import Project

VAULT_MARKERS = (b"$ANSIBLE_VAULT;", b"!vault")


@dataclass(frozen=True)
class Inventory:
    path: Path
    hosts: tuple[str, ...]
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    manager: Any = field(default=None, repr=False, compare=False)

    def check_limit(self, limit: str | None) -> None:
        """Every name or pattern in --limit must match at least one host."""
        if not limit:
            return
        for pattern in (p.strip() for p in limit.replace(":", ",").split(",")):
            if not pattern or pattern.startswith(("!", "&")):
                continue
            if not self.manager.get_hosts(pattern):
                raise BadInput(
                    f"--limit {pattern} matches no host or group in {self.path} "
                    f"(hosts: {', '.join(self.hosts) or 'none'})."
                )


def resolve(project: Project, option: str | None) -> Path:
    """The inventory path to use: -i, else the lab's."""
    if option:
        path = Path(option).expanduser()
        if not path.exists():
            raise BadInput(f"Inventory {path} does not exist.")
        if not os.access(path, os.R_OK):
            raise BadInput(f"Inventory {path} is not readable by this user.")
        return path.resolve()
    if not (project.lab_inventory / "hosts.yml").is_file():
        raise BadInput(
            "There is no lab yet (inventory/lab/ is missing): run `dockyard lab up` first, "
            "or pass -i INVENTORY for real servers."
        )
    return project.lab_inventory


def _inventory_files(path: Path) -> list[Path]:
    """The inventory and the group_vars/host_vars Ansible reads beside it."""
    roots = [path] if path.is_dir() else [path, path.parent / "group_vars", path.parent / "host_vars"]
    files: list[Path] = []
    for root in roots:
        if root.is_file():
            files.append(root)
        elif root.is_dir():
            files.extend(p for p in root.rglob("*") if p.is_file())
    return files


def holds_vault_data(path: Path) -> bool:
    """Whether the inventory or its group_vars/host_vars hold vault data."""
    for file in _inventory_files(path):
        try:
            with file.open("rb") as stream:
                head = stream.read(1 << 20)
        except OSError as error:
            raise BadInput(f"Cannot read {file}: {error.strerror}.") from error
        if any(marker in head for marker in VAULT_MARKERS):
            return True
    return False


def load(path: Path) -> Inventory:
    """Parse the inventory with Ansible's own parser; failures are bad input."""
    os.environ.setdefault("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true")
    os.environ.setdefault("ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED", "true")
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    try:
        manager = InventoryManager(loader=DataLoader(), sources=[str(path)])
    except AnsibleError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise BadInput(f"Cannot read inventory {path}: {first_line}") from error
    hosts = tuple(sorted(h.name for h in manager.get_hosts()))
    groups = {
        name: tuple(sorted(h.name for h in group.get_hosts()))
        for name, group in manager.groups.items()
        if name not in ("all", "ungrouped")
    }
    return Inventory(
        path=path,
        hosts=hosts,
        groups=groups,
        manager=manager,
    )
