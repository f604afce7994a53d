"""What differs between the releases Dockyard runs on (Ubuntu 22.04 and 24.04,
Debian 12 and 13, and Ubuntu's derivatives for the apt repositories), decided
once from what a host says of itself: Ansible's facts and /etc/os-release.

Pure, so tests/unit/test_distributions.py checks every release against its
recorded facts (tests/unit/fixtures/releases/), including the releases no CI
host runs. The roles' tasks read the answers through the filters in
plugins/filter/; they decide nothing about releases themselves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ansible_collections.dockyard.platform.plugins.module_utils.postgresql_control import ClusterPaths


@dataclass(frozen=True)
class Release:
    """One host's release, as Ansible's facts and /etc/os-release describe it."""

    # Ansible's names: Ubuntu, Debian, Linux Mint.
    distribution: str
    # distribution_version: "24.04", "12.11" (Debian's point release).
    version: str
    major: str
    # distribution_release: noble, bookworm; a derivative's own (Mint 22: wilma).
    codename: str
    os_family: str
    # The kernel's name for it: x86_64, aarch64.
    architecture: str
    # UBUNTU_CODENAME of os-release: Ubuntu and its derivatives (Mint, Pop!_OS),
    # which name there the Ubuntu release whose archive they use.
    ubuntu_codename: str = ""
    # VERSION_CODENAME of os-release.
    version_codename: str = ""

    @property
    def apt_suite(self) -> str:
        """The Ubuntu or Debian release whose packages the host runs: what
        third-party apt repositories (Docker's, PostgreSQL's) name their suites
        after. '' when nothing says."""
        return self.ubuntu_codename or self.version_codename or self.codename

    @property
    def name(self) -> str:
        """For messages: "Ubuntu 24.04", "Debian 12.11"."""
        return f"{self.distribution} {self.version}".strip()


def os_release_fields(text: str) -> dict[str, str]:
    """KEY=value lines of an os-release file, quotes removed (os-release(5));
    the first of a key repeated wins, as the role's Jinja did."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or not key or key.startswith("#") or key in fields:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        fields[key] = value
    return fields


def release(facts: Mapping[str, Any], os_release_text: str = "") -> Release:
    """The Release of a host from its ansible_facts and, where the caller read
    it, the text of its /etc/os-release."""
    fields = os_release_fields(os_release_text or "")

    def fact(key: str) -> str:
        return str(facts.get(key) or "")

    return Release(
        distribution=fact("distribution"),
        version=fact("distribution_version"),
        major=fact("distribution_major_version"),
        codename=fact("distribution_release"),
        os_family=fact("os_family"),
        architecture=fact("architecture"),
        ubuntu_codename=fields.get("UBUNTU_CODENAME", ""),
        version_codename=fields.get("VERSION_CODENAME", ""),
    )


# The kernel's architecture names and Debian's, for the ones Docker publishes
# packages for.
APT_ARCHITECTURES = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "armv7l": "armhf",
    "ppc64le": "ppc64el",
    "s390x": "s390x",
}


def apt_architecture(facts: Mapping[str, Any]) -> str:
    """Debian's name for the host's architecture (amd64, arm64); '' for one
    Docker has no packages for."""
    return APT_ARCHITECTURES.get(str(facts.get("architecture") or ""), "")


# --- Docker ------------------------------------------------------------------

# The apt directories of download.docker.com/linux/.
DOCKER_APT_DISTRIBUTIONS = ("ubuntu", "debian", "raspbian")


def docker_repository(
    facts: Mapping[str, Any], os_release_text: str = "", distribution: str = "", suite: str = ""
) -> dict[str, str]:
    """Where in Docker's apt repository this release's packages are: the
    directory (ubuntu, debian) and the suite (jammy, noble, bookworm, trixie).
    An Ubuntu derivative (UBUNTU_CODENAME in os-release) uses Ubuntu's.
    `distribution` and `suite` are the user's overrides
    (docker_engine_apt_distribution, docker_engine_apt_suite), taken as given:
    a mirror may lay its directories out otherwise."""
    host = release(facts, os_release_text)
    derived = "ubuntu" if host.ubuntu_codename else host.distribution.lower()
    if not distribution and derived not in DOCKER_APT_DISTRIBUTIONS:
        raise ValueError(
            f"Docker's apt repository has no packages for {host.distribution or 'this distribution'}"
            f" (it has {', '.join(DOCKER_APT_DISTRIBUTIONS)}). Set docker_engine_apt_distribution to the"
            " distribution this release is built on (e.g. debian) and docker_engine_apt_suite to that"
            " release's codename (e.g. bookworm), or use docker_engine_source: distro."
        )
    chosen = {"distribution": distribution or derived, "suite": suite or host.apt_suite}
    if not chosen["suite"]:
        raise ValueError(
            f"{host.name or 'This host'}: found no release codename (UBUNTU_CODENAME or VERSION_CODENAME in"
            " /etc/os-release, or Ansible's distribution_release) to pick the suite of Docker's apt"
            " repository. Set docker_engine_apt_suite (e.g. bookworm)."
        )
    return chosen


