"""Filters of the docker_engine role; the checks and the per-release decisions
live in plugins/module_utils."""

from __future__ import annotations

from typing import Any

from ansible_collections.dockyard.platform.plugins.module_utils import distributions, docker_daemon


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "docker_engine_changed_keys": docker_daemon.changed_keys,
            "docker_engine_problems": docker_daemon.problems,
            "docker_engine_environment_dropin": docker_daemon.environment_dropin,
            "docker_engine_daemon_environment": docker_daemon.daemon_environment,
            "docker_engine_apt_architecture": distributions.apt_architecture,
            "docker_engine_repository": distributions.docker_repository,
            "docker_engine_sources": distributions.docker_sources,
            "docker_engine_packages": distributions.docker_packages,
        }
