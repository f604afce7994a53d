"""The `backup` part of `dockyard status`, from what status.yml read on the
repository host (`pgbackrest info`) and on the live primary (pg_stat_archiver).

In two steps around the backup filters (plugins/filter/postgresql_backup.py),
which judge the catalog and the archive: backup_inputs picks their inputs out
of the run's hostvars, or says why there are none (pgBackRest not installed
yet, the repository host or the primary not answering); backup_status puts
their judgements together. The platform's own verdict (status `ok`) does not
depend on it: backups that need care do not make the cluster unhealthy."""

from __future__ import annotations

import json
from typing import Any

ARCHIVE_KEYS = (
    "archived_count",
    "last_archived_wal",
    "last_archived_time",
    "failed_count",
    "last_failed_wal",
    "last_failed_time",
)


def _results(probe: Any) -> list[Any]:
    if not isinstance(probe, dict) or probe.get("failed") or probe.get("skipped"):
        return []
    return list(probe.get("query_all_results") or [])


def _primaries(hostvars: Any, cluster_hosts: list[str]) -> list[str]:
    """The cluster hosts of this run whose server answered as a primary."""
    primaries = []
    for name in cluster_hosts:
        results = _results(hostvars[name].get("status_postgresql")) if name in hostvars else []
        if results and results[0] and results[0][0].get("in_recovery") is False:
            primaries.append(name)
    return primaries


def _archiver(hostvars: Any, cluster_hosts: list[str]) -> tuple[str | None, dict[str, Any] | None, str | None]:
    """(the live primary, its pg_stat_archiver row, why there is none)."""
    primaries = _primaries(hostvars, cluster_hosts)
    if len(primaries) != 1:
        found = f"{', '.join(primaries)} all run as primaries" if primaries else "no primary answered"
        return None, None, f"the WAL archive is not known: {found}"
    primary = primaries[0]
    results = _results(hostvars[primary].get("status_postgresql"))
    if len(results) < 3 or not results[2]:
        return primary, None, f"the WAL archive is not known: pg_stat_archiver could not be read on {primary}"
    return primary, dict(results[2][0]), None


def _last_line(text: Any) -> str:
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _info(host: str, host_vars: Any) -> tuple[list[Any] | None, str | None]:
    """(`pgbackrest info --output=json` parsed, why it could not be read)."""
    if not host_vars.get("status_reachable"):
        return None, f"{host} did not answer"
    if not (host_vars.get("status_pgbackrest") or {}).get("stat", {}).get("exists"):
        return None, f"pgbackrest is not installed on {host} yet (`dockyard up` installs it)"
    result = host_vars.get("status_backup_info") or {}
    if result.get("rc") != 0:
        detail = _last_line(result.get("stderr")) or _last_line(result.get("stdout")) or result.get("msg") or ""
        return None, f"pgbackrest info failed on {host}: {detail or 'rc ' + str(result.get('rc'))}"
    try:
        info = json.loads(result.get("stdout") or "")
    except ValueError:
        info = None
    if not isinstance(info, list):
        return None, f"pgbackrest info on {host} did not print its JSON catalog"
    return info, None


def backup_inputs(host: str, hostvars: Any, cluster_hosts: list[str], stanza: str) -> dict[str, Any]:
    """What the backup filters are given for the repository host `host`: the
    parsed catalog (`info`, None with `info_problem` saying why), the live
    primary's pg_stat_archiver row (`archiver`, None with `archive_problem`),
    and the repository host's clock (`now`)."""
    host_vars = hostvars.get(host) or {}
    info, info_problem = _info(host, host_vars)
    primary, archiver, archive_problem = _archiver(hostvars, cluster_hosts)
    epoch = ((host_vars.get("ansible_facts") or {}).get("date_time") or {}).get("epoch")
    return {
        "host": host,
        "stanza": stanza,
        "primary": primary,
        "info": info,
        "info_problem": info_problem,
        "archiver": archiver,
        "archive_problem": archive_problem,
        "last_archived_time": (archiver or {}).get("last_archived_time"),
        "now": float(epoch) if epoch else None,
    }


def unknown_archive(message: str) -> dict[str, Any]:
    """The archive's shape, where pg_stat_archiver could not be read."""
    return {"ok": False, **dict.fromkeys(ARCHIVE_KEYS), "message": message}


def backup_status(inputs: dict[str, Any], catalog: Any, archive: Any) -> dict[str, Any]:
    """`backup` of `dockyard status`, from backup_inputs and the backup
    filters' judgements of them (catalog and archive; None where there was
    nothing to judge). `message` says what is wrong with the repository (null
    when it is fine); the archive carries its own."""
    if not isinstance(archive, dict):
        archive = unknown_archive(str(inputs.get("archive_problem") or "the WAL archive is not known"))
    if isinstance(catalog, dict):
        catalog_ok = bool(catalog.get("ok"))
        message = None if catalog_ok else str(catalog.get("status") or "the repository is not fine")
        last_good, window = catalog.get("last_good"), catalog.get("window") or {"from": None, "to": None}
    else:
        catalog_ok, last_good, window = False, None, {"from": None, "to": None}
        message = str(inputs.get("info_problem") or "the repository could not be read")
    return {
        "host": inputs.get("host"),
        "stanza": inputs.get("stanza"),
        "ok": catalog_ok and bool(archive.get("ok")),
        "message": message,
        "last_good": last_good,
        "window": window,
        "archive": archive,
    }
