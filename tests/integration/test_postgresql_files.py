"""postgresql_replication_files for real, through ansible-playbook on this
machine: --diff shows each changed file's before and after (in check mode
too, changing nothing), attribute changes included, and never a secret
file's content, in the diff or anywhere else in the output."""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
from pathlib import Path

from support import COLLECTIONS_PATH

SECRET = "*:5432:*:replicator:s3cret-never-shown-anywhere"
PLAYBOOK = """---
- name: Files
  hosts: localhost
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
  tasks:
    - name: Write the files
      dockyard.platform.postgresql_replication_files:
        files:
          - {{path: "{dir}/pg_hba.conf", content: "{hba}", owner: {user}, group: {group}, mode: "{mode}"}}
          - {{path: "{dir}/gone.conf", state: absent}}
        secret_files:
          - {{path: "{dir}/pgpass", content: "{secret}\\n", owner: {user}, group: {group}, mode: "0600"}}
"""


def run(tmp_path: Path, *options: str, hba: str, mode: str = "0640", secret: str = SECRET) -> str:
    user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    playbook = tmp_path / "files.yml"
    playbook.write_text(PLAYBOOK.format(dir=tmp_path, hba=hba, user=user, group=group, mode=mode, secret=secret))
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_PATH),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
    }
    argv = ["ansible-playbook", "-c", "local", "-i", "localhost,", str(playbook), *options]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_diff_shows_config_changes_and_never_a_secret(tmp_path: Path) -> None:
    (tmp_path / "gone.conf").write_text("old setting\n")
    first = run(tmp_path, "--diff", "-v", hba="host all all 10.0.0.1/32 scram-sha-256\\n")
    assert "+host all all 10.0.0.1/32 scram-sha-256" in first
    assert "-old setting" in first
    assert "(secret: content changed, not shown)" in first
    assert "s3cret-never-shown-anywhere" not in first

    # Check mode: the diff of what would change, and nothing changed.
    planned = run(
        tmp_path, "--check", "--diff", hba="host all all 10.0.0.2/32 scram-sha-256\\n", mode="0600",
        secret=SECRET + "-new",
    )  # fmt: skip
    assert "-host all all 10.0.0.1/32 scram-sha-256" in planned
    assert "+host all all 10.0.0.2/32 scram-sha-256" in planned
    assert "+# owner=" in planned and "mode=0600" in planned
    assert "s3cret-never-shown-anywhere" not in planned
    assert (tmp_path / "pg_hba.conf").read_text() == "host all all 10.0.0.1/32 scram-sha-256\n"
    assert (tmp_path / "pgpass").read_text() == SECRET + "\n"

    # Unchanged: nothing to show, changed=0.
    again = run(tmp_path, "--diff", hba="host all all 10.0.0.1/32 scram-sha-256\\n")
    assert "changed=0" in again and "+host" not in again
