"""Filters of playbooks/status.yml; the reading lives in plugins/module_utils."""

from __future__ import annotations

from typing import Any

from ansible_collections.dockyard.platform.plugins.module_utils import cluster_status


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "dockyard_postgresql_status": cluster_status.postgresql_status,
        }
