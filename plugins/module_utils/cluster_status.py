"""The `postgresql` part of `dockyard status`, from what status.yml read on each
host."""

from __future__ import annotations

from typing import Any


def _row(probe: Any) -> dict[str, Any] | None:
    if not isinstance(probe, dict) or probe.get("failed") or probe.get("skipped"):
        return None
    results = probe.get("query_all_results") or []
    if not results or not results[0]:
        return None
    return results[0][0]


def _senders(probe: Any) -> list[dict[str, Any]]:
    results = (probe or {}).get("query_all_results") or []
    return list(results[1]) if len(results) > 1 else []


def _address(host_vars: Any) -> str:
    facts = host_vars.get("ansible_facts", {}) or {}
    return str(host_vars.get("postgresql_address") or (facts.get("default_ipv4") or {}).get("address") or "")


def _installed_version(host_vars: Any) -> str | None:
    """The major version of a cluster the host has, from status.yml's look at
    /etc/postgresql when the server did not answer; None if it has none."""
    found = host_vars.get("status_postgresql_installed") or {}
    versions = sorted(
        str(f.get("path", "")).split("/")[3] for f in found.get("files") or [] if str(f.get("path", "")).count("/") >= 4
    )
    return versions[-1] if versions else None


def postgresql_status(host: str, hostvars: Any, cluster_hosts: list[str]) -> dict[str, Any] | None:
    """The `postgresql` status of host, from the probes (status_postgresql)
    of every cluster host in this run, so that a replica's lag and sync state
    come from its primary's view. A host whose server does not answer but has
    a cluster is reported as not running (role null); lag is null where it is
    not known (a replica that does not stream)."""
    present = [name for name in cluster_hosts if name in hostvars]
    probes = {name: hostvars[name].get("status_postgresql") for name in present}
    addresses = {name: _address(hostvars[name]) for name in present}
    own = _row(probes.get(host))
    if own is None:
        version = _installed_version(hostvars[host]) if host in hostvars else None
        if version is None:
            return None
        return {
            "role": None,
            "running": False,
            "version": version,
            "timeline": None,
            "upstream": None,
            "streaming": False,
            "lag_bytes": None,
            "lag_seconds": None,
            "sync_state": None,
            "tls": None,
        }
    status: dict[str, Any] = {
        "role": "replica" if own["in_recovery"] else "primary",
        "running": True,
        "version": str(own["major"]),
        "timeline": own["timeline"],
        "upstream": None,
        "streaming": None,
        "lag_bytes": 0,
        "lag_seconds": 0.0,
        "sync_state": None,
        "tls": bool(own.get("tls")),
    }
    if not own["in_recovery"]:
        return status
    by_address = {address: name for name, address in addresses.items() if address}
    upstream_address = own.get("upstream_address")
    status["upstream"] = by_address.get(upstream_address, upstream_address)
    status["streaming"] = own.get("receiver_status") == "streaming"
    if not status["streaming"]:
        # How far behind a replica that receives nothing is cannot be told.
        status["lag_bytes"] = status["lag_seconds"] = None
        return status
    status["lag_bytes"] = int(own.get("local_replay_gap") or 0)
    primaries = [name for name in probes if (_row(probes[name]) or {}).get("in_recovery") is False]
    upstream = status["upstream"] if status["upstream"] in primaries else (primaries[0] if primaries else None)
    for sender in _senders(probes.get(upstream)) if upstream else []:
        if sender.get("application_name") == host:
            status["lag_bytes"] = int(sender.get("lag_bytes") or 0)
            status["lag_seconds"] = float(sender.get("lag_seconds") or 0.0)
            status["sync_state"] = sender.get("sync_state")
            break
    return status
