"""The microservices role reads a host's listening sockets from /proc (its
module microservices_listeners), because a minimal server has no `ps` for
listen_ports_facts. Here the module's functions read this machine's own /proc
while this test holds real sockets open: nothing is faked."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from ansible_collections.dockyard.platform.plugins.modules import microservices_listeners as listeners

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def held() -> Iterator[dict[str, socket.socket]]:
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen()
    connected = socket.create_connection(tcp.getsockname())  # an established socket is no listener
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.2", 0))
    sockets = {"tcp": tcp, "udp": udp, "connected": connected}
    if socket.has_ipv6 and os.path.exists("/proc/net/tcp6"):
        tcp6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        tcp6.bind(("::", 0))
        tcp6.listen()
        sockets["tcp6"] = tcp6
    yield sockets
    for each in sockets.values():
        each.close()


def found(entries: list[dict], address: str, port: int, protocol: str) -> list[dict]:
    return [e for e in entries if (e["address"], e["port"], e["protocol"]) == (address, port, protocol)]


def test_listening_and_bound_sockets_are_found_with_their_process(held: dict[str, socket.socket]) -> None:
    entries = listeners.sockets()
    by_inode = listeners.owners()
    tcp_port = held["tcp"].getsockname()[1]
    udp_port = held["udp"].getsockname()[1]

    (tcp,) = found(entries, "127.0.0.1", tcp_port, "tcp")
    (udp,) = found(entries, "127.0.0.2", udp_port, "udp")
    for entry in (tcp, udp):
        assert by_inode[entry["inode"]] == (os.getpid(), Path(f"/proc/{os.getpid()}/comm").read_text().strip())
    if "tcp6" in held:
        assert found(entries, "::", held["tcp6"].getsockname()[1], "tcp")


def test_established_connections_are_not_listeners(held: dict[str, socket.socket]) -> None:
    local_port = held["connected"].getsockname()[1]
    assert not [e for e in listeners.sockets() if e["port"] == local_port and e["protocol"] == "tcp"]


@pytest.mark.parametrize(
    ("hex_address", "family", "expected"),
    [
        ("0100007F", socket.AF_INET, "127.0.0.1"),
        ("00000000", socket.AF_INET, "0.0.0.0"),
        ("00000000000000000000000000000000", socket.AF_INET6, "::"),
        ("0000000000000000FFFF00000100007F", socket.AF_INET6, "127.0.0.1"),  # IPv4-mapped
        ("00000000000000000000000001000000", socket.AF_INET6, "::1"),
    ],
)
def test_kernel_addresses_decode(hex_address: str, family: int, expected: str) -> None:
    # The kernel prints each 32-bit word in host order: these are little-endian forms.
    if socket.htonl(1) == 1:
        pytest.skip("the recorded forms are those of a little-endian machine")
    assert listeners.decode_address(hex_address, family) == expected
