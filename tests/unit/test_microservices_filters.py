"""Decisions the microservices role makes on the control machine from one look
at the host: which images to build (a built image carries its context's
digest as a label; a re-run whose digest matches neither copies the context
nor builds), which container a service has, which containers are Dockyard's,
and which ports clash. The filters are pure functions of files and of the
engine's lists, so they run here as they are; those lists are shaped like
docker_image_info's and docker_host_info's (the microservices Molecule
scenario covers the real engine)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.dockyard.platform.plugins.module_utils import service_plans, service_rules

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def context(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY app /app\n")
    (tmp_path / "app").write_text("v1\n")
    return tmp_path


def image(tag: str, digest: str | None) -> dict:
    """An image as docker_host_info lists it (verbose): what the role reads."""
    labels = {"org.dockyard.build-digest": digest} if digest else None
    return {"Id": "sha256:0", "RepoTags": [tag], "Labels": labels}


def test_a_missing_image_is_built(context: Path) -> None:
    [build] = service_plans.builds([{"name": "api", "build": {"context": str(context)}}])
    assert build["image"] == "dockyard/api:latest"
    assert service_plans.needing_build([build], []) == [build]


def test_an_image_with_the_same_digest_is_not_rebuilt(context: Path) -> None:
    service = {"name": "api", "image": "example/api", "build": {"context": str(context)}}
    [first] = service_plans.builds([service])
    assert (
        service_plans.needing_build(service_plans.builds([service]), [image("example/api:latest", first["digest"])])
        == []
    )


@pytest.mark.parametrize(
    "change",
    [
        lambda c, s: (c / "app").write_text("v2\n"),
        lambda c, s: (c / "new-file").write_text("x"),
        lambda c, s: (c / "app").chmod(0o755),
        lambda c, s: s["build"].update(args={"BASE_IMAGE": "other"}),
        lambda c, s: s["build"].update(dockerfile="Dockerfile.other"),
    ],
    ids=["content", "new file", "mode", "build args", "dockerfile"],
)
def test_any_change_to_what_is_built_rebuilds(context: Path, change) -> None:
    service = {"name": "api", "build": {"context": str(context)}}
    [first] = service_plans.builds([service])
    change(context, service)
    again = service_plans.builds([service])
    assert service_plans.needing_build(again, [image("dockyard/api:latest", first["digest"])]) == again


def test_an_image_built_without_the_label_is_rebuilt_once(context: Path) -> None:
    built = service_plans.builds([{"name": "api", "build": {"context": str(context)}}])
    assert service_plans.needing_build(built, [image("dockyard/api:latest", None)]) == built


def test_images_as_docker_image_info_inspects_them_are_read_too(context: Path) -> None:
    [built] = service_plans.builds([{"name": "api", "build": {"context": str(context)}}])
    inspected = {
        "RepoTags": ["dockyard/api:latest"],
        "Config": {"Labels": {"org.dockyard.build-digest": built["digest"]}},
    }
    assert service_plans.needing_build([built], [inspected]) == []


def test_untagged_images_are_no_match(context: Path) -> None:
    built = service_plans.builds([{"name": "api", "build": {"context": str(context)}}])
    dangling = {"Id": "sha256:1", "RepoTags": None, "Labels": {"org.dockyard.build-digest": built[0]["digest"]}}
    assert service_plans.needing_build(built, [dangling]) == built


@pytest.mark.parametrize(
    ("name", "listed_as"),
    [
        ("dockyard-lab", "dockyard-lab:latest"),
        ("dockyard-lab:1.2", "dockyard-lab:1.2"),
        ("registry:5000/team/app", "registry:5000/team/app:latest"),
        ("registry:5000/team/app:2", "registry:5000/team/app:2"),
        ("app@sha256:abc", "app@sha256:abc"),
    ],
)
def test_image_names_are_compared_as_docker_lists_them(name: str, listed_as: str) -> None:
    assert service_plans.tagged(name) == listed_as


def test_services_without_build_are_left_out(context: Path) -> None:
    assert service_plans.builds([{"name": "web", "image": "nginx:1"}]) == []


def test_a_missing_context_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a directory on the control machine"):
        service_plans.builds([{"name": "api", "build": {"context": str(tmp_path / "nope")}}])


def container(name: str, state: str = "running", managed: bool = True, port: int | None = None) -> dict:
    return {
        "Names": [f"/{name}"],
        "State": state,
        "Image": f"dockyard/{name}:latest",
        "Labels": {"org.dockyard.managed": "true"} if managed else {"maintainer": "someone"},
        "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": port, "Type": "tcp"}] if port else [],
    }


def test_the_container_of_a_service_is_found_by_its_exact_name() -> None:
    containers = [container("api-dockyard-previous"), container("api", state="exited"), container("web")]
    assert service_plans.container_named(containers, "api")["State"] == "exited"
    assert service_plans.container_named(containers, "gateway") is None


def test_only_containers_dockyard_started_are_its_own() -> None:
    containers = [container("api"), container("theirs", managed=False), container("old", state="exited")]
    assert service_plans.managed_names(containers) == ["api", "old"]


def test_a_stopped_foreign_container_holds_no_port() -> None:
    wanted = [{"service": "web", "ip": "0.0.0.0", "port": 8080, "protocol": "tcp", "spec": "8080:80"}]
    stopped = [container("theirs", state="exited", managed=False, port=8080)]
    assert service_plans.port_clashes(wanted, [], stopped) == []
    running = [container("theirs", managed=False, port=8080)]
    [clash] = service_plans.port_clashes(wanted, [], running)
    assert "container theirs, not managed by Dockyard" in clash


def test_only_bindings_no_running_container_publishes_need_a_look_at_the_ports() -> None:
    wanted = [
        {"service": "web", "ip": "0.0.0.0", "port": 8080, "protocol": "tcp", "spec": "8080:80"},
        {"service": "web", "ip": "127.0.0.1", "port": 8082, "protocol": "tcp", "spec": "127.0.0.1:8082:80"},
    ]
    containers = [container("web", port=8080), container("old", state="exited", port=8082)]
    assert [want["port"] for want in service_plans.unheld(wanted, containers)] == [8082]


def test_networks_are_applied_only_when_missing_or_different() -> None:
    wanted = [{"name": "backend"}, {"name": "private", "internal": True}, {"name": "new"}]
    present = [
        {"Name": "backend", "Driver": "bridge", "Internal": False, "Labels": {"org.dockyard.managed": "true"}},
        {"Name": "private", "Driver": "bridge", "Internal": False, "Labels": {"org.dockyard.managed": "true"}},
    ]
    assert [n["name"] for n in service_plans.networks_to_apply(wanted, present)] == ["private", "new"]
    assert service_plans.networks_to_apply(wanted, None) == wanted


def test_what_a_service_may_declare_passes() -> None:
    # The forms the checks must keep accepting.
    services = [
        {"name": "a", "image": "registry.example.com:5000/team/app:1.2.3", "memory": "512m", "cpus": 0.5},
        {"name": "b", "image": "nginx@sha256:" + "a" * 64, "memory": 268435456, "cpus": "2"},
        {"name": "c", "image": "dockyard/c:latest", "volumes": ["data:/var/lib/c", "/srv/c:/etc/c:ro"]},
        {"name": "d", "image": "busybox", "volumes": ["/run/docker.sock:/run/docker.sock"], "host_mounts": True},
        {"name": "e", "image": "busybox", "ports": ["[::1]:8080:80", "127.0.0.1:8081:80"]},
    ]
    assert service_rules.problems(services, [], "app1") == []
    assert service_rules.build_dir_problems("/var/lib/dockyard/build") == []
    assert service_rules.build_dir_problems("/srv/builds") == []
    for bad in ("/", "/var", "relative/dir", "/var/lib"):
        assert service_rules.build_dir_problems(bad, "app1"), bad
