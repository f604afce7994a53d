"""The roles' own expressions, rendered by Ansible's templating with each
release's recorded facts: what the tasks would write and install on Ubuntu,
which no CI host runs. test_distributions.py checks the decisions; this checks
the tasks ask for them (a task that went back to deciding in Jinja, or passed
the wrong variable, fails here). The role's defaults and the task's own `vars`
are in scope, as in a play."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RELEASES = Path(__file__).resolve().parent / "fixtures" / "releases"


@pytest.fixture(scope="module")
def ansible() -> Iterator[Any]:
    """Ansible's templating, finding the collection in this checkout as
    ansible-playbook does (its collection loader). The other tests import the
    collection as a plain package (pyproject's pythonpath), which the loader
    cannot use: their modules are set aside meanwhile and put back after."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import init_plugin_loader
    from ansible.template import Templar, trust_as_template
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    plain = {name: module for name, module in sys.modules.items() if name.split(".")[0] == "ansible_collections"}
    for name in plain:
        del sys.modules[name]
    init_plugin_loader([str(ROOT / ".collections")])
    loader = DataLoader()

    class Render:
        @staticmethod
        def load(path: str) -> Any:
            return loader.load_from_file(str(ROOT / path))

        @staticmethod
        def value(expression: str, variables: dict[str, Any]) -> Any:
            trusted = {k: trust_as_template(v) if isinstance(v, str) else v for k, v in variables.items()}
            return Templar(loader=loader, variables=trusted).template(trust_as_template(expression))

    try:
        yield Render
    finally:
        _AnsibleCollectionFinder._remove()
        for name in [name for name in sys.modules if name.split(".")[0] == "ansible_collections"]:
            del sys.modules[name]
        sys.modules.update(plain)


def recorded(name: str) -> tuple[dict[str, Any], str]:
    data = json.loads((RELEASES / f"{name}.json").read_text())
    return data["ansible_facts"], data["os_release"]


def defaults(role: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())


def task(ansible: Any, path: str, name: str) -> dict[str, Any]:
    return next(t for t in ansible.load(path) if t.get("name") == name)


def slurped(text: str) -> dict[str, str]:
    """ansible.builtin.slurp's result for a file."""
    return {"content": base64.b64encode(text.encode()).decode(), "encoding": "base64"}


# --- docker_engine ----------------------------------------------------------------

# release -> (Docker's repository directory, its suite, the distribution's compose package)
DOCKER = {
    "ubuntu-22.04": ("ubuntu", "jammy", ["docker-compose"]),
    "ubuntu-24.04": ("ubuntu", "noble", ["docker-compose-v2"]),
    "debian-12": ("debian", "bookworm", ["docker-compose"]),
    "debian-13": ("debian", "trixie", ["docker-compose"]),
    "linuxmint-22": ("ubuntu", "noble", []),
}


def docker_engine_facts(ansible: Any, name: str, **overrides: Any) -> dict[str, Any]:
    """The variables of docker_engine once preflight.yml worked out the
    repository (official source) on a host of this release."""
    facts, os_release = recorded(name)
    variables = {
        **defaults("docker_engine"),
        "ansible_facts": facts,
        "docker_engine_os_release_file": slurped(os_release),
        **overrides,
    }
    work_out = task(ansible, "roles/docker_engine/tasks/preflight.yml", "Work out Docker's repository for this release")
    scope = {**variables, **work_out["vars"]}
    for key, expression in work_out["ansible.builtin.set_fact"].items():
        variables[key] = ansible.value(expression, scope)
    return variables


@pytest.mark.parametrize("name", list(DOCKER))
def test_docker_sources_the_role_writes(ansible: Any, name: str) -> None:
    directory, suite, _ = DOCKER[name]
    variables = docker_engine_facts(ansible, name)
    assert (variables["docker_engine_repo_distribution"], variables["docker_engine_repo_suite"]) == (directory, suite)
    copy = task(ansible, "roles/docker_engine/tasks/repository.yml", "Configure Docker's apt repository")
    assert ansible.value(copy["ansible.builtin.copy"]["content"], variables) == (
        "# Managed by Dockyard (docker_engine).\n"
        "Types: deb\n"
        f"URIs: https://download.docker.com/linux/{directory}\n"
        f"Suites: {suite}\n"
        "Components: stable\n"
        "Architectures: amd64\n"
        "Signed-By: /etc/apt/keyrings/docker.asc\n"
    )


def test_the_users_repository_overrides_reach_the_file(ansible: Any) -> None:
    variables = docker_engine_facts(
        ansible,
        "ubuntu-24.04",
        docker_engine_apt_distribution="debian",
        docker_engine_apt_suite="bookworm",
        docker_engine_apt_repository_url="http://mirror.example/docker",
        docker_engine_apt_channel="test",
    )
    copy = task(ansible, "roles/docker_engine/tasks/repository.yml", "Configure Docker's apt repository")
    text = ansible.value(copy["ansible.builtin.copy"]["content"], variables)
    assert "URIs: http://mirror.example/docker/debian\nSuites: bookworm\nComponents: test\n" in text


@pytest.mark.parametrize("name", list(DOCKER))
def test_docker_packages_the_role_installs(ansible: Any, name: str) -> None:
    facts, _ = recorded(name)
    role_vars = yaml.safe_load((ROOT / "roles/docker_engine/vars/main.yml").read_text())
    expression = role_vars["docker_engine_source_packages"]
    distro = ansible.value(expression, {"ansible_facts": facts, "docker_engine_source": "distro"})
    engine = ["docker.io", "docker-cli"] if name == "debian-13" else ["docker.io"]
    assert (distro["engine"], distro["compose"]) == (engine, DOCKER[name][2])
    assert distro["dockerd"] == "/usr/sbin/dockerd"
    official = ansible.value(expression, {"ansible_facts": facts, "docker_engine_source": "official"})
    assert (official["compose"], official["dockerd"]) == (["docker-compose-plugin"], "/usr/bin/dockerd")


@pytest.mark.parametrize(("architecture", "accepted"), [("x86_64", True), ("aarch64", True), ("i686", False)])
def test_the_architecture_check(ansible: Any, architecture: str, accepted: bool) -> None:
    check = task(ansible, "roles/docker_engine/tasks/preflight.yml", "Check the architecture has Docker packages")
    facts = {**recorded("ubuntu-24.04")[0], "architecture": architecture}
    condition = check["dockyard.platform.require"]["that"]
    assert ansible.value("{{ " + condition + " }}", {"ansible_facts": facts}) is accepted


# --- postgresql_replication -------------------------------------------------------

# release -> (the distribution's major version, the PGDG suite)
POSTGRESQL = {
    "ubuntu-22.04": ("14", "jammy-pgdg"),
    "ubuntu-24.04": ("16", "noble-pgdg"),
    "debian-12": ("15", "bookworm-pgdg"),
    "debian-13": ("17", "trixie-pgdg"),
    "linuxmint-22": ("", "noble-pgdg"),
}

PREFLIGHT = "roles/postgresql_replication/tasks/facts.yml"


def postgresql_facts(ansible: Any, name: str, **overrides: Any) -> dict[str, Any]:
    """The variables facts.yml (preflight.yml's first part) works out for the version and the paths on
    a host of this release (not the address, which needs an inventory)."""
    facts, _ = recorded(name)
    variables = {**defaults("postgresql_replication"), "ansible_facts": facts, **overrides}
    find = task(ansible, PREFLIGHT, "Find the distribution's PostgreSQL version")
    for key, expression in find["ansible.builtin.set_fact"].items():
        variables[key] = ansible.value(expression, variables)
    work_out = task(ansible, PREFLIGHT, "Work out version, paths and address")
    scope = {**variables, **work_out["vars"]}
    for key in ("major", "from_pgdg", "data_dir", "config_dir", "bin_dir", "service"):
        key = f"postgresql_replication_{key}"
        variables[key] = ansible.value(work_out["ansible.builtin.set_fact"][key], scope)
    return variables


def known_version_check(ansible: Any, variables: dict[str, Any]) -> bool:
    check = task(ansible, PREFLIGHT, "Refuse a distribution without a known PostgreSQL version")
    return ansible.value("{{ " + check["dockyard.platform.require"]["that"] + " }}", variables)


@pytest.mark.parametrize("name", [n for n, (major, _) in POSTGRESQL.items() if major])
def test_postgresql_of_the_distribution_in_the_role(ansible: Any, name: str) -> None:
    major = POSTGRESQL[name][0]
    variables = postgresql_facts(ansible, name)
    assert known_version_check(ansible, variables) is True
    worked_out = ("distro_version", "major", "from_pgdg", "data_dir", "config_dir", "bin_dir", "service")
    assert {key: variables[f"postgresql_replication_{key}"] for key in worked_out} == {
        "distro_version": major,
        "major": major,
        "from_pgdg": False,
        "data_dir": f"/var/lib/postgresql/{major}/main",
        "config_dir": f"/etc/postgresql/{major}/main",
        "bin_dir": f"/usr/lib/postgresql/{major}/bin",
        "service": f"postgresql@{major}-main.service",
    }


def test_another_version_comes_from_pgdg(ansible: Any) -> None:
    variables = postgresql_facts(ansible, "debian-12", postgresql_version="17")
    assert (variables["postgresql_replication_major"], variables["postgresql_replication_from_pgdg"]) == ("17", True)
    assert variables["postgresql_replication_data_dir"] == "/var/lib/postgresql/17/main"


def test_mint_is_refused_until_postgresql_version_is_set(ansible: Any) -> None:
    facts, _ = recorded("linuxmint-22")
    variables = {**defaults("postgresql_replication"), "ansible_facts": facts}
    find = task(ansible, PREFLIGHT, "Find the distribution's PostgreSQL version")
    variables["postgresql_replication_distro_version"] = ansible.value(
        find["ansible.builtin.set_fact"]["postgresql_replication_distro_version"], variables
    )
    assert known_version_check(ansible, variables) is False
    variables = postgresql_facts(ansible, "linuxmint-22", postgresql_version="16")
    assert known_version_check(ansible, variables) is True
    assert (variables["postgresql_replication_major"], variables["postgresql_replication_from_pgdg"]) == ("16", True)


@pytest.mark.parametrize("name", list(POSTGRESQL))
def test_the_pgdg_suite_the_role_configures(ansible: Any, name: str) -> None:
    facts, os_release = recorded(name)
    repository = task(
        ansible, "roles/postgresql_replication/tasks/repository.yml", "Configure the PostgreSQL apt repository"
    )
    variables = {"ansible_facts": facts, "postgresql_replication_os_release_file": slurped(os_release)}
    [suite] = repository["ansible.builtin.deb822_repository"]["suites"]
    assert ansible.value(suite, variables) == POSTGRESQL[name][1]


def test_a_cluster_of_bookworm_and_trixie_is_refused_before_any_change(ansible: Any) -> None:
    """Each host as preflight.yml left it: its release's version, no postgresql_version."""
    hostvars = {
        host: {**postgresql_facts(ansible, name), "ansible_facts": recorded(name)[0]}
        for host, name in [("db1", "debian-12"), ("db2", "debian-13")]
    }
    refuse = task(
        ansible,
        "roles/postgresql_replication/tasks/preflight.yml",
        "Refuse a cluster that would mix PostgreSQL major versions",
    )
    assert refuse["run_once"] is True
    variables = {
        **hostvars["db1"],
        "hostvars": hostvars,
        "ansible_play_hosts": ["db1", "db2"],
        "postgresql_replication_cluster": ["db1", "db2"],
        "postgresql_replication_primary": "db1",
        **refuse["vars"],
    }
    check = refuse["dockyard.platform.require"]
    assert ansible.value("{{ " + check["that"] + " }}", variables) is False
    message = ansible.value(check["fail_msg"], variables)
    assert message.startswith("The cluster would mix PostgreSQL major versions: db1 15 (Debian 12.11's), db2 17")
    assert 'postgresql_version: "15" (the primary db1\'s)' in message
