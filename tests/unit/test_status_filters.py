"""The `postgresql` and `backup` parts of `dockyard status` (plugins/filter/
dockyard_status.py) and the platform's verdict (dockyard.status.healthy),
from probe results shaped like status.yml's registered ones; the lab test
(test_cli_lab.py) reads a real cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible_collections.dockyard.platform.plugins.module_utils import backup_status, cluster_status

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


# The backup line of `dockyard status`. What cannot run here (pgbackrest on a
# repository host, pg_stat_archiver on a live primary, and the backup filters
# of postgresql_backup.py that judge them) is faked: registered results shaped
# like status.yml's, the filters' outputs as the dicts they return.
ARCHIVER_ROW = {
    "archived_count": 9,
    "last_archived_wal": "000000010000000000000008",
    "last_archived_time": 1796175903.2,
    "failed_count": 0,
    "last_failed_wal": None,
    "last_failed_time": None,
}
INFO = [{"name": "main", "status": {"code": 0, "message": "ok"}, "backup": []}]


def cluster(archiver: dict | None = ARCHIVER_ROW) -> dict:
    primary, replica = probe(False), probe(True, receiver="streaming")
    primary["query_all_results"].append([archiver] if archiver else [])
    replica["query_all_results"].append([{**ARCHIVER_ROW, "archived_count": 0}])
    return hostvars(db1=primary, db2=replica)


def repository_host(reachable: bool = True, installed: bool = True, info: dict | None = None) -> dict:
    result = info or {"rc": 0, "stdout": json.dumps(INFO), "stderr": ""}
    return {
        "status_reachable": reachable,
        "status_pgbackrest": {"stat": {"exists": installed}} if reachable else {"skipped": True},
        "status_backup_info": result if installed and reachable else {"skipped": True},
        "ansible_facts": {"date_time": {"epoch": "1796176000"}},
    }


def inputs_for(app1: dict, hv: dict | None = None) -> dict:
    hv = {**(hv if hv is not None else cluster()), "app1": app1}
    return backup_status.backup_inputs("app1", hv, ["db1", "db2"], "main")


def test_the_backup_filters_get_the_catalog_and_the_live_primarys_archive() -> None:
    inputs = inputs_for(repository_host())
    assert inputs["info"] == INFO and inputs["info_problem"] is None
    assert inputs["primary"] == "db1" and inputs["archiver"] == ARCHIVER_ROW  # not the replica's row
    assert inputs["last_archived_time"] == 1796175903.2 and inputs["now"] == 1796176000.0


@pytest.mark.parametrize(
    ("app1", "why"),
    [
        (repository_host(reachable=False), "app1 did not answer"),
        (repository_host(installed=False), "pgbackrest is not installed on app1 yet (`dockyard up` installs it)"),
        (
            repository_host(info={"rc": 56, "stdout": "", "stderr": "ERROR: [056]: unable to find primary cluster"}),
            "pgbackrest info failed on app1: ERROR: [056]: unable to find primary cluster",
        ),
        (repository_host(info={"rc": 0, "stdout": "WARN: no JSON", "stderr": ""}), "did not print its JSON catalog"),
    ],
    ids=["unreachable", "not-installed", "info-fails", "not-json"],
)
def test_no_catalog_says_why_and_makes_backup_not_ok(app1: dict, why: str) -> None:
    inputs = inputs_for(app1)
    assert inputs["info"] is None and why in inputs["info_problem"]
    archive = {**ARCHIVER_ROW, "ok": True, "message": "ok"}  # the archive is still judged
    backup = backup_status.backup_status(inputs, None, archive)
    assert backup["ok"] is False and why in backup["message"]
    assert backup["last_good"] is None and backup["window"] == {"from": None, "to": None}
    assert backup["archive"] == archive


@pytest.mark.parametrize(
    ("hv", "why"),
    [
        (cluster(archiver=None), "pg_stat_archiver could not be read on db1"),
        (hostvars(db1=probe(False), db2=probe(False)), "db1, db2 all run as primaries"),
        (hostvars(db1={"failed": True}, db2=probe(True)), "no primary answered"),
    ],
    ids=["no-archiver-row", "two-primaries", "no-primary"],
)
def test_an_archive_that_cannot_be_read_is_not_ok(hv: dict, why: str) -> None:
    inputs = inputs_for(repository_host(), hv)
    assert inputs["archiver"] is None and inputs["last_archived_time"] is None
    catalog = {"stanza": "main", "ok": True, "status": "ok", "backups": [], "last_good": None, "window": {}}
    backup = backup_status.backup_status(inputs, catalog, None)  # status.yml calls no filter on None
    assert backup["ok"] is False and backup["message"] is None
    assert backup["archive"]["ok"] is False and why in backup["archive"]["message"]
    assert set(backup["archive"]) == {"ok", "message", *backup_status.ARCHIVE_KEYS}


LAST_GOOD = {"label": "20261202-014248F", "type": "full", "stop": "2026-12-02T01:42:50Z"}
CATALOG = {
    "stanza": "main",
    "ok": True,
    "status": "ok",
    "backups": [{"label": "20261202-014248F"}],
    "last_good": LAST_GOOD,
    "window": {"from": "2026-12-02T01:42:50Z", "to": "2026-12-02T01:45:03Z"},
}
ARCHIVE = {**ARCHIVER_ROW, "ok": True, "message": "ok"}


def test_backup_is_ok_when_the_repository_and_the_archive_are() -> None:
    inputs = inputs_for(repository_host())
    backup = backup_status.backup_status(inputs, CATALOG, ARCHIVE)
    assert backup == {
        "host": "app1",
        "stanza": "main",
        "ok": True,
        "message": None,
        "last_good": LAST_GOOD,
        "window": CATALOG["window"],
        "archive": ARCHIVE,
    }
    stale = {**ARCHIVE, "ok": False, "message": "db1 archived nothing for 2 h: archive_command fails"}
    assert backup_status.backup_status(inputs, CATALOG, stale)["ok"] is False
    missing = {**CATALOG, "ok": False, "status": "missing stanza path", "last_good": None}
    assert backup_status.backup_status(inputs, missing, ARCHIVE)["message"] == "missing stanza path"


def status_of(backup: dict | None) -> dict:
    from dockyard.runner.model import RunResult

    def report(postgresql: dict | None, backup: dict | None = None) -> dict:
        msg = {"reachable": True, "containers": [], "postgresql": postgresql, "backup": backup}
        return {status.REPORT_TASK: {"msg": msg}}

    result = RunResult("status.yml", 0, "successful", 1.0, {}, [], Path("/nonexistent"))
    replica = {**STREAMING, "version": "15", "timeline": 1, "lag_bytes": 0, "lag_seconds": 0.0, "tls": True}
    reports = {"app1": report(None, backup), "db1": report({**PRIMARY, "version": "15"}), "db2": report(replica)}
    return status.build(result, ("app1", "db1", "db2"), reports)


def status_text(payload: dict) -> str:
    import io

    from rich.console import Console

    out = io.StringIO()
    status.render(Console(file=out, width=200, color_system=None), payload)
    return out.getvalue()


def test_status_carries_the_backup_host_s_judgement_beside_ok_not_in_it() -> None:
    backup = backup_status.backup_status(inputs_for(repository_host()), CATALOG, ARCHIVE)
    payload = status_of(backup)
    assert payload["backup"] == backup and payload["ok"] is True
    assert "Backups on app1: last full 20261202-014248F at 01:42:50 UTC; archive ok" in status_text(payload)
    failing = backup_status.backup_status(
        inputs_for(repository_host()), CATALOG, {**ARCHIVE, "ok": False, "message": "archive_command fails on db1"}
    )
    payload = status_of(failing)
    assert payload["backup"]["ok"] is False and payload["ok"] is True  # backups do not make the cluster unhealthy
    assert "Backups on app1: last full 20261202-014248F at 01:42:50 UTC; archive_command fails on db1" in status_text(
        payload
    )
    missing = backup_status.backup_status(inputs_for(repository_host(installed=False)), None, ARCHIVE)
    assert "Backups on app1: pgbackrest is not installed on app1 yet" in status_text(status_of(missing))
    # What is wrong with the repository does not hide the backup a restore can still use.
    flawed = {**CATALOG, "ok": False, "status": "x"}
    text = status_text(status_of(backup_status.backup_status(inputs_for(repository_host()), flawed, ARCHIVE)))
    assert "Backups on app1: x; last full 20261202-014248F at 01:42:50 UTC; archive ok" in text


def test_no_backup_host_is_null_and_no_line() -> None:
    payload = status_of(None)
    assert "backup" in payload and payload["backup"] is None
    assert "Backups on" not in status_text(payload)
