"""A filter for the side effect: the service list with one service changed."""

from __future__ import annotations

from typing import Any


def test_change(services: list[dict[str, Any]], name: str, change: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**service, **change} if service.get("name") == name else service for service in services]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"microservices_test_change": test_change}
