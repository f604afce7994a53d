"""How values are spelled in PostgreSQL's own files: postgresql.conf values,
.pgpass fields, slot names, max_wal_senders and synchronous_standby_names."""

from __future__ import annotations

import math
import re
from typing import Any


def slot_name(host: str, prefix: str) -> str:
    """A replication slot name for a host: lower case letters, digits, _."""
    return prefix + re.sub(r"[^a-z0-9_]", "_", host.lower())


def wal_senders(replicas: int, headroom: int, configured: int) -> int:
    """max_wal_senders: the configured value, or sized from the replica count
    with headroom and rounded up to a multiple of 10, so that one more replica
    seldom changes it (a change needs a restart of every host)."""
    if configured > 0:
        return configured
    return max(10, math.ceil((replicas + headroom) / 10.0) * 10)


def quorum(names: list[str], count: int) -> str:
    """synchronous_standby_names for ANY count of the given standbys (sorted:
    the order means nothing to ANY, and must not change the file).

    Never more than there are standbys: after a failover that left fewer
    followers than asked for, ANY N of fewer than N would block every write
    forever; the followers there are confirm commits until the others rejoin."""
    count = min(count, len(names))
    if count <= 0:
        return ""
    quoted = ", ".join('"' + name.replace('"', '""') + '"' for name in sorted(names))
    return f"ANY {count} ({quoted})"


def pgpass_field(value: Any) -> str:
    """A field of a .pgpass line: backslash and colon escaped."""
    return str(value).replace("\\", "\\\\").replace(":", "\\:")


def conf_value(value: Any) -> str:
    """A value as postgresql.conf wants it: numbers and booleans bare,
    everything else single-quoted."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (int, float)):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def conninfo_value(value: Any) -> str:
    """A value of a libpq connection string: bare when it is one plain word,
    else single-quoted with backslash and quote escaped."""
    text = str(value)
    if text and re.fullmatch(r"[A-Za-z0-9_./:@+-]+", text):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def conninfo(
    host: str,
    port: int,
    user: str,
    passfile: str,
    *,
    dbname: str = "",
    application_name: str = "",
    connect_timeout: int = 5,
    keepalives: bool = False,
    ca_file: str = "",
) -> str:
    """How a cluster host connects to another (streaming, pg_basebackup,
    pg_rewind): the password from the passfile, and with ca_file, TLS that
    verifies the server's certificate and name against the cluster CA and
    binds the password exchange to that channel, so that no one in the path
    can downgrade the connection or read the WAL stream. Without ca_file
    (postgresql_tls: false), TLS where the server offers it."""
    fields: list[tuple[str, Any]] = [("host", host), ("port", port), ("user", user)]
    if dbname:
        fields.append(("dbname", dbname))
    fields.append(("passfile", passfile))
    if application_name:
        fields.append(("application_name", application_name))
    if ca_file:
        fields += [("sslmode", "verify-full"), ("sslrootcert", ca_file), ("channel_binding", "require")]
    else:
        fields.append(("sslmode", "prefer"))
    fields.append(("connect_timeout", connect_timeout))
    if keepalives:
        fields += [("keepalives_idle", 10), ("keepalives_interval", 5), ("keepalives_count", 3)]
    return " ".join(f"{key}={conninfo_value(value)}" for key, value in fields)
