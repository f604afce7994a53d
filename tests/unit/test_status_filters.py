"""The `postgresql` part of `dockyard status` (playbooks/filter_plugins/
dockyard_status.py) and the platform's verdict (dockyard.status.healthy),
from probe results shaped like status.yml's registered ones; the lab test
(test_cli_lab.py) reads a real cluster."""

from __future__ import annotations

from pathlib import Path

from ansible_collections.dockyard.platform.plugins.module_utils import cluster_status

from dockyard import status

ROOT = Path(__file__).resolve().parents[2]


def probe(in_recovery: bool, receiver: str | None = None, senders: list | None = None) -> dict:
    row = {
        "in_recovery": in_recovery,
        "major": 15,
        "timeline": 1,
        "upstream_address": "10.0.0.1" if in_recovery else None,
        "receiver_status": receiver,
        "local_replay_gap": 0 if in_recovery else None,
    }
    return {"query_all_results": [[row], senders or []]}


def hostvars(**probes: dict) -> dict:
    addresses = {"db1": "10.0.0.1", "db2": "10.0.0.2"}
    return {
        name: {"status_postgresql": p, "ansible_facts": {"default_ipv4": {"address": addresses[name]}}}
        for name, p in probes.items()
    }


def test_a_replica_that_does_not_stream_has_no_lag_figure() -> None:
    hv = hostvars(db1=probe(False), db2=probe(True, receiver=None))
    pg = cluster_status.postgresql_status("db2", hv, ["db1", "db2"])
    assert pg["role"] == "replica" and pg["streaming"] is False
    assert pg["lag_bytes"] is None and pg["lag_seconds"] is None  # once 0: looked in sync


def test_a_streaming_replica_takes_lag_and_sync_state_from_its_primary() -> None:
    senders = [{"application_name": "db2", "lag_bytes": 128, "lag_seconds": 0.01, "sync_state": "quorum"}]
    hv = hostvars(db1=probe(False, senders=senders), db2=probe(True, receiver="streaming"))
    pg = cluster_status.postgresql_status("db2", hv, ["db1", "db2"])
    assert (pg["upstream"], pg["lag_bytes"], pg["sync_state"]) == ("db1", 128, "quorum")


def test_a_server_that_does_not_answer_but_exists_is_not_running() -> None:
    # Once reported as null, like a host without PostgreSQL.
    hv = hostvars(db1=probe(False), db2={"failed": False, "msg": "unable to connect to database"})
    hv["db2"]["status_postgresql_installed"] = {"files": [{"path": "/etc/postgresql/15/main/postgresql.conf"}]}
    pg = cluster_status.postgresql_status("db2", hv, ["db1", "db2"])
    assert pg["role"] is None and pg["running"] is False and pg["version"] == "15"
    hv["db2"]["status_postgresql_installed"] = {"files": []}
    assert cluster_status.postgresql_status("db2", hv, ["db1", "db2"]) is None


def host(pg: dict | None, reachable: bool = True) -> dict:
    return {"reachable": reachable, "docker": None, "containers": [], "postgresql": pg}


PRIMARY = {"role": "primary", "streaming": None}
STREAMING = {"role": "replica", "streaming": True}


def test_healthy_means_reachable_one_primary_and_streaming_replicas() -> None:
    assert status.healthy({"app1": host(None)}, [])
    assert status.healthy({"db1": host(PRIMARY), "db2": host(STREAMING)}, ["db1"])
    assert not status.healthy({"db1": host(PRIMARY), "db2": host({"role": "replica", "streaming": False})}, ["db1"])
    assert not status.healthy({"db1": host(PRIMARY), "db2": host({"role": None, "streaming": False})}, ["db1"])
    assert not status.healthy({"db1": host(PRIMARY), "db2": host(PRIMARY)}, ["db1", "db2"])
    assert not status.healthy({"db1": host(PRIMARY), "app1": host(None, reachable=False)}, ["db1"])


def test_a_server_says_whether_tls_is_on() -> None:
    on, off = probe(False), probe(True, receiver="streaming")
    on["query_all_results"][0][0]["tls"] = True
    off["query_all_results"][0][0]["tls"] = False
    hv = hostvars(db1=on, db2=off)
    assert cluster_status.postgresql_status("db1", hv, ["db1", "db2"])["tls"] is True
    assert cluster_status.postgresql_status("db2", hv, ["db1", "db2"])["tls"] is False


def test_a_service_that_declares_a_database_writes_to_the_live_primary() -> None:
    from dockyard.runner.model import RunResult

    def report(containers: list[dict], postgresql: dict | None) -> dict:
        return {status.REPORT_TASK: {"msg": {"reachable": True, "containers": containers, "postgresql": postgresql}}}

    api = {"Names": ["/api"], "Image": "api", "State": "running", "Labels": {"org.dockyard.database": "app"}}
    web = {"Names": ["/web"], "Image": "web", "State": "running", "Labels": {}}
    primary = {"role": "primary", "streaming": None}
    result = RunResult("status.yml", 0, "successful", 1.0, {}, [], Path("/nonexistent"))
    built = status.build(
        result,
        ("app1", "db2"),
        {"app1": report([api, web], None), "db2": report([], primary)},
    )
    containers = {c["name"]: c for c in built["hosts"]["app1"]["containers"]}
    assert containers["api"]["database"] == {"name": "app", "writes_to": "db2"}
    assert containers["web"]["database"] is None
