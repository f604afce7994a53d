"""Filters of the docker_engine role; the checks live in plugins/module_utils."""

from __future__ import annotations

from typing import Any

from ansible_collections.dockyard.platform.plugins.module_utils import docker_daemon


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "docker_engine_changed_keys": docker_daemon.changed_keys,
            "docker_engine_problems": docker_daemon.problems,
        }
