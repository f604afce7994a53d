"""What differs between releases, for each release Dockyard supports, from the
facts recorded on it (tests/unit/fixtures/releases/: ansible_facts and the
release's /etc/os-release): Docker's repository and its docker.sources, the
distribution's engine packages, PostgreSQL's major version, paths and PGDG
suite. Only Debian hosts run in CI; these rows are how Ubuntu is checked.
Every expected value is written out here, not worked out by the code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.dockyard.platform.plugins.module_utils import distributions, postgresql_rules

RELEASES = Path(__file__).resolve().parent / "fixtures" / "releases"

URL = "https://download.docker.com/linux"


def recorded(name: str) -> tuple[dict[str, Any], str]:
    """A release's recorded ansible_facts and /etc/os-release."""
    data = json.loads((RELEASES / f"{name}.json").read_text())
    return data["ansible_facts"], data["os_release"]


# Releases a user may run, and Ubuntu's derivative Mint 22 (noble).
NAMES = ["ubuntu-22.04", "ubuntu-24.04", "debian-12", "debian-13", "linuxmint-22"]

# Releases Dockyard does not know: the facts Ansible reports on them.
DEBIAN_11 = {
    "distribution": "Debian",
    "distribution_version": "11.11",
    "distribution_major_version": "11",
    "distribution_release": "bullseye",
    "os_family": "Debian",
    "architecture": "x86_64",
}
UBUNTU_20_04 = {
    "distribution": "Ubuntu",
    "distribution_version": "20.04",
    "distribution_major_version": "20",
    "distribution_release": "focal",
    "os_family": "Debian",
    "architecture": "x86_64",
}


def test_every_recorded_release_has_its_rows() -> None:
    assert sorted(p.stem for p in RELEASES.glob("*.json")) == sorted(NAMES)


@pytest.mark.parametrize(
    ("name", "os_release_keys"),
    [
        ("ubuntu-22.04", {"VERSION_CODENAME": "jammy", "UBUNTU_CODENAME": "jammy", "VERSION_ID": "22.04"}),
        ("ubuntu-24.04", {"VERSION_CODENAME": "noble", "UBUNTU_CODENAME": "noble", "VERSION_ID": "24.04"}),
        ("debian-12", {"VERSION_CODENAME": "bookworm", "VERSION_ID": "12", "NAME": "Debian GNU/Linux"}),
        ("debian-13", {"VERSION_CODENAME": "trixie", "VERSION_ID": "13", "DEBIAN_VERSION_FULL": "13.1"}),
        ("linuxmint-22", {"VERSION_CODENAME": "wilma", "UBUNTU_CODENAME": "noble", "ID_LIKE": "ubuntu debian"}),
    ],
)
def test_os_release_is_read_without_its_quotes(name: str, os_release_keys: dict[str, str]) -> None:
    _, os_release = recorded(name)
    fields = distributions.os_release_fields(os_release)
    assert {key: fields.get(key) for key in os_release_keys} == os_release_keys


# --- Docker's repository --------------------------------------------------------

# release -> (directory of download.docker.com/linux, suite)
DOCKER_REPOSITORY = {
    "ubuntu-22.04": ("ubuntu", "jammy"),
    "ubuntu-24.04": ("ubuntu", "noble"),
    "debian-12": ("debian", "bookworm"),
    "debian-13": ("debian", "trixie"),
    # Mint's own codename (wilma) is no suite of Docker's: Ubuntu's is.
    "linuxmint-22": ("ubuntu", "noble"),
}

# docker.sources as the role writes it; filled in from the table above.
SOURCES = """\
# Managed by Dockyard (docker_engine).
Types: deb
URIs: https://download.docker.com/linux/{directory}
Suites: {suite}
Components: stable
Architectures: {architecture}
Signed-By: /etc/apt/keyrings/docker.asc
"""


