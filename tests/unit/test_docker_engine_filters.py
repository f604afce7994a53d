"""docker_engine_problems: every mistake in the role's variables in one pass,
with the role's real defaults and known daemon.json keys. The filter is a pure
function, so it runs here as it is; tests/test_docker_engine_input.py runs the
same checks through playbooks/docker.yml on a real host."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from ansible_collections.dockyard.platform.plugins.module_utils import docker_daemon

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "docker_engine"


DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
KNOWN_KEYS = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())["docker_engine_daemon_known_keys"]


def values(options: Any = None, **overrides: Any) -> dict[str, Any]:
    """The filter's input as validate.yml builds it; `config` stands for
    docker_engine_daemon_config, which Ansible's combine merges in the role
    (a top-level merge is enough for the cases here)."""
    options = DEFAULTS["docker_engine_daemon_options"] if options is None else options
    config = {**DEFAULTS["docker_engine_daemon_defaults"], **options} if isinstance(options, dict) else None
    return {
        "users": DEFAULTS["docker_engine_users"],
        "options": options,
        "config": config,
        "known_keys": KNOWN_KEYS,
        "allowed_sources": DEFAULTS["docker_engine_published_ports_allowed_sources"],
        "version": DEFAULTS["docker_engine_version"],
        **overrides,
    }


def test_the_roles_defaults_have_no_problem() -> None:
    assert docker_daemon.problems(values(), "app1") == []


def test_a_version_yaml_read_as_a_number_is_a_version() -> None:
    assert docker_daemon.problems(values(version=27.3), "app1") == []


def test_every_mistake_is_reported_at_once() -> None:
    found = docker_daemon.problems(
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


def test_options_that_are_not_a_mapping_are_reported_once() -> None:
    found = docker_daemon.problems(values(options=["log-driver", "local"]), "app1")
    assert found == [
        "app1: docker_engine_daemon_options must be a mapping of daemon.json keys to values,"
        ' e.g. {log-level: warn}; got ["log-driver", "local"].'
    ]


def test_address_pools_are_checked_entry_by_entry() -> None:
    assert docker_daemon.problems(values(options={"log-opts": {"max-size": "50m"}}), "app1") == []
    pools = {"default-address-pools": [{"base": "10.10.0.0/16", "size": 24}, {"base": "10.0.0.0"}]}
    found = docker_daemon.problems(values(options=pools), "app1")
    assert len(found) == 1 and '"10.0.0.0"' in found[0]


def test_the_environment_drop_in_quotes_for_systemd() -> None:
    text = docker_daemon.environment_dropin({"NO_PROXY": "localhost", "NOTE": '50% "q" \\ x'})
    assert text == (
        "# Managed by Dockyard (docker_engine): docker_engine_environment.\n"
        "[Service]\n"
        'Environment="NOTE=50%% \\"q\\" \\\\ x"\n'
        'Environment="NO_PROXY=localhost"\n'
    )


def test_no_environment_no_drop_in() -> None:
    assert docker_daemon.environment_dropin({}) == ""


def test_environment_mistakes_are_named_without_their_values() -> None:
    found = docker_daemon.problems(
        values(environment={"HTTPS_PROXY": "http://u:secret@proxy:3128\nX=1", "9LIVES": "x", "OK": "y"}), "app1"
    )
    assert found == [
        "app1: docker_engine_environment has names that are not environment variable names: 9LIVES"
        " (letters, digits and _, not starting with a digit).",
        "app1: docker_engine_environment values must be one line; not: HTTPS_PROXY.",
    ]
    assert "secret" not in " ".join(found)


def test_an_environment_that_is_not_a_mapping_is_refused() -> None:
    found = docker_daemon.problems(values(environment=["HTTPS_PROXY=x"]), "app1")
    assert found == [
        "app1: docker_engine_environment must map variable names to values, e.g."
        " {HTTPS_PROXY: http://proxy.example:3128}; got a list."
    ]


def test_a_host_with_read_only_sysctls_gets_what_docker_needs_there() -> None:
    assert docker_daemon.daemon_environment({}, net_sysctls_writable=False) == {
        "DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE": "1"
    }
    assert docker_daemon.daemon_environment({"NO_PROXY": "x"}, net_sysctls_writable=True) == {"NO_PROXY": "x"}


def test_the_users_environment_wins_over_what_the_host_needs() -> None:
    asked = {"DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE": "0", "NO_PROXY": "x"}
    assert docker_daemon.daemon_environment(asked, net_sysctls_writable=False) == asked
