#!/usr/bin/python
"""What the docker_engine role needs to know about a host, in one round trip:
package states, the files it manages, daemon.json as it is, dockerd's --help
and the service's state. A host that is already right then costs no apt run,
no file writes and no service call: over slow connections one module call
costs far less than the dozen it replaces."""

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_engine_probe
short_description: Report the state of Docker Engine on a Debian-family host
description:
  - Reads, without changing anything, the dpkg state of the packages named,
    owner, group and mode of the paths named, the text of daemon.json and of
    the role's copy of it, the output of C(dockerd --help) and whether the
    docker service is active and enabled.
author: Dockyard developers (!UNKNOWN)
options:
  packages:
    description: Package names whose dpkg state to report.
    type: list
    elements: str
    required: true
  paths:
    description: Paths whose owner, group and mode to report.
    type: list
    elements: str
    default: []
  daemon_json:
    description: Path of daemon.json.
    type: str
    default: /etc/docker/daemon.json
  applied_json:
    description: Path of the role's copy of the daemon.json the running daemon loaded.
    type: str
    default: /var/lib/dockyard/docker_engine/daemon.json
  dockerd:
    description: Path of dockerd.
    type: str
    required: true
  service:
    description: systemd unit of the engine.
    type: str
    default: docker
"""

EXAMPLES = r"""
- name: Read the state of Docker Engine in one call
  dockyard.platform.docker_engine_probe:
    packages: [docker-ce, docker-ce-cli, containerd.io, docker-buildx-plugin, docker-compose-plugin]
    paths:
      - /etc/docker
      - /etc/docker/daemon.json
    dockerd: /usr/bin/dockerd
  register: docker_engine_probe

- name: Install the engine only when it is missing
  ansible.builtin.apt:
    name: docker-ce
  when: not docker_engine_probe.installed
"""

RETURN = r"""
packages:
  description:
    - One entry per package dpkg knows, by name, with C(want) (install, hold,
      deinstall, purge, unknown) and C(status) (installed, config-files,
      not-installed, ...).
    - Packages dpkg does not know are left out.
  type: dict
  returned: always
  sample: {docker-ce: {want: install, status: installed}}
paths:
  description:
    - One entry per existing path, by path, with C(owner), C(group) and
      C(mode) (octal string, for example C(0644)).
    - Missing paths are left out.
  type: dict
  returned: always
  sample: {/etc/docker: {owner: root, group: root, mode: "0755"}}
daemon_json:
  description: Text of daemon.json; null when it is missing.
  type: str
  returned: always
applied_json:
  description:
    - Text of the copy of daemon.json the role keeps once the running daemon
      has loaded it; null when it is missing.
  type: str
  returned: always
installed:
  description: Whether dockerd is installed (it is executable and its C(--help) succeeded).
  type: bool
  returned: always
dockerd_help:
  description: Output of C(dockerd --help) (stdout then stderr); empty when dockerd is not there or not executable.
  type: str
  returned: always
service_active:
  description: Whether the engine's unit is active (false where there is no systemctl).
  type: bool
  returned: always
service_enabled:
  description: Whether the engine's unit is enabled (false where there is no systemctl).
  type: bool
  returned: always
net_sysctls_writable:
  description:
    - Whether the host's network sysctls can be written (/proc/sys/net/ipv4/ip_forward);
      false where /proc/sys is read-only, as in a container.
  type: bool
  returned: always
"""

import grp
import os
import pwd
import shutil

from ansible.module_utils.basic import AnsibleModule


def package_states(module: AnsibleModule, names: list[str]) -> dict[str, dict[str, str]]:
    if not names:
        return {}
    # dpkg-query exits 1 when some names are unknown; it still lists the others.
    _rc, out, _err = module.run_command(
        ["dpkg-query", "-W", "-f=${Package} ${Status}\n", *names], environ_update={"LC_ALL": "C"}
    )
    states = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 4:
            states[fields[0]] = {"want": fields[1], "status": fields[3]}
    return states


def path_states(paths: list[str]) -> dict[str, dict[str, str]]:
    states = {}
    for path in paths:
        try:
            info = os.stat(path)
        except FileNotFoundError:
            continue
        try:
            owner = pwd.getpwuid(info.st_uid).pw_name
        except KeyError:
            owner = str(info.st_uid)
        try:
            group = grp.getgrgid(info.st_gid).gr_name
        except KeyError:
            group = str(info.st_gid)
        states[path] = {"owner": owner, "group": group, "mode": f"{info.st_mode & 0o7777:04o}"}
    return states


def read_text(path: str) -> str | None:
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "packages": {"type": "list", "elements": "str", "required": True},
            "paths": {"type": "list", "elements": "str", "default": []},
            "daemon_json": {"type": "str", "default": "/etc/docker/daemon.json"},
            "applied_json": {"type": "str", "default": "/var/lib/dockyard/docker_engine/daemon.json"},
            "dockerd": {"type": "str", "required": True},
            "service": {"type": "str", "default": "docker"},
        },
        supports_check_mode=True,
    )
    params = module.params
    installed, help_text = False, ""
    if os.access(params["dockerd"], os.X_OK):
        rc, out, err = module.run_command([params["dockerd"], "--help"])
        installed, help_text = rc == 0, out + err
    active = enabled = False
    if shutil.which("systemctl"):
        active = module.run_command(["systemctl", "is-active", "--quiet", params["service"]])[0] == 0
        enabled = module.run_command(["systemctl", "is-enabled", "--quiet", params["service"]])[0] == 0
    module.exit_json(
        changed=False,
        packages=package_states(module, params["packages"]),
        paths=path_states(params["paths"]),
        daemon_json=read_text(params["daemon_json"]),
        applied_json=read_text(params["applied_json"]),
        installed=installed,
        dockerd_help=help_text,
        service_active=active,
        service_enabled=enabled,
        net_sysctls_writable=os.access("/proc/sys/net/ipv4/ip_forward", os.W_OK),
    )


if __name__ == "__main__":
    main()
