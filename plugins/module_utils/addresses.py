"""Host addresses for pg_hba.conf and the peers file: which address a host has,
which networks are valid CIDR, the peer list a cluster host writes."""

from __future__ import annotations

import ipaddress
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
    last run wrote to this host's dockyard-peers file). Sorted by name: the
    inventory's order changes with every switchover the CLI records, and the
    files written from this list (pg_hba.conf, dockyard-peers) must not."""
    peers = []
    for host in sorted(hosts):
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
