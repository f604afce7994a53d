"""What `dockyard backup`, `backups` and `restore` hand their playbooks: the
restore's point in time read from what a user types (offsets, Z, a naive
time in this machine's zone, refusals), and the options argparse takes."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from datetime import timedelta, timezone

import pytest

from dockyard import restore_time
from dockyard.cli import build_parser
from dockyard.commands.backup import _restore_vars
from dockyard.errors import EXIT_BAD_INPUT, BadInput

PLUS_ONE = timezone(timedelta(hours=1))

# what the user types: the UTC string restore.yml gets (naive times in UTC+1)
TIMES = {
    "2026-12-02T01:45:00Z": "2026-12-02T01:45:00+00:00",
    "2026-12-02T01:45:00z": "2026-12-02T01:45:00+00:00",
    "2026-12-02T01:45:00+00:00": "2026-12-02T01:45:00+00:00",
    "2026-12-02 01:45:00+00": "2026-12-02T01:45:00+00:00",  # as PostgreSQL prints it
    "2026-12-02T03:45:00+02:00": "2026-12-02T01:45:00+00:00",
    "2026-12-02T03:45:00+0200": "2026-12-02T01:45:00+00:00",
    "2026-12-01T20:15:00-05:30": "2026-12-02T01:45:00+00:00",
    "2026-12-02 01:45:00 +01:00": "2026-12-02T00:45:00+00:00",
    "2026-12-02T00:30:00+01:00": "2026-12-01T23:30:00+00:00",  # the day before, in UTC
    "2026-12-02 01:45": "2026-12-02T00:45:00+00:00",
    "2026-12-02 01:45:30": "2026-12-02T00:45:30+00:00",
    "2026-12-02T01:45:30.25": "2026-12-02T00:45:30.250000+00:00",
    "2026-12-02 01:45:30,123456Z": "2026-12-02T01:45:30.123456+00:00",
    "  2026-12-02 01:45Z  ": "2026-12-02T01:45:00+00:00",
    # as `dockyard backups` prints the window, copied as it is
    "2026-12-02 01:42:50 UTC": "2026-12-02T01:42:50+00:00",
}

# what the user types: words the refusal must have
BAD_TIMES = {
    "yesterday": "not a time",
    "": "not a time",
    "2026-12-02": "a date needs a time of day",
    "01:45": "not a time",
    "2026-12-02T1:45": "not a time",
    "2026-13-02 01:45": "there is no 2026-13-02 01:45:00",
    "2026-02-30 01:45": "there is no 2026-02-30",
    "2026-12-02 24:00": "there is no",
    "2026-12-02 01:45+25:00": "+25:00 is no UTC offset",
    "2026-12-02 01:45+01:75": "+01:75 is no UTC offset",
    "2026-12-02 01:45 CET": "not a time",
    "1796176177": "not a time",
}


@pytest.mark.parametrize("typed", list(TIMES), ids=list(TIMES))
def test_a_restore_time_becomes_utc(typed: str) -> None:
    assert restore_time.parse(typed, local=PLUS_ONE) == TIMES[typed]


@pytest.mark.parametrize("typed", list(BAD_TIMES), ids=[t or "empty" for t in BAD_TIMES])
def test_a_time_that_cannot_be_read_is_refused_with_the_option_and_an_example(typed: str) -> None:
    with pytest.raises(BadInput) as refused:
        restore_time.parse(typed, local=PLUS_ONE)
    message = str(refused.value)
    assert message.startswith(f"--time {typed!r}: ") and BAD_TIMES[typed] in message, message
    assert restore_time.EXAMPLE in message
    assert refused.value.exit_code == EXIT_BAD_INPUT


@pytest.fixture
def berlin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This machine's time zone, as the user's clock reads it (TZ)."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("berlin")
def test_a_naive_time_is_this_machines_local_time_summer_and_winter() -> None:
    assert restore_time.parse("2026-12-02 02:45") == "2026-12-02T01:45:00+00:00"  # CET, +01:00
    assert restore_time.parse("2026-07-02 03:45") == "2026-07-02T01:45:00+00:00"  # CEST, +02:00
    assert restore_time.parse("2026-07-02 03:45Z") == "2026-07-02T03:45:00+00:00"  # an offset wins


@pytest.mark.usefixtures("berlin")
@pytest.mark.parametrize("typed", ["2026-03-29 02:30", "2026-10-25 02:30"], ids=["skipped", "repeated"])
def test_a_local_time_a_clock_change_skips_or_repeats_is_refused(typed: str) -> None:
    # Either reading would restore an hour off: lose writes or keep some meant to go.
    with pytest.raises(BadInput, match="daylight-saving change"):
        restore_time.parse(typed)
    assert restore_time.parse(f"{typed}+01:00")


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def test_backup_type_defaults_to_incr_and_takes_only_pgbackrests_types(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse("backup").type == "incr"
    assert parse("backup", "--type", "full").type == "full"
    with pytest.raises(SystemExit) as refused:
        parse("backup", "--type", "weekly")
    assert refused.value.code == EXIT_BAD_INPUT
    assert "invalid choice: 'weekly'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["restore"], "one of the arguments --time --latest is required"),
        (["restore", "--time", "2026-12-02 01:45", "--latest"], "not allowed with argument"),
        (["backups", "--limit", "db1"], "unrecognized arguments"),
        (["backups", "--check"], "unrecognized arguments"),
    ],
    ids=["neither", "both", "backups-limit", "backups-check"],
)
def test_options_restore_and_backups_refuse(argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        args, unknown = build_parser().parse_known_args(argv)
        if unknown:
            args.subparser.error(f"unrecognized arguments: {' '.join(unknown)}")
    assert refused.value.code == EXIT_BAD_INPUT
    assert words in capsys.readouterr().err


def test_restore_hands_the_playbook_a_utc_target_or_latest() -> None:
    at = _restore_vars(parse("restore", "--time", "2026-12-02T03:45:00+02:00"))
    assert at == {
        "dockyard_restore_target": "2026-12-02T01:45:00+00:00",
        "dockyard_restore_latest": False,
        "dockyard_force": False,
    }
    latest = _restore_vars(parse("restore", "--latest", "--force"))
    assert latest == {"dockyard_restore_target": "", "dockyard_restore_latest": True, "dockyard_force": True}


def test_restores_help_says_a_naive_time_is_local(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse("restore", "--help")
    text = " ".join(capsys.readouterr().out.split())
    assert "without one it is this machine's local time" in text
    assert "dockyard restore --latest --force" in text
