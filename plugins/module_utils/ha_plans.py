"""Plans for moving the primary: which host is promoted, which hosts follow it,
which are fenced or left to `dockyard rejoin`, and why a move must not go ahead.

Pure functions of what each reachable host said of itself (HostState), so every
rule is table-tested without a cluster. The task files (failover.yml,
switchover.yml, rejoin.yml) read the cluster, ask for a plan, and carry out the
steps it names; they decide nothing themselves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class HostState:
    """One reachable cluster host, as it describes itself (live.yml, the probe)."""

    running: bool = False
    in_recovery: bool = False
    # A data directory exists: a stopped host without standby.signal would
    # start as a primary.
    has_data: bool = False
    timeline: int = 0
    # WAL position in bytes: the newest reading (after an old primary stopped,
    # where there is one).
    position: int = 0
    streaming: bool = False
    upstream_address: str = ""
    upstream_host: str = ""
    # The replica's own check, just now, that its upstream answers.
    upstream_answers: bool = False
    # The host's own address, as this run knows it.
    address: str = ""

    @property
    def running_primary(self) -> bool:
        return self.running and not self.in_recovery

    @property
    def running_replica(self) -> bool:
        return self.running and self.in_recovery


@dataclass(frozen=True)
class Ranking:
    """Where the target stands among the running replicas."""

    most_advanced: str = ""
    behind: int = 0
    ahead_of_target: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FailoverPlan:
    refusal: str
    promoted_already: bool
    unreachable: list[str]
    running_primaries: list[str]
    candidates: list[str]
    stopped_primaries: list[str]
    # The running old primary that hands its last WAL to the target by a clean
    # stop (as in a switchover), or '' when the target is judged by position.
    handover_from: str
    ranking: Ranking
    # The streaming replicas to ask whether their primary still answers them.
    ask_upstream: list[str]
    # Whether positions must be read again once the old primary stopped.
    reread_positions: bool
    fence: list[str]
    followers: list[str]
    left_out: list[str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SwitchoverPlan:
    refusal: str
    old_primary: str
    followers: list[str]
    left_out: list[str]
    # Replicas re-pointed at the target before the old primary stops: they
    # stream from it through its promotion (a cascaded standby follows its
    # upstream's new timeline on the same connection), so the new primary's
    # first synchronous commits need not wait for a follower to connect.
    cascade: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RejoinPlan:
    # Settled before anything is measured or changed.
    refusal: str
    # A diverged primary's writes a rewind would discard (refused unless forced);
    # judged once they were measured.
    discard_refusal: str
    live_primary: str
    # The host streams from the live primary already: nothing to do.
    already_following: bool
    # The host runs as a primary on an older timeline: it took writes after the
    # split, which a rewind discards (refused unless forced).
    diverged_primary: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _flag(value: Any) -> bool:
    return value.strip().lower() in ("true", "yes", "1") if isinstance(value, str) else bool(value)


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def position(host_vars: Mapping[str, Any]) -> int:
    """A replica's WAL position (bytes), its newest reading: the one taken
    after an old primary stopped (failover.yml) where there is one, else
    live.yml's."""
    rows = (host_vars.get("postgresql_replication_position_now") or {}).get("query_result") or []
    if rows:
        return _int(rows[0].get("position"))
    return _int((host_vars.get("postgresql_replication_live") or {}).get("position"))


def host_state(host_vars: Mapping[str, Any]) -> HostState:
    """What the plans need of one reachable host, from the facts the role
    gathered there (live.yml, the probe, the upstream check)."""
    live = host_vars.get("postgresql_replication_live") or {}
    probe = host_vars.get("postgresql_replication_probe") or {}
    check = host_vars.get("postgresql_replication_upstream_check") or {}
    peers = probe.get("peers") or {}
    address = str(live.get("upstream_address") or "")
    return HostState(
        running=_flag(live.get("running")),
        in_recovery=_flag(live.get("in_recovery")),
        has_data=_flag(probe.get("data_exists")),
        timeline=_int(live.get("timeline")),
        position=position(host_vars),
        streaming=_flag(live.get("streaming")),
        upstream_address=address,
        upstream_host=next((name for name, peer in peers.items() if peer == address), ""),
        upstream_answers=not check.get("skipped") and check.get("rc") == 0,
        address=str(host_vars.get("postgresql_replication_host_address") or ""),
    )


def cluster_states(
    hostvars: Mapping[str, Any], cluster: Sequence[str], play_hosts: Sequence[str]
) -> dict[str, HostState]:
    """Each reachable cluster host's state, in the cluster's order."""
    return {host: host_state(hostvars[host]) for host in cluster if host in play_hosts}


