"""Sends an image archive from the control machine to the host, removes the
control machine's copy and runs the module of the same name there to load it."""

from __future__ import annotations

import os
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = True

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp
        archive = self._task.args.get("archive")
        # Check mode changes nothing, here either: the archive stays where it is
        # (it may be the user's own) and the host's engine is not asked.
        if self._task.check_mode:
            self._remove_tmp_path(self._connection._shell.tmpdir)
            result.update(changed=True, msg=f"would send {archive} and load it into the host's engine")
            return result
        try:
            if not archive or not os.path.isfile(archive):
                raise AnsibleActionFail(f"microservices_image_load: no archive at {archive} on the control machine")
            remote = self._connection._shell.join_path(self._connection._shell.tmpdir, "image.tar")
            self._transfer_file(archive, remote)
            self._fixup_perms2((self._connection._shell.tmpdir, remote))
            result.update(
                self._execute_module(
                    module_name="dockyard.platform.microservices_image_load",
                    module_args={"archive": remote},
                    task_vars=task_vars,
                )
            )
            return result
        finally:
            if archive and os.path.isfile(archive):
                os.unlink(archive)
            self._remove_tmp_path(self._connection._shell.tmpdir)
