"""Pruning of the runs' artifacts (dockyard.artifacts): the folders of the
newest runs stay, side-by-side parts count as one run, and a folder that
vanishes meanwhile is no error."""

from __future__ import annotations

from pathlib import Path

from dockyard import artifacts


def make(root: Path, *names: str) -> None:
    for name in names:
        (root / name).mkdir(parents=True)
        (root / name / "stdout").write_text("x")


def test_leaves_room_for_one_more_run(tmp_path: Path) -> None:
    make(
        tmp_path,
        "20261201T090000.000001Z-site",
        "20261201T090100.000001Z-apps",
        "20261201T090100.000001Z-replication",
        "20261201T090200.000001Z-status",
    )
    artifacts.prune(tmp_path, keep=3)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == [
        "20261201T090100.000001Z-apps",
        "20261201T090100.000001Z-replication",
        "20261201T090200.000001Z-status",
    ]
    artifacts.prune(tmp_path, keep=1)
    assert [p for p in tmp_path.iterdir() if p.is_dir()] == []


def test_a_missing_folder_is_no_error(tmp_path: Path) -> None:
    artifacts.prune(tmp_path / "absent", keep=1)
