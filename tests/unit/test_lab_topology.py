"""After a switchover or failover the CLI rewrites the lab inventory's
PostgreSQL groups (lab.record_topology); the rest of the file stays as
playbooks/lab.yml wrote it. Plain file work: nothing to fake."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dockyard import lab
from dockyard.errors import DockyardError
from dockyard.project import Project

LAB_HOSTS = """# Written by playbooks/lab.yml; `dockyard lab up` rewrites it.
all:
  children:
    docker_hosts:
      hosts:
        app1:
    app_hosts:
      hosts:
        app1:
    postgresql:
      children:
        postgresql_primary:
          hosts:
            db1:
        postgresql_replicas:
          hosts:
            db2:
            db3:
"""


def project_with_lab(tmp_path: Path, content: str = LAB_HOSTS) -> Project:
    (tmp_path / "inventory" / "lab").mkdir(parents=True)
    (tmp_path / "inventory" / "lab" / "hosts.yml").write_text(content)
    return Project(root=tmp_path)


def test_the_new_primary_and_its_replicas_are_written(tmp_path: Path) -> None:
    project = project_with_lab(tmp_path)
    path = lab.record_topology(project, "db2", ["db1", "db3"])
    children = yaml.safe_load(path.read_text())["all"]["children"]
    assert children["postgresql"]["children"]["postgresql_primary"]["hosts"] == {"db2": None}
    assert children["postgresql"]["children"]["postgresql_replicas"]["hosts"] == {"db1": None, "db3": None}
    assert children["app_hosts"] == {"hosts": {"app1": None}}
    assert children["docker_hosts"] == {"hosts": {"app1": None}}


def test_an_inventory_without_the_postgresql_groups_is_reported(tmp_path: Path) -> None:
    project = project_with_lab(tmp_path, "all:\n  hosts:\n    app1:\n")
    with pytest.raises(DockyardError, match=r"could not update .*hosts\.yml with the new primary db2"):
        lab.record_topology(project, "db2", ["db1"])
