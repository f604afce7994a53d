"""What a service with `database:` gets (plugins/module_utils/database_access.py),
table-tested. The sample api's end-to-end use of it runs in the lab tests
(tests/integration/test_cli_lab.py) and Molecule's whole-stack scenario."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.dockyard.platform.plugins.module_utils import database_access

PASSWORD = "app-password-kept-in-a-vault"
GROUPS = {"postgresql_primary": ["db2"], "postgresql_replicas": ["db3", "db1"], "app_hosts": ["app1"]}


def hostvars(**shared: Any) -> dict[str, dict[str, Any]]:
    cluster = {
        "postgresql_users": [{"name": "app", "password": PASSWORD}],
        "postgresql_databases": [{"name": "app", "owner": "app"}],
        "postgresql_client_networks": ["192.168.231.10/32"],
        **shared,
    }
    return {
        "db1": {**cluster, "postgresql_address": "192.168.231.11"},
        "db2": {**cluster, "ansible_host": "192.168.231.12"},
        # No address in the inventory: its cached facts have one.
        "db3": {**cluster, "ansible_host": "dockyard-db3", "ansible_facts": {"default_ipv4": {"address": "10.0.0.13"}}},
        "app1": {"ansible_host": "192.168.231.10"},
    }


def test_every_cluster_host_in_name_order_whoever_is_primary() -> None:
    cluster = database_access.cluster_of(hostvars(), GROUPS, ca_dir="/etc/dockyard/postgresql-ca")
    env, secret = database_access.environment({"name": "app", "user": "app"}, cluster)
    assert env["PGHOST"] == "192.168.231.11,192.168.231.12,10.0.0.13"
    assert env["PGTARGETSESSIONATTRS"] == "read-write"
    assert env["PGSSLMODE"] == "verify-full" and env["PGSSLROOTCERT"] == database_access.CA_IN_CONTAINER
    assert env["DATABASE_READ_URL"] == (
        "postgresql://app@192.168.231.11:5432,192.168.231.12:5432,10.0.0.13:5432/app"
        "?target_session_attrs=prefer-standby&connect_timeout=2&sslmode=verify-full"
        "&sslrootcert=/run/dockyard/postgresql-ca/ca.crt"
    )
    assert secret == {"PGPASSWORD": PASSWORD}
    assert all(PASSWORD not in value for value in env.values())
    # A switchover moves the primary in the inventory; the environment stays.
    moved = {**GROUPS, "postgresql_primary": ["db1"], "postgresql_replicas": ["db2", "db3"]}
    assert (
        database_access.environment({"name": "app", "user": "app"}, database_access.cluster_of(hostvars(), moved))[0][
            "PGHOST"
        ]
        == env["PGHOST"]
    )


def test_without_tls_no_certificate_is_asked_for() -> None:
    cluster = database_access.cluster_of(hostvars(postgresql_tls=False), GROUPS, ca_dir="/etc/dockyard/postgresql-ca")
    env, _ = database_access.environment({"name": "app", "user": "app"}, cluster)
    assert env["PGSSLMODE"] == "prefer" and "PGSSLROOTCERT" not in env
    wired = database_access.with_database({"name": "api", "database": {"name": "app", "user": "app"}}, cluster)
    assert "volumes" not in wired


def test_the_service_gets_the_environment_and_the_ca_and_keeps_its_own_values() -> None:
    cluster = database_access.cluster_of(hostvars(), GROUPS, ca_dir="/etc/dockyard/postgresql-ca")
    service = {
        "name": "api",
        "database": {"name": "app", "user": "app"},
        "env": {"PGCONNECT_TIMEOUT": "5"},
        "volumes": ["data:/var/lib/api"],
    }
    wired = database_access.with_database(service, cluster)
    assert "database" not in wired
    assert wired["env"]["PGCONNECT_TIMEOUT"] == "5" and wired["env"]["PGDATABASE"] == "app"
    assert wired["secret_env"] == {"PGPASSWORD": PASSWORD}
    assert wired["labels"] == {"org.dockyard.database": "app"}
    assert wired["volumes"] == ["data:/var/lib/api", "/etc/dockyard/postgresql-ca:/run/dockyard/postgresql-ca:ro"]
    assert database_access.with_database({"name": "web"}, cluster) == {"name": "web"}


API = {"name": "api", "image": "x", "database": {"name": "app", "user": "app"}}

# name: (services, hostvars changes, groups, app host address, words of each refusal)
PROBLEMS: dict[str, tuple[list[dict[str, Any]], dict[str, Any], dict[str, list[str]], str, list[str]]] = {
    "all is well": ([API], {}, GROUPS, "192.168.231.10", []),
    "no database, nothing to check": ([{"name": "web", "image": "x"}], {}, {}, "", []),
    "an absent service is not checked": ([{**API, "state": "absent"}], {}, {}, "", []),
    "no cluster": ([API], {}, {"app_hosts": ["app1"]}, "", ["service(s) api declare a database", "no PostgreSQL host"]),
    "a user that is not in postgresql_users": (
        [{**API, "database": {"name": "app", "user": "reporter"}}],
        {},
        GROUPS,
        "192.168.231.10",
        ["service 'api': database user 'reporter' is not in postgresql_users (it has: app)"],
    ),
    "a database that is not in postgresql_databases": (
        [{**API, "database": {"name": "shop", "user": "app"}}],
        {},
        GROUPS,
        "192.168.231.10",
        ["database 'shop' is not in postgresql_databases (it has: app)"],
    ),
    "an app host the client networks do not admit": (
        [API],
        {},
        GROUPS,
        "192.168.99.5",
        ["connect from 192.168.99.5", "192.168.231.10/32", "add 192.168.99.5/32"],
    ),
}


@pytest.mark.parametrize("case", list(PROBLEMS), ids=list(PROBLEMS))
def test_what_keeps_a_service_from_its_database_is_refused_by_name(case: str) -> None:
    services, changes, groups, address, words = PROBLEMS[case]
    cluster = database_access.cluster_of({**hostvars(), **changes}, groups)
    found = database_access.problems(services, cluster, "app1", address)
    if not words:
        assert found == []
    for word in words:
        assert any(word in problem and problem.startswith("app1: ") for problem in found), (word, found)
    assert all(PASSWORD not in problem for problem in found)


def test_a_cluster_host_without_a_known_address_is_named() -> None:
    variables = hostvars()
    variables["db3"] = {**variables["db3"], "ansible_facts": {}}
    found = database_access.problems([API], database_access.cluster_of(variables, GROUPS), "app1", "192.168.231.10")
    assert any("gives none for db3" in problem and "postgresql_address" in problem for problem in found), found


def test_an_app_host_in_the_cluster_needs_no_client_network() -> None:
    found = database_access.problems([API], database_access.cluster_of(hostvars(), GROUPS), "db1", "10.9.9.9", True)
    assert found == []
