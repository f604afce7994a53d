from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import LAB_IMAGE, Host, systemd_host


@pytest.fixture(scope="session", autouse=True)
def _docker_and_lab_image() -> None:
    if shutil.which("docker") is None:
        pytest.fail("docker CLI missing: run scripts/test.sh, which installs it")
    result = subprocess.run(["docker", "image", "inspect", LAB_IMAGE], capture_output=True)
    if result.returncode != 0:
        pytest.fail(f"lab image {LAB_IMAGE} missing: run scripts/build-lab-image.sh")


@pytest.fixture(scope="module")
def fresh_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    """One throwaway systemd host for a module's tests."""
    with systemd_host(Path(tmp_path_factory.mktemp("inventory"))) as host:
        yield host
