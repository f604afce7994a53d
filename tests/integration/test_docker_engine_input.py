"""Bad docker_engine input is refused before any host changes.

Each case runs playbooks/docker.yml for real against a fresh systemd host from
the lab image, then checks the run failed, the message names the variable, and
the host was not touched (no /etc/docker, no engine, no group change).
"""

from __future__ import annotations

import pytest

from support import Host, recap_changed, run_playbook

BAD_INPUTS = {
    "unknown source": (
        {"docker_engine_source": "snap"},
        ["docker_engine_source", "official", "distro"],
    ),
    "users not a list": (
        {"docker_engine_users": "alice"},
        ["docker_engine_users must be a YAML list"],
    ),
    "users a mapping": (
        {"docker_engine_users": {"alice": True}},
        ["docker_engine_users"],
    ),
    "daemon options not a mapping": (
        {"docker_engine_daemon_options": ["log-driver", "local"]},
        ["docker_engine_daemon_options"],
    ),
    "log-opts value not a string": (
        {"docker_engine_daemon_options": {"log-opts": {"max-file": 3}}},
        ["docker_engine_daemon_options 'log-opts'", "max-file"],
    ),
    "unknown daemon key": (
        {"docker_engine_daemon_options": {"log-levle": "warn"}},
        ["docker_engine_daemon_options has keys dockerd does", "log-levle"],
    ),
    "malformed address pool": (
        {"docker_engine_daemon_options": {"default-address-pools": [{"base": "10.0.0.0"}]}},
        ["'default-address-pools'", "10.0.0.0"],
    ),
    "hosts not addresses": (
        {"docker_engine_daemon_options": {"hosts": "0.0.0.0:2375"}},
        ["docker_engine_daemon_options 'hosts'"],
    ),
    "allowed sources not networks": (
        {"docker_engine_published_ports_allowed_sources": ["everyone"]},
        ["docker_engine_published_ports_allowed_sources", "everyone"],
    ),
    "a TCP listener without TLS": (
        {"docker_engine_daemon_options": {"hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"]}},
        ["tcp://0.0.0.0:2375 without TLS", "gets root on this host", "docker_engine_allow_insecure_tcp"],
    ),
    "a loopback TCP listener without TLS": (
        {"docker_engine_daemon_options": {"hosts": ["tcp://127.0.0.1:2375"]}},
        ["tcp://127.0.0.1:2375 without TLS", "every local user"],
    ),
    "allowed sources that are no networks": (
        {"docker_engine_published_ports_allowed_sources": ["999.1.1.1/99"]},
        ["docker_engine_published_ports_allowed_sources", "999.1.1.1/99"],
    ),
    "version not a version": (
        {"docker_engine_version": "latest; rm -rf /"},
        ["docker_engine_version"],
    ),
}


def assert_untouched(host: Host) -> None:
    assert not host.exists("/etc/docker"), "the failed run created /etc/docker"
    assert not host.package_installed("docker.io")
    assert not host.package_installed("docker-ce")
    assert "docker" not in host.run("id", "-nG", "alice").stdout


@pytest.fixture(scope="module")
def host_with_user(fresh_host: Host) -> Host:
    fresh_host.run("useradd", "-m", "alice", check=True)
    return fresh_host


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_bad_input_is_refused_before_any_change(host_with_user: Host, case: str) -> None:
    extra_vars, expected = BAD_INPUTS[case]
    run = run_playbook("docker.yml", host_with_user.inventory, extra_vars)
    assert run.rc != 0, run.output
    assert recap_changed(run.output) == 0, run.output
    for fragment in expected:
        assert fragment in run.output, f"{fragment!r} not in:\n{run.output}"
    # The host is named, so an admin with fifty hosts knows where to look.
    assert "testhost" in run.output
    assert_untouched(host_with_user)


def test_missing_user_is_refused_before_any_change(host_with_user: Host) -> None:
    run = run_playbook("docker.yml", host_with_user.inventory, {"docker_engine_users": ["bob"]})
    assert run.rc != 0
    assert "docker_engine_users names users that do not exist" in run.output
    assert "bob" in run.output
    assert_untouched(host_with_user)
