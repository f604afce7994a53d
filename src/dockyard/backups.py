"""What `dockyard backup`, `backups` and `restore` print, from the msg of
their playbooks' report tasks, and the figures (sizes, durations, times) the
status view's backup line shares with them."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

BACKUP_REPORT = "Dockyard report: backup"
BACKUPS_REPORT = "Dockyard report: backups"
RESTORE_REPORT = "Dockyard report: restore"
NOT_CONFIGURED = "No backups: the inventory has no postgresql_backup_hosts host."
TYPE_NAMES = {"full": "Full", "diff": "Differential", "incr": "Incremental"}
SIZE_UNITS = ("kB", "MB", "GB", "TB", "PB")


def size(value: Any) -> str:
    """Bytes in decimal units, as pgBackRest and df -H count them."""
    if value is None:
        return "-"
    amount = float(value)
    if abs(amount) < 1000:
        return f"{amount:.0f} B"
    for unit in SIZE_UNITS:
        amount /= 1000
        if abs(amount) < 999.95 or unit == SIZE_UNITS[-1]:
            return f"{amount:.1f} {unit}"
    raise AssertionError("unreachable")


def duration(seconds: Any) -> str:
    if seconds is None:
        return "-"
    if float(seconds) < 60:
        return f"{float(seconds):.1f} s"
    minutes, rest = divmod(round(float(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _utc(iso: Any) -> datetime | None:
    if not iso:
        return None
    try:
        # Python 3.10's fromisoformat does not read a trailing Z.
        moment = datetime.fromisoformat(str(iso).replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def moment(iso: Any) -> str:
    """An ISO time ("2026-12-02T01:42:48Z") as "2026-12-02 01:42:48 UTC"; what cannot be read, as it came."""
    parsed = _utc(iso)
    return f"{parsed:%Y-%m-%d %H:%M:%S} UTC" if parsed else str(iso or "-")


def clock(iso: Any) -> str:
    """The time of day alone, where the date is in the backup's label."""
    parsed = _utc(iso)
    return f"{parsed:%H:%M:%S} UTC" if parsed else str(iso or "-")


def backup_line(made: dict[str, Any]) -> str:
    """The one line `dockyard backup` ends with."""
    kind = TYPE_NAMES.get(str(made.get("type")), str(made.get("type", "")).capitalize())
    return (
        f"{kind} backup {made.get('label')} of {made.get('primary')} on {made.get('host')}"
        f" in {duration(made.get('duration_s'))}: {size(made.get('size_bytes'))},"
        f" {size(made.get('repository_bytes'))} in the repository."
    )


def configured(catalog: dict[str, Any]) -> bool:
    """False when the playbook found no backup host ({"configured": false})."""
    return catalog.get("configured", True) is not False


def backups_payload(catalog: dict[str, Any]) -> dict[str, Any]:
    """`dockyard backups --json`: the catalog, with `ok` saying whether both
    the repository and the WAL archive are fine (the catalog's own `ok`
    speaks for the repository alone; its `status` still says why)."""
    if not configured(catalog):
        return {"ok": True, "configured": False}
    archive = catalog.get("archive") or {}
    rest = {key: value for key, value in catalog.items() if key != "ok"}
    return {"ok": bool(catalog.get("ok")) and bool(archive.get("ok")), **rest}


def _wal(backup: dict[str, Any]) -> str:
    start, stop = backup.get("wal_start") or "?", backup.get("wal_stop") or "?"
    return start if start == stop else f"{start}-{stop}"


def backups_table(catalog: dict[str, Any]) -> Table:
    table = Table(
        title=f"Backups of stanza {catalog.get('stanza', '?')} on {catalog.get('repository_host', '?')}",
        title_justify="left",
        show_edge=False,
    )
    # A label is what pgBackRest and a restore's report name a backup by: whole.
    table.add_column("label", no_wrap=True)
    table.add_column("type")
    table.add_column("started (UTC)")
    for column in ("took", "size", "repository"):
        table.add_column(column, justify="right")
    table.add_column("WAL start-stop", overflow="fold")
    for backup in catalog.get("backups") or []:
        # pgBackRest marks a backup whose pages failed their checksums.
        error = bool(backup.get("error"))
        started = _utc(backup.get("start"))
        table.add_row(
            str(backup.get("label", "?")),
            str(backup.get("type", "?")) + (" (error)" if error else ""),
            f"{started:%Y-%m-%d %H:%M:%S}" if started else str(backup.get("start") or "-"),
            duration(backup.get("duration_s")),
            size(backup.get("size_bytes")),
            size(backup.get("repository_bytes")),
            _wal(backup),
            style="bold red" if error else None,
        )
    return table


def window_line(window: dict[str, Any] | None) -> Text:
    start, end = (window or {}).get("from"), (window or {}).get("to")
    if not start:
        return Text("No good backup yet: there is nothing a restore could start from.", "bold red")
    if not end:
        return Text(f"A restore can reach {moment(start)}; no WAL archived after it is known.", "yellow")
    return Text(f"A restore can reach from {moment(start)} to {moment(end)}.")


def archive_line(archive: dict[str, Any] | None, primary: Any = None) -> Text:
    where = f" of {primary}" if primary else ""
    archive = archive or {}
    if not archive.get("ok"):
        return Text(f"WAL archive{where}: {archive.get('message') or 'not known'}", "bold red")
    last = archive.get("last_archived_wal")
    detail = f", the last {last} at {moment(_epoch_iso(archive.get('last_archived_time')))}" if last else ""
    count = archive.get("archived_count")
    counted = f": {count} WAL files archived{detail}" if count is not None else ""
    return Text(f"WAL archive{where} ok{counted}.", "green")


def _epoch_iso(value: Any) -> Any:
    """The archive's times: epoch seconds from pg_stat_archiver, or ISO already."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, timezone.utc).isoformat()
    return value


def render_backups(console: Console, catalog: dict[str, Any]) -> None:
    if not configured(catalog):
        console.print(NOT_CONFIGURED, highlight=False)
        return
    if catalog.get("backups"):
        console.print(backups_table(catalog))
    else:
        console.print(
            f"No backups yet in stanza {catalog.get('stanza', '?')} on {catalog.get('repository_host', '?')}.",
            highlight=False,
        )
    status = catalog.get("status")
    if not catalog.get("ok") and status:
        console.print(Text(f"Repository: {status}", "bold red"), highlight=False)
    console.print(window_line(catalog.get("window")), highlight=False)
    console.print(archive_line(catalog.get("archive"), catalog.get("primary")), highlight=False)


def restore_lines(restored: dict[str, Any]) -> list[str]:
    """What `dockyard restore` did, after its steps and recap."""
    primary = restored.get("primary", "?")
    target = f"to {restored['target']}" if restored.get("target") else "to the end of the archived WAL"
    lines = [f"Restored {primary} {target}, from backup {restored.get('set', '?')}."]
    if restored.get("lost"):
        lines.append(f"Discarded: {restored['lost']}")
    if restored.get("kept_data_dir"):
        lines.append(
            f"The data directory from before the restore is kept in {restored['kept_data_dir']} on {primary}:"
            " delete it once you are satisfied with the restored data (it takes the disk space of the old cluster)."
        )
    replicas = [str(host) for host in restored.get("replicas") or []]
    if replicas:
        were = "was" if len(replicas) == 1 else "were"
        lines.append(f"{', '.join(replicas)} {were} rebuilt from {primary} and stream from it.")
    else:
        lines.append("No replica to rebuild.")
    return lines
