#!/usr/bin/python
"""Writes (or removes) the cluster's configuration files in one round trip.
The role renders each file on the control machine; this module only compares
and replaces them atomically, so a re-run costs one call, not one per file."""

from __future__ import annotations

DOCUMENTATION = r"""
module: postgresql_replication_files
short_description: Put a set of small files in place in one call
description:
  - Each file is compared with its wanted content, owner, group and mode and
    replaced atomically only when it differs (missing parent directories are
    created, root-owned, 0755); files with state absent are removed. Supports
    check mode and diff mode (before and after of each file that changes; a
    secret file's content is never shown, only that it changes).
author: Dockyard developers (!UNKNOWN)
options:
  files:
    description: The files whose content may be shown (in --diff and with -vvv).
    type: list
    elements: dict
    default: []
    suboptions:
      path: {description: Absolute path., type: path, required: true}
      content: {description: Wanted content., type: str, default: ""}
      owner: {description: Owner., type: str, default: root}
      group: {description: Group., type: str, default: root}
      mode: {description: Octal mode., type: str, default: "0644"}
      state: {description: Whether the file should exist., type: str, default: present, choices: [present, absent]}
  secret_files:
    description:
      - Files holding secrets (a passfile). Their content is never logged,
        diffed or returned.
      - Their paths, owners, groups and modes are not secret and show as
        those of I(files) do.
    type: list
    elements: dict
    default: []
    suboptions:
      path: {description: Absolute path., type: path, required: true}
      content: {description: Wanted content (never logged)., type: str, default: ""}
      owner: {description: Owner., type: str, default: root}
      group: {description: Group., type: str, default: root}
      mode: {description: Octal mode., type: str, default: "0644"}
      state: {description: Whether the file should exist., type: str, default: present, choices: [present, absent]}
"""

EXAMPLES = r"""
- name: Write the cluster's configuration files and its passfile
  dockyard.platform.postgresql_replication_files:
    files:
      - path: /etc/postgresql/16/main/pg_hba.conf
        content: "{{ lookup('ansible.builtin.template', 'pg_hba.conf.j2') }}"
        owner: postgres
        group: postgres
        mode: "0640"
      - path: /etc/postgresql/16/main/conf.d/60-dockyard-standby.conf
        state: absent
    secret_files:
      - path: /var/lib/postgresql/.dockyard-pgpass
        content: "*:5432:*:replicator:{{ vault_replication_password }}\n"
        owner: postgres
        group: postgres
        mode: "0600"
  register: written
"""

RETURN = r"""
changed_paths:
  description: Paths written or removed (or that would be, in check mode).
  type: list
  elements: str
  returned: always
  sample: [/etc/postgresql/16/main/pg_hba.conf]
diff:
  description:
    - Ansible's before and after of each changed file, which C(--diff) shows.
    - A secret file's content is replaced by a placeholder.
  type: list
  elements: dict
  returned: in diff mode
"""

import grp
import os
import pwd
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule

SECRET = "(secret: content not shown)\n"
SECRET_CHANGED = "(secret: content changed, not shown)\n"


def current(path: str) -> tuple[bytes, tuple[int, int, int]] | None:
    """The file's content and (uid, gid, mode); None when there is none."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    with open(path, "rb") as handle:
        return handle.read(), (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode))


def attributes(owner: tuple[int, int, int]) -> str:
    uid, gid, mode = owner
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    try:
        group = grp.getgrgid(gid).gr_name
    except KeyError:
        group = str(gid)
    return f"owner={user} group={group} mode={mode:04o}"


def file_diff(
    path: str,
    before: tuple[bytes, tuple[int, int, int]] | None,
    after: tuple[bytes, tuple[int, int, int]] | None,
    secret: bool,
) -> dict[str, str]:
    """One file's change as Ansible's callbacks show it: content, and the
    owner, group and mode on a first line when they change."""

    def text(state: tuple[bytes, tuple[int, int, int]] | None, changed_content: bool) -> str:
        if state is None:
            return ""
        content = (SECRET_CHANGED if changed_content else SECRET) if secret else state[0].decode(errors="replace")
        shown_attributes = before is not None and after is not None and before[1] != after[1]
        return (f"# {attributes(state[1])}\n" if shown_attributes else "") + content

    content_changed = before is None or after is None or before[0] != after[0]
    return {
        "before_header": path,
        "after_header": path,
        "before": text(before, False),
        "after": text(after, content_changed),
    }


def write(path: str, content: bytes, uid: int, gid: int, mode: int) -> None:
    directory = os.path.dirname(path)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".dockyard-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chown(temporary, uid, gid)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


FILE_OPTIONS = {
    "path": {"type": "path", "required": True},
    "content": {"type": "str", "default": ""},
    "owner": {"type": "str", "default": "root"},
    "group": {"type": "str", "default": "root"},
    "mode": {"type": "str", "default": "0644"},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
}


def main() -> None:
    secret_options = {**FILE_OPTIONS, "content": {**FILE_OPTIONS["content"], "no_log": True}}
    module = AnsibleModule(
        argument_spec={
            "files": {"type": "list", "elements": "dict", "default": [], "options": FILE_OPTIONS},
            # What is secret is each file's content (no_log above); the list's
            # paths, owners and modes are not, and stay readable in the output.
            "secret_files": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": secret_options,
                "no_log": False,
            },
        },
        supports_check_mode=True,
    )
    entries = [(entry, False) for entry in module.params["files"]]
    entries += [(entry, True) for entry in module.params["secret_files"]]
    changed_paths = []
    diffs = []
    for entry, secret in entries:
        path = entry["path"]
        before = current(path) if os.path.lexists(path) else None
        if entry["state"] == "absent":
            if os.path.lexists(path):
                changed_paths.append(path)
                diffs.append(file_diff(path, before, None, secret))
                if not module.check_mode:
                    os.unlink(path)
            continue
        try:
            wanted = (entry["content"].encode(), (pwd.getpwnam(entry["owner"]).pw_uid,
                      grp.getgrnam(entry["group"]).gr_gid, int(entry["mode"], 8)))  # fmt: skip
        except (KeyError, ValueError) as error:
            module.fail_json(msg=f"{path}: bad owner, group or mode: {error}")
        if before != wanted:
            changed_paths.append(path)
            diffs.append(file_diff(path, before, wanted, secret))
            if not module.check_mode:
                # Missing parents are made as root-owned 0755 directories.
                os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
                content, (uid, gid, mode) = wanted
                write(path, content, uid, gid, mode)
    result = {"changed": bool(changed_paths), "changed_paths": changed_paths}
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
