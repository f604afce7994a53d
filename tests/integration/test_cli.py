"""The dockyard CLI against real ansible-runner runs of small localhost
playbooks (tests/data/cli_project), with the project's real validate.yml,
status.yml and roles linked in."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from support import REPO_ROOT, processes_running

DATA = REPO_ROOT / "tests" / "integration" / "data"
RECAP_COUNTS = {
    "type": "object",
    "required": ["ok", "changed", "failed", "unreachable", "skipped"],
    "properties": {k: {"type": "integer", "minimum": 0} for k in ("ok", "changed", "failed", "unreachable", "skipped")},
}
RUN_SCHEMA = {
    "type": "object",
    "required": ["ok", "rc", "playbook", "elapsed_s", "recap", "failures"],
    "additionalProperties": False,
    "properties": {
        "ok": {"type": "boolean"},
        "rc": {"type": "integer"},
        "playbook": {"type": "string"},
        "elapsed_s": {"type": "number", "minimum": 0},
        "recap": {"type": "object", "additionalProperties": RECAP_COUNTS},
        "failures": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["host", "task", "message"],
                "additionalProperties": False,
                "properties": {k: {"type": "string"} for k in ("host", "task", "message")},
            },
        },
    },
}
WINDOW = {
    "type": "object",
    "required": ["from", "to"],
    "properties": {"from": {"type": ["string", "null"]}, "to": {"type": ["string", "null"]}},
}
STATUS_SCHEMA = {
    "type": "object",
    "required": ["ok", "primary", "hosts", "backup"],
    "additionalProperties": False,
    "properties": {
        "ok": {"type": "boolean"},
        "primary": {"type": ["string", "null"]},
        # Null without a postgresql_backup_hosts host.
        "backup": {
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "required": ["host", "stanza", "ok", "message", "last_good", "window", "archive"],
                    "properties": {
                        "host": {"type": "string"},
                        "stanza": {"type": "string"},
                        "ok": {"type": "boolean"},
                        "message": {"type": ["string", "null"]},
                        "last_good": {"type": ["object", "null"]},
                        "window": WINDOW,
                        "archive": {"type": "object", "required": ["ok", "message"]},
                    },
                },
            ]
        },
        "hosts": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["reachable", "docker", "containers", "postgresql"],
                "additionalProperties": False,
                "properties": {
                    "reachable": {"type": "boolean"},
                    "docker": {
                        "oneOf": [
                            {"type": "null"},
                            {
                                "type": "object",
                                "required": ["version", "running"],
                                "properties": {
                                    "version": {"type": ["string", "null"]},
                                    "running": {"type": "boolean"},
                                },
                            },
                        ]
                    },
                    "containers": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name", "image", "state", "health", "ports", "urls"],
                            "properties": {
                                "name": {"type": "string"},
                                "image": {"type": "string"},
                                "state": {"type": "string"},
                                "health": {"type": ["string", "null"]},
                                "ports": {"type": "array", "items": {"type": "string"}},
                                "urls": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                    },
                    "postgresql": {"type": ["object", "null"]},
                },
            },
        },
    },
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(DATA / "cli_project", root)
    (root / "roles").symlink_to(REPO_ROOT / "roles")
    (root / ".collections").symlink_to(REPO_ROOT / ".collections")
    for name in ("validate.yml", "status.yml"):
        (root / "playbooks" / name).symlink_to(REPO_ROOT / "playbooks" / name)
    shutil.copy(REPO_ROOT / "ansible.cfg", root / "ansible.cfg")
    return root


def dockyard(project: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300):
    full_env = {**os.environ, "DOCKYARD_HOME": str(project), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "dockyard", *args],
        cwd=project,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def inventory(project: Path) -> str:
    return str(project / "inventory")


def test_progress_lines_for_each_task_on_a_non_terminal(project: Path) -> None:
    result = dockyard(project, "up", "-i", inventory(project))
    assert result.returncode == 0, result.stderr
    for task in ("First quick task", "Second quick task that changes", "Third quick task"):
        assert re.search(rf"^\[\d\d:\d\d\.\d\]   TASK {task}$", result.stderr, re.M), result.stderr
    assert re.search(r"^\[\d\d:\d\d\.\d\]     changed: local1 \| Second quick task that changes$", result.stderr, re.M)
    # The recap table, what changed and the verdict on stdout; no terminal
    # redraw codes in a pipe.
    assert "local1" in result.stdout and "site.yml ok in" in result.stdout
    assert re.search(r"^Changed:\n  Second quick task that changes: local1$", result.stdout, re.M), result.stdout
    assert "\x1b[" not in result.stdout + result.stderr


def test_verbose_shows_ansible_output(project: Path) -> None:
    result = dockyard(project, "up", "-i", inventory(project), "-v")
    assert result.returncode == 0, result.stderr
    assert "TASK [First quick task]" in result.stderr
    assert '"msg": "first"' in result.stderr


def test_json_output_is_one_object_matching_the_schema(project: Path) -> None:
    result = dockyard(project, "up", "-i", inventory(project), "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)  # the whole of stdout is one object
    jsonschema.validate(payload, RUN_SCHEMA)
    assert payload["ok"] is True and payload["rc"] == 0 and payload["playbook"] == "site.yml"
    assert payload["recap"]["local1"] == {"ok": 3, "changed": 1, "failed": 0, "unreachable": 0, "skipped": 0}
    assert payload["failures"] == []


def test_failure_report_and_exit_code_1(project: Path) -> None:
    result = dockyard(project, "docker", "-i", inventory(project))
    assert result.returncode == 1
    assert "FAILED local1  task: Deliberately failing task" in result.stdout
    # The useful end of stderr, not the whole noise.
    assert "disk quota exceeded on /srv/data" in result.stdout
    assert "Run artifacts: " in result.stdout
    artifacts = Path(result.stdout.split("Run artifacts: ")[1].split()[0])
    assert (artifacts / "stdout").is_file()
    as_json = dockyard(project, "docker", "-i", inventory(project), "--json")
    assert as_json.returncode == 1
    payload = json.loads(as_json.stdout)
    jsonschema.validate(payload, RUN_SCHEMA)
    assert payload["ok"] is False
    assert payload["failures"][0]["task"] == "Deliberately failing task"
    assert "disk quota exceeded" in payload["failures"][0]["message"]


def test_validate_refuses_a_broken_inventory_with_exit_2(project: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "all:\n  vars:\n    ansible_connection: local\n  children:\n"
        "    app_hosts:\n      hosts:\n        web7:\n"
        "    postgresql_primary:\n      hosts:\n        pg1:\n        pg2:\n"
        "    postgresql_replicas:\n      hosts:\n        pg3:\n"
    )
    result = dockyard(project, "validate", "-i", str(broken))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "web7 is in app_hosts but not in docker_hosts" in result.stdout
    assert "postgresql_primary must hold exactly one host" in result.stdout
    assert "bad input: nothing was changed" in result.stdout


def test_validate_passes_a_good_inventory(project: Path) -> None:
    result = dockyard(project, "validate", "-i", inventory(project))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Every check passed" in result.stdout


def test_validate_checks_role_variables(project: Path) -> None:
    result = dockyard(project, "validate", "-i", inventory(project), "-e", "docker_engine_source=snap")
    assert result.returncode == 2
    assert "docker_engine_source must be one of: official, distro" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--limit", "nosuchhost"], "--limit nosuchhost matches no host"),
        (["-e", "novalue"], "use KEY=VALUE"),
    ],
    ids=["unknown-limit", "bad-extra-vars"],
)
def test_bad_arguments_exit_2(project: Path, args: list[str], message: str) -> None:
    result = dockyard(project, "up", "-i", inventory(project), *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (project / ".dockyard").exists(), "nothing may run on bad input"


def test_unreadable_inventory_exits_2(project: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("all:\n  hosts: [this is: not: valid\n")
    result = dockyard(project, "up", "-i", str(bad))
    assert result.returncode == 2
    assert f"Cannot read inventory {bad}" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_lab_yet_exits_2(project: Path) -> None:
    result = dockyard(project, "status", "--json")
    assert result.returncode == 2
    payload = json.loads(result.stdout)
    assert payload["ok"] is False and "dockyard lab up" in payload["error"]


def test_missing_docker_for_the_lab(project: Path, tmp_path: Path) -> None:
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    result = dockyard(project, "lab", "up", env={"PATH": str(empty_path)})
    assert result.returncode == 2
    assert "The lab needs Docker on this machine" in result.stderr


def _vault_setup(project: Path, tmp_path: Path) -> tuple[str, str, Path]:
    replication_password = "ReplPass-5b1f0c2e9d7a4e11"
    token = "VaultedToken-8c3d2a7f6e5b4c19"
    password_file = tmp_path / "vault-pass"
    password_file.write_text("correct horse battery staple\n")
    group_vars = project / "inventory" / "group_vars" / "all"
    group_vars.mkdir(parents=True, exist_ok=True)  # git keeps no empty directory
    (group_vars / "secrets.yml").write_text(f"postgresql_replication_password: {replication_password}\n")
    vault_file = group_vars / "vault.yml"
    vault_file.write_text(f"vaulted_api_token: {token}\n")
    subprocess.run(
        ["ansible-vault", "encrypt", "--vault-password-file", str(password_file), str(vault_file)],
        check=True,
        capture_output=True,
    )
    assert token not in vault_file.read_text()
    return replication_password, token, password_file


def test_missing_vault_password_exits_2(project: Path, tmp_path: Path) -> None:
    _vault_setup(project, tmp_path)
    result = dockyard(project, "replication", "-i", inventory(project))
    assert result.returncode == 2
    assert "holds vault-encrypted data: pass --vault-password-file" in result.stderr


def test_secrets_appear_in_no_output_and_no_artifact(project: Path, tmp_path: Path) -> None:
    replication_password, token, password_file = _vault_setup(project, tmp_path)
    secret_dir = tmp_path / "written"
    secret_dir.mkdir()
    outputs = []
    for extra in ([], ["-vvv"], ["--json"]):
        result = dockyard(
            project,
            "replication",
            "-i",
            inventory(project),
            "-e",
            f"secret_dir={secret_dir}",
            *extra,
            env={"DOCKYARD_VAULT_PASSWORD_FILE": str(password_file)},
        )
        assert result.returncode == 0, result.stdout + result.stderr
        outputs.append(result.stdout + result.stderr)
    # The tasks really used both secrets...
    assert (secret_dir / "replication").read_text() == replication_password
    assert (secret_dir / "token").read_text() == token
    # ...and neither they nor the vault password show anywhere.
    needles = [replication_password, token, "correct horse battery staple"]
    for output in outputs:
        for needle in needles:
            assert needle not in output
    run_dir = project / ".dockyard"
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert files, "the runs left no artifacts to check"
    for path in files:
        content = path.read_bytes()
        for needle in needles:
            assert needle.encode() not in content, f"{needle} leaked into {path}"
    assert not (run_dir / "env").exists(), "runner must not write env/ files"


def test_extra_vars_stay_off_the_command_line(project: Path, tmp_path: Path) -> None:
    # -e values (and --to) once went onto ansible-playbook's command line:
    # visible in `ps`, and kept in artifacts/<run>/command.
    _, _, password_file = _vault_setup(project, tmp_path)
    secret_dir = tmp_path / "written"
    secret_dir.mkdir()
    secret = "ExtraVarPass-4e1d7c9b2a6f3e80"
    extra = json.dumps({"postgresql_replication_password": secret, "secret_dir": str(secret_dir)})
    result = dockyard(
        project,
        "replication",
        "-i",
        inventory(project),
        "-e",
        extra,
        env={"DOCKYARD_VAULT_PASSWORD_FILE": str(password_file)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (secret_dir / "replication").read_text() == secret  # the value reached the play
    run_dir = project / ".dockyard"
    commands = list(run_dir.glob("artifacts/*/command"))
    assert commands
    for path in [p for p in run_dir.rglob("*") if p.is_file()]:
        assert secret.encode() not in path.read_bytes(), f"the -e value leaked into {path}"
    assert not list(run_dir.glob(".extra-vars-*")), "the extra vars file outlived the run"


def test_artifacts_are_private_and_rotated(project: Path) -> None:
    for _ in range(3):
        result = dockyard(project, "up", "-i", inventory(project), env={"DOCKYARD_KEEP_RUNS": "2"})
        assert result.returncode == 0, result.stderr
    artifacts = project / ".dockyard" / "artifacts"
    runs = [p for p in artifacts.iterdir() if p.is_dir()]
    assert len(runs) == 2
    assert (project / ".dockyard").stat().st_mode & 0o777 == 0o700
    for run in runs:
        assert run.stat().st_mode & 0o777 == 0o700
        for path in run.rglob("*"):
            assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"


def _sleepers() -> list[str]:
    return processes_running("sleep 93.7")


def test_ctrl_c_cancels_reports_and_exits_130(project: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "dockyard", "services", "-i", inventory(project)],
        cwd=project,
        env={**os.environ, "DOCKYARD_HOME": str(project)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not _sleepers() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _sleepers(), "the long task never started"
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stdout + stderr
    assert time.monotonic() - started < 10
    # The task the cancel cut short is named as such, not reported as failed.
    assert "Cancelled: the run was stopped during Long task to interrupt on local1" in " ".join(stdout.split())
    assert "FAILED" not in stdout and "failed: " not in stderr, stdout + stderr
    assert "TASK Long task to interrupt" in stderr
    time.sleep(0.5)
    assert _sleepers() == [], "the cancelled run left processes behind"


def test_status_json_matches_the_schema(project: Path) -> None:
    result = dockyard(project, "status", "-i", inventory(project), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    payload = json.loads(result.stdout)
    jsonschema.validate(payload, STATUS_SCHEMA)
    assert payload["hosts"]["local1"]["reachable"] is True
    assert payload["ok"] is True and payload["primary"] is None  # no PostgreSQL here
    assert payload["backup"] is None  # no postgresql_backup_hosts host


def test_status_says_backups_need_pgbackrest_before_it_is_installed(project: Path, tmp_path: Path) -> None:
    # The backup host before `dockyard up` put pgBackRest on it: a backup line
    # that says so, not a failed status; the platform's ok is not the backups'.
    result = dockyard(project, "status", "-i", backup_inventory(tmp_path), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    payload = json.loads(result.stdout)
    jsonschema.validate(payload, STATUS_SCHEMA)
    backup = payload["backup"]
    assert backup["host"] == "local1" and backup["stanza"] == "main" and backup["ok"] is False, backup
    assert backup["message"] == "pgbackrest is not installed on local1 yet (`dockyard up` installs it)"
    assert payload["ok"] is True
    text = dockyard(project, "status", "-i", backup_inventory(tmp_path))
    assert "Backups on local1: pgbackrest is not installed on local1 yet" in " ".join(text.stdout.split())


def test_status_marks_unreachable_hosts(project: Path, tmp_path: Path) -> None:
    inv = tmp_path / "gone.yml"
    inv.write_text(
        "all:\n  hosts:\n    gone1:\n      ansible_connection: community.docker.docker\n"
        "      ansible_host: dockyard-no-such-container\n"
    )
    result = dockyard(project, "status", "-i", str(inv), "--json")
    # An unreachable host makes the platform unhealthy: exit 1, for scripts.
    assert result.returncode == 1, result.stdout + result.stderr
    payload = json.loads(result.stdout)
    jsonschema.validate(payload, STATUS_SCHEMA)
    assert payload["hosts"]["gone1"]["reachable"] is False
    assert payload["ok"] is False and payload["primary"] is None


def test_switchover_reports_its_steps_and_what_to_change_in_the_inventory(project: Path, tmp_path: Path) -> None:
    # The target must be a PostgreSQL host of the inventory (checked at once).
    cluster = tmp_path / "cluster.yml"
    cluster.write_text(
        "all:\n  vars:\n    ansible_connection: local\n"
        '    ansible_python_interpreter: "{{ ansible_playbook_python }}"\n'
        "  children:\n    postgresql_primary: {hosts: {local1: }}\n    postgresql_replicas: {hosts: {db9: }}\n"
    )
    result = dockyard(project, "switchover", "--to", "db9", "-i", str(cluster))
    assert result.returncode == 0, result.stdout + result.stderr
    row = re.search(r"Wait for the target to replay the old primary's last WAL\s+│?\s*(\d+\.\d) s", result.stdout)
    assert row and float(row.group(1)) >= 1.0, result.stdout
    assert re.search(r"Promote the target\s+│?\s*\d+\.\d s\s+│?\s*(db9, )?local1", result.stdout), result.stdout
    # Quick steps that change nothing are not listed (progress lines go to stderr).
    assert "Dockyard report: topology" not in result.stdout
    # Not the lab: the inventory is left alone and the user told what to change.
    assert "put db9 in postgresql_primary and local1 in postgresql_replicas" in result.stdout
    # The hosts that do not follow the new primary are named, with the command that brings them back.
    assert "Not following db9: db7" in " ".join(result.stdout.split())
    assert "dockyard rejoin HOST" in " ".join(result.stdout.split())


def backup_inventory(tmp_path: Path, backup_host: bool = True) -> str:
    inv = tmp_path / ("backups.yml" if backup_host else "no-backups.yml")
    group = "postgresql_backup_hosts" if backup_host else "app_hosts"
    inv.write_text(
        "all:\n  vars:\n    ansible_connection: local\n"
        '    ansible_python_interpreter: "{{ ansible_playbook_python }}"\n'
        f"  children:\n    {group}: {{hosts: {{local1: }}}}\n"
    )
    return str(inv)


def test_backup_passes_its_type_and_prints_what_it_made(project: Path, tmp_path: Path) -> None:
    result = dockyard(project, "backup", "--type", "full", "-i", backup_inventory(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    line = "Full backup 20261202-014248F of db1 on local1 in 4.6 s: 30.9 MB, 3.8 MB in the repository."
    assert line in result.stdout and "backup.yml ok" in result.stdout
    as_json = dockyard(project, "backup", "-i", backup_inventory(tmp_path), "--json")
    assert as_json.returncode == 0, as_json.stdout + as_json.stderr
    payload = json.loads(as_json.stdout)
    jsonschema.validate({k: v for k, v in payload.items() if k != "backup"}, RUN_SCHEMA)
    assert payload["backup"]["type"] == "incr"  # the default
    assert "Incremental backup 20261202-014248F" in as_json.stderr


def test_backup_and_restore_need_a_backup_host(project: Path, tmp_path: Path) -> None:
    for argv in (["backup"], ["restore", "--latest", "--force"]):
        result = dockyard(project, *argv, "-i", backup_inventory(tmp_path, backup_host=False))
        assert result.returncode == 2, result.stdout + result.stderr
        assert "has no postgresql_backup_hosts host" in " ".join(result.stderr.split())
        assert not (project / ".dockyard").exists(), "nothing may run"


def test_backups_lists_the_catalog_or_says_there_is_no_backup_host(project: Path, tmp_path: Path) -> None:
    result = dockyard(project, "backups", "-i", backup_inventory(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    text = " ".join(result.stdout.split())
    assert "Backups of stanza main on local1" in text and "20261202-014248F" in text
    assert "A restore can reach from 2026-12-02 01:42:50 UTC to 2026-12-02 01:45:03 UTC." in text
    assert "WAL archive of db1 ok" in text
    payload = json.loads(dockyard(project, "backups", "-i", backup_inventory(tmp_path), "--json").stdout)
    assert payload["ok"] is True and payload["window"]["to"] == "2026-12-02T01:45:03Z"
    none = dockyard(project, "backups", "-i", backup_inventory(tmp_path, backup_host=False))
    assert none.returncode == 0, none.stdout + none.stderr
    assert none.stdout.strip() == "No backups: the inventory has no postgresql_backup_hosts host."
    none_json = dockyard(project, "backups", "-i", backup_inventory(tmp_path, backup_host=False), "--json")
    assert json.loads(none_json.stdout) == {"ok": True, "configured": False}


def test_restore_refuses_without_force_saying_what_would_be_lost(project: Path, tmp_path: Path) -> None:
    result = dockyard(project, "restore", "--time", "2026-12-02 03:45:00+02:00", "-i", backup_inventory(tmp_path))
    assert result.returncode == 2, result.stdout + result.stderr
    text = " ".join(result.stdout.split())
    assert "REFUSED local1 task: Refuse to replace the cluster's data without --force" in text
    assert "db1: restoring to 2026-12-02T01:45:00+00:00 discards every write made after it" in text  # in UTC
    assert "run again with --force to restore" in text and "bad input: nothing was changed" in text


def test_restore_prints_its_steps_and_what_it_restored_and_kept(project: Path, tmp_path: Path) -> None:
    result = dockyard(project, "restore", "--time", "2026-12-02 01:45Z", "--force", "-i", backup_inventory(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Restore the primary from the backup\s+│?\s*\d+\.\d s\s+│?\s*local1", result.stdout)
    text = " ".join(result.stdout.split())
    assert "Restored db1 to 2026-12-02 01:45:00+00, from backup 20261202-014248F." in text
    assert "kept in /var/lib/postgresql/15/main.before-restore-20261202T014500Z on db1: delete it once" in text
    assert "db2, db3 were rebuilt from db1 and stream from it." in text
    as_json = dockyard(project, "restore", "--latest", "--force", "-i", backup_inventory(tmp_path), "--json")
    payload = json.loads(as_json.stdout)
    assert payload["ok"] is True and payload["restore"]["target"] == "" and payload["restore"]["lost"] == ""


def test_a_restore_time_that_cannot_be_read_is_refused_before_anything_runs(project: Path, tmp_path: Path) -> None:
    result = dockyard(project, "restore", "--time", "last tuesday", "-i", backup_inventory(tmp_path), "--json")
    assert result.returncode == 2, result.stdout + result.stderr
    payload = json.loads(result.stdout)
    assert payload["ok"] is False and payload["error"].startswith("--time 'last tuesday': not a time")
    assert not (project / ".dockyard").exists()


def test_the_example_inventory_passes_validation() -> None:
    """inventory/example as shipped: vault-encrypted secrets, every check passed
    (validation connects to no host)."""
    example = REPO_ROOT / "inventory" / "example"
    env = {"DOCKYARD_HOME": str(REPO_ROOT)}
    result = dockyard(
        REPO_ROOT,
        "validate",
        "-i",
        str(example),
        "--vault-password-file",
        str(example / "vault-password.txt"),
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Every check passed" in " ".join(result.stdout.split())  # Rich wraps long lines
    without = dockyard(REPO_ROOT, "validate", "-i", str(example), env=env)
    assert without.returncode == 2
    assert "holds vault-encrypted data" in without.stdout + without.stderr


def test_a_copy_of_the_example_with_its_published_secrets_is_refused(tmp_path: Path) -> None:
    # The example's vault password is in the repository: a copy that keeps its
    # vault deploys with secrets anyone can read.
    copy = tmp_path / "production"
    shutil.copytree(REPO_ROOT / "inventory" / "example", copy)
    result = dockyard(
        REPO_ROOT,
        "validate",
        "-i",
        str(copy),
        "--vault-password-file",
        str(copy / "vault-password.txt"),
        env={"DOCKYARD_HOME": str(REPO_ROOT)},
    )
    assert result.returncode == 2, result.stdout + result.stderr
    message = " ".join((result.stdout + result.stderr).split())
    assert "postgresql_replication_password" in message and "is a secret of inventory/example" in message, message


def test_the_fact_cache_is_private_and_per_inventory(project: Path, tmp_path: Path) -> None:
    # Facts were kept in one 0644 folder keyed by host name: two inventories
    # with a db1 shared (and overwrote) each other's facts.
    from dockyard.project import Project

    other = tmp_path / "other-inventory"
    other.mkdir()
    mine, theirs = Project(project).fact_cache_for(project / "inventory"), Project(project).fact_cache_for(other)
    assert mine != theirs and mine.parent == theirs.parent == project / ".cache" / "facts"
    dockyard(project, "replication", "-i", inventory(project), "-e", f"secret_dir={tmp_path}")
    for path in (project / ".cache", project / ".cache" / "facts", mine):
        assert path.stat().st_mode & 0o777 == 0o700, path


def test_an_inventory_with_none_of_dockyards_groups_is_refused(project: Path) -> None:
    # `dockyard validate -i /etc/hostname` once passed ("1 hosts; groups: none").
    for command in ("validate", "up"):
        result = dockyard(project, command, "-i", "/etc/hostname")
        assert result.returncode == 2, result.stdout + result.stderr
        assert "puts no host in any of Dockyard's groups" in " ".join(result.stderr.split())


@pytest.mark.parametrize(
    ("target", "words"),
    [("db9", "db9 is no host of"), ("local1", "local1 is not a PostgreSQL host of")],
)
def test_a_switchover_target_outside_the_cluster_is_refused_at_once(project: Path, target: str, words: str) -> None:
    started = time.monotonic()
    result = dockyard(project, "switchover", "-i", inventory(project), "--to", target)
    assert result.returncode == 2, result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert f"--to {target}: {words}" in message, message
    assert "PLAY" not in result.stdout + result.stderr  # answered before any playbook
    assert time.monotonic() - started < 20


def test_a_yaml_mistake_in_group_vars_names_the_file_and_line(project: Path) -> None:
    group_vars = project / "inventory" / "group_vars"
    group_vars.mkdir(exist_ok=True)
    (group_vars / "all.yml").write_text("---\nfine: 1\nbroken: [unclosed\nnext: 2\n")
    result = dockyard(project, "validate", "-i", inventory(project))
    assert result.returncode == 2, result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert "group_vars/all.yml: line" in message and "not valid YAML" in message, message


def test_extra_vars_are_read_as_ansible_playbook_reads_them() -> None:
    # -e "a=1 b=2" once gave {"a": "1 b=2"}.
    from dockyard.commands.common import parse_extra_vars
    from dockyard.errors import BadInput

    assert parse_extra_vars(["a=1 b=2", "c='two words'", '{"d": 4}']) == {"a": "1", "b": "2", "c": "two words", "d": 4}
    with pytest.raises(BadInput):
        parse_extra_vars(["no-equals-sign"])


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["up", "--bogus"], "usage: dockyard up"),
        (["status", "--check"], "usage: dockyard status"),
        (["validate", "--diff"], "usage: dockyard validate"),
        (["switchover", "--to", "db2", "--tags", "x"], "usage: dockyard switchover"),
        (["lab", "up", "--limit", "x"], "usage: dockyard lab up"),
    ],
)
def test_options_a_command_does_not_take_are_refused_with_its_usage(project: Path, argv: list[str], usage: str) -> None:
    result = dockyard(project, *argv)
    assert result.returncode == 2, result.stdout + result.stderr
    assert usage in result.stderr and "unrecognized arguments" in result.stderr, result.stderr
