"""What ansible-runner is called with: extra vars only in a 0600 file that
is gone after the run, never on the command line or in the environment."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from dockyard.project import Project
from dockyard.runner.arguments import extra_vars_file, run_arguments
from dockyard.runner.model import RunOptions

SECRET = "s3cret-value"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "site.yml").write_text("---\n")
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    (tmp_path / "hosts.yml").write_text("all: {}\n")
    return Project(root=tmp_path)


def test_extra_vars_live_in_a_private_file_for_the_run_only(tmp_path: Path) -> None:
    with extra_vars_file(tmp_path, "run-1", {"password": SECRET}) as path:
        assert path is not None
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert json.loads(path.read_text()) == {"password": SECRET}
    assert not path.exists()
    with pytest.raises(RuntimeError), extra_vars_file(tmp_path, "run-2", {"password": SECRET}) as path:
        raise RuntimeError("the run failed")
    assert path is not None and not path.exists()
    with extra_vars_file(tmp_path, "run-3", {}) as path:
        assert path is None


def test_the_command_line_names_the_file_not_the_values(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKYARD_STRATEGY", raising=False)
    options = RunOptions(inventory=project.root / "hosts.yml", check=True, extra_vars={"password": SECRET})
    vars_file = project.root / ".extra-vars-run.json"
    arguments = run_arguments(project, project.playbook("site.yml"), options, "run", vars_file)
    assert arguments["cmdline"] == f"-e @{vars_file} --check"
    assert SECRET not in repr(arguments)
    assert arguments["playbook"] == "playbooks/site.yml"
    # Facts are kept per inventory across runs, not in each run's artifacts.
    assert Path(arguments["fact_cache"]).is_absolute()
    assert arguments["suppress_env_files"] is True
    assert arguments["rotate_artifacts"] == 0


def test_no_options_no_command_line(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKYARD_STRATEGY", raising=False)
    options = RunOptions(inventory=project.root / "hosts.yml")
    arguments = run_arguments(project, project.playbook("site.yml"), options, "run", None)
    assert arguments["cmdline"] is None
    assert arguments["verbosity"] is None
