"""How a service that declares `database: {name, user}` reaches the cluster:
the standard libpq environment listing every cluster host, so that libpq
itself finds the primary (target_session_attrs=read-write) after any
switchover or failover, with no redeploy, and verifies the server's
certificate against the cluster CA.

The app hosts' run sees only the inventory (their part of `dockyard up` runs
beside the database part), so what it knows of the cluster comes from the
inventory's variables of the cluster hosts: their addresses, the port, the
users, whether TLS is on."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ansible_collections.dockyard.platform.plugins.module_utils.addresses import known_address

CLUSTER_GROUPS = ("postgresql_primary", "postgresql_replicas")
# Where the cluster CA's directory is mounted in a container that uses the
# database. A directory, not the file: a bind-mounted file keeps its old inode
# when the CA is replaced, a directory shows the new file.
CA_DIR_IN_CONTAINER = "/run/dockyard/postgresql-ca"
CA_IN_CONTAINER = f"{CA_DIR_IN_CONTAINER}/ca.crt"
# The container label naming the database a service uses.
DATABASE_LABEL = "org.dockyard.database"
# A host that does not answer costs this long before libpq tries the next one.
CONNECT_TIMEOUT_S = 2


@dataclass(frozen=True)
class Cluster:
    """What the services' hosts know of the PostgreSQL cluster."""

    hosts: tuple[str, ...] = ()
    # Host name -> address; '' where the inventory gives none.
    addresses: Mapping[str, str] = field(default_factory=dict)
    port: int = 5432
    databases: tuple[str, ...] = ()
    # User name -> password (a secret: never in a fact or a log).
    passwords: Mapping[str, str] = field(default_factory=dict, repr=False)
    client_networks: tuple[str, ...] = ()
    tls: bool = True
    # The directory holding the CA's certificate (ca.crt) on the app host,
    # mounted read-only into the container.
    ca_dir: str = ""
    # Where the CA's certificate comes from: the user's own (PEM, from
    # postgresql_tls_ca_cert), else the file the database part of the run
    # makes on the control machine (postgresql_tls_dir/ca.crt).
    ca_pem: str = ""
    ca_source_file: str = ""


def cluster_of(hostvars: Mapping[str, Any], groups: Mapping[str, Sequence[str]], ca_dir: str = "") -> Cluster:
    """The cluster as the inventory describes it. The first cluster host's
    variables stand for the cluster's (every cluster host shares them: the
    role refuses a cluster whose hosts disagree). Hosts in name order: the
    primary moves with each switchover, and the services' environment must
    not (libpq tries each host and keeps the one that takes writes)."""
    hosts = tuple(sorted({h for group in CLUSTER_GROUPS for h in groups.get(group, ())}))
    if not hosts:
        return Cluster()
    first = hostvars[hosts[0]]
    users = first.get("postgresql_users") or []
    # The postgresql_replication role's default, which this (the app hosts')
    # run does not load: the CA beside the cluster hosts' inventory.
    tls_dir = str(first.get("postgresql_tls_dir") or f"{first.get('inventory_dir', '.')}/.postgresql-tls")
    return Cluster(
        hosts=hosts,
        addresses={h: known_address(hostvars[h]) for h in hosts},
        port=int(first.get("postgresql_port", 5432)),
        databases=tuple(str(d.get("name")) for d in first.get("postgresql_databases") or [] if isinstance(d, dict)),
        passwords={str(u.get("name")): str(u.get("password") or "") for u in users if isinstance(u, dict)},
        client_networks=tuple(str(n) for n in first.get("postgresql_client_networks") or []),
        tls=bool(first.get("postgresql_tls", True)),
        ca_dir=ca_dir,
        ca_pem=str(first.get("postgresql_tls_ca_cert") or ""),
        ca_source_file=f"{tls_dir.rstrip('/')}/ca.crt",
    )


def problems(
    services: Any, cluster: Cluster, host: str = "", host_address: str = "", host_in_cluster: bool = False
) -> list[str]:
    """Everything that keeps a service's `database:` from working, named with
    the host, the service and the fix."""
    where = f"{host}: " if host else ""
    found: list[str] = []
    users = [s for s in services or [] if isinstance(s, dict) and isinstance(s.get("database"), dict)]
    users = [s for s in users if s.get("state", "present") == "present"]
    if not users:
        return found
    if not cluster.hosts:
        names = ", ".join(str(s.get("name")) for s in users)
        return [
            f"{where}service(s) {names} declare a database, but the inventory has no PostgreSQL host"
            " (postgresql_primary, postgresql_replicas): add the cluster, or drop `database:`."
        ]
    unknown = [h for h in cluster.hosts if not cluster.addresses.get(h)]
    if unknown:
        found.append(
            f"{where}the services reach the cluster by address, and the inventory gives none for"
            f" {', '.join(unknown)}: set postgresql_address (or ansible_host to an IP address) for it."
        )
    for service in users:
        label = f"{where}service '{service.get('name')}'"
        database = service["database"]
        user, name = str(database.get("user", "")), str(database.get("name", ""))
        if user not in cluster.passwords:
            known = ", ".join(sorted(cluster.passwords)) or "none"
            found.append(
                f"{label}: database user '{user}' is not in postgresql_users (it has: {known});"
                " add it there, with its password in a vault."
            )
        if name not in cluster.databases:
            known = ", ".join(sorted(cluster.databases)) or "none"
            found.append(f"{label}: database '{name}' is not in postgresql_databases (it has: {known}); add it there.")
    if host_address and not host_in_cluster and not _admitted(host_address, cluster.client_networks):
        found.append(
            f"{where}its services connect from {host_address}, which no network of postgresql_client_networks"
            f" ({', '.join(cluster.client_networks) or 'none'}) admits: add {host_address}/32 (or its network)"
            " there, so that pg_hba.conf lets them in."
        )
    return found


