"""What the pgBackRest repository holds, how far a restore can reach, whether
WAL archiving works, and what a point-in-time restore would do, decided before
anything changes.

Pure functions of what the playbooks read (`pgbackrest info --output=json`,
a pg_stat_archiver row with its times as epoch floats, the clock), so every
rule is table-tested without a repository. `dockyard backups` prints the
catalog; `dockyard restore` carries out the plan or shows its refusal."""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ansible_collections.dockyard.platform.plugins.module_utils.postgresql_rules import as_int

BACKUP_TYPES = ("full", "diff", "incr")

SCHEDULE_KEYS = ("full", "diff")

# pgBackRest's stanza status codes: 1 missing stanza path, 2 no valid backups,
# 99 other. A stanza without a backup is answered by taking one, not by
# checking the repository.
MISSING_STANZA = 1
NO_BACKUP = 2
OTHER = 99

# pgBackRest --target for --type=time: its own and PostgreSQL's form.
TARGET = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?\s*(?:(Z)|([+-])(\d{2})(?::?(\d{2}))?)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Backup:
    """One backup of the stanza, as pgbackrest info lists it (times in epoch seconds)."""

    label: str
    type: str
    start: int
    stop: int
    size_bytes: int
    repository_bytes: int
    wal_start: str
    wal_stop: str
    # pgBackRest found errors (e.g. page checksums) while copying: not a
    # backup to restore from, nor the start of the restore window.
    error: bool
    prior: str | None


@dataclass(frozen=True)
class StanzaInfo:
    name: str
    # The stanza is in pgbackrest info's output at all.
    found: bool
    status_code: int
    status: str
    backups: tuple[Backup, ...] = ()
    archive_min: str = ""
    archive_max: str = ""

    @property
    def ok(self) -> bool:
        return self.found and self.status_code == 0

    @property
    def good(self) -> tuple[Backup, ...]:
        """The backups to restore from, oldest first: without error, nor an
        error in a backup a diff or incr takes its unchanged files from (a
        prior stops before the backups on it, so it is judged first)."""
        bad: set[str] = set()
        for backup in self.backups:
            if backup.error or backup.prior in bad:
                bad.add(backup.label)
        return tuple(b for b in self.backups if b.label not in bad)


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _flag(value: Any) -> bool:
    return value.strip().lower() in ("true", "yes", "1") if isinstance(value, str) else bool(value)


def _epoch(value: Any) -> float | None:
    """Epoch seconds from a number, a numeric string (-e, SQL's numeric) or a
    datetime (naive read as UTC, as Ansible's now(utc=true) gives it)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _now(now: Any) -> float:
    moment = _epoch(now)
    return time.time() if moment is None else moment


def iso(epoch: float | None) -> str | None:
    """ISO 8601 UTC to the second ("2026-12-02T01:42:48Z"), None for None.
    Cut down, never rounded up: a window's end copied as a target stays in it."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(math.floor(epoch), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def duration(seconds: float) -> str:
    """A span as people say it: "3 min 12 s", "2 h 5 min", "1 d 3 h"."""
    if seconds < 1:
        return "less than 1 s"
    whole = round(seconds)
    for unit, size, smaller, smaller_size in (("d", 86400, "h", 3600), ("h", 3600, "min", 60), ("min", 60, "s", 1)):
        if whole >= size:
            major, rest = divmod(whole, size)
            minor = rest // smaller_size
            return f"{major} {unit} {minor} {smaller}" if minor else f"{major} {unit}"
    return f"{whole} s"


def _backup(raw: Mapping[str, Any]) -> Backup:
    info = raw.get("info") or {}
    archive = raw.get("archive") or {}
    stamp = raw.get("timestamp") or {}
    return Backup(
        label=str(raw.get("label") or ""),
        type=str(raw.get("type") or ""),
        start=_int(stamp.get("start")),
        stop=_int(stamp.get("stop")),
        size_bytes=_int(info.get("size")),
        repository_bytes=_int((info.get("repository") or {}).get("size")),
        wal_start=str(archive.get("start") or ""),
        wal_stop=str(archive.get("stop") or ""),
        error=bool(raw.get("error")),
        prior=str(raw["prior"]) if raw.get("prior") else None,
    )