def docker_sources(facts: Mapping[str, Any], url: str, distribution: str, suite: str, channel: str) -> str:
    """/etc/apt/sources.list.d/docker.sources, a plain deb822 file: what apt
    reads is exactly this."""
    architecture = apt_architecture(facts)
    if not architecture:
        raise ValueError(f"Docker publishes no packages for the architecture {facts.get('architecture')!r}.")
    return (
        "# Managed by Dockyard (docker_engine).\n"
        "Types: deb\n"
        f"URIs: {url}/{distribution}\n"
        f"Suites: {suite}\n"
        f"Components: {channel}\n"
        f"Architectures: {architecture}\n"
        "Signed-By: /etc/apt/keyrings/docker.asc\n"
    )


# The distributions' own compose packages, by release (distribution, major
# version); a release missing here gets none.
#   Ubuntu 24.04: docker-compose-v2, Compose v2 (the `docker compose` plugin).
#   Ubuntu 22.04, Debian 12: docker-compose, Compose v1 (1.29, Python).
#   Debian 13: docker-compose, which there is Compose v2 (Go): the file list of
#     trixie's docker-compose on packages.debian.org has both
#     /usr/libexec/docker/cli-plugins/docker-compose (the `docker compose`
#     plugin) and /usr/bin/docker-compose, and v2's command reference
#     (compose_alpha_*.md). Debian has no docker-compose-v2 package.
DISTRO_COMPOSE_PACKAGES: dict[tuple[str, str], list[str]] = {
    ("Ubuntu", "24"): ["docker-compose-v2"],
    ("Ubuntu", "22"): ["docker-compose"],
    ("Debian", "12"): ["docker-compose"],
    ("Debian", "13"): ["docker-compose"],
}

# Releases whose docker.io leaves the docker command to a package of its own,
# which docker.io only recommends (and a host without recommends lacks).
# Debian 13: docker-cli 26.1.5, from the same source (seen on a trixie host).
DISTRO_CLI_PACKAGES: dict[tuple[str, str], list[str]] = {
    ("Debian", "13"): ["docker-cli"],
}


def docker_packages(facts: Mapping[str, Any], source: str) -> dict[str, Any]:
    """The packages of an engine source on this release and where its dockerd
    is: `engine`, `buildx`, `compose` (what the role installs), `conflicting`
    (what it removes first), `pinned` (what docker_engine_version pins and
    holds) and `dockerd`."""
    if source == "official":
        return {
            "engine": ["docker-ce", "docker-ce-cli", "containerd.io"],
            "buildx": ["docker-buildx-plugin"],
            "compose": ["docker-compose-plugin"],
            # What Docker's install guide removes before installing docker-ce.
            "conflicting": [
                "docker.io",
                # Debian 13's docker command, which docker-ce-cli's would overwrite.
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
    if source == "distro":
        host = release(facts)
        return {
            "engine": ["docker.io", *DISTRO_CLI_PACKAGES.get((host.distribution, host.major), [])],
            "buildx": [],
            "compose": list(DISTRO_COMPOSE_PACKAGES.get((host.distribution, host.major), [])),
            "conflicting": [
                "docker-ce",
                "docker-ce-cli",
                "containerd.io",
                "docker-buildx-plugin",
                "docker-compose-plugin",
            ],
            "pinned": ["docker.io"],
            # Debian's and Ubuntu's docker.io put it in sbin, docker-ce in bin.
            "dockerd": "/usr/sbin/dockerd",
        }
    raise ValueError(f"docker_engine_source is {source!r}; it must be official or distro.")


# --- PostgreSQL --------------------------------------------------------------

# The PostgreSQL major version each release ships, by Ansible's distribution
# and distribution_version, else distribution_major_version (Debian's
# distribution_version is its point release, 12.11).
POSTGRESQL_MAJORS: dict[str, dict[str, str]] = {
    "Ubuntu": {"22.04": "14", "24.04": "16"},
    "Debian": {"12": "15", "13": "17"},
}


def postgresql_distribution_major(facts: Mapping[str, Any]) -> str:
    """The PostgreSQL major version the host's release ships; '' for a
    release Dockyard does not know (postgresql_version must then say)."""
    host = release(facts)
    known = POSTGRESQL_MAJORS.get(host.distribution, {})
    return known.get(host.version) or known.get(host.major) or ""


def postgresql_paths(major: Any, cluster: str) -> dict[str, str]:
    """Where a cluster of postgresql-common (Debian's and Ubuntu's layout)
    keeps its data, configuration, binaries and service."""
    major = str(major)
    if not major.isdigit():
        raise ValueError(f'postgresql_version is "{major}"; use a major version number such as "16".')
    paths = ClusterPaths(major, cluster)
    return {
        "data_dir": paths.data_dir,
        "config_dir": paths.config_dir,
        "bin_dir": paths.bin_dir,
        "service": paths.service,
    }


def pgdg_suite(facts: Mapping[str, Any], os_release_text: str = "") -> str:
    """The suite of the PostgreSQL apt repository (apt.postgresql.org) for
    this release: <codename>-pgdg, with the Ubuntu codename of a derivative
    (Mint 22: noble-pgdg; the repository has no wilma-pgdg)."""
    host = release(facts, os_release_text)
    if not host.apt_suite:
        raise ValueError(
            f"{host.name or 'This host'}: found no release codename (UBUNTU_CODENAME or VERSION_CODENAME in"
            " /etc/os-release, or Ansible's distribution_release) to pick the PostgreSQL apt repository's"
            " suite. Leave postgresql_version empty to use the distribution's PostgreSQL."
        )
    return f"{host.apt_suite}-pgdg"
