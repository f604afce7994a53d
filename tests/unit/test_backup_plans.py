"""The backup and restore decisions (plugins/module_utils/backup_plans.py), as
tables: what `pgbackrest info --output=json` and pg_stat_archiver said in the
lab (tests/unit/fixtures/pgbackrest/, pgBackRest 2.45), edited into the cases
a repository can be in, and what `dockyard backups` and `dockyard restore`
make of them. No repository, no cluster."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.dockyard.platform.plugins.filter.postgresql_backup import FilterModule
from ansible_collections.dockyard.platform.plugins.module_utils import backup_plans
from ansible_collections.dockyard.platform.plugins.module_utils.backup_plans import (
    archive_health,
    backup_type_problem,
    catalog,
    duration,
    iso,
    parse_info,
    parse_target,
    restore_plan,
    retention_problem,
    schedule_problems,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "pgbackrest"
FULL_DIFF_TEXT = (FIXTURES / "info-full-diff-2.45.json").read_text()
MISSING_TEXT = (FIXTURES / "info-missing-stanza-2.45.json").read_text()
FULL_DIFF = json.loads(FULL_DIFF_TEXT)
MISSING = json.loads(MISSING_TEXT)

FULL = "20261202-014248F"
DIFF = "20261202-014248F_20261202-014502D"
# The lab's backups: the full ran 01:42:48-01:42:50, the diff 01:45:02-01:45:03 (UTC).
FULL_STOP = 1796175770
DIFF_STOP = 1796175903
# The lab's pg_stat_archiver row.
ARCHIVER = {
    "archived_count": 7,
    "last_archived_wal": "000000010000000000000008.00000028.backup",
    "last_archived_time": 1796175903.82,
    "failed_count": 0,
    "last_failed_wal": None,
    "last_failed_time": None,
}
# A restore's clock: 01:48:15, the last WAL archived (after the playbook's
# forced switch) 4.5 s before.
NOW = 1796176095.0
ARCHIVED = 1796176090.5


def edited(info: list[dict[str, Any]] = FULL_DIFF, **changes: Any) -> list[dict[str, Any]]:
    """A copy of an info output with the stanza entry's keys replaced, and
    `errors` (labels) marking those backups as failed, `drop` (labels) removing
    them, `code`/`message` its status."""
    data = copy.deepcopy(info)
    entry = data[0]
    errors, drop = changes.pop("errors", ()), changes.pop("drop", ())
    if "code" in changes:
        entry["status"] = {"code": changes.pop("code"), "lock": {"backup": {"held": False}}, "message": ""}
        entry["status"]["message"] = changes.pop("message", "")
    entry["backup"] = [b for b in entry["backup"] if b["label"] not in drop]
    for backup in entry["backup"]:
        backup["error"] = backup["label"] in errors
    entry.update(changes)
    return data


def only(plan_or_row: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    return {key: plan_or_row[key] for key in expected}


# name: (info, stanza, expected StanzaInfo fields)
INFOS = {
    "the lab's full and diff, as text": (
        FULL_DIFF_TEXT,
        "main",
        {
            "found": True,
            "ok": True,
            "status_code": 0,
            "status": "ok",
            "labels": [FULL, DIFF],
            "archive_min": "000000010000000000000004",
            "archive_max": "000000010000000000000008",
        },
    ),
    "the same, already parsed": (FULL_DIFF, "main", {"ok": True, "labels": [FULL, DIFF]}),
    "backups listed newest first are sorted by their end": (
        edited(backup=list(reversed(FULL_DIFF[0]["backup"]))),
        "main",
        {"labels": [FULL, DIFF]},
    ),
    "by their end, not their labels": (
        edited(
            backup=[{**FULL_DIFF[0]["backup"][1], "label": "0-late"}, {**FULL_DIFF[0]["backup"][0], "label": "9-early"}]
        ),
        "main",
        {"labels": ["9-early", "0-late"]},
    ),
    "a stanza not created yet": (
        MISSING_TEXT,
        "nosuch",
        {"found": True, "ok": False, "status_code": 1, "status": "missing stanza path", "labels": []},
    ),
    "a stanza the output does not list": (
        FULL_DIFF,
        "other",
        {"found": False, "ok": False, "status": "no stanza 'other' in the repository (stanzas: main)"},
    ),
    "status 99 names no cause: the repository's message is added": (
        edited(
            code=99,
            message="other",
            repo=[{"cipher": "none", "key": 1, "status": {"code": 99, "message": "[PathMissingError] no repo"}}],
        ),
        "main",
        {"ok": False, "status_code": 99, "status": "other; repo1: [PathMissingError] no repo"},
    ),
    "no JSON at all (pgbackrest failed before printing)": (
        "ERROR: [055]: unable to load info file",
        "main",
        {"found": False, "ok": False, "status_code": 99},
    ),
    "empty output": ("", "main", {"found": False, "status_code": 99}),
}


@pytest.mark.parametrize("case", INFOS.values(), ids=list(INFOS))
def test_parse_info(case: tuple) -> None:
    info, stanza, expected = case
    parsed = parse_info(info, stanza)
    seen = {
        "found": parsed.found,
        "ok": parsed.ok,
        "status_code": parsed.status_code,
        "status": parsed.status,
        "labels": [b.label for b in parsed.backups],
        "archive_min": parsed.archive_min,
        "archive_max": parsed.archive_max,
    }
    assert only(seen, expected) == expected
    if not parsed.found:
        assert stanza in parsed.status


def test_a_backups_fields() -> None:
    diff = parse_info(FULL_DIFF, "main").backups[1]
    assert diff == backup_plans.Backup(
        label=DIFF,
        type="diff",
        start=1796175902,
        stop=DIFF_STOP,
        size_bytes=30862274,
        repository_bytes=3801568,
        wal_start="000000010000000000000008",
        wal_stop="000000010000000000000008",
        error=False,
        prior=FULL,
    )
    assert parse_info(FULL_DIFF, "main").backups[0].prior is None


# name: (info, stanza, last_archived_time, expected catalog fields)
CATALOGS = {
    "the lab: the window runs from the full's end to the last archived WAL": (
        FULL_DIFF,
        "main",
        ARCHIVER["last_archived_time"],
        {
            "stanza": "main",
            "ok": True,
            "status": "ok",
            "last_good": {"label": DIFF, "type": "diff", "stop": "2026-12-02T01:45:03Z"},
            "window": {"from": "2026-12-02T01:42:50Z", "to": "2026-12-02T01:45:03Z"},
        },
    ),
    "nothing archived: the window has no end": (
        FULL_DIFF,
        "main",
        None,
        {"window": {"from": "2026-12-02T01:42:50Z", "to": None}},
    ),
    "a last archived time in the future is clamped to now": (
        FULL_DIFF,
        "main",
        NOW + 3600,
        {"window": {"from": "2026-12-02T01:42:50Z", "to": "2026-12-02T01:48:15Z"}},
    ),
    "an archive that says it is behind the oldest backup reaches no time after it": (
        FULL_DIFF,
        "main",
        FULL_STOP - 60,
        {"window": {"from": "2026-12-02T01:42:50Z", "to": None}},
    ),
    "the diff failed: the full is the last good one": (
        edited(errors=[DIFF]),
        "main",
        ARCHIVED,
        {
            "last_good": {"label": FULL, "type": "full", "stop": "2026-12-02T01:42:50Z"},
            "window": {"from": "2026-12-02T01:42:50Z", "to": "2026-12-02T01:48:10Z"},
        },
    ),
    "the full failed: the diff on it is no good either": (
        edited(errors=[FULL]),
        "main",
        ARCHIVED,
        {"ok": True, "last_good": None, "window": {"from": None, "to": None}},
    ),
    "a stanza not created yet": (
        MISSING,
        "nosuch",
        ARCHIVED,
        {"ok": False, "status": "missing stanza path", "backups": [], "last_good": None},
    ),
    "a stanza without a backup (status 2)": (
        edited(code=2, message="no valid backups", drop=[FULL, DIFF]),
        "main",
        ARCHIVED,
        {"ok": False, "status": "no valid backups", "backups": [], "window": {"from": None, "to": None}},
    ),
}


@pytest.mark.parametrize("case", CATALOGS.values(), ids=list(CATALOGS))
def test_catalog(case: tuple) -> None:
    info, stanza, last_archived, expected = case
    assert only(catalog(info, stanza, last_archived, NOW), expected) == expected


def test_catalog_rows_are_what_dockyard_backups_prints() -> None:
    rows = catalog(FULL_DIFF_TEXT, "main", ARCHIVED, NOW)["backups"]
    assert rows[0] == {
        "label": FULL,
        "type": "full",
        "start": "2026-12-02T01:42:48Z",
        "stop": "2026-12-02T01:42:50Z",
        "duration_s": 2,
        "size_bytes": 30862274,
        "repository_bytes": 3801984,
        "wal_start": "000000010000000000000006",
        "wal_stop": "000000010000000000000006",
        "error": False,
    }
    assert [(r["label"], r["error"]) for r in catalog(edited(errors=[DIFF]), "main", ARCHIVED, NOW)["backups"]] == [
        (FULL, False),
        (DIFF, True),
    ]
    json.dumps(rows)


# name: (row, expected ok, expected fields, words of the message)
ARCHIVERS = {
    "the lab: archiving works": (
        ARCHIVER,
        True,
        {"archived_count": 7, "last_archived_time": "2026-12-02T01:45:03Z", "last_failed_time": None},
        ["works", "7 segments", "000000010000000000000008.00000028.backup"],
    ),
    "failing since the last success": (
        {**ARCHIVER, "failed_count": 3, "last_failed_wal": "000000010000000000000009", "last_failed_time": NOW},
        False,
        {"failed_count": 3, "last_failed_time": "2026-12-02T01:48:15Z"},
        [
            "archive_command on db1 is failing since its last success at 2026-12-02T01:45:03Z",
            "3 failures",
            "000000010000000000000009",
            "cannot reach past 2026-12-02T01:45:03Z",
            "PostgreSQL log on db1",
            "`pgbackrest --stanza=main check` on the repository host",
        ],
    ),
    "failures before the last success: recovered": (
        {**ARCHIVER, "failed_count": 2, "last_failed_wal": "000000010000000000000007", "last_failed_time": 1796175800},
        True,
        {"failed_count": 2},
        ["works", "2 earlier failures", "since recovered"],
    ),
    "failures and never a success": (
        {**ARCHIVER, "archived_count": 0, "last_archived_wal": None, "last_archived_time": None, "failed_count": 5},
        False,
        {"last_archived_time": None},
        ["failing since the start", "5 failures"],
    ),
    "a failure as old as the last success is not newer": (
        {**ARCHIVER, "failed_count": 1, "last_failed_time": ARCHIVER["last_archived_time"]},
        True,
        {},
        ["works"],
    ),
    "nothing archived yet, nothing failed": (
        {"archived_count": 0, "failed_count": 0},
        True,
        {"last_archived_wal": None},
        ["No WAL archived on db1 yet"],
    ),
    "the cluster did not answer": (None, False, {"archived_count": 0}, ["db1", "did not answer", "dockyard status"]),
    "an empty row": ({}, False, {}, ["did not answer"]),
}


@pytest.mark.parametrize("case", ARCHIVERS.values(), ids=list(ARCHIVERS))
def test_archive_health(case: tuple) -> None:
    row, ok, fields, words = case
    health = archive_health(row, host="db1", stanza="main")
    assert health["ok"] is ok
    assert only(health, fields) == fields
    for word in words:
        assert word in health["message"]


def test_archive_health_without_host_or_stanza_still_says_where_to_look() -> None:
    row = {**ARCHIVER, "failed_count": 1, "last_failed_time": NOW}
    message = archive_health(row)["message"]
    assert "PostgreSQL log on the primary" in message
    assert "pgbackrest --stanza=STANZA check" in message


@pytest.mark.parametrize(
    ("text", "target", "epoch", "problem"),
    [
        ("2026-12-02T01:45:00+00:00", "2026-12-02 01:45:00+00", 1796175900.0, ""),
        ("2026-12-02T01:45:00Z", "2026-12-02 01:45:00+00", 1796175900.0, ""),
        ("2026-12-02 01:45:00+00", "2026-12-02 01:45:00+00", 1796175900.0, ""),
        ("2026-12-02T03:45:00+02:00", "2026-12-02 01:45:00+00", 1796175900.0, ""),
        ("2026-12-01T20:45:00-05:00", "2026-12-02 01:45:00+00", 1796175900.0, ""),
        ("2026-12-02T07:15:00+0530", "2026-12-02 01:45:00+00", 1796175900.0, ""),
        ("2026-12-02T01:45:00.250+00:00", "2026-12-02 01:45:00.250+00", 1796175900.25, ""),
        ("2026-12-02T01:45:00", "", None, "has no UTC offset"),
        ("yesterday", "", None, "not a time Dockyard can restore to"),
        ("2026-13-02T01:45:00Z", "", None, "not a valid time"),
        ("2026-12-02T01:45:00+25:00", "", None, "not a valid time"),
    ],
)
def test_parse_target(text: str, target: str, epoch: float | None, problem: str) -> None:
    got_target, got_epoch, got_problem = parse_target(text)
    assert (got_target, got_epoch) == (target, epoch)
    if problem:
        assert problem in got_problem
        assert text in got_problem
    else:
        assert got_problem == ""


NO_FORCE = "Nothing was changed. Run again with --force to restore."

# name: (info, target, latest, force, last archived time, expected plan fields;
# "refusal" holds words of it, "" for none)
RESTORES = {
    "neither a time nor latest": (FULL_DIFF, "", False, True, ARCHIVED, {"refusal": "--time TS or --latest, one of"}),
    "both a time and latest": (
        FULL_DIFF,
        "2026-12-02T01:45:00Z",
        True,
        True,
        ARCHIVED,
        {"refusal": "not both"},
    ),
    "a time without offset": (FULL_DIFF, "2026-12-02 01:45:00", False, True, ARCHIVED, {"refusal": "no UTC offset"}),
    "a stanza not created yet": (
        MISSING,
        "",
        True,
        True,
        ARCHIVED,
        {"refusal": "'missing stanza path' (code 1). Run `dockyard up`", "set": ""},
    ),
    "a repository in error": (
        edited(code=99, message="other"),
        "",
        True,
        True,
        ARCHIVED,
        {"refusal": "'other' (code 99)"},
    ),
    "a stanza without a backup": (
        edited(code=2, message="no valid backups", drop=[FULL, DIFF]),
        "",
        True,
        True,
        ARCHIVED,
        {"refusal": "take one with `dockyard backup`"},
    ),
    "every backup has errors": (
        edited(errors=[FULL, DIFF]),
        "",
        True,
        True,
        ARCHIVED,
        {"refusal": f"(with errors: {FULL}, {DIFF}): take one with `dockyard backup`"},
    ),
    "before the oldest good backup ended": (
        FULL_DIFF,
        "2026-12-02T01:42:49Z",
        False,
        True,
        ARCHIVED,
        {"refusal": "before the end of the oldest good backup", "set": ""},
    ),
    "the window is named": (
        FULL_DIFF,
        "2026-12-02T01:42:49Z",
        False,
        True,
        ARCHIVED,
        {"refusal": "can reach from 2026-12-02T01:42:50Z to 2026-12-02T01:48:10Z"},
    ),
    "at the oldest backup's end: the full": (
        FULL_DIFF,
        "2026-12-02T01:42:50Z",
        False,
        True,
        ARCHIVED,
        {"refusal": "", "set": FULL, "type": "time", "target": "2026-12-02 01:42:50+00", "target_epoch": FULL_STOP},
    ),
    "between the full and the diff: the full": (
        FULL_DIFF,
        "2026-12-02T01:45:02Z",
        False,
        True,
        ARCHIVED,
        {"refusal": "", "set": FULL, "would_lose_s": NOW - 1796175902},
    ),
    "at the diff's end: the diff": (
        FULL_DIFF,
        "2026-12-02 01:45:03+00",
        False,
        True,
        ARCHIVED,
        {"refusal": "", "set": DIFF, "target": "2026-12-02 01:45:03+00"},
    ),
    "after the diff, with sub-seconds and an offset": (
        FULL_DIFF,
        "2026-12-02T02:47:30.5+01:00",
        False,
        True,
        ARCHIVED,
        {"refusal": "", "set": DIFF, "target": "2026-12-02 01:47:30.5+00", "would_lose_s": 44.5},
    ),
    "the diff failed: its time is restored from the full": (
        edited(errors=[DIFF]),
        "2026-12-02T01:46:00Z",
        False,
        True,
        ARCHIVED,
        {"refusal": "", "set": FULL},
    ),
    "after the last archived WAL": (
        FULL_DIFF,
        "2026-12-02T01:48:12Z",
        False,
        True,
        ARCHIVED,
        {"refusal": "after the last archived WAL", "set": ""},
    ),
    "in the future": (
        FULL_DIFF,
        "2026-12-03T01:00:00Z",
        False,
        True,
        ARCHIVED,
        {"refusal": "in the future (now is 2026-12-02T01:48:15Z)"},
    ),
    "nothing archived: no time can be reached": (
        FULL_DIFF,
        "2026-12-02T01:46:00Z",
        False,
        True,
        None,
        {"refusal": "can reach no time after 2026-12-02T01:42:50Z"},
    ),
    "latest, forced: the newest backup and all archived WAL": (
        FULL_DIFF,
        "",
        True,
        True,
        ARCHIVED,
        {"refusal": "", "set": DIFF, "type": "default", "target": "", "target_epoch": None, "would_lose_s": 4.5},
    ),
    "latest as the CLI's extra var string": (
        FULL_DIFF,
        "",
        "true",
        "true",
        ARCHIVED,
        {"refusal": "", "set": DIFF, "type": "default"},
    ),
    "force as the CLI's extra var string false": (
        FULL_DIFF,
        "",
        "true",
        "false",
        ARCHIVED,
        {"refusal": NO_FORCE, "set": DIFF},
    ),
    "latest, the diff failed: the full": (edited(errors=[DIFF]), "", True, True, ARCHIVED, {"set": FULL}),
    "latest, nothing archived: the backup's end is reached": (
        FULL_DIFF,
        "",
        True,
        True,
        None,
        {"refusal": "", "set": DIFF, "would_lose_s": NOW - DIFF_STOP},
    ),
    "latest, not forced: what would be lost": (
        FULL_DIFF,
        "",
        True,
        False,
        ARCHIVED,
        {
            "refusal": f"the last 4 s until now (2026-12-02T01:48:15Z). The restore starts from backup {DIFF}",
            "set": DIFF,
        },
    ),
    "a time, not forced: what would be lost": (
        FULL_DIFF,
        "2026-12-02T01:45:00Z",
        False,
        False,
        ARCHIVED,
        {
            "refusal": "every write committed after 2026-12-02 01:45:00+00 on every host: the last 3 min 15 s",
            "set": FULL,
        },
    ),
}


@pytest.mark.parametrize("case", RESTORES.values(), ids=list(RESTORES))
def test_restore_plan(case: tuple) -> None:
    info, target, latest, force, last_archived, expected = case
    plan = restore_plan(info, "main" if info is not MISSING else "nosuch", target, latest, force, NOW, last_archived)
    for key, value in expected.items():
        if key == "refusal" and value:
            assert value in plan["refusal"]
            assert "Nothing was changed." in plan["refusal"]
        else:
            assert plan[key] == value, key
    if plan["set"]:
        assert plan["lost"].startswith("every write committed after")
    else:
        assert plan["refusal"]


def test_without_force_the_refusal_says_what_is_lost_and_how_to_go_on() -> None:
    shown = restore_plan(FULL_DIFF, "main", "2026-12-02T01:45:00Z", False, False, NOW, ARCHIVED)
    forced = restore_plan(FULL_DIFF, "main", "2026-12-02T01:45:00Z", False, True, NOW, ARCHIVED)
    assert forced["refusal"] == ""
    assert shown["lost"] == forced["lost"] != ""
    assert shown["refusal"].endswith(NO_FORCE)
    assert shown["lost"] in shown["refusal"]
    assert f"backup {FULL} (full, ended 2026-12-02T01:42:50Z)" in shown["lost"]
    assert "replays 2 min 10 s of archived WAL from 000000010000000000000006" in shown["lost"]
    assert {k: v for k, v in shown.items() if k != "refusal"} == {k: v for k, v in forced.items() if k != "refusal"}


def test_now_may_be_a_datetime() -> None:
    aware = datetime.fromisoformat("2026-12-02T01:48:15+00:00")
    naive_utc = datetime.fromisoformat("2026-12-02T01:48:15")
    for now in (aware, naive_utc, str(NOW)):
        plan = restore_plan(FULL_DIFF, "main", "", True, True, now, ARCHIVED)
        assert plan["would_lose_s"] == 4.5


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.4, "less than 1 s"),
        (45, "45 s"),
        (59.6, "1 min"),
        (192, "3 min 12 s"),
        (3600, "1 h"),
        (7500, "2 h 5 min"),
        (97200, "1 d 3 h"),
    ],
)
def test_duration(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_iso_cuts_sub_seconds_down() -> None:
    assert iso(1796175903.82) == "2026-12-02T01:45:03Z"
    assert iso(None) is None


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("full", False),
        ("diff", False),
        ("incr", False),
        ("FULL", True),
        ("", True),
        (None, True),
        ("differential", True),
    ],
)
def test_backup_type_problem(kind: Any, problem: bool) -> None:
    message = backup_type_problem(kind)
    assert bool(message) is problem
    if problem:
        assert repr(kind) in message
        assert "full, diff" in message


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        ({"full": "Sun *-*-* 01:00:00", "diff": "Mon..Sat *-*-* 01:00:00"}, []),
        ({"full": "weekly", "diff": ""}, []),
        ({"full": "", "diff": ""}, []),
        ("daily", ["'daily'", "must be a mapping"]),
        (None, ["must be a mapping"]),
        ({"full": "weekly", "diff": "daily", "incr": "hourly"}, ["'incr'", "only full and diff"]),
        ({"full": "weekly"}, ["has no diff", "'' for no diff backups"]),
        ({"full": "weekly", "diff": None}, ["postgresql_backup_schedule.diff is None", "must be a string"]),
        ({"full": 3, "diff": ""}, ["postgresql_backup_schedule.full is 3"]),
        ({"full": "weekly\nExecStart=/bin/sh", "diff": ""}, ["postgresql_backup_schedule.full", "line break"]),
        ({"full": "weekly\r", "diff": ""}, ["line break"]),
    ],
)
def test_schedule_problems(schedule: Any, words: list[str]) -> None:
    found = schedule_problems(schedule)
    assert bool(found) is bool(words)
    assert len(found) <= 1
    for word in words:
        assert word in " ".join(found)


def test_schedule_problems_are_all_told_at_once() -> None:
    found = schedule_problems({"incr": "hourly", "full": None})
    assert len(found) == 3


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (1, False),
        (2, False),
        ("3", False),
        (0, True),
        (-1, True),
        ("two", True),
        (True, True),
        (None, True),
        (2.5, True),
        (10**7, True),
    ],
)
def test_retention_problem(value: Any, problem: bool) -> None:
    message = retention_problem(value)
    assert bool(message) is problem
    if problem:
        assert "postgresql_backup_retention_full" in message
        assert repr(value) in message


def test_the_filters_are_the_module_utils_functions() -> None:
    assert FilterModule().filters() == {
        "postgresql_backup_catalog": catalog,
        "postgresql_archive_health": archive_health,
        "postgresql_restore_plan": restore_plan,
        "postgresql_backup_type_problem": backup_type_problem,
        "postgresql_backup_schedule_problems": schedule_problems,
        "postgresql_backup_retention_problem": retention_problem,
        "postgresql_backup_problems": backup_plans.host_problems,
        "postgresql_backup_stanza_missing": backup_plans.stanza_missing,
        "postgresql_backup_calendar_unknown": backup_plans.calendar_unknown,
        "postgresql_backup_calendar_problems": backup_plans.calendar_problems,
    }


GOOD_HOST = {
    "host": "app1",
    "backup_hosts": ["app1"],
    "database_hosts": ["db1", "db2"],
    "cipher_pass": "a-long-random-passphrase",
    "retention": 2,
    "schedule": {"full": "Sun *-*-* 01:30:00", "diff": ""},
    "tls": True,
}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, []),
        ({"backup_hosts": ["app1", "app2"]}, ["holds 2 hosts (app1, app2)"]),
        ({"host": "db1", "backup_hosts": ["db1"]}, ["db1 is in postgresql_backup_hosts and is also a database host"]),
        ({"database_hosts": []}, ["no database host to back up"]),
        ({"cipher_pass": ""}, ["app1: postgresql_backup_cipher_pass is empty"]),
        ({"cipher_pass": None}, ["app1: postgresql_backup_cipher_pass is empty"]),
        ({"tls": False}, ["app1: backups need postgresql_tls: true"]),
        ({"retention": 0}, ["app1: postgresql_backup_retention_full is 0"]),
        ({"schedule": {"full": "daily"}}, ["app1: postgresql_backup_schedule has no diff"]),
        (
            {"cipher_pass": "", "tls": False},
            ["postgresql_backup_cipher_pass is empty", "backups need postgresql_tls"],
        ),
    ],
)
def test_repository_host_problems(change: dict[str, Any], expected: list[str]) -> None:
    arguments = {**GOOD_HOST, **change}
    found = backup_plans.host_problems(
        arguments["host"],
        arguments["backup_hosts"],
        arguments["database_hosts"],
        arguments["cipher_pass"],
        arguments["retention"],
        arguments["schedule"],
        arguments["tls"],
    )
    assert len(found) == len(expected), found
    for problem, fragment in zip(found, expected, strict=True):
        assert fragment in problem


def no_backups_yet() -> list[dict[str, Any]]:
    # What the lab's info said right after stanza-create: status 2, no backups.
    info = copy.deepcopy(FULL_DIFF)
    info[0]["backup"] = []
    info[0]["status"] = {"code": 2, "lock": {"backup": {"held": False}}, "message": "no valid backups"}
    return info


@pytest.mark.parametrize(
    ("info", "missing"),
    [
        (MISSING_TEXT, True),
        (FULL_DIFF_TEXT, False),
        (json.dumps(no_backups_yet()), False),
        ("", True),
        ("[]", True),
    ],
)
def test_a_stanza_is_created_only_where_there_is_none(info: str, missing: bool) -> None:
    assert backup_plans.stanza_missing(info, "main") is missing


def calendar_result(key: str, value: str, rc: int, stderr: str = "", msg: str = "") -> dict[str, Any]:
    """A looped `systemd-analyze calendar` result as the command module gives it."""
    return {"item": {"key": key, "value": value}, "rc": rc, "stderr": stderr, "msg": msg}


READ = calendar_result("full", "Sun *-*-* 01:30:00", 0)
REJECTED = calendar_result(
    "diff",
    "every day",
    1,
    "Failed to parse calendar specification 'every day': Invalid argument\n",
    "non-zero return code",
)
# What the command module says where systemd-analyze does not exist (seen on a
# control machine without it).
NOT_RUN = calendar_result("diff", "daily", 2, "", "Error executing command.")


@pytest.mark.parametrize(
    ("results", "unknown", "words"),
    [
        ([READ], [], []),
        ([READ, REJECTED], [], ['diff "every day" (Failed to parse calendar specification', "man systemd.time"]),
        ([READ, NOT_RUN], ["diff"], []),
        ([], [], []),
    ],
)
def test_systemds_verdict_on_the_schedule(results: list[dict[str, Any]], unknown: list[str], words: list[str]) -> None:
    assert backup_plans.calendar_unknown(results) == unknown
    problems = backup_plans.calendar_problems(results, "app1")
    assert len(problems) == (1 if words else 0)
    for word in words:
        assert word in problems[0]
    if problems:
        assert problems[0].startswith("app1: postgresql_backup_schedule is not what systemd reads")