def _status(entry: Mapping[str, Any]) -> tuple[int, str]:
    """The stanza's status, with each repository's own message where it says
    more (status 99 "other" names no cause; the repository's message does)."""
    status = entry.get("status") or {}
    code = _int(status.get("code"))
    message = str(status.get("message") or "no status")
    for repo in entry.get("repo") or []:
        own = (repo.get("status") or {}) if isinstance(repo, Mapping) else {}
        if _int(own.get("code")) != 0 and own.get("message") and own["message"] != message:
            message += f"; repo{repo.get('key', '')}: {own['message']}"
    return code, message


def parse_info(info: Any, stanza: str) -> StanzaInfo:
    """The stanza's entry of `pgbackrest info --output=json` (its text or the
    parsed list); a StanzaInfo that says why when it is not there."""
    if isinstance(info, (str, bytes)):
        text = info.decode(errors="replace") if isinstance(info, bytes) else info
        try:
            info = json.loads(text)
        except ValueError:
            return StanzaInfo(
                stanza,
                False,
                OTHER,
                f"pgbackrest info printed no JSON ({text.strip()[:80]!r}): run `pgbackrest --stanza={stanza} info`"
                " on the repository host to see why",
            )
    entries = [e for e in info if isinstance(e, Mapping)] if isinstance(info, list) else []
    entry = next((e for e in entries if e.get("name") == stanza), None)
    if entry is None:
        names = ", ".join(str(e.get("name")) for e in entries) or "none"
        return StanzaInfo(stanza, False, MISSING_STANZA, f"no stanza {stanza!r} in the repository (stanzas: {names})")
    code, message = _status(entry)
    raw = [b for b in entry.get("backup") or [] if isinstance(b, Mapping)]
    backups = tuple(sorted((_backup(b) for b in raw), key=lambda b: (b.stop, b.label)))
    # After a stanza-upgrade the list has one entry per PostgreSQL: the newest
    # database's WAL is the one a restore replays.
    archives = [a for a in entry.get("archive") or [] if isinstance(a, Mapping)]
    current = max(archives, key=lambda a: _int((a.get("database") or {}).get("id")), default={})
    return StanzaInfo(
        name=stanza,
        found=True,
        status_code=code,
        status=message,
        backups=backups,
        archive_min=str(current.get("min") or ""),
        archive_max=str(current.get("max") or ""),
    )


def restore_window(stanza: StanzaInfo, last_archived_time: Any, now: Any = None) -> tuple[float | None, float | None]:
    """The first and last moment a restore can reach: the end of the oldest
    good backup (a target must be at or after a backup's end) and the last WAL
    the archive has (never past now). The end is None when nothing was
    archived since that backup; both are None without a good backup."""
    good = stanza.good
    if not good:
        return None, None
    start = float(min(b.stop for b in good))
    reached = _epoch(last_archived_time)
    if reached is None:
        return start, None
    reached = min(reached, _now(now))
    return start, reached if reached >= start else None


def _times(backup: Backup) -> dict[str, Any]:
    return {"start": iso(backup.start), "stop": iso(backup.stop), "duration_s": backup.stop - backup.start}


def catalog(info: Any, stanza: str, last_archived_time: Any = None, now: Any = None) -> dict[str, Any]:
    """What `dockyard backups` prints: the stanza's state, its backups oldest
    first, the newest good one and the window a restore can reach."""
    parsed = parse_info(info, stanza)
    good = parsed.good
    start, end = restore_window(parsed, last_archived_time, now)
    return {
        "stanza": stanza,
        "ok": parsed.ok,
        "status": parsed.status,
        "backups": [{**{k: v for k, v in asdict(b).items() if k != "prior"}, **_times(b)} for b in parsed.backups],
        "last_good": {"label": good[-1].label, "type": good[-1].type, "stop": iso(good[-1].stop)} if good else None,
        "window": {"from": iso(start), "to": iso(end)},
    }


