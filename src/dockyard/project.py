"""Where Dockyard's playbooks, inventories and run data live."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import BadInput

HOME_ENV = "DOCKYARD_HOME"
VAULT_PASSWORD_FILE_ENV = "DOCKYARD_VAULT_PASSWORD_FILE"


@dataclass(frozen=True)
class Project:
    """A Dockyard checkout: playbooks/, roles/, inventory/, ansible.cfg."""

    root: Path

    @property
    def playbooks(self) -> Path:
        return self.root / "playbooks"

    @property
    def ansible_cfg(self) -> Path:
        return self.root / "ansible.cfg"

    @property
    def lab_inventory(self) -> Path:
        return self.root / "inventory" / "lab"

    @property
    def run_dir(self) -> Path:
        """ansible-runner's private data dir; artifacts of past runs live here."""
        return self.root / ".dockyard"

    @property
    def fact_cache(self) -> Path:
        """Facts Ansible gathered, kept across runs (ansible.cfg's cache, a day):
        a re-run or `dockyard status` need not gather them again. One folder
        per inventory below it (fact_cache_for)."""
        return self.root / ".cache" / "facts"

    def fact_cache_for(self, inventory: Path) -> Path:
        """The facts of one inventory's hosts: the cache is keyed by host name,
        and two inventories may both have a db1. Created readable by its owner
        only (facts name addresses, users, packages)."""
        resolved = Path(inventory).resolve()
        digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", resolved.name or "inventory")
        folder = self.fact_cache / f"{slug}-{digest}"
        for path in (self.fact_cache.parent, self.fact_cache, folder):
            path.mkdir(mode=0o700, exist_ok=True)
            path.chmod(0o700)
        return folder

    def playbook(self, name: str) -> Path:
        path = self.playbooks / name
        if not path.is_file():
            raise BadInput(f"{path} does not exist in this Dockyard checkout.")
        return path

    @classmethod
    def locate(cls, start: Path | None = None) -> Project:
        """$DOCKYARD_HOME, else the nearest parent of the working directory with
        playbooks/site.yml, else the checkout this package was installed from."""
        if home := os.environ.get(HOME_ENV):
            root = Path(home).expanduser().resolve()
            if not (root / "playbooks").is_dir():
                raise BadInput(f"{HOME_ENV}={home} has no playbooks/ directory.")
            return cls(root)
        here = (start or Path.cwd()).resolve()
        for candidate in (here, *here.parents):
            if (candidate / "playbooks" / "site.yml").is_file():
                return cls(candidate)
        installed = Path(__file__).resolve().parents[2]
        if (installed / "playbooks" / "site.yml").is_file():
            return cls(installed)
        raise BadInput(
            f"Cannot find Dockyard's playbooks: run dockyard from a Dockyard checkout or set {HOME_ENV} to one."
        )


def vault_password_file(option: str | None) -> Path | None:
    """The vault password file from --vault-password-file or the environment."""
    value = option or os.environ.get(VAULT_PASSWORD_FILE_ENV)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_file() or not os.access(path, os.R_OK):
        raise BadInput(f"Vault password file {path} does not exist or is not readable.")
    return path.resolve()
