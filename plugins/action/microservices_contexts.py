"""Packs build contexts on the control machine into one tar archive, sends it
to the host and runs the module of the same name there to put them in place."""

from __future__ import annotations

import os
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase


def pack(contexts: dict[str, str], archive: str) -> None:
    """Each context directory (name: path on the control machine) under its name. Symbolic links are followed, as
    the context's digest (filter build_digest) reads them; owners are reset."""

    def anonymous(member: tarfile.TarInfo) -> tarfile.TarInfo:
        member.uid = member.gid = 0
        member.uname = member.gname = "root"
        return member

    with tarfile.open(archive, "w", dereference=True) as tar:
        for name, where in contexts.items():
            path = Path(str(where)).expanduser()
            if not path.is_dir():
                raise AnsibleActionFail(f"build context {path} is not a directory on the control machine")
            tar.add(str(path), arcname=str(name), filter=anonymous)


class ActionModule(ActionBase):
    TRANSFERS_FILES = True

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp
        contexts = self._task.args.get("contexts") or {}
        dest = self._task.args.get("dest")
        if not dest or not isinstance(contexts, dict):
            raise AnsibleActionFail(
                "microservices_contexts needs dest and contexts: {name: path on the control machine}"
            )
        if not contexts:
            return {**result, "changed": False, "contexts": []}
        names = [str(name) for name in contexts]
        if self._task.check_mode:
            self._remove_tmp_path(self._connection._shell.tmpdir)
            return {**result, "changed": True, "contexts": names, "msg": "check mode: contexts not sent"}
        handle, archive = tempfile.mkstemp(prefix="dockyard-contexts-", suffix=".tar")
        os.close(handle)
        try:
            pack(contexts, archive)
            remote = self._connection._shell.join_path(self._connection._shell.tmpdir, "contexts.tar")
            self._transfer_file(archive, remote)
            self._fixup_perms2((self._connection._shell.tmpdir, remote))
            module_args = {"archive": remote, "dest": dest, "names": names}
            result.update(
                self._execute_module(
                    module_name="dockyard.platform.microservices_contexts", module_args=module_args, task_vars=task_vars
                )
            )
            return result
        finally:
            os.unlink(archive)
            self._remove_tmp_path(self._connection._shell.tmpdir)