def sources_on(name: str, architecture: str) -> str:
    facts, os_release = recorded(name)
    facts = {**facts, "architecture": architecture}
    repository = distributions.docker_repository(facts, os_release)
    return distributions.docker_sources(facts, URL, repository["distribution"], repository["suite"], "stable")


@pytest.mark.parametrize("name", NAMES)
def test_docker_repository(name: str) -> None:
    facts, os_release = recorded(name)
    directory, suite = DOCKER_REPOSITORY[name]
    assert distributions.docker_repository(facts, os_release) == {"distribution": directory, "suite": suite}


@pytest.mark.parametrize(("architecture", "apt_name"), [("x86_64", "amd64"), ("aarch64", "arm64")])
@pytest.mark.parametrize("name", NAMES)
def test_docker_sources(name: str, architecture: str, apt_name: str) -> None:
    directory, suite = DOCKER_REPOSITORY[name]
    expected = SOURCES.format(directory=directory, suite=suite, architecture=apt_name)
    assert sources_on(name, architecture) == expected


def test_docker_sources_of_ubuntu_24_04_on_arm_byte_for_byte() -> None:
    assert sources_on("ubuntu-24.04", "aarch64") == (
        "# Managed by Dockyard (docker_engine).\n"
        "Types: deb\n"
        "URIs: https://download.docker.com/linux/ubuntu\n"
        "Suites: noble\n"
        "Components: stable\n"
        "Architectures: arm64\n"
        "Signed-By: /etc/apt/keyrings/docker.asc\n"
    )


def test_a_mirror_and_the_test_channel_go_into_the_file() -> None:
    facts, _ = recorded("debian-13")
    text = distributions.docker_sources(facts, "http://mirror.example/docker", "debian", "trixie", "test")
    assert "URIs: http://mirror.example/docker/debian\n" in text
    assert "Components: test\n" in text


# (release, docker_engine_apt_distribution, docker_engine_apt_suite) -> (directory, suite)
OVERRIDES = {
    "the suite alone": ("ubuntu-24.04", "", "jammy", ("ubuntu", "jammy")),
    "the directory alone": ("linuxmint-22", "debian", "", ("debian", "noble")),
    "both, taken as given": ("debian-12", "raspbian", "bookworm-mirror", ("raspbian", "bookworm-mirror")),
}


@pytest.mark.parametrize("case", OVERRIDES.values(), ids=list(OVERRIDES))
def test_the_users_overrides_win(case: tuple) -> None:
    name, distribution, suite, (directory, chosen) = case
    facts, os_release = recorded(name)
    repository = distributions.docker_repository(facts, os_release, distribution, suite)
    assert repository == {"distribution": directory, "suite": chosen}


# Debian derivatives without UBUNTU_CODENAME: Docker has no directory of theirs.
KALI = (
    {
        "distribution": "Kali",
        "distribution_version": "2024.4",
        "distribution_major_version": "2024",
        "distribution_release": "kali-rolling",
        "os_family": "Debian",
        "architecture": "x86_64",
    },
    'PRETTY_NAME="Kali GNU/Linux Rolling"\nNAME="Kali GNU/Linux"\nVERSION_ID="2024.4"\nVERSION="2024.4"\n'
    "VERSION_CODENAME=kali-rolling\nID=kali\nID_LIKE=debian\n",
)
LMDE_6 = (
    {
        "distribution": "Linux Mint Debian Edition",
        "distribution_version": "6",
        "distribution_major_version": "6",
        "distribution_release": "faye",
        "os_family": "Debian",
        "architecture": "x86_64",
    },
    'PRETTY_NAME="LMDE 6 (faye)"\nNAME="LMDE"\nVERSION_ID="6"\nVERSION="6 (faye)"\nVERSION_CODENAME=faye\n'
    "ID=linuxmint\nID_LIKE=debian\nDEBIAN_CODENAME=bookworm\n",
)


