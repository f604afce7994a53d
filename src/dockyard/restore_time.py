"""The point in time `dockyard restore --time` is given, as the UTC ISO 8601
string restore.yml takes (dockyard_restore_target)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo

from dockyard.errors import BadInput

EXAMPLE = "--time '2026-12-02 01:45:00+00:00'"
# ISO 8601 with T or a space between date and time; seconds and a fraction
# optional; an offset (Z, UTC as `dockyard backups` prints it, +01:00,
# +0100, +01) optional.
TIME = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,6}))?)?"
    r" ?(?P<offset>[Zz]|UTC|utc|[+-]\d{2}(?::?\d{2})?)?"
)

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _offset(text: str) -> tzinfo:
    if text in ("Z", "z", "UTC", "utc"):
        return timezone.utc
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"{text} is no UTC offset")
    return timezone((-1 if text[0] == "-" else 1) * timedelta(hours=hours, minutes=minutes))


def _local(naive: datetime) -> datetime:
    """A wall-clock time of this machine's time zone. One that a daylight-saving
    change skips or repeats has no single meaning: a restore to the wrong hour
    loses an hour of writes or keeps one that was meant to go."""
    earlier, later = naive.replace(fold=0).astimezone(), naive.replace(fold=1).astimezone()
    if earlier.utcoffset() != later.utcoffset():
        raise ValueError(
            f"{naive:%Y-%m-%d %H:%M:%S} is skipped or repeated by a daylight-saving change in this machine's"
            " time zone; add its offset"
        )
    return earlier


def _utc(match: re.Match[str], local: tzinfo | None) -> str:
    wall = f"{match['date']} {match['hour']}:{match['minute']}:{match['second'] or '00'}"
    try:
        moment = datetime.strptime(wall, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise ValueError(f"there is no {wall}") from None
    moment = moment.replace(microsecond=int((match["fraction"] or "0").ljust(6, "0")))
    if match["offset"]:
        moment = moment.replace(tzinfo=_offset(match["offset"]))
    elif local is not None:
        moment = moment.replace(tzinfo=local)
    else:
        moment = _local(moment)
    return moment.astimezone(timezone.utc).isoformat()


def parse(text: str, local: tzinfo | None = None) -> str:
    """TEXT as a UTC ISO 8601 string ("2026-12-02T01:45:00+00:00"). A time
    without an offset is in `local`, by default this machine's time zone (the
    one the user reads their clock in). BadInput names the option and shows an
    example."""
    match = TIME.fullmatch(text.strip())
    why = "a date needs a time of day" if DATE.fullmatch(text.strip()) else "not a time"
    if match is not None:
        try:
            return _utc(match, local)
        except ValueError as error:
            why = str(error)
    raise BadInput(
        f"--time {text!r}: {why}. Give ISO 8601 or YYYY-MM-DD HH:MM[:SS[.ffffff]], with an optional offset"
        f" or Z (without one it is this machine's local time), e.g. {EXAMPLE}."
    )


def local_zone_name() -> str:
    """This machine's time zone as --help names it."""
    return datetime.now().astimezone().tzname() or "local"
