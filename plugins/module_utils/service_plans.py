"""What the microservices role asks of Docker, worked out from the services and
what the host reports: pulls, builds, bindings, networks, port clashes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ansible_collections.dockyard.platform.plugins.module_utils.ports import PortSpec, container_publishes, overlaps


def pulls(services: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What pulling each service's image needs: name, image and pull policy of
    the services that do not build theirs (nothing else, no secret_env)."""
    return [
        {"name": s["name"], "image": s["image"], "pull": s.get("pull", "missing")}
        for s in services
        if "build" not in s and "image" in s
    ]


def stringify(mapping: dict[str, Any]) -> dict[str, str]:
    """Docker wants strings: env and label values as the user meant them
    (true -> "true", 3 -> "3"), not Python's spelling."""

    def text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else str(value)

    return {str(k): text(v) for k, v in (mapping or {}).items()}


def networks_of(service: dict[str, Any]) -> list[dict[str, Any]]:
    """docker_container's networks: each listed network, the service's name as
    its alias there."""
    return [{"name": n, "aliases": [service["name"]]} for n in service.get("networks", [])]


def bindings(services: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every host address/port/protocol the services publish."""
    found = []
    for service in services:
        for spec in service.get("ports", []):
            for ip, port, proto in PortSpec(str(spec)).bindings():
                found.append({"service": service["name"], "ip": ip, "port": port, "protocol": proto, "spec": str(spec)})
    return found


def port_clashes(
    wanted: list[dict[str, Any]], listeners: list[dict[str, Any]], containers: list[dict[str, Any]]
) -> list[str]:
    """Wanted bindings already held by something that is not the same service:
    a process of the host, or a container Dockyard does not manage."""
    clashes = []
    for want in wanted:
        key = (want["ip"], want["port"], want["protocol"])
        holders = [c for c in containers if c.get("State", "running") == "running" and container_publishes(c, key)]
        ours = [c for c in holders if (c.get("Labels") or {}).get("org.dockyard.managed") == "true"]
        foreign = [c for c in holders if c not in ours]
        for container in foreign:
            name = str((container.get("Names") or ["?"])[0]).lstrip("/")
            clashes.append(
                f"service {want['service']} publishes {want['ip']}:{want['port']}/{want['protocol']} "
                f"('{want['spec']}'), but container {name}, not managed by Dockyard, already publishes it: "
                "stop that container or choose another host port"
            )
        if holders:
            continue
        for listener in listeners:
            if listener.get("protocol") != want["protocol"] or int(listener.get("port", 0)) != want["port"]:
                continue
            if not overlaps(key, (str(listener.get("address", "")), want["port"], want["protocol"])):
                continue
            program = listener.get("name") or "a process"
            if program == "docker-proxy":
                continue  # a container's binding; its owner is judged above
            clashes.append(
                f"service {want['service']} publishes {want['ip']}:{want['port']}/{want['protocol']} "
                f"('{want['spec']}'), but {program} (pid {listener.get('pid', '?')}) already listens on "
                f"{listener.get('address')}:{want['port']}: stop it or choose another host port"
            )
    return clashes


def build_digest(build: dict[str, Any]) -> str:
    """A digest of what a build would produce from: every file of the context
    (path, mode, content, as found on the control machine), the Dockerfile's
    name and the build args. The built image carries it as a label; a re-run
    whose digest matches neither copies the context nor builds."""
    context = Path(str(build["context"])).expanduser()
    if not context.is_dir():
        raise ValueError(f"build context {context} is not a directory on the control machine")
    digest = hashlib.sha256()
    digest.update(json.dumps([build.get("dockerfile", "Dockerfile"), build.get("args", {})], sort_keys=True).encode())
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        digest.update(f"\0{path.relative_to(context)}\0{path.stat().st_mode & 0o777:o}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def _name(container: dict[str, Any]) -> str:
    return str((container.get("Names") or ["/"])[0]).lstrip("/")


def container_named(containers: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """The container of that name in docker_host_info's list, or None."""
    return next((c for c in containers if _name(c) == name), None)


def managed_names(containers: list[dict[str, Any]]) -> list[str]:
    """Names of the containers this role started (label org.dockyard.managed)."""
    return [_name(c) for c in containers if (c.get("Labels") or {}).get("org.dockyard.managed") == "true"]


def unheld(wanted: list[dict[str, Any]], containers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The wanted bindings no running container publishes."""
    running = [c for c in containers if c.get("State", "running") == "running"]
    return [
        want
        for want in wanted
        if not any(container_publishes(c, (want["ip"], want["port"], want["protocol"])) for c in running)
    ]


def networks_to_apply(networks: list[dict[str, Any]], present: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The networks to hand to docker_network: all of them when the host's were
    not read, else those missing or with another driver, internal flag or label."""
    if present is None:
        return list(networks)
    by_name = {str(n.get("Name")): n for n in present}
    result = []
    for network in networks:
        found = by_name.get(str(network["name"]))
        if (
            found is None
            or found.get("Driver") != network.get("driver", "bridge")
            or bool(found.get("Internal")) != bool(network.get("internal", False))
            or (found.get("Labels") or {}).get("org.dockyard.managed") != "true"
        ):
            result.append(network)
    return result


def tagged(image: str) -> str:
    """The name Docker lists an image under: with :latest when no tag is given."""
    if "@" in image or ":" in image.rsplit("/", 1)[-1]:
        return image
    return f"{image}:latest"


def builds(services: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The services built on the host, each as name, image, build, the
    context's path on the control machine and its digest."""
    return [
        {
            "name": service["name"],
            "image": tagged(str(service.get("image") or f"dockyard/{service['name']}:latest")),
            "build": service["build"],
            "context": str(Path(str(service["build"]["context"])).expanduser()),
            "digest": build_digest(service["build"]),
        }
        for service in services
        if "build" in service
    ]


def needing_build(built: list[dict[str, Any]], present_images: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Those of builds() the host has no image of that name carrying that digest
    for (images as docker_host_info lists them, labels at the top, or as
    docker_image_info inspects them, labels under Config)."""
    digests: dict[str, str] = {}
    for image in present_images:
        labels = image.get("Labels") or (image.get("Config") or {}).get("Labels") or {}
        for tag in image.get("RepoTags") or []:
            digests[tag] = labels.get("org.dockyard.build-digest", "")
    return [build for build in built if digests.get(build["image"]) != build["digest"]]