def archive_health(row: Mapping[str, Any] | None, host: str = "", stanza: str = "") -> dict[str, Any]:
    """Whether the primary's archive_command works, from its pg_stat_archiver
    row (times as epoch floats; None or empty when the cluster did not
    answer). Failing: the last failure is newer than the last success, or
    there were failures and never a success."""
    row = row or {}
    on = f" on {host}" if host else ""
    archived, failed = _epoch(row.get("last_archived_time")), _epoch(row.get("last_failed_time"))
    health = {
        "ok": False,
        "archived_count": _int(row.get("archived_count")),
        "failed_count": _int(row.get("failed_count")),
        "last_archived_wal": row.get("last_archived_wal") or None,
        "last_archived_time": iso(archived),
        "last_failed_wal": row.get("last_failed_wal") or None,
        "last_failed_time": iso(failed),
    }
    if not row:
        message = (
            f"WAL archiving{on} cannot be told: PostgreSQL did not answer (pg_stat_archiver unread)."
            " See `dockyard status` for why the cluster is not reachable."
        )
        return {**health, "message": message}
    ever_failed = health["failed_count"] > 0 or failed is not None
    failing = ever_failed and (archived is None or (failed is not None and failed > archived))
    if failing:
        since = f"its last success at {iso(archived)}" if archived is not None else "the start: nothing was archived"
        message = (
            f"archive_command{on} is failing since {since} ({health['failed_count']} failures, last at"
            f" {iso(failed) or 'an unknown time'}, last WAL {health['last_failed_wal'] or 'unknown'}): WAL piles up"
            f" in pg_wal and a restore cannot reach past {iso(archived) or 'the end of a backup'}. Read the"
            f" PostgreSQL log{on or ' on the primary'} for archive_command's error, and run"
            f" `pgbackrest --stanza={stanza or 'STANZA'} check` on the repository host."
        )
    elif archived is None:
        message = f"No WAL archived{on} yet, and no failure: the first segment goes when it fills or at a backup."
    else:
        message = (
            f"WAL archiving{on} works: {health['archived_count']} segments archived, the last"
            f" ({health['last_archived_wal']}) at {iso(archived)}."
        )
        if ever_failed:
            message += f" {health['failed_count']} earlier failures, the last at {iso(failed)}, since recovered."
    return {**health, "ok": not failing, "message": message}


def parse_target(text: str) -> tuple[str, float | None, str]:
    """A restore target as pgBackRest and PostgreSQL read it, in UTC
    ("2026-12-02 01:45:00+00", sub-seconds kept), its epoch, and the problem
    ('' for none). An offset is required: without one PostgreSQL would read
    the time in the server's zone, which the user may not know."""
    match = TARGET.match(text.strip())
    example = "e.g. --time '2026-12-02 01:45:00+00:00' (or ...T01:45:00Z)"
    if not match:
        return (
            "",
            None,
            f"{text!r} is not a time Dockyard can restore to: give a date, a time and an offset, {example}.",
        )
    day, clock, fraction, zulu, sign, hours, minutes = match.groups()
    if not zulu and not sign:
        return "", None, f"{text!r} has no UTC offset: say which zone it is in, {example}."
    try:
        local = datetime.fromisoformat(f"{day}T{clock}")
        offset = timedelta(hours=int(hours or 0), minutes=int(minutes or 0)) * (-1 if sign == "-" else 1)
        moment = local.replace(tzinfo=timezone(offset)).astimezone(timezone.utc)
    except ValueError as error:
        return "", None, f"{text!r} is not a valid time ({error}): {example}."
    digits = f".{fraction}" if fraction else ""
    epoch = moment.timestamp() + (float(digits) if digits else 0.0)
    return f"{moment:%Y-%m-%d %H:%M:%S}{digits}+00", epoch, ""