@pytest.mark.parametrize(("facts", "os_release"), [KALI, LMDE_6], ids=["Kali", "LMDE 6"])
def test_a_distribution_docker_does_not_package_is_refused(facts: dict, os_release: str) -> None:
    with pytest.raises(ValueError, match="Docker's apt repository has no packages for") as refusal:
        distributions.docker_repository(facts, os_release)
    assert "docker_engine_apt_distribution" in str(refusal.value)
    assert "docker_engine_source: distro" in str(refusal.value)


def test_a_derivative_is_accepted_once_the_user_names_the_repository() -> None:
    facts, os_release = LMDE_6
    assert distributions.docker_repository(facts, os_release, "debian", "bookworm") == {
        "distribution": "debian",
        "suite": "bookworm",
    }


def test_a_release_without_a_codename_is_refused() -> None:
    facts = {"distribution": "Debian", "distribution_version": "14", "distribution_release": ""}
    with pytest.raises(ValueError, match="docker_engine_apt_suite"):
        distributions.docker_repository(facts, 'NAME="Debian GNU/Linux"\nID=debian\n')


@pytest.mark.parametrize(
    ("architecture", "apt_name"),
    [("x86_64", "amd64"), ("aarch64", "arm64"), ("armv7l", "armhf"), ("ppc64le", "ppc64el"), ("i686", "")],
)
def test_apt_architecture(architecture: str, apt_name: str) -> None:
    assert distributions.apt_architecture({"architecture": architecture}) == apt_name


def test_no_sources_for_an_architecture_docker_does_not_build() -> None:
    with pytest.raises(ValueError, match="i686"):
        distributions.docker_sources({"architecture": "i686"}, URL, "debian", "bookworm", "stable")


# --- The engine's packages ------------------------------------------------------

OFFICIAL_PACKAGES = {
    "engine": ["docker-ce", "docker-ce-cli", "containerd.io"],
    "buildx": ["docker-buildx-plugin"],
    "compose": ["docker-compose-plugin"],
    "conflicting": [
        "docker.io",
        "docker-cli",
        "docker-doc",
        "docker-compose",
        "docker-compose-v2",
        "podman-docker",
        "containerd",
        "runc",
    ],
    "pinned": ["docker-ce", "docker-ce-cli"],
    "dockerd": "/usr/bin/dockerd",
}

# release -> the distribution's compose package (distro source)
DISTRO_COMPOSE = {
    "ubuntu-22.04": ["docker-compose"],
    "ubuntu-24.04": ["docker-compose-v2"],
    "debian-12": ["docker-compose"],
    "debian-13": ["docker-compose"],
    # Known by Ubuntu's release only, which the facts of a derivative do not name.
    "linuxmint-22": [],
}


# release -> the engine's packages (distro source): trixie's docker command is
# docker-cli, which docker.io only recommends.
DISTRO_ENGINE = {
    "ubuntu-22.04": ["docker.io"],
    "ubuntu-24.04": ["docker.io"],
    "debian-12": ["docker.io"],
    "debian-13": ["docker.io", "docker-cli"],
    "linuxmint-22": ["docker.io"],
}


@pytest.mark.parametrize("name", NAMES)
def test_docker_packages_of_the_official_source_are_the_same_everywhere(name: str) -> None:
    facts, _ = recorded(name)
    assert distributions.docker_packages(facts, "official") == OFFICIAL_PACKAGES


@pytest.mark.parametrize("name", NAMES)
def test_docker_packages_of_the_distribution(name: str) -> None:
    facts, _ = recorded(name)
    assert distributions.docker_packages(facts, "distro") == {
        "engine": DISTRO_ENGINE[name],
        "buildx": [],
        "compose": DISTRO_COMPOSE[name],
        "conflicting": ["docker-ce", "docker-ce-cli", "containerd.io", "docker-buildx-plugin", "docker-compose-plugin"],
        "pinned": ["docker.io"],
        "dockerd": "/usr/sbin/dockerd",
    }


def test_an_unknown_release_gets_the_engine_without_compose() -> None:
    assert distributions.docker_packages(DEBIAN_11, "distro")["compose"] == []


