"""scripts/bootstrap.sh --local, for real, on a fresh systemd host from the lab
image standing in for a new Debian server: it sets up the venv, writes the
inventory, installs Docker Engine through the docker_engine role, loads a base
image (the CI machine reaches no registry: an air-gapped server), deploys
PostgreSQL and the sample services, and prints the status. An item posted
through the gateway comes back; a second run changes nothing. The venv is
installed from the package index inside the host, as on a real server."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import LAB_IMAGE, REPO_ROOT, start_systemd_container, wait_for

NETWORK_SUBNET = "192.168.238.0/24"
ADDRESS = "192.168.238.10"
ROOT_IN_HOST = "/opt/dockyard"


def checkout_copy(target: Path) -> None:
    """The files of this checkout (tracked or new, not ignored): what a user clones."""
    listed = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (entry.decode() for entry in listed)):
        source = REPO_ROOT / name
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            # As git checks it out: .collections/.../platform -> ../../..
            os.symlink(os.readlink(source), target / name)
        elif source.is_file():
            shutil.copy2(source, target / name)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    checkout = tmp_path_factory.mktemp("server") / "dockyard"
    checkout.mkdir()
    checkout_copy(checkout)
    subprocess.run(["docker", "save", "-o", str(checkout / "base-image.tar"), LAB_IMAGE], check=True)
    suffix = uuid.uuid4().hex[:8]
    name, network = f"dockyard-pytest-server-{suffix}", f"dockyard-pytest-server-{suffix}"
    subprocess.run(
        ["docker", "network", "create", "--subnet", NETWORK_SUBNET, network], check=True, capture_output=True
    )
    try:
        start_systemd_container(
            name,
            "server1",
            "--network",
            network,
            "--ip",
            ADDRESS,
            # The server's own engine: overlay2 needs a real filesystem under /var/lib/docker.
            "-v",
            "/var/lib/docker",
            "-v",
            f"{checkout}:{ROOT_IN_HOST}",
            *(["-v", f"{pip_ca()}:{PIP_CA_IN_HOST}:ro"] if pip_ca() else []),
        )
        assert wait_for(
            lambda: (
                subprocess.run(
                    ["docker", "exec", name, "systemctl", "is-system-running"], capture_output=True, text=True
                ).stdout.strip()
                in ("running", "degraded")
            ),
            timeout=60,
        )
        yield name
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True)
        subprocess.run(["docker", "network", "rm", network], capture_output=True)


# This machine's way to the package index (an index, a proxy, the CA that
# proxy signs with) is the server's too.
PIP_SETTINGS = (
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_TRUSTED_HOST",
    "PIP_DEFAULT_TIMEOUT",
    "HTTPS_PROXY",
    "https_proxy",
)
PIP_CA_IN_HOST = "/etc/dockyard-test/pip-ca.crt"


def pip_ca() -> str | None:
    path = os.environ.get("PIP_CERT") or os.environ.get("REQUESTS_CA_BUNDLE")
    return path if path and Path(path).is_file() else None


def bootstrap(server: str) -> subprocess.CompletedProcess[str]:
    passed = {key: value for key, value in os.environ.items() if key in PIP_SETTINGS}
    if pip_ca():
        passed["PIP_CERT"] = PIP_CA_IN_HOST
    env = {
        **passed,
        # No Docker repository and no registry here: the distribution's engine
        # and a base image loaded from an archive.
        "DOCKYARD_DOCKER_SOURCE": "distro",
        "DOCKYARD_BASE_IMAGE": LAB_IMAGE,
        "DOCKYARD_BASE_IMAGE_ARCHIVE": f"{ROOT_IN_HOST}/base-image.tar",
    }
    argv = ["docker", "exec", *(f"-e{key}={value}" for key, value in env.items()), server]
    return subprocess.run(
        [*argv, f"{ROOT_IN_HOST}/scripts/bootstrap.sh", "--local"], capture_output=True, text=True, timeout=1500
    )


def in_server(server: str, *argv: str) -> str:
    return subprocess.run(["docker", "exec", server, *argv], capture_output=True, text=True, check=True).stdout


def api(server: str, method: str, path: str, payload: dict | None = None) -> object:
    code = (
        "import json, sys, urllib.request\n"
        "data = sys.argv[3].encode() if sys.argv[3] else None\n"
        "request = urllib.request.Request('http://127.0.0.1:8080' + sys.argv[2], data=data, method=sys.argv[1],"
        " headers={'Content-Type': 'application/json'})\n"
        "print(urllib.request.urlopen(request, timeout=10).read().decode())\n"
    )
    body = json.dumps(payload) if payload is not None else ""
    return json.loads(in_server(server, "python3", "-c", code, method, path, body))


def test_bootstrap_local_provisions_the_server(server: str) -> None:
    first = bootstrap(server)
    output = first.stdout + first.stderr
    assert first.returncode == 0, output[-6000:]
    for phase in ("virtualenv with Dockyard and Ansible", "inventory for this server", "Docker Engine", "status"):
        assert re.search(rf"{re.escape(phase)}[^\n]*: done in \d+ s", output), phase
    assert f"inventory: {ROOT_IN_HOST}/inventory/local" in output
    assert "this server runs the platform" in output

    assert in_server(server, "systemctl", "is-active", "docker").strip() == "active"
    assert "docker.io" in in_server(server, "dpkg-query", "-W", "-f=${Package}\n", "docker.io")
    running = in_server(server, "docker", "ps", "--format", "{{.Names}} {{.Status}}")
    assert re.search(r"^api Up .*\(healthy\)", running, re.M), running
    assert re.search(r"^gateway Up .*\(healthy\)", running, re.M), running
    primary = in_server(server, "runuser", "-u", "postgres", "--", "psql", "-XAtc", "SELECT pg_is_in_recovery()")
    assert primary.strip() == "f"


def test_the_generated_inventory_keeps_its_secrets_private(server: str) -> None:
    modes = in_server(server, "stat", "-c", "%a %n", f"{ROOT_IN_HOST}/inventory/local/group_vars/all/secrets.yml")
    assert modes.split()[0] == "600"
    hosts = in_server(server, "cat", f"{ROOT_IN_HOST}/inventory/local/hosts.yml")
    assert "server1:" in hosts
    settings = in_server(server, "cat", f"{ROOT_IN_HOST}/inventory/local/group_vars/all/main.yml")
    assert f"postgresql_address: {ADDRESS}" in settings


def test_an_item_goes_through_the_gateway_to_postgresql_and_back(server: str) -> None:
    name = f"item-{uuid.uuid4().hex[:10]}"
    created = api(server, "POST", "/api/items", {"name": name})
    assert isinstance(created, dict) and created["name"] == name
    items = api(server, "GET", "/api/items")
    assert name in [item["name"] for item in items]  # type: ignore[union-attr]


def test_a_second_run_changes_nothing_and_keeps_the_secrets(server: str) -> None:
    secrets = in_server(server, "cat", f"{ROOT_IN_HOST}/inventory/local/group_vars/all/secrets.yml")
    again = bootstrap(server)
    output = again.stdout + again.stderr
    assert again.returncode == 0, output[-6000:]
    # The recap rows of `dockyard docker` and `dockyard up`: host, ok, changed, ...
    recaps = re.findall(r"│ server1 │\s+\d+ │\s+(\d+) │", output)
    assert len(recaps) == 2, output[-4000:]
    assert recaps == ["0", "0"], output[-4000:]
    assert in_server(server, "cat", f"{ROOT_IN_HOST}/inventory/local/group_vars/all/secrets.yml") == secrets
