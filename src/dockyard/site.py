"""How `dockyard up` deploys the whole platform: site.yml's parts that touch
disjoint hosts run side by side.

site.yml runs Docker Engine, then PostgreSQL, then the microservices, one play
after another. The application hosts (docker_hosts, app_hosts) and the database
hosts (postgresql_primary, postgresql_replicas) have nothing to wait for from
each other (the sample api reports its database unavailable until it is up),
so where no host is in both, `dockyard up` runs apps.yml (Docker Engine, then
the microservices) and replication.yml at the same time, and then, when the
inventory has a backup host, backup-setup.yml: it touches hosts of both parts
and creates its stanza from the primary the database part set up. A host in
both (a single-server platform) gets site.yml, in order: two runs must never
install packages on the same host at once."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.inventory import Inventory

APPS_GROUPS = ("docker_hosts", "app_hosts")
DATABASE_GROUPS = ("postgresql_primary", "postgresql_replicas")
SITE_PLAYBOOK = "site.yml"
APPS_PLAYBOOK = "apps.yml"
DATABASE_PLAYBOOK = "replication.yml"
BACKUP_GROUPS = ("postgresql_backup_hosts",)
BACKUP_PLAYBOOK = "backup-setup.yml"


@dataclass(frozen=True)
class SitePlan:
    """The playbooks to run for site.yml; more than one means side by side.
    `then` runs after them, one by one, when they all succeeded."""

    playbooks: tuple[str, ...]
    then: tuple[str, ...] = ()

    @property
    def side_by_side(self) -> bool:
        return len(self.playbooks) > 1


def _hosts(inv: Inventory, groups: tuple[str, ...], limit: str | None) -> set[str]:
    names = {host for group in groups for host in inv.groups.get(group, ())}
    if limit:
        # The way ansible-playbook reads --limit (patterns, !, &, @file).
        inv.manager.subset(limit)
        try:
            names &= {host.name for host in inv.manager.get_hosts()}
        finally:
            inv.manager.subset(None)
    return names


def plan(inv: Inventory, limit: str | None = None) -> SitePlan:
    apps = _hosts(inv, APPS_GROUPS, limit)
    databases = _hosts(inv, DATABASE_GROUPS, limit)
    if apps and databases and not apps & databases:
        backups = _hosts(inv, BACKUP_GROUPS, limit)
        return SitePlan((APPS_PLAYBOOK, DATABASE_PLAYBOOK), (BACKUP_PLAYBOOK,) if backups else ())
    return SitePlan((SITE_PLAYBOOK,))
