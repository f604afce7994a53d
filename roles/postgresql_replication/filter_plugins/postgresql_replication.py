"""Filters of the postgresql_replication role: small pure functions that would
be unreadable as Jinja."""

from __future__ import annotations

import ipaddress
import math
import re
from typing import Any


def is_ip(value: Any) -> bool:
    """Whether value is an IPv4 or IPv6 address (not a name, not a network)."""
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


def host_cidr(address: str) -> str:
    """The one-address network of an address, for a pg_hba.conf line."""
    parsed = ipaddress.ip_address(address)
    return f"{parsed}/{parsed.max_prefixlen}"


def bad_networks(networks: Any) -> list[str]:
    """Entries of a list that are not IP networks in CIDR notation."""
    if not isinstance(networks, list):
        return [repr(networks)]
    bad = []
    for network in networks:
        try:
            ipaddress.ip_network(str(network), strict=False)
        except ValueError:
            bad.append(str(network))
        else:
            if "/" not in str(network):
                bad.append(str(network))
    return bad


def slot_name(host: str, prefix: str) -> str:
    """A replication slot name for a host: lower case letters, digits, _."""
    return prefix + re.sub(r"[^a-z0-9_]", "_", host.lower())


def wal_senders(replicas: int, headroom: int, configured: int) -> int:
    """max_wal_senders: the configured value, or sized from the replica count
    with headroom and rounded up to a multiple of 10, so that one more replica
    seldom changes it (a change needs a restart of every host)."""
    if configured > 0:
        return configured
    return max(10, math.ceil((replicas + headroom) / 10.0) * 10)


def quorum(names: list[str], count: int) -> str:
    """synchronous_standby_names for ANY count of the given standbys (sorted:
    the order means nothing to ANY, and must not change the file)."""
    if count <= 0 or not names:
        return ""
    quoted = ", ".join('"' + name.replace('"', '""') + '"' for name in sorted(names))
    return f"ANY {count} ({quoted})"


def controldata(text: str) -> dict[str, str]:
    """pg_controldata's output as a mapping of its labels to values."""
    result = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            result[key.strip()] = value.strip()
    return result


def pgpass_field(value: Any) -> str:
    """A field of a .pgpass line: backslash and colon escaped."""
    return str(value).replace("\\", "\\\\").replace(":", "\\:")


def conf_value(value: Any) -> str:
    """A value as postgresql.conf wants it: numbers and booleans bare,
    everything else single-quoted."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (int, float)):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def known_address(host_vars: Any) -> str:
    """A host's address as this run knows it: worked out by the role, set by
    the user, its inventory address, or its cached facts; '' if none."""
    facts = host_vars.get("ansible_facts", {}) or {}
    candidates = [
        host_vars.get("postgresql_replication_host_address", ""),
        host_vars.get("postgresql_address", ""),
        host_vars.get("ansible_host", ""),
        (facts.get("default_ipv4") or {}).get("address", ""),
    ]
    return next((str(c) for c in candidates if c and is_ip(c)), "")


def peer_addresses(
    hostvars: Any, hosts: list[str], exclude: str, remembered: dict[str, str] | None = None
) -> list[dict[str, str]]:
    """Host name and address of each cluster host but one, for pg_hba.conf.
    A host this run cannot reach is found in `remembered` (the addresses the
    last run wrote to this host's dockyard-peers file)."""
    peers = []
    for host in hosts:
        if host == exclude:
            continue
        address = known_address(hostvars[host]) or (remembered or {}).get(host, "")
        if not address:
            raise ValueError(
                f"{host}: its address is unknown (it is not in this run and has no cached facts); "
                "set postgresql_address for it or run without --limit"
            )
        peers.append({"host": host, "cidr": host_cidr(address)})
    return peers


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "postgresql_is_ip": is_ip,
            "postgresql_host_cidr": host_cidr,
            "postgresql_bad_networks": bad_networks,
            "postgresql_slot_name": slot_name,
            "postgresql_wal_senders": wal_senders,
            "postgresql_quorum": quorum,
            "postgresql_controldata": controldata,
            "postgresql_conf_value": conf_value,
            "postgresql_pgpass_field": pgpass_field,
            "postgresql_peer_addresses": peer_addresses,
        }
