#!/usr/bin/python
"""Loads an image archive the action plugin of the same name sent into the
host's engine, then removes it: what copy, docker_image_load and two file
removals did in four tasks."""

from __future__ import annotations

DOCUMENTATION = r"""
module: microservices_image_load
short_description: Load an image archive sent from the control machine into the host's engine
description:
  - Run through the action plugin of the same name, which sends the archive
    (made by docker_image_export on the control machine) into the task's
    temporary directory on the host and removes the control machine's copy.
  - Runs C(docker load) and removes the archive, loaded or not.
author: Dockyard developers (!UNKNOWN)
options:
  archive:
    description:
      - The archive on the host.
      - In a task, the path of the archive on the control machine; the action
        plugin sends it and runs the module with the path of the copy on the
        host.
    type: path
    required: true
"""

EXAMPLES = r"""
- name: Export an image on the control machine
  community.docker.docker_image_export:
    names: [registry.example.com/api:1.4.2]
    path: /tmp/api-1.4.2.tar
  delegate_to: localhost

- name: Load it into the host's engine (the archive is removed on both sides)
  dockyard.platform.microservices_image_load:
    archive: /tmp/api-1.4.2.tar
"""

RETURN = r"""
loaded:
  description: What C(docker load) reported loading (image names or IDs).
  type: list
  elements: str
  returned: success
  sample: [registry.example.com/api:1.4.2]
"""

import os

from ansible.module_utils.basic import AnsibleModule


def main() -> None:
    module = AnsibleModule(argument_spec={"archive": {"type": "path", "required": True}})
    archive = module.params["archive"]
    docker = module.get_bin_path("docker", required=True)
    try:
        rc, out, err = module.run_command([docker, "load", "--input", archive])
    finally:
        os.remove(archive)
    if rc != 0:
        module.fail_json(msg=f"docker load of the shipped archive failed: {err.strip() or out.strip()}", rc=rc)
    loaded = [line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Loaded image")]
    module.exit_json(changed=True, loaded=loaded)


if __name__ == "__main__":
    main()