def running_primaries(states: Mapping[str, HostState]) -> list[str]:
    """The reachable hosts that run as a primary, in the states' order."""
    return [h for h, s in states.items() if s.running_primary]


def sole_primary(states: Mapping[str, HostState]) -> str:
    """The one running primary, or '' when there is none or more than one."""
    primaries = running_primaries(states)
    return primaries[0] if len(primaries) == 1 else ""


def rank(states: Mapping[str, HostState], candidates: Sequence[str], target: str) -> Ranking:
    """The most advanced running replica (ties go to the later name, as a
    stable choice), how many bytes the target is behind it, and the replicas
    ahead of the target (they cannot follow it)."""
    if not candidates:
        return Ranking()
    ranked = sorted((states[host].position, host) for host in candidates)
    top_position, most_advanced = ranked[-1]
    mine = states[target].position if target in states else 0
    return Ranking(
        most_advanced=most_advanced,
        behind=top_position - mine,
        ahead_of_target=[host for pos, host in ranked if pos > mine],
    )


def failover_refusal(
    states: Mapping[str, HostState],
    target: str,
    force: bool = False,
    promoted_already: bool = False,
    behind: int = 0,
    most_advanced: str = "",
) -> str:
    """Why a failover to target must not go ahead, or '' when it may.

    A failover is for a lost primary: a primary that runs, whether this machine
    reaches it or only its replicas do, would keep taking writes beside the new
    one."""
    if promoted_already:
        return ""
    candidates = [h for h, s in states.items() if s.running_replica]
    if target not in candidates:
        return (
            f"{target} is not a running replica that can be reached (running replicas:"
            f" {', '.join(candidates) or 'none'}): failover refused, nothing changed."
        )
    if force:
        return ""
    primaries = [h for h in running_primaries(states) if h != target]
    if primaries:
        return (
            f"{primaries[0]} is running as the primary and this machine reaches it: a failover is for a lost"
            f" primary. Move the primary with `dockyard switchover --to {target}` (no acknowledged write is lost),"
            f" or add --force (dockyard_force=true) to stop and fence {primaries[0]} and promote {target}."
            " Nothing changed."
        )
    alive = [(h, s) for h, s in states.items() if s.streaming and s.upstream_answers]
    if alive:
        host, state = alive[0]
        name = state.upstream_host or "a host"
        return (
            f"{host} still streams from {state.upstream_address} ({name}), which answers it: that primary is alive,"
            f" only this machine cannot reach it. Promoting {target} now would leave two hosts accepting writes, and"
            f" the writes {name} takes meanwhile would be lost when it rejoins. Restore this machine's access to"
            f" {name} and use `dockyard switchover --to {target}`, or stop PostgreSQL on {name} first; --force"
            " (dockyard_force=true) promotes anyway. Nothing changed."
        )
    if behind > 0:
        return (
            f"{target} is {behind} bytes behind {most_advanced}, the most advanced replica: promoting it would"
            f" lose those writes. Fail over to {most_advanced}, or add --force (dockyard_force=true) to accept"
            " the loss. Nothing changed."
        )
    return ""


def _hands_over(row: Mapping[str, Any] | None, max_lag_bytes: int) -> bool:
    """Whether the old primary's view of the target (its pg_stat_replication
    row) shows a target close enough behind to be handed the rest by a clean
    stop."""
    return bool(row) and row.get("state") == "streaming" and _int(row.get("lag_bytes")) <= max_lag_bytes


def plan_failover(
    cluster: Sequence[str],
    states: Mapping[str, HostState],
    target: str,
    force: bool = False,
    max_lag_bytes: int = 0,
    target_row: Mapping[str, Any] | None = None,
) -> FailoverPlan:
    """The failover to target, from the reachable hosts' states.

    target_row is the running old primary's pg_stat_replication row for the
    target, once read. An old primary that still runs keeps writing WAL while
    the replicas are read, so their positions say nothing of what they will
    hold: a target streaming from it close behind is handed everything by its
    clean stop instead, and then no replica can end up ahead of it."""
    unreachable = [h for h in cluster if h not in states]
    primaries = running_primaries(states)
    candidates = [h for h, s in states.items() if s.running_replica]
    stopped_primaries = [h for h, s in states.items() if not s.running and not s.in_recovery and s.has_data]
    newest = max((s.timeline for s in states.values()), default=0)
    promoted_already = target in primaries and states[target].timeline == newest
    old = sole_primary(states)
    handover_from = old if old and old != target and _hands_over(target_row, max_lag_bytes) else ""
    ranking = Ranking() if handover_from else rank(states, candidates, target)
    refusal = failover_refusal(states, target, force, promoted_already, ranking.behind, ranking.most_advanced)
    others_running = [h for h in primaries if h != target]
    stopped = [h for h, s in states.items() if not s.running]
    return FailoverPlan(
        refusal=refusal,
        promoted_already=promoted_already,
        unreachable=unreachable,
        running_primaries=primaries,
        candidates=candidates,
        stopped_primaries=stopped_primaries,
        handover_from=handover_from,
        ranking=ranking,
        ask_upstream=[]
        if promoted_already or force or primaries
        else [h for h, s in states.items() if s.streaming and s.upstream_address],
        reread_positions=not handover_from and not promoted_already and bool(others_running),
        fence=[h for h in primaries + stopped_primaries if h != target],
        followers=[h for h in candidates if h != target and h not in ranking.ahead_of_target],
        left_out=_unique(unreachable + others_running + ranking.ahead_of_target + stopped),
    )


