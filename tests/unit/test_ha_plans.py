"""The plans that move the primary (plugins/module_utils/ha_plans.py), as
tables: what each reachable host says of itself, and what the plan makes of
it. No cluster: these are the decisions failover.yml, switchover.yml and
rejoin.yml carry out, tested for every case the task files used to decide in
Jinja."""

from __future__ import annotations

import pytest
from ansible_collections.dockyard.platform.plugins.module_utils.ha_plans import (
    HostState,
    failover_plan_of,
    host_state,
    live_primary,
    plan_failover,
    plan_rejoin,
    plan_switchover,
    promotion_ready_sql,
    rank,
)

CLUSTER = ["db1", "db2", "db3"]


def primary(timeline: int = 1, position: int = 5000, address: str = "10.0.0.1") -> HostState:
    return HostState(
        running=True, in_recovery=False, has_data=True, timeline=timeline, position=position, address=address
    )


def replica(
    position: int = 5000,
    streaming: bool = True,
    answers: bool = False,
    upstream: str = "10.0.0.1",
    timeline: int = 1,
    address: str = "",
) -> HostState:
    return HostState(
        running=True,
        in_recovery=True,
        has_data=True,
        timeline=timeline,
        position=position,
        streaming=streaming,
        upstream_address=upstream if streaming else "",
        upstream_host="db1" if streaming else "",
        upstream_answers=answers,
        address=address,
    )


STOPPED_PRIMARY = HostState(running=False, in_recovery=False, has_data=True, timeline=1)
STOPPED_REPLICA = HostState(running=False, in_recovery=True, has_data=True, timeline=1)
STREAMING = {"state": "streaming", "lag_bytes": 0}

# name: (states, target, force, target_row, expected plan fields; "refusal" holds words of it, "" for none)
FAILOVERS = {
    "the primary is unreachable, the target is the most advanced": (
        {"db2": replica(6000), "db3": replica(5000)},
        "db2",
        False,
        None,
        {"refusal": "", "unreachable": ["db1"], "followers": ["db3"], "fence": [], "left_out": ["db1"]},
    ),
    "the target is behind another replica": (
        {"db2": replica(5000), "db3": replica(9096)},
        "db2",
        False,
        None,
        {
            "refusal": "4096 bytes behind db3",
            "ranking": {"most_advanced": "db3", "behind": 4096, "ahead_of_target": ["db3"]},
        },
    ),
    "behind, forced: the replica ahead is left to rejoin": (
        {"db2": replica(5000), "db3": replica(9096)},
        "db2",
        True,
        None,
        {"refusal": "", "followers": [], "left_out": ["db1", "db3"]},
    ),
    "a running reachable primary: switch over instead": (
        {"db1": primary(), "db2": replica(answers=True), "db3": replica()},
        "db2",
        False,
        None,
        {"refusal": "dockyard switchover --to db2", "running_primaries": ["db1"], "ask_upstream": []},
    ),
    "a running primary, forced, handing over to a close target": (
        {"db1": primary(), "db2": replica(), "db3": replica()},
        "db2",
        True,
        STREAMING,
        {
            "refusal": "",
            "handover_from": "db1",
            "ranking": {"most_advanced": "", "behind": 0, "ahead_of_target": []},
            "reread_positions": False,
            "fence": ["db1"],
            "followers": ["db3"],
            "left_out": ["db1"],
        },
    ),
    "a running primary, forced, target too far behind to be handed over": (
        {"db1": primary(), "db2": replica(), "db3": replica()},
        "db2",
        True,
        {"state": "streaming", "lag_bytes": 100_000_000},
        {"handover_from": "", "reread_positions": True, "fence": ["db1"]},
    ),
    "a running primary the target does not stream from, forced": (
        {"db1": primary(), "db2": replica(streaming=False), "db3": replica()},
        "db2",
        True,
        {},
        {"handover_from": "", "reread_positions": True},
    ),
    "a stopped primary is fenced, not refused": (
        {"db1": STOPPED_PRIMARY, "db2": replica(), "db3": replica()},
        "db2",
        False,
        None,
        {
            "refusal": "",
            "stopped_primaries": ["db1"],
            "fence": ["db1"],
            "left_out": ["db1"],
            "ask_upstream": ["db2", "db3"],
        },
    ),
    "a replica still streams from a primary that answers it": (
        {"db2": replica(), "db3": replica(answers=True)},
        "db2",
        False,
        None,
        {"refusal": "db3 still streams from 10.0.0.1 (db1), which answers it"},
    ),
    "the same, forced: nobody is asked": (
        {"db2": replica(), "db3": replica(answers=True)},
        "db2",
        True,
        None,
        {"refusal": "", "ask_upstream": []},
    ),
    "a receiver that says streaming but gets no answer": (
        {"db2": replica(answers=False), "db3": replica(answers=False)},
        "db2",
        False,
        None,
        {"refusal": ""},
    ),
    "a target that is not a running replica": (
        {"db2": STOPPED_REPLICA, "db3": replica()},
        "db2",
        True,
        None,
        {"refusal": "db2 is not a running replica that can be reached (running replicas: db3)"},
    ),
    "a stopped replica is left out, not fenced": (
        {"db2": replica(), "db3": STOPPED_REPLICA},
        "db2",
        False,
        None,
        {"refusal": "", "fence": [], "followers": [], "left_out": ["db1", "db3"]},
    ),
    # A failover cut short after the promotion is finished by running it again:
    # the replicas, behind the new primary's position, follow it.
    "a re-run after the promotion": (
        {"db2": primary(timeline=2, position=7000), "db3": replica(5000, answers=True)},
        "db2",
        False,
        None,
        {"refusal": "", "promoted_already": True, "followers": ["db3"], "left_out": ["db1"], "ask_upstream": []},
    ),
    "an old primary back on its own timeline is not a finished promotion": (
        {"db1": primary(timeline=1), "db2": primary(timeline=2)},
        "db1",
        False,
        None,
        {"promoted_already": False, "refusal": "db1 is not a running replica"},
    ),
}


