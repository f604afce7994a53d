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
    check mode.
options:
  files:
    description: The files.
    type: list
    elements: dict
    required: true
    suboptions:
      path: {description: Absolute path., type: path, required: true}
      content: {description: Wanted content (not logged)., type: str, default: "", no_log: true}
      owner: {description: Owner., type: str, default: root}
      group: {description: Group., type: str, default: root}
      mode: {description: Octal mode., type: str, default: "0644"}
      state: {description: present or absent., type: str, default: present, choices: [present, absent]}
"""

RETURN = r"""
changed_paths: {description: Paths written or removed (or that would be, in check mode)., type: list, returned: always}
"""

import grp
import os
import pwd
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule


def differs(path: str, content: bytes, uid: int, gid: int, mode: int) -> bool:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return True
    if (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) != (uid, gid, mode):
        return True
    with open(path, "rb") as handle:
        return handle.read() != content


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


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "files": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "path": {"type": "path", "required": True},
                    "content": {"type": "str", "default": "", "no_log": True},
                    "owner": {"type": "str", "default": "root"},
                    "group": {"type": "str", "default": "root"},
                    "mode": {"type": "str", "default": "0644"},
                    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
                },
            }
        },
        supports_check_mode=True,
    )
    changed_paths = []
    for entry in module.params["files"]:
        path = entry["path"]
        if entry["state"] == "absent":
            if os.path.lexists(path):
                changed_paths.append(path)
                if not module.check_mode:
                    os.unlink(path)
            continue
        try:
            uid = pwd.getpwnam(entry["owner"]).pw_uid
            gid = grp.getgrnam(entry["group"]).gr_gid
            mode = int(entry["mode"], 8)
        except (KeyError, ValueError) as error:
            module.fail_json(msg=f"{path}: bad owner, group or mode: {error}")
        content = entry["content"].encode()
        if differs(path, content, uid, gid, mode):
            changed_paths.append(path)
            if not module.check_mode:
                # Missing parents are made as root-owned 0755 directories.
                os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
                write(path, content, uid, gid, mode)
    module.exit_json(changed=bool(changed_paths), changed_paths=changed_paths)


if __name__ == "__main__":
    main()
