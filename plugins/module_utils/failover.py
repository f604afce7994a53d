"""The failover decision: what each reachable host says of itself, and whether
a failover to a target may go ahead."""

from __future__ import annotations

from typing import Any


def position(host_vars: Any) -> int:
    """A replica's WAL position (bytes), its newest reading: the one taken
    after an old primary stopped (failover.yml) where there is one, else
    live.yml's."""
    rows = (host_vars.get("postgresql_replication_position_now") or {}).get("query_result") or []
    if rows:
        return int(rows[0].get("position") or 0)
    return int((host_vars.get("postgresql_replication_live") or {}).get("position") or 0)


def _flag(value: Any) -> bool:
    return value.strip().lower() in ("true", "yes", "1") if isinstance(value, str) else bool(value)


def failover_view(host_vars: Any) -> dict[str, Any]:
    """What failover_refusal needs of one reachable host, from the facts the
    role gathered there (live.yml, the probe, the upstream check)."""
    live = host_vars.get("postgresql_replication_live") or {}
    check = host_vars.get("postgresql_replication_upstream_check") or {}
    peers = (host_vars.get("postgresql_replication_probe") or {}).get("peers") or {}
    address = str(live.get("upstream_address") or "")
    return {
        "running": _flag(live.get("running")),
        "in_recovery": _flag(live.get("in_recovery")),
        "streaming": _flag(live.get("streaming")),
        "upstream_address": address,
        "upstream_host": next((name for name, peer in peers.items() if peer == address), ""),
        "upstream_answers": not check.get("skipped") and check.get("rc") == 0,
    }


def failover_refusal(
    live: dict[str, dict[str, Any]],
    target: str,
    force: bool = False,
    promoted_already: bool = False,
    behind: int = 0,
    most_advanced: str = "",
) -> str:
    """Why a failover to target must not go ahead, or '' when it may.

    live maps each reachable cluster host to what it says of itself:
    running, in_recovery, and for a replica whether its WAL receiver streams
    (streaming), from where (upstream_address, upstream_host) and whether that
    upstream answered the replica just now (upstream_answers). A failover is
    for a lost primary: a primary that runs, whether this machine reaches it
    or only its replicas do, would keep taking writes beside the new one."""
    if promoted_already:
        return ""
    candidates = [h for h, s in live.items() if s.get("running") and s.get("in_recovery")]
    if target not in candidates:
        return (
            f"{target} is not a running replica that can be reached (running replicas:"
            f" {', '.join(candidates) or 'none'}): failover refused, nothing changed."
        )
    if force:
        return ""
    primaries = [h for h, s in live.items() if s.get("running") and not s.get("in_recovery") and h != target]
    if primaries:
        return (
            f"{primaries[0]} is running as the primary and this machine reaches it: a failover is for a lost"
            f" primary. Move the primary with `dockyard switchover --to {target}` (no acknowledged write is lost),"
            f" or add --force (dockyard_force=true) to stop and fence {primaries[0]} and promote {target}."
            " Nothing changed."
        )
    alive = [(h, s) for h, s in live.items() if s.get("streaming") and s.get("upstream_answers")]
    if alive:
        host, state = alive[0]
        upstream = state.get("upstream_address", "")
        name = state.get("upstream_host") or "a host"
        return (
            f"{host} still streams from {upstream} ({name}), which answers it: that primary is alive, only this"
            f" machine cannot reach it. Promoting {target} now would leave two hosts accepting writes, and the"
            f" writes {name} takes meanwhile would be lost when it rejoins. Restore this machine's access to {name}"
            f" and use `dockyard switchover --to {target}`, or stop PostgreSQL on {name} first; --force"
            " (dockyard_force=true) promotes anyway. Nothing changed."
        )
    if behind > 0:
        return (
            f"{target} is {behind} bytes behind {most_advanced}, the most advanced replica: promoting it would"
            f" lose those writes. Fail over to {most_advanced}, or add --force (dockyard_force=true) to accept"
            " the loss. Nothing changed."
        )
    return ""