@pytest.mark.parametrize("case", FAILOVERS.values(), ids=list(FAILOVERS))
def test_failover_plan(case: tuple) -> None:
    states, target, force, row, expected = case
    plan = plan_failover(CLUSTER, states, target, force, max_lag_bytes=16 * 1024 * 1024, target_row=row).as_dict()
    for key, value in expected.items():
        if key == "refusal" and value:
            assert value in plan["refusal"]
            assert "othing changed" in plan["refusal"]
        elif key == "ranking":
            assert {k: plan["ranking"][k] for k in value} == value
        else:
            assert plan[key] == value, key


@pytest.mark.parametrize(
    ("positions", "target", "most_advanced", "behind", "ahead"),
    [
        ({"db2": 10, "db3": 10}, "db2", "db3", 0, []),  # a tie goes to the later name; nobody is ahead
        ({"db2": 10, "db3": 30}, "db2", "db3", 20, ["db3"]),
        ({"db2": 30, "db3": 10}, "db2", "db2", 0, []),
        ({"db2": 10, "db3": 20, "db4": 30}, "db3", "db4", 10, ["db4"]),
    ],
)
def test_rank(positions: dict[str, int], target: str, most_advanced: str, behind: int, ahead: list[str]) -> None:
    states = {host: replica(position) for host, position in positions.items()}
    ranking = rank(states, list(positions), target)
    assert (ranking.most_advanced, ranking.behind, ranking.ahead_of_target) == (most_advanced, behind, ahead)


SWITCHOVERS = {
    "a healthy cluster": ({"db1": primary(), "db2": replica(), "db3": replica()}, "db2", STREAMING, ""),
    "before the target's row was read, only the cluster is judged": (
        {"db1": primary(), "db2": replica(), "db3": replica()},
        "db2",
        None,
        "",
    ),
    "no target": ({"db1": primary(), "db2": replica(), "db3": replica()}, "", None, "needs a target"),
    "an unreachable host": ({"db1": primary(), "db2": replica()}, "db2", None, "not reachable: db3"),
    "no running primary": ({"db1": STOPPED_PRIMARY, "db2": replica(), "db3": replica()}, "db2", None, "Found 0"),
    "two running primaries": ({"db1": primary(), "db2": primary(2), "db3": replica()}, "db3", None, "Found 2"),
    "the target is the primary": ({"db1": primary(), "db2": replica(), "db3": replica()}, "db1", None, "already"),
    "the target does not stream": (
        {"db1": primary(), "db2": replica(), "db3": replica()},
        "db2",
        {},
        "state: not connected",
    ),
    "the target is far behind": (
        {"db1": primary(), "db2": replica(), "db3": replica()},
        "db2",
        {"state": "streaming", "lag_bytes": 99_000_000},
        "99000000 bytes behind",
    ),
}


@pytest.mark.parametrize("case", SWITCHOVERS.values(), ids=list(SWITCHOVERS))
def test_switchover_refusal(case: tuple) -> None:
    states, target, row, words = case
    plan = plan_switchover(CLUSTER, states, target, 16 * 1024 * 1024, row)
    if words:
        assert words in plan.refusal
    else:
        assert plan.refusal == ""


