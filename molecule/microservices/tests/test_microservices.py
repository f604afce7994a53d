"""Testinfra checks of the microservices scenario: real containers in a real
engine inside a systemd host."""

from __future__ import annotations

import json
import socket

import pytest

from support import http_get_on, wait_for


def inspect(host, name: str) -> dict:
    return json.loads(host.check_output(f"docker inspect {name}"))[0]


@pytest.fixture(scope="module")
def observations(host) -> dict:
    return json.loads(host.file("/var/tmp/dockyard-side-effect.json").content_string)


def test_listed_services_run_and_are_healthy(host):
    for name in ("store", "web", "site"):
        state = inspect(host, name)["State"]
        assert state["Status"] == "running"
        assert state["Health"]["Status"] == "healthy"


def test_managed_label(host):
    labels = inspect(host, "web")["Config"]["Labels"]
    assert labels["org.dockyard.managed"] == "true"
    assert labels["org.dockyard.service"] == "web"


def test_published_port_answers_on_the_host(host):
    result = http_get_on(host, "http://127.0.0.1:8081/", 3)
    assert result.rc == 0 and "dockyard-ok" in result.stdout


def test_loopback_binding_is_not_reachable_elsewhere(host):
    address = next(a for a in host.interface("eth0").addresses if ":" not in a)
    assert http_get_on(host, "http://127.0.0.1:8082/", 3).rc == 0
    assert http_get_on(host, f"http://{address}:8082/", 3).rc != 0
    # From this machine, 8081 (all addresses) answers and 8082 (loopback) does not.
    with socket.create_connection((address, 8081), timeout=3):
        pass
    with pytest.raises(OSError):
        socket.create_connection((address, 8082), timeout=3).close()


def test_bindings_as_declared(host):
    ports = inspect(host, "web")["HostConfig"]["PortBindings"]
    assert ports["80/tcp"] == [
        {"HostIp": "", "HostPort": "8081"},
        {"HostIp": "127.0.0.1", "HostPort": "8082"},
    ] or sorted(ports["80/tcp"], key=lambda b: b["HostPort"]) == [
        {"HostIp": "0.0.0.0", "HostPort": "8081"},
        {"HostIp": "127.0.0.1", "HostPort": "8082"},
    ]
    assert ports["53/udp"][0]["HostPort"] == "5353"
    assert "0.0.0.0:5353->53/udp" in host.check_output("docker ps --filter name=^web$ --format '{{.Ports}}'")


def test_env_restart_policy_and_limits(host):
    web = inspect(host, "web")
    env = dict(item.split("=", 1) for item in web["Config"]["Env"])
    assert env["GREETING"] == "hello"
    assert env["REPLICAS"] == "3"
    assert env["API_TOKEN"] == "molecule-secret-token-7f3a9c"
    assert web["HostConfig"]["RestartPolicy"]["Name"] == "on-failure"
    assert web["HostConfig"]["Memory"] == 64 * 1024 * 1024
    assert web["HostConfig"]["NanoCpus"] == 500_000_000
    assert inspect(host, "store")["HostConfig"]["RestartPolicy"]["Name"] == "always"
    assert inspect(host, "site")["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"


def test_services_reach_each_other_by_name(host):
    result = host.run("docker exec web /bin/busybox wget -q -O- http://store/")
    assert result.rc == 0 and "dockyard-ok" in result.stdout
    # store is on the internal network too: a container there reaches it by name.
    probe = "docker run --rm --network private dockyard-test/busybox:latest /bin/busybox wget -q -O- http://store/"
    result = host.run(probe)
    assert result.rc == 0 and "dockyard-ok" in result.stdout


def test_internal_network_has_no_way_out(host):
    network = json.loads(host.check_output("docker network inspect private"))[0]
    assert network["Internal"] is True


def test_absent_service_is_removed(host, observations):
    assert "/retired" in observations["before"]
    assert "/retired" not in observations["after"]
    assert host.run("docker inspect retired").rc != 0


def test_env_change_recreates_only_that_container(host, observations):
    before, after = observations["before"], observations["after"]
    assert after["/worker"] != before["/worker"]
    assert after["/web"] == before["/web"]
    assert after["/store"] == before["/store"]


def test_changed_build_context_rebuilds_only_its_service(host, observations):
    before, after = observations["before_rebuild"], observations["after_rebuild"]
    assert after["/site"] != before["/site"]
    for name in ("/web", "/store"):
        assert after[name] == before[name]
    result = http_get_on(host, "http://127.0.0.1:8083/", 3)
    assert result.rc == 0 and result.stdout.strip() == "built-v2"


def test_unlisted_containers_are_reported_then_removed_on_request(host, observations):
    assert observations["orphan_kept"] is True
    assert observations["orphan_removed"] is True
    assert host.run("docker inspect worker").rc != 0


def test_broken_image_is_rolled_back(host, observations):
    broken = observations["broken"]
    assert broken["failed"] is True
    assert "service web" in broken["msg"] and "Rolled back" in broken["msg"]
    web = inspect(host, "web")
    assert web["Config"]["Image"] == "dockyard-test/busybox:latest"
    assert web["State"]["Status"] == "running"
    assert wait_for(lambda: inspect(host, "web")["State"]["Health"]["Status"] == "healthy")
    assert http_get_on(host, "http://127.0.0.1:8081/", 3).rc == 0
    assert host.run("docker inspect web-dockyard-previous").rc != 0


def test_port_taken_by_a_process_is_refused(host, observations):
    taken = observations["taken"]
    assert taken["failed"] is True
    assert "service squatter publishes 0.0.0.0:8090/tcp" in taken["msg"]
    assert "already listens" in taken["msg"]
    assert host.run("docker inspect squatter").rc != 0


def test_an_update_cut_short_is_put_back(host, observations):
    # web was set aside and stopped, as a run cut short between those steps
    # leaves it: the next run put that very container back and started it.
    assert observations["put_back"] == {"id": observations["set_aside_id"], "status": "running"}


def test_a_stale_leftover_never_replaces_the_running_container(host, observations):
    assert observations["stale"]["failed"] is False, observations["stale"]["msg"]
    assert observations["regreeted"] == {
        "image": "dockyard-test/busybox:latest",
        "env": ["GREETING=hello again"],
        "status": "running",
    }
    assert observations["leftover_gone"] is True
    assert wait_for(lambda: inspect(host, "web")["State"]["Health"]["Status"] == "healthy")
