"""A PostgreSQL cluster's control data as pg_controldata prints it, parsed
once for the modules that read it on the host (the probe, the handover)."""

from __future__ import annotations


def parse_controldata(text: str) -> dict[str, str]:
    """pg_controldata's `Key: value` lines (run with LC_ALL=C) as a mapping."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            values[key.strip()] = value.strip()
    return values
