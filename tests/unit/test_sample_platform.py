"""The sample platform is defined once (services/platform.yml); every place
that deploys it renders that definition (the lab, bootstrap --local, Molecule)
or is held to it here (inventory/example, the Dockerfiles' HEALTHCHECK)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from ansible_collections.dockyard.platform.plugins.module_utils.sample_platform import (
    dockerfile_healthcheck,
    sample_platform,
)

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = yaml.safe_load((ROOT / "services" / "platform.yml").read_text())


def test_the_example_inventory_is_the_definition_pulled_from_a_registry() -> None:
    example = yaml.safe_load((ROOT / "inventory" / "example" / "group_vars" / "app_hosts.yml").read_text())
    rendered = sample_platform(
        DEFINITION,
        registry="registry.example.com/dockyard",
        version="1.0.0",
        restart_policy="always",
    )
    assert example["microservices_networks"] == rendered["microservices_networks"]
    assert example["microservices"] == rendered["microservices"]


@pytest.mark.parametrize("service", [s["name"] for s in DEFINITION["services"]])
def test_each_dockerfile_checks_health_as_the_platform_does(service: str) -> None:
    port = next(s["port"] for s in DEFINITION["services"] if s["name"] == service)
    dockerfile = (ROOT / "services" / service / "Dockerfile").read_text()
    [line] = [line for line in dockerfile.splitlines() if line.startswith("HEALTHCHECK")]
    assert line == dockerfile_healthcheck(port, DEFINITION["health"])
    assert f"EXPOSE {port}" in dockerfile


@pytest.mark.parametrize(
    "path",
    ["playbooks/tasks/lab-create.yml", "playbooks/local.yml", "molecule/default/molecule.yml"],
)
def test_the_places_that_deploy_it_render_the_definition(path: str) -> None:
    text = (ROOT / path).read_text()
    assert "dockyard.platform.sample_platform(" in text
    assert "services/platform.yml" in text
    # No copy of a service's own settings beside the rendering.
    assert not re.search(r"^\s*(healthcheck|depends_on):", text, re.M), path


def test_a_build_gets_each_service_from_its_directory_on_the_base_image() -> None:
    rendered = sample_platform(
        DEFINITION,
        services_dir="/srv/dockyard/services/",
        base_image="dockyard-lab:latest",
    )
    api, gateway = rendered["microservices"]
    assert api["build"] == {"context": "/srv/dockyard/services/api", "args": {"BASE_IMAGE": "dockyard-lab:latest"}}
    # The database by name: the role gives it every cluster host and the password.
    assert api["database"] == {"name": "app", "user": "app"}
    assert "env" not in api and "secret_env" not in api
    assert "ports" not in api and gateway["ports"] == ["8080:8080"]
    assert gateway["depends_on"] == ["api"] and "env" not in gateway
    assert gateway["healthcheck"]["test"][-1] == "http://127.0.0.1:8080/health"


@pytest.mark.parametrize(
    "source",
    [{}, {"services_dir": "/srv", "registry": "registry.example.com"}],
    ids=["neither", "both"],
)
def test_a_platform_is_built_or_pulled(source: dict) -> None:
    with pytest.raises(ValueError, match="either services_dir"):
        sample_platform(DEFINITION, **source)
