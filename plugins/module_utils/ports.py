"""Docker's -p port mappings, parsed once: validation, the bindings a service
publishes and the clashes with what a host already listens on all use PortSpec."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

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
    low, _dash, high = text.partition("-")
    first, last = int(low), int(high or low)
    for port in (first, last):
        if not 1 <= port <= 65535:
            raise ValueError(f"'{spec}': port {port} is outside 1-65535")
    if last < first:
        raise ValueError(f"'{spec}': range {text} runs backwards")
    return list(range(first, last + 1))


def overlaps(a: tuple[str, int, str], b: tuple[str, int, str]) -> bool:
    wildcard = ("0.0.0.0", "::", "*", "[::]", "")
    return a[1:] == b[1:] and (a[0] == b[0] or a[0] in wildcard or b[0] in wildcard)


def container_publishes(container: dict[str, Any], key: tuple[str, int, str]) -> bool:
    for port in container.get("Ports") or []:
        if port.get("PublicPort") and overlaps(
            key, (port.get("IP", "0.0.0.0"), int(port["PublicPort"]), port.get("Type", "tcp"))
        ):
            return True
    return False
