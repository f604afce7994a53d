"""The sample platform (services/platform.yml) as microservices entries: built
from services/ on the host (the lab, bootstrap --local, Molecule) or pulled
from a registry (inventory/example). One definition, so the health checks,
networks and database settings cannot drift between the places that deploy it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _health(port: int, health: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "test": ["CMD", "curl", "-fsS", f"http://127.0.0.1:{port}/health"],
        "interval": str(health["interval"]),
        "timeout": str(health["timeout"]),
        "retries": int(health["retries"]),
    }


def dockerfile_healthcheck(port: int, health: Mapping[str, Any]) -> str:
    """The HEALTHCHECK line a sample's Dockerfile carries, for `docker run` by hand."""
    return (
        f"HEALTHCHECK --interval={health['interval']} --timeout={health['timeout']} --retries={health['retries']}"
        f" CMD curl -fsS http://127.0.0.1:{port}/health || exit 1"
    )


def sample_platform(
    definition: Mapping[str, Any],
    *,
    services_dir: str = "",
    base_image: str = "",
    registry: str = "",
    version: str = "",
    restart_policy: str = "",
) -> dict[str, Any]:
    """microservices_networks and microservices for the sample platform.

    With services_dir, each service is built from services_dir/<name> on
    base_image; with registry, pulled as registry/<name>:version. A service
    that uses the database declares it (`database: {name, user}`): the
    microservices role gives it libpq's environment for the cluster, so
    nothing here names a host or a password."""
    if bool(services_dir) == bool(registry):
        raise ValueError("sample_platform: give either services_dir (build) or registry (pull), not both or neither")
    services = []
    for entry in definition["services"]:
        name = str(entry["name"])
        service: dict[str, Any] = {"name": name}
        if services_dir:
            service["build"] = {"context": f"{services_dir.rstrip('/')}/{name}", "args": {"BASE_IMAGE": base_image}}
        else:
            service["image"] = f"{registry.rstrip('/')}/{name}:{version or 'latest'}"
        database = entry.get("database")
        if database:
            service["database"] = {"name": str(database["name"]), "user": str(database["user"])}
        if entry.get("published"):
            service["ports"] = [str(port) for port in entry["published"]]
        service["networks"] = [str(n["name"]) for n in definition["networks"]]
        if entry.get("depends_on"):
            service["depends_on"] = [str(d) for d in entry["depends_on"]]
        if restart_policy:
            service["restart_policy"] = restart_policy
        service["healthcheck"] = _health(int(entry["port"]), definition["health"])
        services.append(service)
    return {
        "microservices_networks": [{"name": str(n["name"])} for n in definition["networks"]],
        "microservices": services,
    }
