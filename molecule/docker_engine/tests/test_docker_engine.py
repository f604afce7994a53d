"""Testinfra checks of the docker_engine scenario (real engine in a systemd host)."""

from __future__ import annotations

import json
import os
import socket

import pytest

from support import http_get_on, wait_for

TEST_PORT = 8081
# The docker.io version the scenario pins (molecule.yml): bookworm's unless
# scripts/test.sh runs it on another release.
PINNED = os.environ.get("DOCKYARD_TEST_DOCKER_VERSION", "20.10.24")


def test_engine_runs_and_is_enabled(host):
    docker = host.service("docker")
    assert docker.is_running
    assert docker.is_enabled


def test_packages_from_the_chosen_source(host):
    assert host.package("docker.io").is_installed
    # community.docker's modules need requests, never pip or the SDK.
    assert host.package("python3-requests").is_installed
    assert not host.file("/etc/apt/sources.list.d/docker.sources").exists


def test_daemon_json_holds_merged_options(host):
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    # From the side effect's last run, merged over the defaults.
    assert config["log-opts"] == {"max-size": "30m", "max-file": "3"}
    assert config["log-driver"] == "json-file"
    assert config["live-restore"] is True
    assert config["labels"] == ["dockyard.test=reloaded"]
    assert config["default-address-pools"] == [{"base": "172.16.0.0/12", "size": 24}]
    assert config["hosts"] == ["unix:///var/run/docker.sock", "tcp://127.0.0.1:2375"]


def test_hosts_in_daemon_json_replace_the_units_socket_flag(host):
    dropin = host.file("/etc/systemd/system/docker.service.d/dockyard-hosts.conf")
    assert dropin.exists
    assert "ExecStart=\n" in dropin.content_string
    assert "-H fd://" not in dropin.content_string
    exec_start = host.check_output("systemctl show --property ExecStart docker")
    assert "-H fd://" not in exec_start
    # Both listening addresses of daemon.json answer.
    assert http_get_on(host, "http://127.0.0.1:2375/_ping", 3).stdout == "OK"
    assert host.run("docker version --format '{{.Server.Version}}'").rc == 0


def test_dockerd_runs_with_its_environment(host):
    pid = host.check_output("systemctl show --property MainPID --value docker")
    environment = host.check_output(f"tr '\\0' '\\n' < /proc/{pid}/environ").splitlines()
    assert "NO_PROXY=localhost,127.0.0.1" in environment
    assert 'DOCKYARD_TEST_NOTE=50% "quoted" \\ done' in environment
    # The host is a container whose /proc/sys is read-only: the role adds what
    # Docker 26+ needs there to start containers at all.
    assert "DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE=1" in environment


def test_running_daemon_uses_the_config(host):
    info = json.loads(host.check_output("docker info --format '{{json .}}'"))
    assert info["LoggingDriver"] == "json-file"
    assert info["LiveRestoreEnabled"] is True
    assert "dockyard.test=reloaded" in info["Labels"]
    assert info["Driver"] == "overlay2"


def test_listed_user_talks_to_the_daemon(host):
    assert "docker" in host.user("alice").groups
    result = host.run("sudo -u alice docker version --format '{{.Server.Version}}'")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip().startswith(PINNED.rsplit(".", 1)[0])


@pytest.fixture(scope="module")
def observations(host):
    return json.loads(host.file("/var/tmp/dockyard-side-effect.json").content_string)


def test_unchanged_run_does_not_restart(observations):
    assert observations["pid_before"] == observations["pid_unchanged"] != "0"


def test_reloadable_change_reloads_without_restart(observations):
    assert observations["pid_reloaded"] == observations["pid_unchanged"]


def test_daemon_json_left_unapplied_by_a_cut_short_run_is_applied(observations):
    # The re-run found daemon.json as it wanted it (no write) and still made
    # the daemon load it: a reload, as for any label change.
    assert observations["cut_short_rewritten"] is False
    assert "dockyard.test=cut-short" in observations["cut_short_labels"]
    assert observations["pid_cut_short"] == observations["pid_reloaded"]


def test_restart_only_change_restarts(observations):
    assert observations["pid_restarted"] not in ("0", observations["pid_reloaded"])


def test_pin_holds_and_unpin_releases(observations, host):
    assert observations["hold_pinned"] == "hold"
    assert observations["hold_unpinned"] == "install"
    assert host.package("docker.io").version.startswith(PINNED)


@pytest.fixture(scope="module")
def published_container(host):
    """A busybox web server published with -p 8081:80 inside the engine."""
    script = (
        "set -e; d=$(mktemp -d); mkdir -p $d/bin $d/www; cp /bin/busybox $d/bin/;"
        " echo dockyard-ok > $d/www/index.html;"
        " tar -C $d -c . | docker import"
        ' -c \'CMD ["/bin/busybox", "httpd", "-f", "-p", "80", "-h", "/www"]\''
        " - dockyard-test/busybox:latest >/dev/null; rm -rf $d;"
        " docker rm -f dockyard-web >/dev/null 2>&1 || true;"
        f" docker run -d --name dockyard-web -p {TEST_PORT}:80 dockyard-test/busybox:latest"
    )
    host.run_test("bash -c %s", script)
    yield "dockyard-web"
    host.run("docker rm -f dockyard-web")


def test_published_port_answers_on_the_host(host, published_container):
    def answers():
        result = http_get_on(host, f"http://127.0.0.1:{TEST_PORT}/", 2)
        return result.rc == 0 and "dockyard-ok" in result.stdout

    assert wait_for(answers)
    assert host.socket(f"tcp://0.0.0.0:{TEST_PORT}").is_listening


def _host_address(host):
    return next(a for a in host.interface("eth0").addresses if ":" not in a)


def _connects(address, port, timeout=2.0):
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def test_published_ports_are_closed_to_other_sources(host, published_container):
    # From this machine (the Molecule host's gateway), which is not an allowed
    # source: the DOCKER-USER rules drop the connection.
    assert host.service("dockyard-published-ports").is_enabled
    rules = host.check_output("iptables -S DOCKER-USER")
    assert "-s 198.51.100.0/24 -j RETURN" in rules
    assert not _connects(_host_address(host), TEST_PORT)


def test_allowing_a_source_opens_the_port(host, published_container):
    # The control for the test above: once this machine's address is allowed,
    # the same connection goes through, so the block came from our rules.
    gateway = host.check_output("ip route show default").split()[2]
    rule = f"DOCKER-USER 1 -s {gateway}/32 -j RETURN"
    host.run_test(f"iptables -I {rule}")
    try:
        assert wait_for(lambda: _connects(_host_address(host), TEST_PORT))
    finally:
        host.run(f"iptables -D {rule.replace(' 1 ', ' ', 1)}")
