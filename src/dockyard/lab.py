"""The lab: systemd containers on the local Docker Engine, made and removed by
playbooks/lab.yml. This module checks what the lab needs before that runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from dockyard.errors import BadInput, DockyardError
from dockyard.project import Project

LAB_IMAGE_ENV = "DOCKYARD_LAB_IMAGE"
# A second lab beside the default one (tests do this) needs its own name and
# subnet; the default lab leaves both to playbooks/lab.yml.
LAB_NAME_ENV = "DOCKYARD_LAB_NAME"
LAB_SUBNET_ENV = "DOCKYARD_LAB_SUBNET"
DEFAULT_LAB_IMAGE = "dockyard-lab:latest"
# playbooks/lab.yml's own default for lab_name.
DEFAULT_LAB_NAME = "dockyard"
MAX_REPLICAS = 8


# Debian releases the lab image can be bootstrapped as, from the mirror this
# machine uses (scripts/build-lab-image.sh --release).
LAB_RELEASES = ("bookworm", "trixie")


def own_release() -> str:
    """This machine's codename (/etc/os-release), '' when it names none."""
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return ""
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key == "VERSION_CODENAME":
            return value.strip().strip('"')
    return ""


def lab_image(release: str = "") -> str:
    """DOCKYARD_LAB_IMAGE, else the image of that release (dockyard-lab:trixie),
    else the default image, which is this machine's release."""
    if image := os.environ.get(LAB_IMAGE_ENV):
        return image
    return f"dockyard-lab:{release}" if release and release != own_release() else DEFAULT_LAB_IMAGE


def lab_vars(project: Project, release: str = "") -> dict[str, str]:
    """Variables of playbooks/lab.yml that the CLI decides."""
    values = {"lab_inventory_dir": str(project.lab_inventory), "lab_image": lab_image(release)}
    if name := os.environ.get(LAB_NAME_ENV):
        values["lab_name"] = name
    if subnet := os.environ.get(LAB_SUBNET_ENV):
        values["lab_subnet"] = subnet
    return values


def control_inventory(project: Project) -> Path:
    """The inventory of the control machine itself (connection: local)."""
    return project.root / "inventory" / "localhost.yml"


def forget_facts(project: Project) -> None:
    """New lab hosts reuse the names of the old ones: facts cached about those
    (addresses, versions) must not stand in for theirs."""
    shutil.rmtree(project.fact_cache, ignore_errors=True)


def check_docker() -> None:
    """The lab needs a Docker Engine this user can talk to."""
    if shutil.which("docker") is None:
        raise BadInput(
            "The lab needs Docker on this machine and there is no docker command: "
            "run scripts/bootstrap.sh, or install Docker Engine."
        )
    result = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=60
    )
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no answer"])[-1]
        raise BadInput(
            f"The lab needs a running Docker Engine this user can use ({detail}). "
            "Start it (systemctl start docker, or scripts/bootstrap.sh) or add yourself "
            "to the docker group."
        )


def check_replicas(replicas: int) -> None:
    if not 0 <= replicas <= MAX_REPLICAS:
        raise BadInput(f"--replicas must be between 0 and {MAX_REPLICAS}, got {replicas}.")


def stale_engine_volume() -> str | None:
    """app1's /var/lib/docker is a named volume. When app1's container is gone
    but the volume is not (a host removed by hand), the next lab up mounts it
    into the new app1, whose engine then starts with the old one's images and
    containers. Returns that volume's name; removing it is the user's call."""
    name = os.environ.get(LAB_NAME_ENV) or DEFAULT_LAB_NAME
    volume = f"{name}-app1-docker"
    volume_found = subprocess.run(["docker", "volume", "inspect", volume], capture_output=True).returncode == 0
    if not volume_found:
        return None
    host_found = subprocess.run(["docker", "container", "inspect", f"{name}-app1"], capture_output=True).returncode == 0
    return None if host_found else volume


def image_exists(release: str = "") -> bool:
    return subprocess.run(["docker", "image", "inspect", lab_image(release)], capture_output=True).returncode == 0


def build_image(project: Project, release: str = "") -> None:
    """scripts/build-lab-image.sh, output passed through (it says what it does)."""
    script = project.root / "scripts" / "build-lab-image.sh"
    if not script.is_file():
        raise DockyardError(f"{script} is missing from this checkout.")
    # Its progress goes to stderr: stdout stays free for --json.
    argv = [str(script), *(["--release", release] if release else [])]
    result = subprocess.run(argv, cwd=project.root, stdout=sys.stderr)
    if result.returncode != 0:
        raise DockyardError(f"Building the lab image failed (exit {result.returncode}); see above.")


def record_topology(project: Project, primary: str, replicas: list[str]) -> Path:
    """After a switchover or failover, make the lab inventory name the live
    primary, so that the next `dockyard up` follows it instead of refusing."""
    import yaml  # ships with Ansible; imported here to keep start-up fast

    hosts_file = project.lab_inventory / "hosts.yml"
    try:
        content = yaml.safe_load(hosts_file.read_text())
        groups = content["all"]["children"]["postgresql"]["children"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise DockyardError(f"could not update {hosts_file} with the new primary {primary}: {error}") from error
    groups["postgresql_primary"] = {"hosts": {primary: None}}
    groups["postgresql_replicas"] = {"hosts": dict.fromkeys(replicas)}
    header = "# Written by playbooks/lab.yml; updated by dockyard switchover/failover.\n"
    hosts_file.write_text(header + yaml.safe_dump(content, default_flow_style=False, sort_keys=False))
    return hosts_file