def test_an_unknown_source_is_refused() -> None:
    with pytest.raises(ValueError, match="official or distro"):
        distributions.docker_packages(DEBIAN_11, "snap")


# --- PostgreSQL -----------------------------------------------------------------

# release -> (the distribution's major, data directory, configuration, binaries, service, PGDG suite)
POSTGRESQL = {
    "ubuntu-22.04": (
        "14",
        "/var/lib/postgresql/14/main",
        "/etc/postgresql/14/main",
        "/usr/lib/postgresql/14/bin",
        "postgresql@14-main.service",
        "jammy-pgdg",
    ),
    "ubuntu-24.04": (
        "16",
        "/var/lib/postgresql/16/main",
        "/etc/postgresql/16/main",
        "/usr/lib/postgresql/16/bin",
        "postgresql@16-main.service",
        "noble-pgdg",
    ),
    "debian-12": (
        "15",
        "/var/lib/postgresql/15/main",
        "/etc/postgresql/15/main",
        "/usr/lib/postgresql/15/bin",
        "postgresql@15-main.service",
        "bookworm-pgdg",
    ),
    "debian-13": (
        "17",
        "/var/lib/postgresql/17/main",
        "/etc/postgresql/17/main",
        "/usr/lib/postgresql/17/bin",
        "postgresql@17-main.service",
        "trixie-pgdg",
    ),
}


@pytest.mark.parametrize("name", list(POSTGRESQL))
def test_postgresql_of_the_distribution(name: str) -> None:
    facts, os_release = recorded(name)
    major, data_dir, config_dir, bin_dir, service, suite = POSTGRESQL[name]
    found = distributions.postgresql_distribution_major(facts)
    assert found == major
    assert distributions.postgresql_paths(found, "main") == {
        "data_dir": data_dir,
        "config_dir": config_dir,
        "bin_dir": bin_dir,
        "service": service,
    }
    assert distributions.pgdg_suite(facts, os_release) == suite


@pytest.mark.parametrize("name", list(POSTGRESQL))
def test_the_pgdg_suite_of_ubuntu_and_debian_needs_only_the_facts(name: str) -> None:
    facts, _ = recorded(name)
    assert distributions.pgdg_suite(facts) == POSTGRESQL[name][5]


def test_mint_needs_postgresql_version_and_gets_ubuntus_pgdg_suite() -> None:
    facts, os_release = recorded("linuxmint-22")
    assert distributions.postgresql_distribution_major(facts) == ""
    # apt.postgresql.org has noble-pgdg, no wilma-pgdg.
    assert distributions.pgdg_suite(facts, os_release) == "noble-pgdg"


@pytest.mark.parametrize(("facts", "suite"), [(DEBIAN_11, "bullseye-pgdg"), (UBUNTU_20_04, "focal-pgdg")])
def test_an_unknown_release_has_no_postgresql_of_its_own(facts: dict, suite: str) -> None:
    # '' makes preflight.yml refuse the host unless postgresql_version is set,
    # which then comes from the PostgreSQL apt repository.
    assert distributions.postgresql_distribution_major(facts) == ""
    assert distributions.pgdg_suite(facts) == suite


def test_paths_of_another_cluster_and_a_version_given_as_a_number() -> None:
    assert distributions.postgresql_paths(16, "reports") == {
        "data_dir": "/var/lib/postgresql/16/reports",
        "config_dir": "/etc/postgresql/16/reports",
        "bin_dir": "/usr/lib/postgresql/16/bin",
        "service": "postgresql@16-reports.service",
    }


@pytest.mark.parametrize("major", ["", "16.2", "latest"])
def test_paths_need_a_major_version(major: str) -> None:
    with pytest.raises(ValueError, match="postgresql_version"):
        distributions.postgresql_paths(major, "main")


def test_no_pgdg_suite_without_a_codename() -> None:
    with pytest.raises(ValueError, match="postgresql_version empty"):
        distributions.pgdg_suite({"distribution": "Debian", "distribution_release": ""}, "ID=debian\n")


