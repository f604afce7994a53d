#!/usr/bin/python
"""Replaces build contexts on the host with the ones in an archive the action
plugin of the same name packed on the control machine. One transfer and one
module run whatever the number of files: the copy module paid a round trip per
file, kept files deleted from a context, and flattened every mode to 0644."""

from __future__ import annotations

DOCUMENTATION = r"""
module: microservices_contexts
short_description: Put build contexts packed on the control machine in place on the host
description:
  - Run through the action plugin of the same name. In a task, give C(contexts),
    a mapping of context name to its directory on the control machine, and
    I(dest); the action plugin packs the contexts into one tar archive, sends
    it and runs the module with I(archive), I(dest) and I(names), the options
    below.
  - The module replaces each named context directory under I(dest) with the
    archive's copy, so files removed from a context are gone on the host too.
  - File modes come from the control machine; owners are the user the module
    runs as.
  - In check mode the action plugin sends nothing and does not run the module.
author: Dockyard developers (!UNKNOWN)
options:
  archive:
    description: The archive on the host (the action plugin's upload).
    type: path
    required: true
  dest:
    description: Directory holding one directory per context; created when missing.
    type: path
    required: true
  names:
    description: The contexts in the archive, each the name of its top directory.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Send the build contexts of two services
  dockyard.platform.microservices_contexts:
    contexts:
      api: "{{ playbook_dir }}/../services/api"
      gateway: "{{ playbook_dir }}/../services/gateway"
    dest: /var/lib/dockyard/build
"""

RETURN = r"""
contexts:
  description:
    - The context directories written on the host.
    - In check mode, the context names (the action plugin sends nothing); an
      empty list when C(contexts) is empty.
  type: list
  elements: str
  returned: success
  sample: [/var/lib/dockyard/build/api]
"""

import os
import shutil
import tarfile

from ansible.module_utils.basic import AnsibleModule


def _escapes(path: str) -> bool:
    return path.startswith("/") or ".." in path.split("/")


def unsafe_members(archive: tarfile.TarFile, names: list[str]) -> list[str]:
    """Members that would land, or link, outside their context's directory."""
    bad = []
    for member in archive.getmembers():
        link = member.linkname if member.issym() or member.islnk() else ""
        if _escapes(member.name) or member.name.split("/")[0] not in names or _escapes(link):
            bad.append(member.name)
    return bad


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "archive": {"type": "path", "required": True},
            "dest": {"type": "path", "required": True},
            "names": {"type": "list", "elements": "str", "required": True},
        },
        supports_check_mode=True,
    )
    names = module.params["names"]
    dest = module.params["dest"]
    bad_names = [name for name in names if not name or "/" in name or name in (".", "..")]
    if bad_names:
        module.fail_json(msg=f"context names must be plain directory names: {bad_names}")
    with tarfile.open(module.params["archive"]) as archive:
        unsafe = unsafe_members(archive, names)
        if unsafe:
            module.fail_json(msg=f"the context archive has members outside its contexts: {unsafe[:5]}")
        targets = [os.path.join(dest, name) for name in names]
        if module.check_mode:
            module.exit_json(changed=True, contexts=targets)
        os.makedirs(dest, mode=0o755, exist_ok=True)
        for target in targets:
            if os.path.lexists(target):
                shutil.rmtree(target) if os.path.isdir(target) and not os.path.islink(target) else os.remove(target)
        if hasattr(tarfile, "data_filter"):
            archive.extractall(dest, filter="data")
        else:  # Python before 3.10.12: the members were checked above
            archive.extractall(dest)
    module.exit_json(changed=True, contexts=targets)


if __name__ == "__main__":
    main()
