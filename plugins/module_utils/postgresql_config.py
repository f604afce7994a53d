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
