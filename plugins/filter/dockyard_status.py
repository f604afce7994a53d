"""Filters of playbooks/status.yml; the reading lives in plugins/module_utils."""

from __future__ import annotations

from typing import Any

from ansible_collections.dockyard.platform.plugins.module_utils import backup_status, cluster_status


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "dockyard_postgresql_status": cluster_status.postgresql_status,
            "dockyard_backup_inputs": backup_status.backup_inputs,
            "dockyard_backup_status": backup_status.backup_status,
        }
