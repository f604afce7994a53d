"""Which image `dockyard lab up [--release R]` runs (dockyard.lab.lab_image):
this machine's release is the default image, another release its own tag,
and DOCKYARD_LAB_IMAGE wins over both. The machine's release is faked here."""

from __future__ import annotations

import pytest

from dockyard import lab


@pytest.mark.parametrize(
    ("release", "environment", "image"),
    [
        ("", None, "dockyard-lab:latest"),
        ("bookworm", None, "dockyard-lab:latest"),
        ("trixie", None, "dockyard-lab:trixie"),
        ("trixie", "mine:1", "mine:1"),
        ("", "mine:1", "mine:1"),
    ],
)
def test_lab_image(monkeypatch: pytest.MonkeyPatch, release: str, environment: str | None, image: str) -> None:
    monkeypatch.setattr(lab, "own_release", lambda: "bookworm")
    if environment is None:
        monkeypatch.delenv(lab.LAB_IMAGE_ENV, raising=False)
    else:
        monkeypatch.setenv(lab.LAB_IMAGE_ENV, environment)
    assert lab.lab_image(release) == image


def test_the_playbook_gets_the_image_of_the_release(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(lab, "own_release", lambda: "bookworm")
    monkeypatch.delenv(lab.LAB_IMAGE_ENV, raising=False)

    class Project:
        lab_inventory = tmp_path / "inventory" / "lab"

    assert lab.lab_vars(Project(), "trixie")["lab_image"] == "dockyard-lab:trixie"  # type: ignore[arg-type]
