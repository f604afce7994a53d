"""Bad microservices input is refused before any host changes.

Each case runs playbooks/services.yml for real against a fresh systemd host;
the checks run on the control machine in the validate play, so the run must
fail there, name the host, the service and the field, and change nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support import Host, recap_changed, run_playbook, systemd_host

IMAGE = "dockyard-test/busybox:latest"

BAD_SERVICES = {
    "same host port twice": (
        [{"name": "a", "image": IMAGE, "ports": ["8080:80"]}, {"name": "b", "image": IMAGE, "ports": ["8080:81"]}],
        ["service 'b'", "ports", "0.0.0.0:8080/tcp", "service 'a' already publishes"],
    ),
    "wildcard against a specific address": (
        [
            {"name": "a", "image": IMAGE, "ports": ["127.0.0.1:9000:80"]},
            {"name": "b", "image": IMAGE, "ports": ["9000:80"]},
        ],
        ["service 'b'", "0.0.0.0:9000/tcp"],
    ),
    "port out of range": (
        [{"name": "a", "image": IMAGE, "ports": ["70000:80"]}],
        ["service 'a'", "ports", "70000 is outside 1-65535"],
    ),
    "malformed mapping": (
        [{"name": "a", "image": IMAGE, "ports": ["80:http"]}],
        ["service 'a'", "ports", "'80:http' is not Docker's -p syntax"],
    ),
    "neither image nor build": (
        [{"name": "a", "ports": ["8080:80"]}],
        ["service 'a'", "needs image", "or build"],
    ),
    "unknown dependency": (
        [{"name": "a", "image": IMAGE, "depends_on": ["db"]}],
        ["service 'a'", "depends_on names 'db'"],
    ),
    "dependency cycle": (
        [
            {"name": "a", "image": IMAGE, "depends_on": ["b"]},
            {"name": "b", "image": IMAGE, "depends_on": ["c"]},
            {"name": "c", "image": IMAGE, "depends_on": ["a"]},
        ],
        ["depends_on forms a cycle", "a -> b -> c -> a"],
    ),
    "invalid name": (
        [{"name": "Web_App", "image": IMAGE}],
        ["service 'Web_App'", "name must be a DNS label"],
    ),
    "undeclared network": (
        [{"name": "a", "image": IMAGE, "networks": ["nowhere"]}],
        ["service 'a'", "network 'nowhere' is not declared in microservices_networks"],
    ),
    "unknown field": (
        [{"name": "a", "image": IMAGE, "port": ["8080:80"]}],
        ["microservices.port", "Supported parameters include"],
    ),
    "memory that is no size": (
        [{"name": "a", "image": IMAGE, "memory": "lots"}],
        ["service 'a'", "memory 'lots' is not a size"],
    ),
    "cpus that is no number": (
        [{"name": "a", "image": IMAGE, "cpus": "many"}],
        ["service 'a'", "cpus 'many' is not a number of CPUs"],
    ),
    "a port address that is no IP address": (
        [{"name": "a", "image": IMAGE, "ports": ["999.999.999.999:8080:80"]}],
        ["service 'a'", "ports", "999.999.999.999 is not an IP address"],
    ),
    "an image with a shell command in it": (
        [{"name": "a", "image": "nginx; rm -rf /"}],
        ["service 'a'", "image 'nginx; rm -rf /' is not an image reference"],
    ),
    "the engine's socket mounted": (
        [{"name": "a", "image": IMAGE, "volumes": ["/var/run/docker.sock:/var/run/docker.sock"]}],
        ["service 'a'", "mounts the host's /var/run/docker.sock", "host_mounts: true"],
    ),
    "the host's root mounted": (
        [{"name": "a", "image": IMAGE, "volumes": ["/:/host"]}],
        ["service 'a'", "mounts the host's /", "host_mounts: true"],
    ),
}


@pytest.fixture(scope="module")
def app_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    with systemd_host(tmp_path_factory.mktemp("inventory"), groups=("docker_hosts", "app_hosts")) as host:
        yield host


@pytest.mark.parametrize("case", list(BAD_SERVICES), ids=list(BAD_SERVICES))
def test_bad_service_list_is_refused_before_any_change(app_host: Host, case: str) -> None:
    services, expected = BAD_SERVICES[case]
    run = run_playbook("services.yml", app_host.inventory, {"microservices": services})
    assert run.rc != 0, run.output
    assert recap_changed(run.output) == 0, run.output
    # Refused in the validate play: the play that touches hosts never started.
    assert "PLAY [Validate the inventory and variables]" in run.output
    assert "PLAY [Run the microservices]" not in run.output
    for fragment in [*expected, "testhost"]:
        assert fragment in run.output, f"{fragment!r} not in:\n{run.output}"


def test_a_build_dir_of_the_system_is_refused(app_host: Host) -> None:
    # With microservices_build_dir: / a service named etc would have its
    # context directory, /etc, replaced whole.
    services = [{"name": "etc", "build": {"context": "/nonexistent"}}]
    run = run_playbook("services.yml", app_host.inventory, {"microservices": services, "microservices_build_dir": "/"})
    assert run.rc != 0, run.output
    assert recap_changed(run.output) == 0, run.output
    assert "PLAY [Run the microservices]" not in run.output
    for fragment in ("testhost", "microservices_build_dir is '/'", "at least two levels deep"):
        assert fragment in run.output, f"{fragment!r} not in:\n{run.output}"
