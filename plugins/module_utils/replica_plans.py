"""Decisions about one replica's data directory and start: whether it is
replaced by a clone of the primary, and whether it may start without asking
its peers."""

from __future__ import annotations

from typing import Any


def clone_decision(
    host: str,
    identifier: str,
    primary: str,
    primary_identifier: str,
    fresh: bool,
    standby: bool,
    force: bool = False,
) -> dict[str, Any]:
    """Whether a replica's data directory is replaced by a clone of the primary's,
    and, when that would destroy data nobody else may have, why it is refused.

    Only a directory that provably holds nothing of its own is replaced without
    force: one Dockyard created empty (fresh), or absent. A standby of this
    cluster is kept as it is. Everything else (another cluster, a primary of
    this one, or a directory whose identity cannot be read) is foreign."""
    same_cluster = identifier != "" and identifier == primary_identifier
    if fresh:
        return {"clone": True, "refuse": False, "why": ""}
    if same_cluster and standby:
        return {"clone": force, "refuse": False, "why": ""}
    if identifier == "":
        why = (
            "its cluster identity cannot be read (global/pg_control is missing or unreadable), so nothing"
            f" shows it is a copy of {primary}"
        )
    elif primary_identifier == "":
        why = f"the cluster identity of {primary} is not known yet, so nothing shows this is a copy of it"
    elif not same_cluster:
        why = f"it belongs to another cluster (system identifier {identifier}, {primary} has {primary_identifier})"
    else:
        why = (
            "it is a primary of this cluster (no standby.signal): it may hold writes the primary lacks;"
            f" an old primary comes back with `dockyard rejoin {host}` (pg_rewind)"
        )
    return {"clone": True, "refuse": not force, "why": why}


def may_start_alone(host_vars: Any, cluster: list[str], play_hosts: list[str], me: str) -> bool:
    """Whether this run may start `me` as the primary without its start check
    asking the peers (on a first deploy, or with the whole cluster down, none
    answers): only when the run has seen every cluster host, and none is on a
    newer timeline or runs as a primary (the probe's view of each)."""
    own = host_vars[me].get("postgresql_replication_probe") or {}
    for host in cluster:
        if host == me:
            continue
        if host not in play_hosts:
            return False
        probe = host_vars[host].get("postgresql_replication_probe") or {}
        if int(probe.get("timeline") or 0) > int(own.get("timeline") or 0):
            return False
        if probe.get("service_active") and probe.get("data_exists") and not probe.get("standby_signal"):
            return False
    return True
