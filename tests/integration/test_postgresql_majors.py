"""A cluster whose hosts would run different PostgreSQL majors is refused
before anything changes, through playbooks/replication.yml on two real hosts:
both Debian 12 (PostgreSQL 15 from the release), one told postgresql_version
"16". The refusal names each host, its version and where it came from; neither
host gets a package, a repository or a file."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from support import recap_changed, run_playbook, systemd_host

GOOD_PASSWORD = "correct-horse-battery-staple"


def test_a_cluster_of_two_majors_is_refused_before_any_change(tmp_path: Path) -> None:
    with systemd_host(tmp_path) as primary, systemd_host(tmp_path) as replica:

        def entry(container: str, **variables: str) -> dict:
            return {"ansible_connection": "community.docker.docker", "ansible_host": container, **variables}

        inventory = tmp_path / "cluster.json"
        inventory.write_text(
            json.dumps(
                {
                    "all": {
                        "vars": {
                            "ansible_python_interpreter": "/usr/bin/python3",
                            "postgresql_replication_password": GOOD_PASSWORD,
                        },
                        "children": {
                            "postgresql": {
                                "children": {
                                    "postgresql_primary": {"hosts": {"db1": entry(primary.container)}},
                                    "postgresql_replicas": {
                                        "hosts": {"db2": entry(replica.container, postgresql_version="16")}
                                    },
                                }
                            }
                        },
                    }
                }
            )
        )
        run = run_playbook("replication.yml", inventory)
        assert run.rc == 2, run.output
        said = " ".join(run.output.split())
        for words in (
            "The cluster would mix PostgreSQL major versions: db1 15 (Debian 12",
            "db2 16 (postgresql_version)",
            'postgresql_version: "15" (the primary db1\'s)',
        ):
            assert words in said, f"{words!r} not in the refusal: {said[-3000:]}"
        assert recap_changed(run.output) == 0, run.output
        for host in (primary, replica):
            listed = run_in(host.container, "ls /etc/apt/sources.list.d/ /usr/lib/postgresql 2>&1")
            assert "pgdg" not in listed and "No such file" in listed, listed


def run_in(container: str, command: str) -> str:
    return subprocess.run(
        ["docker", "exec", container, "sh", "-c", command], capture_output=True, text=True, check=False
    ).stdout
