#!/usr/bin/python
"""What a host's PostgreSQL cluster looks like, in one round trip: the role
reads a dozen facts on every run, and over slow connections one module call
costs far less than a dozen."""

from __future__ import annotations

DOCUMENTATION = r"""
module: postgresql_replication_probe
short_description: Report the state of a PostgreSQL cluster on a Debian-family host
description:
  - Reads, without changing anything, whether PostgreSQL and psycopg2 are
    installed, whether the cluster's configuration and data directory exist,
    what the data directory holds (standby.signal, Dockyard's fresh-initdb
    marker, the failover fence), its control data (system identifier, data
    checksums, cluster state, latest checkpoint), the peers Dockyard wrote
    for it and whether its systemd service is active.
author: Dockyard developers (!UNKNOWN)
options:
  version:
    description: Major version, for example C(16).
    type: str
    required: true
  cluster:
    description: Cluster name, for example C(main).
    type: str
    required: true
  marker:
    description: File name of the fresh-initdb marker in the data directory.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Read the state of the cluster
  dockyard.platform.postgresql_replication_probe:
    version: "16"
    cluster: main
    marker: dockyard-fresh-initdb
  register: probe

- name: Stop here unless the old primary shut down cleanly
  dockyard.platform.postgresql_replication_probe:
    version: "16"
    cluster: main
    marker: dockyard-fresh-initdb
  register: stopped
  failed_when: stopped.cluster_state != 'shut down'
"""

RETURN = r"""
installed:
  description: Whether the server binaries and psycopg2 are present.
  type: bool
  returned: always
config_exists:
  description: Whether postgresql.conf of the cluster exists.
  type: bool
  returned: always
data_exists:
  description: Whether the data directory holds PG_VERSION.
  type: bool
  returned: always
standby_signal:
  description: Whether the data directory holds standby.signal.
  type: bool
  returned: always
fresh:
  description: Whether the data directory holds the fresh-initdb marker.
  type: bool
  returned: always
system_identifier:
  description:
    - Database system identifier; empty if unknown.
    - Read with pg_controldata where the server binaries are installed, else
      straight from global/pg_control, so a data directory left by a removed
      package still says which cluster it belongs to.
  type: str
  returned: always
  sample: "7301234567890123456"
checksums:
  description: Whether data page checksums are on (false if unknown).
  type: bool
  returned: always
cluster_state:
  description: The cluster state pg_controldata reports; empty if unknown.
  type: str
  returned: always
  sample: shut down
timeline:
  description: Timeline of the latest checkpoint; 0 if unknown.
  type: int
  returned: always
checkpoint_lsn:
  description: Location of the latest checkpoint; empty if unknown.
  type: str
  returned: always
  sample: 0/3000060
fenced:
  description: Whether a failover fenced this cluster (dockyard.fenced in the data directory).
  type: bool
  returned: always
pgbackrest:
  description: Whether pgBackRest is installed (its archive_command needs it when backups are on).
  type: bool
  returned: always
peers:
  description: Address of each peer, by name, from the cluster's dockyard-peers file.
  type: dict
  returned: always
  sample: {db2: 10.0.0.12}
service_active:
  description: Whether the cluster's systemd service is active.
  type: bool
  returned: always
"""

import importlib.util
import os
import struct

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dockyard.platform.plugins.module_utils.postgresql_control import (
    ClusterPaths,
    parse_controldata,
)


def controldata(module: AnsibleModule, bin_dir: str, data_dir: str) -> dict[str, str]:
    rc, out, err = module.run_command(
        [os.path.join(bin_dir, "pg_controldata"), data_dir], environ_update={"LC_ALL": "C"}
    )
    if rc != 0:
        module.fail_json(msg=f"pg_controldata {data_dir} failed: {err.strip() or out.strip()}")
    return parse_controldata(out)


def raw_system_identifier(data_dir: str) -> str:
    """The identifier is pg_control's first field, a uint64 in the machine's
    byte order: readable without PostgreSQL's binaries."""
    try:
        with open(os.path.join(data_dir, "global", "pg_control"), "rb") as handle:
            head = handle.read(8)
    except OSError:
        return ""
    return str(struct.unpack("=Q", head)[0]) if len(head) == 8 else ""


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "version": {"type": "str", "required": True},
            "cluster": {"type": "str", "required": True},
            "marker": {"type": "str", "required": True},
        },
        supports_check_mode=True,
    )
    paths = ClusterPaths(module.params["version"], module.params["cluster"])
    bin_dir, data_dir, config_dir = paths.bin_dir, paths.data_dir, paths.config_dir

    installed = os.path.exists(os.path.join(bin_dir, "postgres")) and importlib.util.find_spec("psycopg2") is not None
    data_exists = os.path.exists(os.path.join(data_dir, "PG_VERSION"))
    control = {}
    if data_exists and os.path.exists(os.path.join(data_dir, "global", "pg_control")):
        if os.path.exists(os.path.join(bin_dir, "pg_controldata")):
            control = controldata(module, bin_dir, data_dir)
        else:
            control = {"Database system identifier": raw_system_identifier(data_dir)}

    peers = {}
    try:
        with open(os.path.join(config_dir, "dockyard-peers")) as handle:
            for line in handle:
                fields = line.split()
                if len(fields) == 3 and not fields[0].startswith("#"):
                    peers[fields[2]] = fields[0]
    except OSError:
        pass

    service_active = False
    systemctl = module.get_bin_path("systemctl")
    if systemctl:
        _rc, out, _err = module.run_command([systemctl, "is-active", paths.service])
        service_active = out.strip() == "active"

    module.exit_json(
        changed=False,
        installed=installed,
        config_exists=os.path.exists(os.path.join(config_dir, "postgresql.conf")),
        data_exists=data_exists,
        standby_signal=os.path.exists(os.path.join(data_dir, "standby.signal")),
        fresh=os.path.exists(os.path.join(data_dir, module.params["marker"])),
        system_identifier=control.get("Database system identifier", ""),
        checksums=control.get("Data page checksum version", "0") != "0",
        cluster_state=control.get("Database cluster state", ""),
        timeline=int(control.get("Latest checkpoint's TimeLineID", "0") or 0),
        checkpoint_lsn=control.get("Latest checkpoint location", ""),
        service_active=service_active,
        peers=peers,
        fenced=os.path.exists(os.path.join(data_dir, "dockyard.fenced")),
        pgbackrest=os.path.exists("/usr/bin/pgbackrest"),
    )


if __name__ == "__main__":
    main()
