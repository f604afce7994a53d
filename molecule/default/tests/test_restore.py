"""Backups of the whole-stack scenario, for real, in file order after
test_default.py: app1 holds the pgBackRest repository. WAL reaches it from
the primary; `dockyard backup` takes a full backup; rows written before a
noted time T survive a `DROP TABLE` after it through `dockyard restore --time
T`, which without --force changes nothing; a restore to a time after the last
write keeps everything; the repository is encrypted; a run after the restores
changes nothing; after a switchover the backups follow the new primary; and
the cipher pass shows up in no output, artifact or command line."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from support import REPO_ROOT, psql, sh, wait_for

APP1, DB1, DB2, DB3 = (f"dockyard-molecule-{name}" for name in ("app1", "db1", "db2", "db3"))
DATABASES = {"db1": DB1, "db2": DB2, "db3": DB3}
CIPHER_PASS = "molecule-cipher-secret-5c1d93ab"
ROW_VALUE = "restore-canary-value-7f3e"
INVENTORY = os.environ.get("MOLECULE_INVENTORY_FILE", "")
# Every command's output, for the check that the cipher pass is in none.
OUTPUTS: list[str] = []

pytestmark = pytest.mark.skipif(not INVENTORY, reason="runs as the default scenario's verifier")
# What depends on the release (pgBackRest's and PostgreSQL's versions: set up,
# archive, back up, restore, encryption) runs on each; the rest of the story
# on this machine's release only, to keep CI's time (scripts/test.sh runs this
# scenario again with the trixie lab image).
this_release_only = pytest.mark.skipif(
    os.environ.get("DOCKYARD_LAB_IMAGE", "dockyard-lab:latest") != "dockyard-lab:latest",
    reason="release-independent; runs on this machine's release",
)


@pytest.fixture(scope="module", autouse=True)
def fresh_cli_facts() -> None:
    """The CLI caches facts per inventory path, which is the same for this
    scenario on every release while its hosts are new each run: a cached
    interpreter of the other release (python3.13 on a Debian 12 host) would
    break every command. Seen when default@trixie ran before default."""
    from dockyard.project import Project

    shutil.rmtree(Project.locate(REPO_ROOT).fact_cache_for(Path(INVENTORY)), ignore_errors=True)


def dockyard(*argv: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, against the scenario's inventory."""
    result = subprocess.run(
        ["dockyard", *argv, "-i", INVENTORY],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        # The project's own Ansible settings, as for a user.
        env={key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")},
    )
    OUTPUTS.append(result.stdout + result.stderr)
    return result


def app_sql(container: str, query: str) -> str:
    return psql(container, query, "app")


def primary_data_dir_inode() -> str:
    return sh(DB1, "stat -c %i /var/lib/postgresql/*/main").stdout.strip()


def test_wal_reaches_the_repository_from_the_primary():
    psql(DB1, "SELECT pg_switch_wal()")
    assert wait_for(
        lambda: (
            psql(DB1, "SELECT failed_count = 0 OR last_archived_time > last_failed_time FROM pg_stat_archiver") == "t"
        )
    )
    assert int(psql(DB1, "SELECT archived_count FROM pg_stat_archiver")) > 0
    # Only a primary archives; its replicas have nothing to push.
    assert psql(DB2, "SELECT archived_count FROM pg_stat_archiver") == "0"
    timers = sh(APP1, "systemctl is-enabled dockyard-backup-full.timer dockyard-backup-diff.timer").stdout.split()
    assert timers == ["enabled", "enabled"]


def test_a_full_backup_through_the_cli():
    result = dockyard("backup", "--type", "full", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["backup"]["type"] == "full"
    assert report["backup"]["primary"] == DB1
    listed = dockyard("backups", "--json")
    assert listed.returncode == 0, listed.stderr
    catalog = json.loads(listed.stdout)
    assert report["backup"]["label"] in [backup["label"] for backup in catalog["backups"]]
    assert catalog["window"]["from"] is not None
    assert catalog["archive"]["ok"] is True


def test_a_dropped_table_comes_back_with_a_point_in_time_restore():
    app_sql(
        DB1,
        f"CREATE TABLE kept (id int PRIMARY KEY, value text); "
        f"INSERT INTO kept SELECT g, '{ROW_VALUE}-' || g FROM generate_series(1, 500) g",
    )
    # The rows must be in the archive's past when T is taken.
    time.sleep(1.5)
    target = datetime.now(timezone.utc).replace(microsecond=0)
    time.sleep(1.5)
    app_sql(DB1, "DROP TABLE kept")
    app_sql(DB1, "CREATE TABLE after_target (id int)")
    timeline = psql(DB1, "SELECT timeline_id FROM pg_control_checkpoint()")
    inode = primary_data_dir_inode()

    refused = dockyard("restore", "--time", target.isoformat())
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "Nothing was changed" in refused.stdout + refused.stderr
    assert "--force" in refused.stdout + refused.stderr
    # Nothing changed: same data directory, same timeline, the drop still there.
    assert primary_data_dir_inode() == inode
    assert psql(DB1, "SELECT timeline_id FROM pg_control_checkpoint()") == timeline
    assert app_sql(DB1, "SELECT to_regclass('kept') IS NULL") == "t"

    restored = dockyard("restore", "--time", target.isoformat(), "--force", "--json")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    report = json.loads(restored.stdout)["restore"]
    assert report["primary"] == DB1
    assert sorted(report["replicas"]) == [DB2, DB3]
    assert report["kept_data_dir"].startswith("/var/lib/postgresql/")
    # The rows are back everywhere, what came after T is not, and the
    # replicas stream from the restored primary.
    for container in DATABASES.values():
        assert wait_for(lambda c=container: app_sql(c, "SELECT count(*) FROM kept") == "500", timeout=30)
        assert app_sql(container, "SELECT to_regclass('after_target') IS NULL") == "t"
    streaming = psql(
        DB1,
        "SELECT string_agg(application_name, ',' ORDER BY application_name)"
        " FROM pg_stat_replication WHERE state = 'streaming'",
    )
    assert streaming == f"{DB2},{DB3}"
    assert psql(DB2, "SELECT pg_is_in_recovery()") == "t"
    assert psql(DB3, "SELECT pg_is_in_recovery()") == "t"
    # The restored primary is on a new timeline, and the old data is kept.
    assert int(psql(DB1, "SELECT timeline_id FROM pg_control_checkpoint()")) > int(timeline)
    assert sh(DB1, f"test -f {report['kept_data_dir']}/PG_VERSION").returncode == 0


@this_release_only
def test_a_restore_to_a_time_after_the_last_write_keeps_everything():
    # Nothing is committed after the target: recovery finds no commit past it
    # in the archive, which PostgreSQL refuses unless the restore marks the end.
    time.sleep(1.5)
    target = datetime.now(timezone.utc).replace(microsecond=0)
    time.sleep(1.5)
    restored = dockyard("restore", "--time", target.isoformat(), "--force")
    assert restored.returncode == 0, restored.stdout[-3000:] + restored.stderr[-3000:]
    for container in DATABASES.values():
        assert wait_for(lambda c=container: app_sql(c, "SELECT count(*) FROM kept") == "500", timeout=30)


def test_the_repository_is_encrypted():
    # Every file pgBackRest wrote is aes-256-cbc ("Salted__" header); no row
    # value is in it in clear text.
    files = sh(APP1, "find /var/lib/pgbackrest -type f -size +0 | head -200").stdout.split()
    assert files
    headers = sh(
        APP1, 'for f in $(find /var/lib/pgbackrest -type f -size +0 | head -200); do head -c 8 "$f"; echo; done'
    ).stdout.split()
    assert set(headers) == {"Salted__"}
    assert sh(APP1, f"grep -rl '{ROW_VALUE}' /var/lib/pgbackrest").stdout == ""


def playbook(name: str, *options: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["ansible-playbook", "-i", INVENTORY, str(REPO_ROOT / "playbooks" / name), *options],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env=dict(os.environ, ANSIBLE_CONFIG=str(Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "ansible.cfg")),
    )
    OUTPUTS.append(result.stdout + result.stderr)
    return result


@this_release_only
def test_a_run_after_the_restores_changes_nothing():
    result = playbook("site.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    changed = sum(int(n) for n in re.findall(r" changed=(\d+)", result.stdout))
    assert changed == 0, result.stdout[-3000:]


@this_release_only
def test_backups_follow_the_primary_after_a_switchover():
    result = playbook("switchover.yml", "-e", f"dockyard_target={DB2}")
    assert result.returncode == 0, result.stdout[-3000:]
    assert psql(DB2, "SELECT pg_is_in_recovery()") == "f"
    before = int(psql(DB2, "SELECT archived_count FROM pg_stat_archiver"))
    psql(DB2, "SELECT pg_switch_wal()")
    assert wait_for(lambda: int(psql(DB2, "SELECT archived_count FROM pg_stat_archiver")) > before)
    backup = dockyard("backup", "--type", "diff", "--json")
    assert backup.returncode == 0, backup.stderr
    assert json.loads(backup.stdout)["backup"]["primary"] == DB2


def test_the_cipher_pass_is_nowhere_but_the_repository_hosts_configuration():
    assert OUTPUTS
    for output in OUTPUTS:
        assert CIPHER_PASS not in output
    artifacts = REPO_ROOT / ".dockyard"
    if artifacts.exists():
        leaked = subprocess.run(["grep", "-rl", CIPHER_PASS, str(artifacts)], capture_output=True, text=True)
        assert leaked.stdout == ""
    for container in (APP1, *DATABASES.values()):
        command_lines = sh(container, "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done").stdout
        assert CIPHER_PASS not in command_lines
    # Only the repository host holds it.
    for container in DATABASES.values():
        assert sh(container, f"grep -rl '{CIPHER_PASS}' /etc/pgbackrest.conf /etc/postgresql").stdout == ""
    mode = sh(APP1, "stat -c '%a %U %G' /etc/pgbackrest.conf").stdout.strip()
    assert mode == "640 root postgres"