def switchover_refusal(
    cluster: Sequence[str],
    states: Mapping[str, HostState],
    target: str,
    max_lag_bytes: int = 0,
    target_row: Mapping[str, Any] | None = None,
) -> str:
    """Why a switchover to target must not go ahead, or '' when it may. The
    target's row (the primary's pg_stat_replication view of it) is judged once
    it was read."""
    unreachable = [h for h in cluster if h not in states]
    primaries = running_primaries(states)
    if target not in cluster:
        return f"Switchover needs a target: dockyard switchover --to HOST (one of {', '.join(cluster)})."
    if unreachable:
        return (
            f"Every cluster host must be reachable for a switchover; not reachable: {', '.join(unreachable)}."
            " Use dockyard failover if the primary is lost."
        )
    if len(primaries) != 1:
        return (
            f"Found {len(primaries)} running primaries ({', '.join(primaries) or 'none'}); a switchover needs"
            " exactly one."
        )
    if primaries[0] == target:
        return f"{target} is already the primary: nothing to do."
    if target_row is None:
        return ""
    state = str(target_row.get("state") or "")
    if state != "streaming":
        return (
            f"{target} is not a streaming replica of {primaries[0]} (state: {state or 'not connected'}):"
            " switchover refused, nothing changed."
        )
    lag = _int(target_row.get("lag_bytes"))
    if lag > max_lag_bytes:
        return (
            f"{target} is {lag} bytes behind, more than postgresql_switchover_max_lag_bytes ({max_lag_bytes}):"
            " let it catch up and retry."
        )
    return ""


def cascade_ahead(
    cluster: Sequence[str],
    states: Mapping[str, HostState],
    target: str,
    followers: Sequence[str],
    synchronous_replicas: int,
) -> list[str]:
    """The replicas to re-point at the target before the old primary stops.

    As many as the target's quorum will ask for (ANY min(N, followers)), so
    that its first commits find them streaming; none when it would take more
    than the old primary can spare, since the old primary's own quorum (ANY
    min(N, its replicas)) must still be met by the replicas left on it until it
    stops, or its last writes would hang. None either when commits are
    asynchronous (nothing waits for a follower)."""
    old = sole_primary(states)
    needed = min(synchronous_replicas, len(followers))
    if not old or needed <= 0:
        return []
    replicas = [h for h in cluster if h != old]
    streaming = [
        h
        for h in replicas
        if h in states and states[h].running_replica and states[h].streaming and states[h].upstream_host == old
    ]
    candidates = [h for h in streaming if h != target and h in followers]
    spare = len(streaming) - min(synchronous_replicas, len(replicas))
    if len(candidates) < needed or spare < needed:
        return []
    return candidates[:needed]


def plan_switchover(
    cluster: Sequence[str],
    states: Mapping[str, HostState],
    target: str,
    max_lag_bytes: int = 0,
    target_row: Mapping[str, Any] | None = None,
    synchronous_replicas: int = 0,
) -> SwitchoverPlan:
    """The switchover to target: the old primary stops cleanly (handing its
    last WAL to every connected standby) and follows the target; a replica
    whose server is down is re-pointed but not waited for."""
    old = sole_primary(states)
    followers = [h for h in cluster if h in states and states[h].running and h != target]
    return SwitchoverPlan(
        refusal=switchover_refusal(cluster, states, target, max_lag_bytes, target_row),
        old_primary=old,
        followers=followers,
        left_out=[h for h in cluster if h in states and not states[h].running and h != old],
        cascade=cascade_ahead(cluster, states, target, followers, synchronous_replicas),
    )


def live_primary(states: Mapping[str, HostState]) -> str:
    """The running primary on the newest timeline ('' if none): an old primary
    that came back on its own (split brain) is never the one to follow."""
    primaries = sorted((s.timeline, h) for h, s in states.items() if s.running_primary)
    return primaries[-1][1] if primaries else ""