def test_switchover_followers_and_left_out() -> None:
    states = {"db1": primary(), "db2": replica(), "db3": STOPPED_REPLICA}
    plan = plan_switchover(CLUSTER, states, "db2", 0, STREAMING)
    assert plan.old_primary == "db1"
    # The old primary is a follower from the start: it streams from the target
    # once it restarted as a standby.
    assert plan.followers == ["db1"]
    assert plan.left_out == ["db3"]


# name: (states, cluster, synchronous replicas, the replicas re-pointed at db2 ahead)
CASCADES = {
    "ANY 1 of two: the other replica moves, the target keeps the old primary's quorum": (
        {"db1": primary(), "db2": replica(), "db3": replica()},
        CLUSTER,
        1,
        ["db3"],
    ),
    "asynchronous commits wait for nobody: nothing moves": (
        {"db1": primary(), "db2": replica(), "db3": replica()},
        CLUSTER,
        0,
        [],
    ),
    "ANY 2 of two: the old primary needs both until it stops": (
        {"db1": primary(), "db2": replica(), "db3": replica()},
        CLUSTER,
        2,
        [],
    ),
    "ANY 2 of three: two would have to move, one can be spared": (
        {"db1": primary(), "db2": replica(), "db3": replica(), "db4": replica()},
        ["db1", "db2", "db3", "db4"],
        2,
        [],
    ),
    "ANY 1 of three: one moves, in the cluster's order": (
        {"db1": primary(), "db2": replica(), "db3": replica(), "db4": replica()},
        ["db1", "db2", "db3", "db4"],
        1,
        ["db3"],
    ),
    "ANY 2 of four: two move, two stay": (
        {"db1": primary(), "db2": replica(), "db3": replica(), "db4": replica(), "db5": replica()},
        ["db1", "db2", "db3", "db4", "db5"],
        2,
        ["db3", "db4"],
    ),
    "the other replica does not stream: nothing to move": (
        {"db1": primary(), "db2": replica(), "db3": replica(streaming=False)},
        CLUSTER,
        1,
        [],
    ),
    "the other replica is down: it follows when it starts": (
        {"db1": primary(), "db2": replica(), "db3": STOPPED_REPLICA},
        CLUSTER,
        1,
        [],
    ),
    "a replica streaming from elsewhere gives the old primary no quorum": (
        {
            "db1": primary(),
            "db2": replica(),
            "db3": replica(),
            "db4": HostState(
                running=True, in_recovery=True, has_data=True, timeline=1, streaming=True, upstream_host="db3"
            ),
        },
        ["db1", "db2", "db3", "db4"],
        1,
        ["db3"],
    ),
    "a single replica: only the old primary will follow": (
        {"db1": primary(), "db2": replica()},
        ["db1", "db2"],
        1,
        [],
    ),
}


@pytest.mark.parametrize("case", CASCADES.values(), ids=list(CASCADES))
def test_switchover_cascade(case: tuple) -> None:
    states, cluster, synchronous, cascade = case
    plan = plan_switchover(cluster, states, "db2", 0, STREAMING, synchronous)
    assert plan.cascade == cascade


REJOINS = {
    "an old primary that is stopped": (
        {"db1": STOPPED_PRIMARY, "db2": primary(2, address="10.0.0.2"), "db3": replica(upstream="10.0.0.2")},
        "db1",
        False,
        None,
        ("", "", "db2", False),
    ),
    "a replica that already follows the live primary": (
        {"db1": replica(upstream="10.0.0.2"), "db2": primary(2, address="10.0.0.2")},
        "db1",
        False,
        None,
        ("", "", "db2", True),
    ),
    "a replica of a gone primary": (
        {"db1": replica(upstream="10.0.0.9"), "db2": primary(2, address="10.0.0.2")},
        "db1",
        False,
        None,
        ("", "", "db2", False),
    ),
    "a diverged primary: refused, with what it would lose": (
        {"db1": primary(1), "db2": primary(2, address="10.0.0.2")},
        "db1",
        False,
        8192,
        ("", "8192 bytes of its WAL past the point where db2 took over", "db2", False),
    ),
    "a diverged primary not in the live primary's history": (
        {"db1": primary(1), "db2": primary(2, address="10.0.0.2")},
        "db1",
        False,
        None,
        ("", "how much cannot be told", "db2", False),
    ),
    "a diverged primary, forced": (
        {"db1": primary(1), "db2": primary(2, address="10.0.0.2")},
        "db1",
        True,
        8192,
        ("", "", "db2", False),
    ),
    "the live primary itself": (
        {"db1": primary(1), "db2": primary(2)},
        "db2",
        False,
        None,
        ("db2 is the live primary (timeline 2)", "", "db2", False),
    ),
    "no running primary": (
        {"db1": STOPPED_PRIMARY, "db2": replica()},
        "db1",
        False,
        None,
        ("fail over first", "", "", False),
    ),
    "a host not in the cluster": (
        {"db1": primary()},
        "db9",
        False,
        None,
        ("not a host of the cluster", "", "db1", False),
    ),
    "a host out of reach": ({"db2": primary(2)}, "db1", False, None, ("cannot be reached", "", "db2", False)),
}


