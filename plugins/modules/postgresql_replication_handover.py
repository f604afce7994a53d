#!/usr/bin/python
"""A switchover's old primary, stopped and fenced in one round trip: every
step of it is write downtime, and three module calls cost about a second
more than one."""

from __future__ import annotations

DOCUMENTATION = r"""
module: postgresql_replication_handover
short_description: Stop a PostgreSQL primary cleanly for a switchover, fence it, and say where it stopped
description:
  - Stops the cluster's systemd service (a clean fast shutdown, which sends all
    WAL, shutdown checkpoint included, to the connected standbys), reads its
    control data, and once the cluster reads C(shut down) writes the fence
    file into the data directory, so that the host cannot start as a primary
    again until it follows the new one.
  - Fails, writing no fence, when the stop fails or the cluster did not shut
    down cleanly.
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
  fence:
    description: Text of the fence file (C(dockyard.fenced) in the data directory).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Stop the old primary cleanly and fence it
  dockyard.platform.postgresql_replication_handover:
    version: "16"
    cluster: main
    fence: "fenced by a switchover to db2 until it follows it\n"
  register: stopped
"""

RETURN = r"""
cluster_state:
  description: The cluster state pg_controldata reports after the stop.
  type: str
  returned: success
  sample: shut down
checkpoint_lsn:
  description: Location of the shutdown checkpoint, the last WAL record the old primary wrote.
  type: str
  returned: success
  sample: 0/3000060
timeline:
  description: Timeline of that checkpoint.
  type: int
  returned: success
"""

import os
import pwd

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dockyard.platform.plugins.module_utils.postgresql_control import (
    ClusterPaths,
    parse_controldata,
)


def write_fence(path: str, text: str) -> None:
    """The fence, owned by postgres with mode 0600, written whole or not at all."""
    owner = pwd.getpwnam("postgres")
    temporary = f"{path}.dockyard-tmp"
    with open(temporary, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.chown(temporary, owner.pw_uid, owner.pw_gid)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "version": {"type": "str", "required": True},
            "cluster": {"type": "str", "required": True},
            "fence": {"type": "str", "required": True},
        },
        supports_check_mode=False,
    )
    cluster = ClusterPaths(module.params["version"], module.params["cluster"])
    data_dir, service = cluster.data_dir, cluster.service
    systemctl = module.get_bin_path("systemctl", required=True)

    rc, out, err = module.run_command([systemctl, "stop", service])
    if rc != 0:
        module.fail_json(msg=f"systemctl stop {service} failed: {err.strip() or out.strip()}")
    rc, out, err = module.run_command([f"{cluster.bin_dir}/pg_controldata", data_dir], environ_update={"LC_ALL": "C"})
    if rc != 0:
        module.fail_json(msg=f"pg_controldata {data_dir} failed after the stop: {err.strip() or out.strip()}")
    control = parse_controldata(out)
    state = control.get("Database cluster state", "")
    if state != "shut down":
        module.fail_json(
            msg=f"{service} stopped, but its cluster reads '{state}', not 'shut down': the standbys may lack"
            " its last WAL. Nothing was promoted and no fence was written; look at the server log.",
            cluster_state=state,
        )
    write_fence(os.path.join(data_dir, "dockyard.fenced"), module.params["fence"])
    module.exit_json(
        changed=True,
        cluster_state=state,
        checkpoint_lsn=control.get("Latest checkpoint location", ""),
        timeline=int(control.get("Latest checkpoint's TimeLineID", "0") or 0),
    )


if __name__ == "__main__":
    main()
