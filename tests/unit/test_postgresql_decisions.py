"""Decisions of the postgresql_replication role, table-tested as they are
(its filter plugin, pure functions): whether a replica's data directory may be
replaced by a clone, whether a failover may go ahead, and the quorum of
synchronous commits. The Molecule scenarios postgresql_replication and
failover run the same cases against real clusters."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.dockyard.platform.plugins.module_utils import (
    addresses,
    postgresql_config,
    replica_plans,
)

ROOT = Path(__file__).resolve().parents[2]


OURS = "7301234567890123456"
OTHER = "7309999999999999999"

# name: (identifier, primary's identifier, fresh, standby.signal, force) -> (clone, refuse, words of why)
CASES = {
    "a fresh directory is cloned": ("", OURS, True, False, False, (True, False, "")),
    "a fresh directory is cloned, even before the primary is known": ("", "", True, False, False, (True, False, "")),
    "a standby of this cluster is kept": (OURS, OURS, False, True, False, (False, False, "")),
    "a standby of this cluster is re-cloned when forced": (OURS, OURS, False, True, True, (True, False, "")),
    "another cluster's data is refused": (OTHER, OURS, False, True, False, (True, True, "another cluster")),
    "a primary of this cluster is refused": (OURS, OURS, False, False, False, (True, True, "dockyard rejoin db2")),
    # The hole this closes: an unreadable pg_control once meant "nothing here".
    "an unreadable identity is refused": ("", OURS, False, True, False, (True, True, "cannot be read")),
    "an unreadable identity without standby.signal is refused": ("", OURS, False, False, False, (True, True, "cannot")),
    "an unknown primary identity is refused": (OURS, "", False, True, False, (True, True, "not known yet")),
    "forced, an unreadable identity is replaced": ("", OURS, False, True, True, (True, False, "cannot be read")),
    "forced, another cluster's data is replaced": (OTHER, OURS, False, False, True, (True, False, "another cluster")),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_clone_decision(case: tuple) -> None:
    identifier, primary_identifier, fresh, standby, force, (clone, refuse, why) = case
    decision = replica_plans.clone_decision("db2", identifier, "db1", primary_identifier, fresh, standby, force)
    assert (decision["clone"], decision["refuse"]) == (clone, refuse)
    assert why in decision["why"]
    if refuse:
        assert "db1" in decision["why"] or "rejoin" in decision["why"]


@pytest.mark.parametrize(
    ("names", "count", "expected"),
    [
        (["db3", "db2"], 1, 'ANY 1 ("db2", "db3")'),
        (["db2", "db3"], 2, 'ANY 2 ("db2", "db3")'),
        # After a failover that left one follower: ANY 2 of one would block every write.
        (["db3"], 2, 'ANY 1 ("db3")'),
        ([], 1, ""),
        (["db2"], 0, ""),
    ],
)
def test_quorum_never_asks_for_more_standbys_than_follow(names: list[str], count: int, expected: str) -> None:
    assert postgresql_config.quorum(names, count) == expected


def test_peers_come_in_the_same_order_whatever_the_inventory_order() -> None:
    # A switchover there and back rewrites the lab's hosts.yml with the
    # replicas in another order; pg_hba.conf and dockyard-peers must not change.
    hostvars = {name: {"ansible_host": f"10.0.0.{n}"} for n, name in enumerate(["db1", "db2", "db3", "db4"], 1)}
    first = addresses.peer_addresses(hostvars, ["db1", "db2", "db3", "db4"], "db1")
    again = addresses.peer_addresses(hostvars, ["db1", "db4", "db3", "db2"], "db1")
    assert first == again
    assert [peer["host"] for peer in first] == ["db2", "db3", "db4"]


def probe(timeline: int = 1, active: bool = True, standby: bool = True, data: bool = True) -> dict:
    return {
        "postgresql_replication_probe": {
            "timeline": timeline,
            "service_active": active,
            "standby_signal": standby,
            "data_exists": data,
        }
    }


CLUSTER = ["db1", "db2", "db3"]
# name: (host vars, hosts in the play, may db1 start without asking its peers)
STARTS = {
    "a first deploy: no replica has data yet": (
        {
            "db1": probe(0, False, False, False),
            "db2": probe(0, False, False, False),
            "db3": probe(0, False, False, False),
        },
        CLUSTER,
        True,
    ),
    "the whole cluster was down, replicas on the same timeline": (
        {"db1": probe(3, False, False), "db2": probe(3, False), "db3": probe(2, False)},
        CLUSTER,
        True,
    ),
    "a replica is on a newer timeline: someone was promoted": (
        {"db1": probe(3, False, False), "db2": probe(4, True), "db3": probe(3)},
        CLUSTER,
        False,
    ),
    "another host runs as a primary": (
        {"db1": probe(3, False, False), "db2": probe(3, True, False), "db3": probe(3)},
        CLUSTER,
        False,
    ),
    "a cluster host this run has not seen": (
        {"db1": probe(3, False, False), "db2": probe(3)},
        ["db1", "db2"],
        False,
    ),
}


@pytest.mark.parametrize("case", STARTS.values(), ids=list(STARTS))
def test_may_start_alone(case: tuple) -> None:
    host_vars, play_hosts, expected = case
    assert replica_plans.may_start_alone(host_vars, CLUSTER, play_hosts, "db1") is expected