def restore_plan(
    info: Any,
    stanza: str,
    target: str = "",
    latest: Any = False,
    force: Any = False,
    now: Any = None,
    last_archived_time: Any = None,
) -> dict[str, Any]:
    """What `dockyard restore (--time TS | --latest)` does: the backup set,
    the recovery target and what the restore discards, or why it must not go
    ahead ('' in refusal: go). last_archived_time is read right after a WAL
    switch was archived, so it is about now: writes after it are not in the
    repository. Without force, the plan is shown and nothing changes."""
    plan = {"refusal": "", "set": "", "type": "", "target": "", "target_epoch": None, "lost": "", "would_lose_s": 0.0}
    unchanged = " Nothing was changed."

    def refuse(why: str) -> dict[str, Any]:
        return {**plan, "refusal": why + unchanged}

    target, latest = str(target or "").strip(), _flag(latest)
    if bool(target) == latest:
        how = "not both" if latest else "one of them"
        return refuse(f"Say where to restore to: --time TS or --latest, {how}.")
    pg_target, epoch, problem = parse_target(target) if target else ("", None, "")
    if problem:
        return refuse(problem)
    parsed = parse_info(info, stanza)
    if not parsed.ok and parsed.status_code != NO_BACKUP:
        return refuse(
            f"Stanza {stanza} cannot be restored from: pgBackRest says {parsed.status!r} (code {parsed.status_code})."
            " Run `dockyard up` to set up the repository and stanza, or check the repository host"
            f" (`pgbackrest --stanza={stanza} info` there)."
        )
    good = parsed.good
    if not good:
        bad = [b.label for b in parsed.backups if b.error]
        with_errors = f" (with errors: {', '.join(bad)})" if bad else ""
        return refuse(
            f"Stanza {stanza} has no backup without error to restore from{with_errors}: take one with"
            " `dockyard backup`."
        )
    moment = _now(now)
    start, end = restore_window(parsed, last_archived_time, moment)
    reach = f"from {iso(start)} to {iso(end)}" if end is not None else f"no time after {iso(start)}"
    window = f"a restore of stanza {stanza} can reach {reach} (`dockyard backups` shows the window)"
    if epoch is not None:
        if start is not None and epoch < start:
            why = f"is before the end of the oldest good backup ({good[0].label})"
        elif epoch > moment:
            why = f"is in the future (now is {iso(moment)})"
        elif end is None or epoch > end:
            why = "is after the last archived WAL, so the repository lacks what was written up to it"
        else:
            why = ""
        if why:
            return refuse(f"{pg_target} {why}: {window}. Pick a time in it, or --latest.")
        chosen = [b for b in good if b.stop <= epoch][-1]
        reached = epoch
        until = f"after {pg_target}"
        replay = f"replays {duration(epoch - chosen.stop)} of archived WAL from {chosen.wal_start} up to {pg_target}"
    else:
        chosen = good[-1]
        reached = max(end or 0.0, float(chosen.stop))
        until = f"after the last archived WAL ({iso(reached)})"
        replay = (
            f"replays all archived WAL after it ({duration(reached - chosen.stop)}, from {chosen.wal_start}"
            f" to {parsed.archive_max or chosen.wal_stop})"
        )
    would_lose = max(0.0, moment - reached)
    lost = (
        f"every write committed {until} on every host: the last {duration(would_lose)} until now ({iso(moment)})."
        f" The restore starts from backup {chosen.label} ({chosen.type}, ended {iso(chosen.stop)}) and {replay}."
    )
    refusal = "" if _flag(force) else f"A restore discards {lost}{unchanged} Run again with --force to restore."
    return {
        **plan,
        "refusal": refusal,
        "set": chosen.label,
        "type": "time" if epoch is not None else "default",
        "target": pg_target,
        "target_epoch": epoch,
        "lost": lost,
        "would_lose_s": would_lose,
    }


def backup_type_problem(kind: Any) -> str:
    """Why kind is not a backup type pgBackRest takes ('' when it is)."""
    if isinstance(kind, str) and kind in BACKUP_TYPES:
        return ""
    return f"The backup type is {kind!r}; pgBackRest takes full, diff (changes since the last full) or incr."


def schedule_problems(schedule: Any) -> list[str]:
    """Every mistake in postgresql_backup_schedule, each with its fix. The
    calendar syntax itself is systemd's to judge (`systemd-analyze calendar`
    in the playbook); here what would break the timer unit it goes into."""
    name = "postgresql_backup_schedule"
    example = "e.g. {full: 'Sun *-*-* 01:00:00', diff: 'Mon..Sat *-*-* 01:00:00'}"
    if not isinstance(schedule, Mapping):
        return [
            f"{name} is {schedule!r}; it must be a mapping of full and diff to systemd OnCalendar times, {example}."
        ]
    found = [
        f"{name} has the key {key!r}, which Dockyard does not schedule: only full and diff ('' disables one)."
        for key in schedule
        if key not in SCHEDULE_KEYS
    ]
    for key in SCHEDULE_KEYS:
        value = schedule.get(key)
        if key not in schedule:
            found.append(f"{name} has no {key}: give it a systemd OnCalendar time, or '' for no {key} backups.")
        elif not isinstance(value, str):
            found.append(
                f"{name}.{key} is {value!r}; it must be a string, a systemd OnCalendar time such as 'daily'"
                " (quote it in YAML), or '' for none."
            )
        elif any(ord(c) < 32 for c in value):
            found.append(
                f"{name}.{key} is {value!r}: it holds a line break or control character, which would end the"
                " OnCalendar= line of its timer unit. Write the time on one line."
            )
    return found