@pytest.mark.parametrize("case", REJOINS.values(), ids=list(REJOINS))
def test_rejoin_plan(case: tuple) -> None:
    states, target, force, discarded, (refusal, discard_refusal, live, following) = case
    plan = plan_rejoin(CLUSTER, states, target, force, discarded)
    assert (plan.live_primary, plan.already_following) == (live, following)
    for words, got in ((refusal, plan.refusal), (discard_refusal, plan.discard_refusal)):
        if words:
            assert words in got
        else:
            assert got == ""


def test_the_newest_timeline_is_the_live_primary() -> None:
    assert live_primary({"db1": primary(3), "db2": primary(2), "db3": replica()}) == "db1"
    assert live_primary({"db3": replica()}) == ""


def test_promotion_waits_for_the_checkpoint_or_for_what_was_received() -> None:
    assert promotion_ready_sql("0/3000028") == "pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/3000028') > 0"
    assert "pg_last_wal_receive_lsn() IS NULL" in promotion_ready_sql("")
    assert "''" in promotion_ready_sql("0/1'; DROP")


def test_the_filter_reads_the_plan_from_the_facts_of_the_run() -> None:
    """hostvars as failover.yml leaves them: live.yml's facts, the probe's
    peers, the re-read position of one replica, a skipped upstream check."""

    def live(running: bool, in_recovery: bool, timeline: int, position: int, streaming: bool) -> dict:
        return {
            "running": running,
            "in_recovery": in_recovery,
            "timeline": str(timeline),
            "position": str(position),
            "streaming": streaming,
            "upstream_address": "10.0.0.1" if streaming else "",
        }

    hostvars = {
        "db1": {
            "postgresql_replication_live": live(False, False, 1, 0, False),
            "postgresql_replication_probe": {"data_exists": True},
        },
        "db2": {
            "postgresql_replication_live": live(True, True, 1, 5000, True),
            "postgresql_replication_probe": {"peers": {"db1": "10.0.0.1"}},
            "postgresql_replication_upstream_check": {"skipped": True},
        },
        "db3": {
            "postgresql_replication_live": live(True, True, 1, 5000, True),
            "postgresql_replication_position_now": {"query_result": [{"position": 7000}]},
            "postgresql_replication_upstream_check": {"rc": 1},
        },
    }
    plan = failover_plan_of(hostvars, CLUSTER, CLUSTER, "db2", False, 0)
    assert plan["stopped_primaries"] == ["db1"]
    assert plan["ranking"] == {"most_advanced": "db3", "behind": 2000, "ahead_of_target": ["db3"]}
    assert "2000 bytes behind db3" in plan["refusal"]


def test_a_host_state_names_the_upstream_and_reads_the_check() -> None:
    host_vars = {
        "postgresql_replication_live": {"running": "True", "in_recovery": True, "streaming": True,
                                        "upstream_address": "10.0.0.1", "timeline": "3", "position": "42"},
        "postgresql_replication_probe": {"peers": {"db1": "10.0.0.1", "db3": "10.0.0.3"}, "data_exists": True},
        "postgresql_replication_upstream_check": {"rc": 0, "changed": False},
    }  # fmt: skip
    state = host_state(host_vars)
    assert (state.running, state.timeline, state.position, state.has_data) == (True, 3, 42, True)
    assert state.upstream_host == "db1" and state.upstream_answers is True
    host_vars["postgresql_replication_upstream_check"] = {"skipped": True}
    assert host_state(host_vars).upstream_answers is False


def test_control_data_is_read_by_key() -> None:
    from ansible_collections.dockyard.platform.plugins.module_utils.postgresql_control import parse_controldata

    text = (
        "pg_control version number:            1300\n"
        "Database cluster state:               shut down\n"
        "Latest checkpoint location:           0/3000060\n"
        "Latest checkpoint's TimeLineID:       2\n"
        "Mock authentication nonce:            ab:cd\n"
    )
    control = parse_controldata(text)
    assert control["Database cluster state"] == "shut down"
    assert control["Latest checkpoint location"] == "0/3000060"
    assert control["Latest checkpoint's TimeLineID"] == "2"
    # Only the first colon separates: values may hold more.
    assert control["Mock authentication nonce"] == "ab:cd"
