"""What the microservices role sends from the control machine, each through an
action plugin and a module of the same name: the build contexts that changed,
as one archive (microservices_contexts), and an image archive loaded into the
host's engine (microservices_image_load). Run here for real through
ansible-playbook against this machine (local connection): into a scratch
directory, and into this machine's Docker Engine."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from ansible_collections.dockyard.platform.plugins.modules import microservices_contexts as module

from support import COLLECTIONS_PATH

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "microservices"


def run_task(tmp_path: Path, task: dict, *options: str) -> dict:
    """Runs one task of the role's plugins against this machine; returns its result."""
    playbook = tmp_path / "send.yml"
    play = {"hosts": "localhost", "gather_facts": False, "tasks": [task, {"ansible.builtin.debug": {"var": "sent"}}]}
    playbook.write_text(json.dumps([play]))
    config = tmp_path / "ansible.cfg"
    remote_tmp = tmp_path / "remote-tmp"
    config.write_text("[defaults]\n")
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_PATH),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
        "ANSIBLE_CONFIG": str(config),
        "ANSIBLE_REMOTE_TMP": str(remote_tmp),
    }
    argv = [shutil.which("ansible-playbook") or "ansible-playbook", "-i", "localhost,", "-c", "local", *options]
    argv += ["-e", f"ansible_python_interpreter={sys.executable}"]
    result = subprocess.run([*argv, str(playbook)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    left = list(remote_tmp.iterdir()) if remote_tmp.exists() else []
    assert left == [], f"the task left its temporary files on the host: {left}"
    return json.loads(result.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]


def send(tmp_path: Path, contexts: dict[str, str], dest: Path, *options: str) -> dict:
    return run_task(
        tmp_path, {"dockyard.platform.microservices_contexts": {"contexts": contexts, "dest": str(dest)}}, *options
    )


@pytest.fixture
def api(tmp_path: Path) -> Path:
    context = tmp_path / "src" / "api"
    (context / "bin").mkdir(parents=True)
    (context / "Dockerfile").write_text("FROM scratch\nCOPY . /app\n")
    (context / "app.py").write_text("print('v1')\n")
    (context / "bin" / "entrypoint").write_text("#!/bin/sh\nexec python3 /app/app.py\n")
    (context / "bin" / "entrypoint").chmod(0o755)
    (context / ".dockerignore").write_text("*.pyc\n")
    return context


def test_contexts_arrive_whole_with_their_modes(tmp_path: Path, api: Path) -> None:
    dest = tmp_path / "build"
    result = send(tmp_path, {"api": str(api)}, dest)
    assert result["changed"] is True
    sent = sorted(str(path.relative_to(dest)) for path in dest.rglob("*"))
    assert sent == ["api", "api/.dockerignore", "api/Dockerfile", "api/app.py", "api/bin", "api/bin/entrypoint"]
    assert (dest / "api" / "bin" / "entrypoint").stat().st_mode & 0o777 == 0o755
    assert (dest / "api" / "app.py").stat().st_mode & 0o777 == (api / "app.py").stat().st_mode & 0o777
    assert (dest / "api" / "app.py").read_text() == "print('v1')\n"


def test_files_deleted_from_a_context_go_and_other_contexts_stay(tmp_path: Path, api: Path) -> None:
    dest = tmp_path / "build"
    gateway = tmp_path / "src" / "gateway"
    gateway.mkdir()
    (gateway / "Dockerfile").write_text("FROM scratch\n")
    send(tmp_path, {"api": str(api), "gateway": str(gateway)}, dest)
    (api / "app.py").unlink()
    (api / "main.py").write_text("print('v2')\n")
    send(tmp_path, {"api": str(api)}, dest)
    assert not (dest / "api" / "app.py").exists()
    assert (dest / "api" / "main.py").read_text() == "print('v2')\n"
    assert (dest / "gateway" / "Dockerfile").exists()


def test_check_mode_sends_nothing(tmp_path: Path, api: Path) -> None:
    dest = tmp_path / "build"
    result = send(tmp_path, {"api": str(api)}, dest, "--check")
    assert result["changed"] is True
    assert not dest.exists()


def test_no_context_is_no_change(tmp_path: Path) -> None:
    result = send(tmp_path, {}, tmp_path / "build")
    assert result["changed"] is False


def test_a_missing_context_fails_naming_it(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="is not a directory on the control machine"):
        send(tmp_path, {"api": str(tmp_path / "nope")}, tmp_path / "build")


def test_members_outside_their_context_are_refused() -> None:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for name in ("api/Dockerfile", "api/../../etc/passwd", "/etc/shadow", "other/file"):
            tar.addfile(tarfile.TarInfo(name), io.BytesIO(b""))
        link = tarfile.TarInfo("api/link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    data.seek(0)
    with tarfile.open(fileobj=data) as tar:
        assert module.unsafe_members(tar, ["api"]) == ["api/../../etc/passwd", "/etc/shadow", "other/file", "api/link"]


def docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def shipped_image(tmp_path: Path):
    """An archive of a test image (docker save) whose tag is then removed."""
    tag = f"dockyard-test/shipped:{tmp_path.name[-20:].lower().replace('_', '-')}"
    assert docker("tag", "dockyard-test/busybox:latest", tag).returncode == 0
    archive = tmp_path / "image.tar"
    assert docker("save", "--output", str(archive), tag).returncode == 0
    assert docker("rmi", tag).returncode == 0
    yield tag, archive
    docker("rmi", tag)


def test_an_image_archive_is_loaded_and_removed(tmp_path: Path, shipped_image) -> None:
    tag, archive = shipped_image
    result = run_task(tmp_path, {"dockyard.platform.microservices_image_load": {"archive": str(archive)}})
    assert result["changed"] is True
    assert result["loaded"] == [tag]
    assert docker("image", "inspect", tag).returncode == 0
    assert not archive.exists(), "the control machine's copy stays behind"


def test_check_mode_sends_nothing_and_keeps_the_archive(tmp_path: Path, shipped_image) -> None:
    tag, archive = shipped_image
    result = run_task(tmp_path, {"dockyard.platform.microservices_image_load": {"archive": str(archive)}}, "--check")
    assert result["changed"] is True
    assert archive.exists(), "check mode removed the control machine's archive"
    assert docker("image", "inspect", tag).returncode != 0


def test_a_broken_archive_fails_and_is_removed(tmp_path: Path) -> None:
    archive = tmp_path / "image.tar"
    archive.write_bytes(b"not a tar")
    with pytest.raises(AssertionError, match="docker load of the shipped archive failed"):
        run_task(tmp_path, {"dockyard.platform.microservices_image_load": {"archive": str(archive)}})
    assert not archive.exists()
