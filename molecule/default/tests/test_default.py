"""Testinfra checks of the default scenario: the whole platform on four real
systemd hosts, end to end. An item posted to the gateway on app1 goes through
the api to the primary (db1), is streamed to both replicas (db2, db3), and is
returned by GET /api/items, which the api reads from a replica."""

from __future__ import annotations

import json
import shlex
import urllib.request
import uuid

import pytest
import testinfra

from support import psql, wait_for

GATEWAY = "http://192.168.237.10:8080"
PRIMARY = "db1"
REPLICAS = ["db2", "db3"]


def on(name: str, user: str = "root"):
    return testinfra.get_host(f"docker://{user}@dockyard-molecule-{name}")


def sql(name: str, query: str) -> str:
    return psql(f"dockyard-molecule-{name}", query, "app")


def request(method: str, path: str, payload: dict | None = None) -> tuple[int, dict[str, str], object]:
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(
        f"{GATEWAY}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as response:
        return response.status, dict(response.headers), json.load(response)


def test_app1_runs_the_engine_and_healthy_services():
    app1 = on("app1")
    assert app1.service("docker").is_running
    assert app1.service("docker").is_enabled
    for name in ("api", "gateway"):
        state = json.loads(app1.check_output(f"docker inspect --format '{{{{json .State}}}}' {name}"))
        assert state["Status"] == "running", name
        assert state["Health"]["Status"] == "healthy", name
    assert "0.0.0.0:8080" in app1.check_output("docker port gateway 8080/tcp")


def test_db1_is_the_primary_and_both_replicas_stream_from_it():
    assert sql(PRIMARY, "SELECT pg_is_in_recovery()") == "f"
    for replica in REPLICAS:
        assert sql(replica, "SELECT pg_is_in_recovery()") == "t", replica
    senders = sql(PRIMARY, "SELECT application_name, state, sync_state FROM pg_stat_replication ORDER BY 1")
    rows = [line.split("|") for line in senders.splitlines()]
    # application_name is the replica's inventory name.
    assert [row[0] for row in rows] == [f"dockyard-molecule-{replica}" for replica in REPLICAS]
    assert all(row[1] == "streaming" for row in rows), rows
    # ANY 1 (db2, db3): both are quorum candidates.
    assert all(row[2] == "quorum" for row in rows), rows


def test_the_api_reaches_its_database_through_the_gateway():
    status, _, health = request("GET", "/api/health")
    assert status == 200
    assert health == {"status": "ok", "database": "ok", "writes": True}


def test_an_item_posted_through_the_gateway_reaches_the_primary_both_replicas_and_get():
    name = f"item-{uuid.uuid4().hex[:12]}"
    status, _, created = request("POST", "/api/items", {"name": name})
    assert status == 201
    assert created["name"] == name
    item_id = int(created["id"])

    lookup = f"SELECT name FROM items WHERE id = {item_id}"
    assert sql(PRIMARY, lookup) == name
    for replica in REPLICAS:
        assert wait_for(lambda replica=replica: sql(replica, lookup) == name), (
            f"{replica} never replayed item {item_id}"
        )

    status, headers, items = request("GET", "/api/items")
    assert status == 200
    # Which kind of host answered, not its address.
    assert headers["X-Served-By"] == "replica"
    assert {"id": item_id, "name": name} in [{"id": i["id"], "name": i["name"]} for i in items]


def test_items_come_in_pages_from_a_real_replica():
    ids = [request("POST", "/api/items", {"name": f"page-{n}"})[2]["id"] for n in range(3)]
    lookup = f"SELECT count(*) FROM items WHERE id >= {ids[0]}"
    assert wait_for(lambda: all(sql(replica, lookup) == "3" for replica in REPLICAS))
    status, headers, first = request("GET", f"/api/items?limit=2&after={ids[0] - 1}")
    assert status == 200
    assert [item["id"] for item in first] == ids[:2]
    assert headers["Link"] == f'</items?limit=2&after={ids[1]}>; rel="next"'
    _, headers, rest = request("GET", f"/api/items?limit=2&after={ids[1]}")
    assert [item["id"] for item in rest] == ids[2:]
    assert "Link" not in headers


@pytest.mark.parametrize("replica", REPLICAS)
def test_a_replica_refuses_writes(replica):
    result = on(replica, "postgres").run("psql -XAtq -d app -c 'CREATE TABLE refused (id int)'")
    assert result.rc != 0
    assert "read-only transaction" in result.stderr


# TLS (postgresql_tls, on by default): checked from the api's own container on
# app1, a client of postgresql_client_networks, with its psycopg2.
APP_PASSWORD = "molecule-app-secret-6b8e2c4f"


def from_the_api(conninfo: str) -> tuple[int, str]:
    """Connect from the api's container with this connection string (libpq's
    environment of the container fills in the rest); (exit code, output)."""
    code = (
        "import sys, psycopg2\n"
        "try:\n"
        "    c = psycopg2.connect(sys.argv[1]); c.cursor().execute('SELECT 1'); print('connected')\n"
        "except psycopg2.Error as e:\n"
        "    print(str(e).strip()); sys.exit(1)\n"
    )
    result = on("app1").run(f"docker exec api python3 -c {shlex.quote(code)} {shlex.quote(conninfo)}")
    return result.rc, result.stdout + result.stderr


def test_both_replication_connections_are_tls():
    rows = sql(PRIMARY, "SELECT s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid)")
    assert rows.splitlines() == ["t", "t"], rows


def test_the_api_gets_libpq_environment_for_every_cluster_host():
    env = on("app1").check_output("docker exec api env")
    assert "PGHOST=192.168.237.11,192.168.237.12,192.168.237.13" in env.splitlines()
    assert "PGTARGETSESSIONATTRS=read-write" in env.splitlines()
    assert "PGSSLMODE=verify-full" in env.splitlines()
    # The password reaches the container, and nothing names it in the image's labels.
    assert f"PGPASSWORD={APP_PASSWORD}" in env.splitlines()


def test_a_client_without_tls_is_refused_from_a_client_network():
    rc, said = from_the_api(f"host=192.168.237.11 dbname=app user=app password={APP_PASSWORD} sslmode=disable")
    assert rc == 1 and "no encryption" in said, said


def test_verify_full_takes_the_clusters_certificate_and_refuses_a_wrong_name():
    rc, said = from_the_api("host=192.168.237.11 dbname=app")
    assert rc == 0 and "connected" in said, said
    # The right address, the wrong name: the certificate names db1's inventory
    # name and address, not this one.
    rc, said = from_the_api("host=db-impostor hostaddr=192.168.237.11 dbname=app")
    assert rc == 1 and "does not match host name" in said, said
