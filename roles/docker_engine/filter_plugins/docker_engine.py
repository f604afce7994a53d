"""Filters of the docker_engine role."""

from __future__ import annotations

from typing import Any


def changed_keys(current: dict[str, Any], desired: dict[str, Any]) -> list[str]:
    """Top-level keys whose value differs between two daemon.json mappings."""
    keys = sorted(set(current) | set(desired))
    return [key for key in keys if current.get(key) != desired.get(key)]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"docker_engine_changed_keys": changed_keys}
