"""Every mistake in a host's microservices list, found on the control machine
before any host is touched, and the order services start in."""

from __future__ import annotations

import posixpath
import re
from typing import Any

from ansible_collections.dockyard.platform.plugins.module_utils.ports import PortSpec, overlaps

NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


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


def problems(services: Any, networks: Any = None, host: str = "") -> list[str]:
    """Everything wrong with a host's `microservices` list, one message each,
    naming the host, the service and the field.

    The role's argument spec has already checked each field's name, type and
    choices. Its type checks convert, though, without changing the variable
    (a string passes as a one-item list, "a=b" as a mapping), so the types
    the role's tasks rely on are checked again here."""
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
        if service.get("state", "present") == "absent":
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
                    if overlaps(binding, other):
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