def plan_rejoin(
    cluster: Sequence[str],
    states: Mapping[str, HostState],
    target: str,
    force: bool = False,
    discarded_bytes: int | None = None,
) -> RejoinPlan:
    """Whether target may come back as a replica of the live primary.

    discarded_bytes is what the live primary's timeline history says the
    target wrote past the split, once measured (None: not measured, or its
    timeline is not in that history)."""
    primary = live_primary(states)
    mine = states.get(target, HostState())
    following = (
        bool(primary)
        and mine.running_replica
        and mine.streaming
        and mine.upstream_address != ""
        and mine.upstream_address == states[primary].address
    )
    diverged = mine.running_primary and primary not in ("", target)
    if target not in cluster:
        refusal = f"{target} is not a host of the cluster ({', '.join(cluster)})."
    elif target not in states:
        refusal = f"{target} cannot be reached: start it first."
    elif not primary:
        refusal = "No running primary found to rejoin: fail over first (dockyard failover --to HOST)."
    elif primary == target:
        refusal = (
            f"{target} is the live primary (timeline {mine.timeline}): it cannot rejoin as a replica."
            " Switch over first if that is what you want. Nothing changed."
        )
    else:
        refusal = ""
    discard_refusal = ""
    if not refusal and diverged and not force:
        how_much = (
            f"{discarded_bytes} bytes of its WAL past the point where {primary} took over"
            if discarded_bytes is not None
            else "how much cannot be told: its timeline is not in the live primary's history"
        )
        discard_refusal = (
            f"{target} runs as a primary on timeline {mine.timeline}, older than the live primary {primary}'s"
            f" ({states[primary].timeline}): it took writes after the split, and a rejoin would rewind them away"
            f" ({how_much}). Save what you need from it first (e.g. pg_dump), then run again with --force"
            " (dockyard_force=true). Nothing changed."
        )
    return RejoinPlan(
        refusal=refusal,
        discard_refusal=discard_refusal,
        live_primary=primary,
        already_following=following,
        diverged_primary=diverged,
    )


def promotion_ready_sql(checkpoint_lsn: str = "") -> str:
    """The SQL condition a standby meets once it may be promoted: replayed past
    the old primary's shutdown checkpoint (a handover: all it wrote), or else
    replayed everything it received (all there is)."""
    if checkpoint_lsn:
        quoted = checkpoint_lsn.replace("'", "''")
        return f"pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '{quoted}') > 0"
    return (
        "pg_last_wal_receive_lsn() IS NULL OR pg_wal_lsn_diff(pg_last_wal_replay_lsn(), pg_last_wal_receive_lsn()) >= 0"
    )


def _unique(hosts: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(hosts))


def _target_row(hostvars: Mapping[str, Any], running_primary: str, register: str) -> dict[str, Any] | None:
    if not running_primary:
        return None
    rows = (hostvars[running_primary].get(register) or {}).get("query_result")
    if rows is None:
        return None
    return dict(next(iter(rows), {}))


def failover_plan_of(
    hostvars: Mapping[str, Any],
    cluster: Sequence[str],
    play_hosts: Sequence[str],
    target: str,
    force: bool = False,
    max_lag_bytes: int = 0,
) -> dict[str, Any]:
    """plan_failover from the facts of this run (the filter's entry point)."""
    states = cluster_states(hostvars, cluster, play_hosts)
    row = _target_row(hostvars, sole_primary(states), "postgresql_replication_target_on_old_primary")
    return plan_failover(cluster, states, target, force, int(max_lag_bytes), row).as_dict()


def switchover_plan_of(
    hostvars: Mapping[str, Any],
    cluster: Sequence[str],
    play_hosts: Sequence[str],
    target: str,
    max_lag_bytes: int = 0,
    synchronous_replicas: int = 0,
) -> dict[str, Any]:
    """plan_switchover from the facts of this run (the filter's entry point)."""
    states = cluster_states(hostvars, cluster, play_hosts)
    row = _target_row(hostvars, sole_primary(states), "postgresql_replication_target_row")
    return plan_switchover(cluster, states, target, int(max_lag_bytes), row, int(synchronous_replicas)).as_dict()


def rejoin_plan_of(
    hostvars: Mapping[str, Any],
    cluster: Sequence[str],
    play_hosts: Sequence[str],
    target: str,
    force: bool = False,
) -> dict[str, Any]:
    """plan_rejoin from the facts of this run (the filter's entry point)."""
    states = cluster_states(hostvars, cluster, play_hosts)
    primary = live_primary(states)
    discarded = None
    if primary:
        rows = (hostvars[primary].get("postgresql_replication_discarded") or {}).get("query_result") or []
        if rows and rows[0].get("discarded") is not None:
            discarded = _int(rows[0]["discarded"])
    return plan_rejoin(cluster, states, target, force, discarded).as_dict()
