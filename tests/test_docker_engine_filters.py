"""docker_engine_problems: every mistake in the role's variables in one pass,
with the role's real defaults and known daemon.json keys. The filter is a pure
function, so it runs here as it is; tests/test_docker_engine_input.py runs the
same checks through playbooks/docker.yml on a real host."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
ROLE = ROOT / "roles" / "docker_engine"
spec = importlib.util.spec_from_file_location("docker_engine_filters", ROLE / "filter_plugins" / "docker_engine.py")
assert spec is not None and spec.loader is not None
filters = importlib.util.module_from_spec(spec)
spec.loader.exec_module(filters)

DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
KNOWN_KEYS = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())["docker_engine_daemon_known_keys"]


def values(**overrides: Any) -> dict[str, Any]:
    return {
        "users": DEFAULTS["docker_engine_users"],
        "options": DEFAULTS["docker_engine_daemon_options"],
        "defaults": DEFAULTS["docker_engine_daemon_defaults"],
        "known_keys": KNOWN_KEYS,
        "allowed_sources": DEFAULTS["docker_engine_published_ports_allowed_sources"],
        "version": DEFAULTS["docker_engine_version"],
        **overrides,
    }


def test_the_roles_defaults_have_no_problem() -> None:
    assert filters.problems(values(), "app1") == []


def test_a_version_yaml_read_as_a_number_is_a_version() -> None:
    assert filters.problems(values(version=27.3), "app1") == []


def test_every_mistake_is_reported_at_once() -> None:
    found = filters.problems(
        values(
            users="alice",
            options={"log-levle": "warn", "log-opts": {"max-file": 3}, "hosts": ["0.0.0.0:2375"]},
            allowed_sources=["everyone"],
        ),
        "app1",
    )
    assert len(found) == 5, found
    assert all(problem.startswith("app1: ") for problem in found)
    text = " ".join(found)
    for fragment in ("docker_engine_users must be", "log-levle", "'log-opts'", "'hosts'", "everyone"):
        assert fragment in text


def test_options_merge_into_the_defaults_before_the_checks() -> None:
    # A nested option merges with the default log-opts (strings), as daemon.json will.
    assert filters.problems(values(options={"log-opts": {"max-size": "50m"}}), "app1") == []
    pools = {"default-address-pools": [{"base": "10.10.0.0/16", "size": 24}, {"base": "10.0.0.0"}]}
    found = filters.problems(values(options=pools), "app1")
    assert len(found) == 1 and '"10.0.0.0"' in found[0]
