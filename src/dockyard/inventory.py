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
# Groups that make Dockyard do something; an inventory with a host in none of
# them (a wrong -i, a file that is no inventory) is a mistake, not a no-op.
DOCKYARD_GROUPS = (
    "docker_hosts", "app_hosts", "postgresql_primary", "postgresql_replicas", "etcd_hosts", "postgresql_backup_hosts",
)  # fmt: skip
CLUSTER_GROUPS = ("postgresql_primary", "postgresql_replicas")
BACKUP_GROUP = "postgresql_backup_hosts"


@dataclass(frozen=True)
class Inventory:
    path: Path
    hosts: tuple[str, ...]
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    manager: Any = field(default=None, repr=False, compare=False)

    def require_dockyard_groups(self) -> None:
        if not any(self.groups.get(group) for group in DOCKYARD_GROUPS):
            raise BadInput(
                f"{self.path} puts no host in any of Dockyard's groups ({', '.join(DOCKYARD_GROUPS[:4])}):"
                f" there is nothing to do (hosts: {', '.join(self.hosts) or 'none'}). Is it the inventory you"
                " meant? inventory/example/ shows the layout."
            )

    def require_cluster_host(self, name: str, option: str) -> None:
        """A switchover, failover or rejoin target must be a PostgreSQL host."""
        cluster = sorted({h for group in CLUSTER_GROUPS for h in self.groups.get(group, ())})
        if name in cluster:
            return
        what = "is not a PostgreSQL host" if name in self.hosts else "is no host"
        raise BadInput(
            f"{option} {name}: {name} {what} of {self.path}; the cluster's hosts are"
            f" {', '.join(cluster) or 'none (no postgresql_primary or postgresql_replicas)'}."
        )

    def require_backup_host(self, command: str) -> None:
        """backup and restore need the pgBackRest repository's host."""
        if self.groups.get(BACKUP_GROUP):
            return
        raise BadInput(
            f"dockyard {command}: {self.path} has no {BACKUP_GROUP} host, so there is no pgBackRest"
            f" repository: put the host that is to keep it in {BACKUP_GROUP} and run `dockyard up`."
        )

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
    check_vars_files(path)
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


def check_vars_files(path: Path) -> None:
    """group_vars and host_vars that are not YAML: Ansible reads them only
    once a play runs and then says little more than that the play failed;
    here the file, line and column are named before anything runs."""
    import yaml
    from ansible.parsing.yaml.loader import AnsibleLoader

    base = path if path.is_dir() else path.parent
    for file in _inventory_files(path):
        # Only variables files: the inventory's own sources were parsed by
        # Ansible already, and a directory holds other files too (known_hosts).
        in_vars_dir = {"group_vars", "host_vars"} & set(file.relative_to(base).parts[:-1])
        if not in_vars_dir or file.suffix not in (".yml", ".yaml", ".json", ""):
            continue
        try:
            text = file.read_text(errors="replace")
        except OSError as error:
            raise BadInput(f"Cannot read {file}: {error.strerror}.") from error
        if text.lstrip().startswith("$ANSIBLE_VAULT;"):
            continue  # a vault file: Ansible reads it with the password
        try:
            yaml.load(text, Loader=AnsibleLoader)  # Ansible's loader: its tags (!vault, !unsafe) only
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(error, "problem", None) or str(error).splitlines()[0]
            raise BadInput(f"{file}:{where}: not valid YAML ({problem}). Fix that file and run again.") from error