# --- One major version per cluster ----------------------------------------------


def cluster_host(name: str, major: str, from_pgdg: bool = False) -> dict[str, Any]:
    """A cluster host's hostvars once preflight.yml worked out its version."""
    facts, _ = recorded(name)
    return {
        "ansible_facts": facts,
        "postgresql_replication_major": major,
        "postgresql_replication_from_pgdg": from_pgdg,
    }


CLUSTER = ["db1", "db2", "db3"]

BOOKWORM_PRIMARY_TRIXIE_REPLICAS = (
    "The cluster would mix PostgreSQL major versions: db1 15 (Debian 12.11's), db2 17 (Debian 13.1's),"
    " db3 17 (Debian 13.1's). Streaming replication needs the same major version on every host. Set"
    ' postgresql_version the same for the whole cluster, e.g. postgresql_version: "15" (the primary db1\'s)'
    " in group_vars/postgresql.yml: the hosts whose distribution ships another major version install it"
    " from the PostgreSQL apt repository. Nothing was changed."
)

# name: (hostvars, hosts in the play, what the refusal says; nothing: no refusal)
MIXED = {
    "one release": (
        {"db1": cluster_host("debian-12", "15"), "db2": cluster_host("debian-12", "15")},
        ["db1", "db2"],
        (),
    ),
    "Debian 12 and 13 with postgresql_version set": (
        {
            "db1": cluster_host("debian-12", "15"),
            "db2": cluster_host("debian-13", "15", from_pgdg=True),
            "db3": cluster_host("debian-13", "15", from_pgdg=True),
        },
        CLUSTER,
        (),
    ),
    "a host outside the play (--limit) is not compared": (
        {
            "db1": cluster_host("debian-12", "15"),
            "db2": cluster_host("debian-12", "15"),
            "db3": cluster_host("debian-13", "17"),
        },
        ["db1", "db2"],
        (),
    ),
    "a host that failed before its version was known is not compared": (
        {"db1": cluster_host("debian-12", "15"), "db2": {"ansible_facts": recorded("debian-13")[0]}},
        ["db1", "db2"],
        (),
    ),
    "Ubuntu 22.04 and 24.04, one postgresql_version on a replica": (
        {"db1": cluster_host("ubuntu-22.04", "14"), "db2": cluster_host("ubuntu-24.04", "16", from_pgdg=True)},
        ["db1", "db2"],
        (
            "versions: db1 14 (Ubuntu 22.04's), db2 16 (postgresql_version).",
            'e.g. postgresql_version: "14" (the primary db1\'s)',
        ),
    ),
    "the primary outside the play: the lowest version is proposed": (
        {"db1": {}, "db2": cluster_host("debian-13", "17"), "db3": cluster_host("debian-12", "15")},
        ["db2", "db3"],
        ("versions: db2 17 (Debian 13.1's), db3 15 (Debian 12.11's).", 'e.g. postgresql_version: "15" in group_vars'),
    ),
}


@pytest.mark.parametrize("case", MIXED.values(), ids=list(MIXED))
def test_mixed_majors(case: tuple) -> None:
    hostvars, play_hosts, fragments = case
    refusal = postgresql_rules.mixed_majors_of(hostvars, CLUSTER, play_hosts, "db1")
    if fragments:
        assert [f for f in fragments if f not in refusal] == [], refusal
        assert refusal.endswith("Nothing was changed.")
    else:
        assert refusal == ""


def test_a_bookworm_primary_with_trixie_replicas_is_refused_by_name() -> None:
    hostvars = {
        "db1": cluster_host("debian-12", "15"),
        "db2": cluster_host("debian-13", "17"),
        "db3": cluster_host("debian-13", "17"),
    }
    assert postgresql_rules.mixed_majors_of(hostvars, CLUSTER, CLUSTER, "db1") == BOOKWORM_PRIMARY_TRIXIE_REPLICAS
