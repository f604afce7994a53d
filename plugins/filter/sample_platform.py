"""The filter dockyard.platform.sample_platform: services/platform.yml as
microservices entries (plugins/module_utils/sample_platform.py)."""

from __future__ import annotations

from typing import Any

from ansible_collections.dockyard.platform.plugins.module_utils import sample_platform


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"sample_platform": sample_platform.sample_platform}
