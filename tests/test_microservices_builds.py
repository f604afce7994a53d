"""The microservices role decides on the control machine which images to
build: a built image carries its context's digest as a label, and a re-run
whose digest matches neither copies the context nor builds. The filter is a
pure function of files and the engine's image list, so it runs here as is;
the images list is shaped like docker_image_info's (the microservices
Molecule scenario covers the real engine)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location(
    "microservices_filters", ROOT / "roles" / "microservices" / "filter_plugins" / "microservices.py"
)
assert spec is not None and spec.loader is not None
filters = importlib.util.module_from_spec(spec)
spec.loader.exec_module(filters)


@pytest.fixture
def context(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY app /app\n")
    (tmp_path / "app").write_text("v1\n")
    return tmp_path


def image(tag: str, digest: str | None) -> dict:
    labels = {"org.dockyard.build-digest": digest} if digest else None
    return {"RepoTags": [tag], "Config": {"Labels": labels}}


def test_a_missing_image_is_built(context: Path) -> None:
    [build] = filters.builds([{"name": "api", "build": {"context": str(context)}}], [])
    assert build["image"] == "dockyard/api:latest"
    assert build["needed"] is True


def test_an_image_with_the_same_digest_is_not_rebuilt(context: Path) -> None:
    service = {"name": "api", "image": "example/api", "build": {"context": str(context)}}
    [first] = filters.builds([service])
    [again] = filters.builds([service], [image("example/api:latest", first["digest"])])
    assert again["needed"] is False


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
    [first] = filters.builds([service])
    change(context, service)
    [again] = filters.builds([service], [image("dockyard/api:latest", first["digest"])])
    assert again["needed"] is True


def test_an_image_built_without_the_label_is_rebuilt_once(context: Path) -> None:
    [build] = filters.builds(
        [{"name": "api", "build": {"context": str(context)}}], [image("dockyard/api:latest", None)]
    )
    assert build["needed"] is True


def test_services_without_build_are_left_out(context: Path) -> None:
    assert filters.builds([{"name": "web", "image": "nginx:1"}]) == []


def test_a_missing_context_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a directory on the control machine"):
        filters.builds([{"name": "api", "build": {"context": str(tmp_path / "nope")}}])
