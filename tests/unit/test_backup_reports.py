"""What `dockyard backup`, `backups` and `restore` print and put in their JSON,
from report msgs shaped as the playbooks' "Dockyard report: backup",
"backups" and "restore" tasks give them (sample dicts: no run, no host)."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace
from typing import Any

from rich.console import Console

from dockyard import backups
from dockyard.commands.common import report_of

MADE = {
    "label": "20261202-014248F",
    "type": "full",
    "duration_s": 4.6,
    "size_bytes": 30862274,
    "repository_bytes": 3801984,
    "host": "app1",
    "primary": "db1",
}
ARCHIVE_OK = {
    "ok": True,
    "archived_count": 9,
    "failed_count": 0,
    "last_archived_wal": "000000010000000000000008",
    "last_archived_time": 1796175903.2,
    "last_failed_wal": None,
    "last_failed_time": None,
    "message": "ok",
}
CATALOG = {
    "stanza": "main",
    "ok": True,
    "status": "ok",
    "repository_host": "app1",
    "primary": "db1",
    "backups": [
        {
            "label": "20261202-014248F",
            "type": "full",
            "start": "2026-12-02T01:42:48Z",
            "stop": "2026-12-02T01:42:50Z",
            "duration_s": 2.0,
            "size_bytes": 30862274,
            "repository_bytes": 3801984,
            "wal_start": "000000010000000000000006",
            "wal_stop": "000000010000000000000006",
            "error": False,
        },
        {
            "label": "20261202-014248F_20261202-014502D",
            "type": "diff",
            "start": "2026-12-02T01:45:02Z",
            "stop": "2026-12-02T01:45:03Z",
            "duration_s": 1.0,
            "size_bytes": 401674,
            "repository_bytes": 67920,
            "wal_start": "000000010000000000000008",
            "wal_stop": "000000010000000000000008",
            "error": True,
        },
    ],
    "last_good": {"label": "20261202-014248F", "type": "full", "stop": "2026-12-02T01:42:50Z"},
    "window": {"from": "2026-12-02T01:42:50Z", "to": "2026-12-02T01:45:03Z"},
    "archive": ARCHIVE_OK,
}
RESTORED = {
    "set": "20261202-014248F",
    "target": "2026-12-02 01:45:00+00",
    "primary": "db1",
    "replicas": ["db2", "db3"],
    "kept_data_dir": "/var/lib/postgresql/15/main.before-restore-20261202T014500Z",
    "lost": "the writes after 2026-12-02 01:45:00+00 (3 s of WAL)",
}


def printed(render: Any, *args: Any) -> str:
    """What a renderer prints on a pipe, its lines joined as a user reads them."""
    out = io.StringIO()
    render(Console(file=out, width=200, highlight=False, color_system=None), *args)
    return out.getvalue()


def test_a_backup_is_one_line_with_its_sizes() -> None:
    assert backups.backup_line(MADE) == (
        "Full backup 20261202-014248F of db1 on app1 in 4.6 s: 30.9 MB, 3.8 MB in the repository."
    )
    incr = {**MADE, "type": "incr", "duration_s": 3725, "size_bytes": 512, "repository_bytes": 2_500_000_000}
    assert backups.backup_line(incr).startswith("Incremental backup 20261202-014248F of db1 on app1 in 1 h 02 min")
    assert backups.backup_line(incr).endswith(": 512 B, 2.5 GB in the repository.")


def test_sizes_and_durations_read_as_people_count_them() -> None:
    assert [backups.size(n) for n in (0, 999, 1000, 1_234_567, 999_960, None)] == [
        "0 B",
        "999 B",
        "1.0 kB",
        "1.2 MB",
        "1.0 MB",
        "-",
    ]
    assert [backups.duration(s) for s in (0.04, 59.9, 60, 605, 7260)] == [
        "0.0 s",
        "59.9 s",
        "1 min 00 s",
        "10 min 05 s",
        "2 h 01 min",
    ]


def test_the_catalog_is_a_table_the_window_and_the_archive() -> None:
    text = printed(backups.render_backups, CATALOG)
    assert "Backups of stanza main on app1" in text
    full_row = next(line for line in text.splitlines() if line.lstrip().startswith("20261202-014248F "))
    for cell in ("full", "2026-12-02 01:42:48", "2.0 s", "30.9 MB", "3.8 MB", "000000010000000000000006"):
        assert cell in full_row, full_row
    diff_row = next(line for line in text.splitlines() if "_20261202-014502D" in line)
    assert "diff (error)" in diff_row  # pgBackRest's checksum errors
    ranged = {**CATALOG["backups"][0], "wal_stop": "000000010000000000000007"}
    assert "000000010000000000000006-000000010000000000000007" in printed(
        backups.render_backups, {**CATALOG, "backups": [ranged]}
    )
    assert "A restore can reach from 2026-12-02 01:42:50 UTC to 2026-12-02 01:45:03 UTC." in text
    assert "WAL archive of db1 ok: 9 WAL files archived, the last 000000010000000000000008 at" in text
    assert "2026-12-02 01:45:03 UTC." in text


def test_an_archive_that_fails_says_its_message_and_the_repository_its_status() -> None:
    failing = {**ARCHIVE_OK, "ok": False, "failed_count": 3, "message": "archive_command fails on db1 since 01:50"}
    empty = {
        **CATALOG,
        "ok": False,
        "status": "no valid backups",
        "backups": [],
        "last_good": None,
        "window": {"from": None, "to": None},
        "archive": failing,
    }
    text = printed(backups.render_backups, empty)
    assert "No backups yet in stanza main on app1." in text
    assert "Repository: no valid backups" in text
    assert "No good backup yet: there is nothing a restore could start from." in text
    assert "WAL archive of db1: archive_command fails on db1 since 01:50" in text
    payload = backups.backups_payload(empty)
    assert payload["ok"] is False and payload["status"] == "no valid backups"


def test_backups_json_is_the_catalog_whose_ok_needs_the_archive_too() -> None:
    payload = backups.backups_payload(CATALOG)
    assert next(iter(payload)) == "ok" and payload["ok"] is True
    assert {k: v for k, v in payload.items() if k != "ok"} == {k: v for k, v in CATALOG.items() if k != "ok"}
    broken = backups.backups_payload({**CATALOG, "archive": {**ARCHIVE_OK, "ok": False}})
    assert broken["ok"] is False  # the catalog's own ok was true
    json.dumps(payload)


def test_no_backup_host_is_no_error() -> None:
    assert backups.backups_payload({"configured": False}) == {"ok": True, "configured": False}
    assert printed(backups.render_backups, {"configured": False}).strip() == backups.NOT_CONFIGURED


def test_a_restore_says_what_it_restored_kept_and_rebuilt() -> None:
    lines = backups.restore_lines(RESTORED)
    assert lines[0] == "Restored db1 to 2026-12-02 01:45:00+00, from backup 20261202-014248F."
    assert lines[1] == "Discarded: the writes after 2026-12-02 01:45:00+00 (3 s of WAL)"
    assert lines[2].startswith(
        "The data directory from before the restore is kept in"
        " /var/lib/postgresql/15/main.before-restore-20261202T014500Z on db1: delete it once you are satisfied"
    )
    assert lines[3] == "db2, db3 were rebuilt from db1 and stream from it."
    latest = backups.restore_lines({**RESTORED, "target": "", "kept_data_dir": "", "lost": "", "replicas": ["db2"]})
    assert latest == [
        "Restored db1 to the end of the archived WAL, from backup 20261202-014248F.",
        "db2 was rebuilt from db1 and stream from it.",
    ]


def test_a_report_is_read_from_the_host_that_ran_it() -> None:
    # Only its results matter: the hosts' report task results, as the run keeps them.
    run = SimpleNamespace(results={"db1": {"Other": {"msg": "x"}}, "app1": {backups.BACKUP_REPORT: {"msg": MADE}}})
    assert report_of(run, backups.BACKUP_REPORT) == MADE  # type: ignore[arg-type]
    assert report_of(run, backups.RESTORE_REPORT) is None  # type: ignore[arg-type]
