"""Filters of the microservices role: checking a host's service list and
ordering it. Pure functions of the inventory data, so every mistake is found
on the control machine before any host is touched."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import posixpath
import re
from pathlib import Path
from typing import Any

NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
RESTART_POLICIES = ("no", "always", "on-failure", "unless-stopped")
KNOWN_FIELDS = {
    "name", "image", "build", "ports", "env", "secret_env", "networks", "volumes", "healthcheck",
    "restart_policy", "depends_on", "memory", "cpus", "command", "state", "labels", "pull",
    "host_mounts",
}  # fmt: skip
# Docker's memory sizes: a number of bytes, or with b, k, m or g.
MEMORY = re.compile(r"^\d+(\.\d+)?\s*[bkmg]?$", re.IGNORECASE)
# An image reference: [registry[:port]/]path[:tag][@digest], path components
# lowercase; no spaces, no shell.
IMAGE = re.compile(
    r"^(?:[A-Za-z0-9.-]+(?::\d+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)
# Host paths whose mount gives a container the host itself (root on it, its
# engine, its configuration): refused unless the service sets host_mounts: true.
HOST_PATHS = (
    "/", "/etc", "/root", "/boot", "/usr", "/var", "/var/run", "/run", "/var/run/docker.sock", "/run/docker.sock",
)  # fmt: skip
HOST_TREES = ("/proc", "/sys", "/dev", "/var/lib/docker", "/run/containerd")
PORT = re.compile(
    r"^(?:(?P<ip>\[[0-9a-fA-F:.]+\]|\d{1,3}(?:\.\d{1,3}){3}):)?"
    r"(?:(?P<host>\d+(?:-\d+)?)?:)?"
    r"(?P<container>\d+(?:-\d+)?)"
    r"(?:/(?P<proto>tcp|udp|sctp))?$"
)


class PortSpec:
    """One -p mapping: host ip, host ports, container ports, protocol."""

    def __init__(self, text: str) -> None:
        match = PORT.match(text)
        if match is None:
            raise ValueError(f"'{text}' is not Docker's -p syntax ([IP:][HOST:]CONTAINER[/tcp|udp|sctp])")
        self.text = text
        self.ip = (match.group("ip") or "0.0.0.0").strip("[]")
        try:
            ipaddress.ip_address(self.ip)
        except ValueError:
            raise ValueError(f"'{text}': {self.ip} is not an IP address") from None
        self.proto = match.group("proto") or "tcp"
        self.container = _port_range(match.group("container"), text)
        host = match.group("host")
        self.host = _port_range(host, text) if host else []
        if self.host and len(self.host) != len(self.container):
            raise ValueError(f"'{text}' maps {len(self.host)} host ports to {len(self.container)} container ports")

    def bindings(self) -> list[tuple[str, int, str]]:
        return [(self.ip, port, self.proto) for port in self.host]


def _port_range(text: str, spec: str) -> list[int]:
    low, _, high = text.partition("-")
    first, last = int(low), int(high or low)
    for port in (first, last):
        if not 1 <= port <= 65535:
            raise ValueError(f"'{spec}': port {port} is outside 1-65535")
    if last < first:
        raise ValueError(f"'{spec}': range {text} runs backwards")
    return list(range(first, last + 1))


def _overlaps(a: tuple[str, int, str], b: tuple[str, int, str]) -> bool:
    wildcard = ("0.0.0.0", "::", "*", "[::]", "")
    return a[1:] == b[1:] and (a[0] == b[0] or a[0] in wildcard or b[0] in wildcard)


def problems(services: Any, networks: Any = None, host: str = "") -> list[str]:
    """Everything wrong with a host's `microservices` list, one message each,
    naming the host, the service and the field."""
    where = f"{host}: " if host else ""
    if not isinstance(services, list):
        return [f"{where}microservices must be a list of services, got {type(services).__name__}"]
    declared = {n.get("name") for n in networks or [] if isinstance(n, dict)}
    found: list[str] = []
    names: list[str] = []
    bindings: list[tuple[tuple[str, int, str], str, str]] = []
    for index, service in enumerate(services):
        if not isinstance(service, dict):
            found.append(f"{where}microservices[{index}] must be a mapping with at least a name")
            continue
        name = service.get("name")
        label = f"{where}service '{name}'" if name else f"{where}microservices[{index}]"
        if not isinstance(name, str) or not NAME.match(name):
            found.append(
                f"{label}: name must be a DNS label (lowercase letters, digits and '-', at most 63, "
                "starting and ending with a letter or digit), so that other services can reach it by name"
            )
        elif name in names:
            found.append(f"{label}: the name is used twice on this host")
        names.append(str(name))
        unknown = sorted(set(service) - KNOWN_FIELDS)
        if unknown:
            found.append(f"{label}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(KNOWN_FIELDS))}")
        state = service.get("state", "present")
        if state not in ("present", "absent"):
            found.append(f"{label}: state must be present or absent, got '{state}'")
        if state == "absent":
            continue
        build = service.get("build")
        if not service.get("image") and not build:
            found.append(f"{label}: needs image (to pull or use) or build (context, dockerfile, args)")
        if build is not None and (not isinstance(build, dict) or not build.get("context")):
            found.append(f"{label}: build must be a mapping with at least context (a directory)")
        for field in ("env", "secret_env", "labels"):
            value = service.get(field, {})
            if not isinstance(value, dict):
                found.append(f"{label}: {field} must be a mapping of names to values")
            elif any(isinstance(v, (dict, list)) for v in value.values()):
                found.append(f"{label}: {field} values must be strings or numbers")
        for field in ("ports", "networks", "volumes", "depends_on"):
            value = service.get(field, [])
            if not isinstance(value, list) or any(isinstance(v, (dict, list)) for v in value):
                found.append(f"{label}: {field} must be a list of strings")
        found.extend(f"{label}: {problem}" for problem in _resource_problems(service))
        if service.get("restart_policy", "unless-stopped") not in RESTART_POLICIES:
            found.append(f"{label}: restart_policy must be one of {', '.join(RESTART_POLICIES)}")
        for network in service.get("networks", []) if isinstance(service.get("networks"), list) else []:
            if network not in declared:
                found.append(f"{label}: network '{network}' is not declared in microservices_networks")
        for spec in service.get("ports", []) if isinstance(service.get("ports"), list) else []:
            try:
                port = PortSpec(str(spec))
            except ValueError as error:
                found.append(f"{label}: ports: {error}")
                continue
            for binding in port.bindings():
                for other, other_name, other_spec in bindings:
                    if _overlaps(binding, other):
                        found.append(
                            f"{label}: ports: '{spec}' publishes {binding[0]}:{binding[1]}/{binding[2]}, "
                            f"which service '{other_name}' already publishes ('{other_spec}')"
                        )
                bindings.append((binding, str(name), str(spec)))
    present = {s.get("name") for s in services if isinstance(s, dict) and s.get("state", "present") == "present"}
    for service in services:
        if not isinstance(service, dict) or service.get("state", "present") == "absent":
            continue
        deps = service.get("depends_on", [])
        for dep in deps if isinstance(deps, list) else []:
            if dep not in present:
                found.append(
                    f"{where}service '{service.get('name')}': depends_on names '{dep}', "
                    "which is not a present service on this host"
                )
    if not found:
        try:
            start_order(services)
        except ValueError as error:
            found.append(f"{where}{error}")
    return found


def _resource_problems(service: dict[str, Any]) -> list[str]:
    """The image, limits and mounts of one service."""
    found = []
    image = service.get("image")
    if image is not None and (not isinstance(image, str) or not IMAGE.match(image)):
        found.append(
            f"image {image!r} is not an image reference ([registry/]name[:tag][@sha256:digest], lowercase, no spaces)"
        )
    memory = service.get("memory")
    if memory is not None and not MEMORY.match(str(memory)):
        found.append(f"memory {memory!r} is not a size: write bytes or a number with b, k, m or g (e.g. 512m)")
    cpus = service.get("cpus")
    if cpus is not None:
        try:
            valid = not isinstance(cpus, bool) and float(cpus) > 0
        except (TypeError, ValueError):
            valid = False
        if not valid:
            found.append(f"cpus {cpus!r} is not a number of CPUs above 0 (e.g. 0.5 or 2)")
    volumes = service.get("volumes", [])
    for volume in volumes if isinstance(volumes, list) else []:
        source = str(volume).split(":", 1)[0]
        if not source.startswith("/") or service.get("host_mounts") is True:
            continue
        normal = posixpath.normpath(source)
        if normal in HOST_PATHS or any(normal == tree or normal.startswith(tree + "/") for tree in HOST_TREES):
            found.append(
                f"volumes: '{volume}' mounts the host's {normal}, which hands the container the host itself"
                " (root on it, or its Docker engine); mount a directory of its own, or set host_mounts: true"
                " on the service if that is what it is for"
            )
    if "host_mounts" in service and not isinstance(service["host_mounts"], bool):
        found.append("host_mounts must be true or false")
    return found


def build_dir_problems(build_dir: Any, host: str = "") -> list[str]:
    """microservices_build_dir holds one directory per service, each replaced
    whole on a build: it must be a directory of its own, never a system one."""
    where = f"{host}: " if host else ""
    text = str(build_dir)
    normal = posixpath.normpath(text) if text.startswith("/") else ""
    if not normal or normal.count("/") < 2 or normal in ("/var/lib", "/usr/local", "/usr/share", "/var/cache"):
        return [
            f"{where}microservices_build_dir is {text!r}: each build replaces <that directory>/<service name>"
            " whole, so it must be an absolute directory of Dockyard's own, at least two levels deep"
            " (the default is /var/lib/dockyard/build)"
        ]
    return []


def start_order(services: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Present services, dependencies before their dependants (stable)."""
    present = [s for s in services if s.get("state", "present") == "present"]
    by_name = {s["name"]: s for s in present}
    ordered: list[dict[str, Any]] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = [*path[path.index(name) :], name]
            raise ValueError(f"depends_on forms a cycle: {' -> '.join(cycle)}")
        state[name] = "visiting"
        for dep in by_name[name].get("depends_on", []):
            if dep in by_name:
                visit(dep, [*path, name])
        state[name] = "done"
        ordered.append(by_name[name])

    for service in present:
        visit(service["name"], [])
    return ordered


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
        holders = [c for c in containers if c.get("State", "running") == "running" and _container_publishes(c, key)]
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
            if not _overlaps(key, (str(listener.get("address", "")), want["port"], want["protocol"])):
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


def _container_publishes(container: dict[str, Any], key: tuple[str, int, str]) -> bool:
    for port in container.get("Ports") or []:
        if port.get("PublicPort") and _overlaps(
            key, (port.get("IP", "0.0.0.0"), int(port["PublicPort"]), port.get("Type", "tcp"))
        ):
            return True
    return False


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
        if not any(_container_publishes(c, (want["ip"], want["port"], want["protocol"])) for c in running)
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


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "microservices_problems": problems,
            "microservices_start_order": start_order,
            "microservices_build_dir_problems": build_dir_problems,
            "microservices_pulls": pulls,
            "microservices_stringify": stringify,
            "microservices_networks_of": networks_of,
            "microservices_bindings": bindings,
            "microservices_port_clashes": port_clashes,
            "microservices_builds": builds,
            "microservices_needing_build": needing_build,
            "microservices_tagged": tagged,
            "microservices_container_named": container_named,
            "microservices_managed_names": managed_names,
            "microservices_unheld": unheld,
            "microservices_networks_to_apply": networks_to_apply,
        }
