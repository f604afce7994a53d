"""Where a Debian-family PostgreSQL cluster lives, and its control data as
pg_controldata prints it: once for the modules that read them on the host (the
probe, the handover)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClusterPaths:
    """postgresql-common's layout of cluster `cluster` of major `version`."""

    version: str
    cluster: str

    @property
    def bin_dir(self) -> str:
        return f"/usr/lib/postgresql/{self.version}/bin"

    @property
    def data_dir(self) -> str:
        return f"/var/lib/postgresql/{self.version}/{self.cluster}"

    @property
    def config_dir(self) -> str:
        return f"/etc/postgresql/{self.version}/{self.cluster}"

    @property
    def service(self) -> str:
        return f"postgresql@{self.version}-{self.cluster}.service"


def parse_controldata(text: str) -> dict[str, str]:
    """pg_controldata's `Key: value` lines (run with LC_ALL=C) as a mapping."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            values[key.strip()] = value.strip()
    return values