def _admitted(address: str, networks: Sequence[str]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return True  # a name: pg_hba.conf matches networks, nothing to check here
    for network in networks:
        try:
            if parsed in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False


def environment(database: Mapping[str, Any], cluster: Cluster) -> tuple[dict[str, str], dict[str, str]]:
    """(env, secret_env) of a service that uses `database`: libpq's own
    variables for the writes (any libpq client, psql included, reaches the
    primary), and DATABASE_URL / DATABASE_READ_URL for frameworks that take
    a URL; the read URL prefers a replica and falls back to the primary. The
    password is only in PGPASSWORD, which libpq reads for either."""
    user, name = str(database["user"]), str(database["name"])
    addresses = [cluster.addresses[h] for h in cluster.hosts]
    tls = {"sslmode": "verify-full", "sslrootcert": CA_IN_CONTAINER} if cluster.tls else {"sslmode": "prefer"}
    env = {
        "PGHOST": ",".join(addresses),
        "PGPORT": str(cluster.port),
        "PGDATABASE": name,
        "PGUSER": user,
        "PGTARGETSESSIONATTRS": "read-write",
        "PGCONNECT_TIMEOUT": str(CONNECT_TIMEOUT_S),
        "PGSSLMODE": tls["sslmode"],
        "DATABASE_URL": _url(user, addresses, cluster.port, name, "read-write", tls),
        "DATABASE_READ_URL": _url(user, addresses, cluster.port, name, "prefer-standby", tls),
    }
    if cluster.tls:
        env["PGSSLROOTCERT"] = CA_IN_CONTAINER
    return env, {"PGPASSWORD": cluster.passwords.get(user, "")}


def _url(user: str, addresses: Sequence[str], port: int, name: str, attrs: str, tls: Mapping[str, str]) -> str:
    hosts = ",".join(f"[{a}]:{port}" if ":" in a else f"{a}:{port}" for a in addresses)
    query = "&".join(
        [f"target_session_attrs={attrs}", f"connect_timeout={CONNECT_TIMEOUT_S}"]
        + [f"{k}={quote(v, safe='/')}" for k, v in tls.items()]
    )
    return f"postgresql://{quote(user, safe='')}@{hosts}/{quote(name, safe='')}?{query}"


def with_database(service: Mapping[str, Any], cluster: Cluster) -> dict[str, Any]:
    """The service as the container gets it: with `database:`, the libpq
    environment merged under its own env (the service's own values win) and
    the CA mounted read-only; without, unchanged."""
    database = service.get("database")
    if not isinstance(database, dict):
        return dict(service)
    env, secret = environment(database, cluster)
    wired = {key: value for key, value in service.items() if key != "database"}
    wired["env"] = {**env, **(service.get("env") or {})}
    wired["secret_env"] = {**secret, **(service.get("secret_env") or {})}
    # `dockyard status` reads it to say where the service writes now.
    wired["labels"] = {**(service.get("labels") or {}), DATABASE_LABEL: str(database["name"])}
    if cluster.tls and cluster.ca_dir:
        wired["volumes"] = [*(service.get("volumes") or []), f"{cluster.ca_dir}:{CA_DIR_IN_CONTAINER}:ro"]
    return wired


# The filters' entry points: the app hosts' tasks give Ansible's hostvars and
# groups, and get plain data back (never the passwords, except in the wired
# service's secret_env).


def service_with_database(
    service: Mapping[str, Any], hostvars: Mapping[str, Any], groups: Mapping[str, Sequence[str]], ca_dir: str
) -> dict[str, Any]:
    if not isinstance(service.get("database"), dict):
        return dict(service)
    return with_database(service, cluster_of(hostvars, groups, ca_dir))


def database_problems(
    services: Any, hostvars: Mapping[str, Any], groups: Mapping[str, Sequence[str]], host: str
) -> list[str]:
    cluster = cluster_of(hostvars, groups)
    return problems(services, cluster, host, known_address(hostvars[host]), host in cluster.hosts)


def ca_of(services: Any, hostvars: Mapping[str, Any], groups: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Whether the host needs the cluster's CA (a present service uses the
    database, over TLS), and where its certificate comes from."""
    cluster = cluster_of(hostvars, groups)
    needed = cluster.tls and any(
        isinstance(s, dict) and isinstance(s.get("database"), dict) and s.get("state", "present") == "present"
        for s in services or []
    )
    return {"needed": needed, "pem": cluster.ca_pem, "file": "" if cluster.ca_pem else cluster.ca_source_file}