def retention_problem(value: Any) -> str:
    """Why postgresql_backup_retention_full is not a count of full backups
    to keep ('' when it is)."""
    number = as_int(value)
    if number is not None and 1 <= number <= 9999999:
        return ""
    return (
        f"postgresql_backup_retention_full is {value!r}; it must be how many full backups to keep, a whole number"
        " from 1 (e.g. 2). pgBackRest expires older full backups, the diff backups on them and the WAL only they need."
    )


def host_problems(
    host: str,
    backup_hosts: Sequence[str],
    database_hosts: Sequence[str],
    cipher_pass: Any,
    retention: Any,
    schedule: Any,
    tls: bool,
) -> list[str]:
    """Every mistake in the backup variables of the repository host `host`,
    each naming the host, the variable and the fix; [] when there is none."""
    found = []
    if len(backup_hosts) > 1:
        found.append(
            f"{host}: postgresql_backup_hosts holds {len(backup_hosts)} hosts ({', '.join(backup_hosts)});"
            " Dockyard keeps one pgBackRest repository. Leave one host in the group."
        )
    if host in database_hosts:
        found.append(
            f"{host} is in postgresql_backup_hosts and is also a database host: a backup on the host it"
            " protects is lost with it. Put the repository on a host outside postgresql_primary and"
            " postgresql_replicas."
        )
    if not database_hosts:
        found.append(
            f"{host} is in postgresql_backup_hosts, but there is no database host to back up: put the"
            " cluster's hosts in postgresql_primary and postgresql_replicas."
        )
    if not isinstance(cipher_pass, str) or not cipher_pass:
        found.append(
            f"{host}: postgresql_backup_cipher_pass is empty; the repository is encrypted with it. Set a long"
            " random passphrase, kept in a vault (e.g. `openssl rand -base64 48`), and keep a copy off this"
            " host: without it the backups cannot be read."
        )
    if not tls:
        found.append(
            f"{host}: backups need postgresql_tls: true; pgBackRest's hosts reach each other over TLS with"
            " the cluster's CA."
        )
    problem = retention_problem(retention)
    if problem:
        found.append(f"{host}: {problem}")
    found.extend(f"{host}: {problem}" for problem in schedule_problems(schedule))
    return found


# pgBackRest's info status codes that mean the stanza was never created here:
# "missing stanza path" and "missing stanza data".
STANZA_ABSENT_CODES = (1, 3)


def stanza_missing(info: Any, stanza: str) -> bool:
    """Whether `stanza-create` has yet to run: the stanza is absent (or info
    printed nothing). A stanza with no backups yet (status 2) exists."""
    parsed = parse_info(info, stanza)
    return not parsed.found or parsed.status_code in STANZA_ABSENT_CODES


def _calendar_not_run(result: Mapping[str, Any]) -> bool:
    # The command module's own message when the executable is missing.
    return "Error executing command" in str(result.get("msg") or "")


def calendar_unknown(results: Sequence[Mapping[str, Any]]) -> list[str]:
    """The schedule kinds `systemd-analyze calendar` could not judge (no
    systemd where it ran), from a looped command's results."""
    return [str(r["item"]["key"]) for r in results if _calendar_not_run(r)]


def calendar_problems(results: Sequence[Mapping[str, Any]], host: str) -> list[str]:
    """One problem naming each kind whose expression systemd rejected, with
    systemd's reason and the fix; [] when it read them all."""
    rejected = [r for r in results if _int(r.get("rc")) != 0 and not _calendar_not_run(r)]
    if not rejected:
        return []
    reasons = "; ".join(
        f'{r["item"]["key"]} "{r["item"]["value"]}" ({(r.get("stderr") or "rejected").strip().splitlines()[-1]})'
        for r in rejected
    )
    return [
        f"{host}: postgresql_backup_schedule is not what systemd reads: {reasons}. Give each a systemd calendar"
        " expression (e.g. \"Sun *-*-* 01:30:00\"; see `man systemd.time`) or '' to turn that kind off."
    ]
