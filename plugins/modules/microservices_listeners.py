#!/usr/bin/python
"""The host's listening TCP and bound UDP sockets, read from /proc.

community.general.listen_ports_facts needs `ps` (procps) or netstat, which a
minimal server lacks; the kernel's own tables need nothing but Python."""

from __future__ import annotations

DOCUMENTATION = r"""
module: microservices_listeners
short_description: List the host's listening TCP and bound UDP sockets
description:
  - Reads /proc/net/tcp, tcp6, udp and udp6, and names each socket's process
    from /proc/PID/fd where it can (as root, every process).
  - Needs no package on the host (no procps, no netstat).
author: Dockyard developers (!UNKNOWN)
options: {}
"""

EXAMPLES = r"""
- name: List the sockets listening on the host
  dockyard.platform.microservices_listeners:
  register: listening

- name: Fail when something other than nginx holds port 80
  ansible.builtin.assert:
    that: >-
      listening.listeners | selectattr('port', 'equalto', 80)
      | rejectattr('name', 'equalto', 'nginx') | list | length == 0
"""

RETURN = r"""
listeners:
  description: One entry per listening TCP or bound UDP socket.
  type: list
  elements: dict
  returned: always
  sample: [{address: 0.0.0.0, port: 22, protocol: tcp, pid: 412, name: sshd}]
  contains:
    address:
      description: Address the socket is bound to (an IPv4-mapped IPv6 address is shown as IPv4).
      type: str
    port:
      description: Port number.
      type: int
    protocol:
      description: C(tcp) or C(udp).
      type: str
    pid:
      description: Process holding the socket; null when it cannot be read.
      type: int
    name:
      description: Program name of that process; empty when it cannot be read.
      type: str
"""

import ipaddress
import os
import socket
import struct

from ansible.module_utils.basic import AnsibleModule

TCP_LISTEN = "0A"
UDP_UNCONNECTED = "07"
TABLES = (("tcp", socket.AF_INET, TCP_LISTEN), ("tcp6", socket.AF_INET6, TCP_LISTEN))
TABLES += (("udp", socket.AF_INET, UDP_UNCONNECTED), ("udp6", socket.AF_INET6, UDP_UNCONNECTED))


def decode_address(hex_address: str, family: int) -> str:
    """/proc/net prints addresses as the kernel's 32-bit words in host order."""
    raw = bytes.fromhex(hex_address)
    words = struct.unpack(f"={len(raw) // 4}I", raw)
    packed = struct.pack(f">{len(words)}I", *words)
    address = ipaddress.ip_address(socket.inet_ntop(family, packed))
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    return str(address)


def sockets(proc: str = "/proc") -> list[dict]:
    found = []
    for table, family, wanted_state in TABLES:
        try:
            with open(os.path.join(proc, "net", table)) as handle:
                lines = handle.readlines()[1:]
        except OSError:
            continue  # no IPv6 on this host
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != wanted_state:
                continue
            hex_address, _colon, hex_port = fields[1].partition(":")
            found.append(
                {
                    "address": decode_address(hex_address, family),
                    "port": int(hex_port, 16),
                    "protocol": table.rstrip("6"),
                    "inode": fields[9],
                }
            )
    return found


def owners(proc: str = "/proc") -> dict[str, tuple[int, str]]:
    """Socket inode -> (pid, program name), for the processes we may read."""
    found: dict[str, tuple[int, str]] = {}
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        fd_dir = os.path.join(proc, entry, "fd")
        try:
            with open(os.path.join(proc, entry, "comm")) as handle:
                name = handle.read().strip()
            for fd in os.listdir(fd_dir):
                target = os.readlink(os.path.join(fd_dir, fd))
                if target.startswith("socket:["):
                    found.setdefault(target[8:-1], (int(entry), name))
        except OSError:
            continue  # the process ended, or is not ours to read
    return found


def main() -> None:
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    by_inode = owners()
    listeners = []
    for entry in sockets():
        pid, name = by_inode.get(entry.pop("inode"), (None, ""))
        listeners.append({**entry, "pid": pid, "name": name})
    module.exit_json(changed=False, listeners=listeners)


if __name__ == "__main__":
    main()
