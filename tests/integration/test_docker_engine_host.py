"""docker_engine on real throwaway hosts, for what Molecule's distro scenario
cannot reach: Docker's official repository (not reachable from CI, so checked up
to the apt configuration it writes), check mode on a fresh host, and hosts
without python3."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import Host, recap_changed, run_playbook, systemd_host

OS_RELEASES = {
    "ubuntu-22.04": (
        'NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=jammy\nUBUNTU_CODENAME=jammy\n',
        "ubuntu",
        "jammy",
    ),
    "ubuntu-24.04": (
        'NAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=noble\nUBUNTU_CODENAME=noble\n',
        "ubuntu",
        "noble",
    ),
    "linuxmint-22": (
        'NAME="Linux Mint"\nVERSION_ID="22"\nID=linuxmint\nID_LIKE="ubuntu debian"\n'
        "VERSION_CODENAME=wilma\nUBUNTU_CODENAME=noble\n",
        "ubuntu",
        "noble",
    ),
    "debian-12": (
        'NAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\nVERSION_CODENAME=bookworm\n',
        "debian",
        "bookworm",
    ),
}

# Stands in for Docker's key: the role fetches whatever the URL serves.
TEST_KEY = "-----BEGIN PGP PUBLIC KEY BLOCK-----\ntest key\n-----END PGP PUBLIC KEY BLOCK-----\n"


@pytest.fixture(scope="module")
def repo_host(fresh_host: Host) -> Host:
    fresh_host.write("/root/test-docker.asc", TEST_KEY)
    return fresh_host


@pytest.mark.parametrize("release", list(OS_RELEASES), ids=list(OS_RELEASES))
def test_official_repository_configuration(repo_host: Host, release: str) -> None:
    os_release, distribution, suite = OS_RELEASES[release]
    repo_host.write("/etc/os-release", os_release)
    repo_host.run("rm", "-f", "/etc/apt/sources.list.d/docker.sources", "/etc/apt/keyrings/docker.asc")
    run = run_playbook(
        "docker.yml",
        repo_host.inventory,
        {
            "docker_engine_source": "official",
            "docker_engine_apt_key_url": "file:///root/test-docker.asc",
        },
        "--tags",
        "docker_engine_repository",
    )
    assert run.rc == 0, run.output
    arch = repo_host.run("dpkg", "--print-architecture", check=True).stdout.strip()
    sources = repo_host.read("/etc/apt/sources.list.d/docker.sources")
    assert "Types: deb\n" in sources
    assert f"URIs: https://download.docker.com/linux/{distribution}\n" in sources
    assert f"Suites: {suite}\n" in sources
    assert "Components: stable\n" in sources
    assert f"Architectures: {arch}\n" in sources
    assert "Signed-By: /etc/apt/keyrings/docker.asc\n" in sources
    assert repo_host.read("/etc/apt/keyrings/docker.asc") == TEST_KEY
    mode = repo_host.run("stat", "-c", "%a", "/etc/apt/keyrings/docker.asc", check=True).stdout
    assert mode.strip() == "644"


@pytest.mark.parametrize("source", ["official", "distro"])
def test_check_mode_on_a_fresh_host(tmp_path: Path, source: str) -> None:
    with systemd_host(tmp_path) as host:
        host.write("/root/test-docker.asc", TEST_KEY)
        run = run_playbook(
            "docker.yml",
            host.inventory,
            {
                "docker_engine_source": source,
                "docker_engine_apt_key_url": "file:///root/test-docker.asc",
            },
            "--check",
        )
        assert run.rc == 0, run.output
        assert recap_changed(run.output) > 0  # it reports what it would do
        assert not host.exists("/etc/docker")
        assert not host.exists("/etc/apt/sources.list.d/docker.sources")
        assert not host.package_installed("docker.io")


def test_host_without_python_gets_it_first(tmp_path: Path) -> None:
    with systemd_host(tmp_path) as host:
        removal = host.run(
            "sh",
            "-c",
            "DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq python3-minimal python3.11-minimal"
            " >/dev/null 2>&1; command -v python3 || echo gone",
        )
        assert removal.stdout.strip() == "gone"
        run = run_playbook(
            "docker.yml",
            host.inventory,
            {"docker_engine_source": "distro"},
            "--tags",
            "docker_engine_validate",
        )
        assert run.rc == 0, run.output
        assert host.run("python3", "--version").returncode == 0
        assert "Install python3 where it is missing" in run.output
