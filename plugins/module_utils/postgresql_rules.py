"""Every mistake in a host's PostgreSQL variables, each naming the host, the
variable and the fix. Pure: runs on the control machine, before any host is
touched. What the argument spec cannot say (ranges, names, cross-field rules)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.dockyard.platform.plugins.module_utils.addresses import bad_networks, is_ip


def as_int(value: Any) -> int | None:
    """An integer from inventory data (-e gives strings); None if not one."""
    if isinstance(value, bool):
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


HOST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


# sha256 of the secrets in inventory/example's vault, whose password is
# published beside it: refused in any other inventory.
EXAMPLE_SECRETS = {
    "7191066e1dfae966d76097d9e36ed8255d957932ffbf2c2bd1785d5efc7fa034",
    "387fb28319612634fca16c68ee5e1e82aaed0532cabdc183e9b94a9d1f2c372c",
}


DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


ROLE_FLAGS = ("SUPERUSER", "CREATEROLE", "CREATEDB", "INHERIT", "LOGIN", "REPLICATION", "BYPASSRLS")


SIZE = re.compile(r"^[1-9][0-9]*(kB|MB|GB|TB)$")


def problems(values: dict[str, Any], host: str, replica_count: int, lab: bool) -> list[str]:
    """Every mistake in a host's PostgreSQL variables, each naming the host,
    the variable and the fix. Pure: runs on the control machine, before any
    host is touched. The password is checked, never quoted."""
    found = []
    port = as_int(values["port"])
    if port is None or not 1 <= port <= 65535:
        found.append(
            f"{host}: postgresql_port is {values['port']}; it must be a TCP port between 1 and 65535"
            " (PostgreSQL's usual one is 5432)."
        )
    version = str(values["version"])
    if version and not (version.isdigit() and int(version) >= 13):
        found.append(
            f'{host}: postgresql_version is "{version}"; use a major version number from 13 on (e.g. "16"),'
            " or leave it empty for the distribution's."
        )
    if not HOST_NAME.match(host):
        found.append(
            f"{host!r} is not a name Dockyard can use for a PostgreSQL host: it goes into connection strings"
            " (application_name) and slot names. Name it with letters, digits, '.', '-' and '_' only, and put"
            " its address in ansible_host."
        )
    published = [
        name
        for name, secret in [("postgresql_replication_password", values["password"])]
        + [
            (f"postgresql_users '{u.get('name')}' password", u.get("password"))
            for u in (values["users"] if isinstance(values["users"], list) else [])
            if isinstance(u, dict)
        ]
        if secret and hashlib.sha256(str(secret).encode()).hexdigest() in EXAMPLE_SECRETS
    ]
    if published and not values.get("example_inventory"):
        found.append(
            f"{host}: {', '.join(published)} is a secret of inventory/example, whose vault password is public"
            " (inventory/example/vault-password.txt): anyone can read it. Make a vault of your own,"
            " e.g. `ansible-vault create group_vars/all/vault.yml` with a password only you keep."
        )
    password = str(values["password"] or "")
    # The lab generates 32 characters; a short one there is a mistake too.
    if len(password) < 16:
        what = "missing or empty" if not password else "shorter than 16 characters"
        found.append(
            f"{host}: postgresql_replication_password is {what}. Set a random one of 16 characters or more"
            ' in a vault file, e.g. `ansible-vault encrypt_string "$(openssl rand -base64 24)"'
            " --name postgresql_replication_password`."
        )
    user = str(values["user"])
    if not ROLE_NAME.match(user) or user == "postgres":
        found.append(
            f'{host}: postgresql_replication_user "{user}" must be a plain lower-case role name other than'
            " postgres (replicas must not log in as a superuser), e.g. replicator."
        )
    synchronous = as_int(values["synchronous"])
    if synchronous is None or not 0 <= synchronous <= replica_count:
        found.append(
            f"{host}: postgresql_synchronous_replicas is {values['synchronous']} but the inventory has {replica_count}"
            " replica(s) in postgresql_replicas; every commit would wait forever. Use a number from 0"
            f" (asynchronous) to {replica_count}."
        )
    senders = as_int(values["wal_senders"])
    if senders is None or (senders != 0 and senders < replica_count + 2):
        found.append(
            f"{host}: postgresql_max_wal_senders is {values['wal_senders']} for {replica_count} replica(s):"
            " each replica needs one sender and a clone two more."
            f" Set it to at least {replica_count + 2}, or to 0 to size it automatically."
        )
    if not SIZE.match(str(values["slot_wal_keep"])):
        found.append(
            f'{host}: postgresql_max_slot_wal_keep_size is "{values["slot_wal_keep"]}"; give a bounded size'
            " such as 2GB or 512MB (unbounded slots can fill the primary's disk when a replica dies)."
        )
    address = str(values["address"] or "")
    if address and not is_ip(address):
        found.append(
            f'{host}: postgresql_address "{address}" is not an IP address. pg_hba.conf needs addresses;'
            " give this host's IP, or leave it empty to use its default route's address."
        )
    found.extend(_settings_problems(values.get("settings"), host))
    found.extend(_tls_problems(values.get("tls") or {}, host))
    bad = bad_networks(values["client_networks"])
    if bad:
        found.append(
            f"{host}: postgresql_client_networks has entries that are not networks in CIDR notation:"
            f" {', '.join(bad)}. Write addresses as networks, e.g. 10.0.0.5/32 or 10.0.0.0/24;"
            " host names are not allowed in pg_hba.conf."
        )
    users = values["users"] if isinstance(values["users"], list) else []
    user_names = [u.get("name") for u in users if isinstance(u, dict)]
    for database in values["databases"] if isinstance(values["databases"], list) else []:
        name = database.get("name") if isinstance(database, dict) else None
        if not isinstance(name, str) or not DB_NAME.match(name):
            found.append(f"{host}: postgresql_databases entry {database!r} needs a plain `name` (letters, digits, _).")
        elif "owner" in database and database["owner"] not in user_names:
            found.append(
                f"{host}: postgresql_databases '{name}' has owner '{database['owner']}', which is not one of"
                " postgresql_users; add that user or drop the owner."
            )
    for entry in users:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not ROLE_NAME.match(name) or name in ("postgres", user):
            found.append(
                f"{host}: each postgresql_users entry needs a plain lower-case `name` (not postgres nor the"
                f" replication user); got {name!r}."
            )
        elif not str(entry.get("password") or ""):
            found.append(f"{host}: postgresql_users '{name}' needs a non-empty `password` (keep it in a vault).")
        else:
            if len(str(entry["password"])) < 16 and not lab:
                found.append(
                    f"{host}: postgresql_users '{name}' has a password shorter than 16 characters: applications"
                    " reach it over the network. Set a random one (e.g. `openssl rand -base64 24`) in a vault."
                )
            flags = [f.strip().upper() for f in str(entry.get("role_attr_flags") or "LOGIN").split(",") if f.strip()]
            if "SUPERUSER" in flags and not lab:
                found.append(
                    f"{host}: postgresql_users '{name}' asks for SUPERUSER: an application's login that can read"
                    " every database, run programs on the server and change any setting. Grant what it needs"
                    " (grants, CREATEDB, owning its database) instead."
                )
            unknown = [f for f in flags if f not in ROLE_FLAGS and f.removeprefix("NO") not in ROLE_FLAGS]
            if unknown:
                found.append(
                    f"{host}: postgresql_users '{name}' has role_attr_flags {', '.join(unknown)}, which PostgreSQL"
                    f" does not know; use a comma-separated list of {', '.join(ROLE_FLAGS)}, each with NO before it"
                    " to turn it off (e.g. LOGIN,CREATEDB)."
                )
    return found


def _settings_problems(settings: Any, host: str) -> list[str]:
    """postgresql_settings end up as lines of postgresql.conf: a name or value
    that is not one setting (a newline, a non-scalar) would write others."""
    if settings in (None, {}):
        return []
    if not isinstance(settings, dict):
        return [f"{host}: postgresql_settings must be a mapping of setting names to values, e.g. {{work_mem: 16MB}}."]
    found = []
    for name, value in settings.items():
        if not isinstance(name, str) or not SETTING_NAME.match(name):
            found.append(
                f"{host}: postgresql_settings has the key {name!r}, which is not a setting name (letters, digits,"
                " '_' and '.'); it would write other lines into postgresql.conf."
            )
        elif isinstance(value, (dict, list)) or any(c in str(value) for c in "\n\r\0"):
            found.append(
                f"{host}: postgresql_settings '{name}' must be one value on one line (a string, number or boolean)."
            )
    return found


def _tls_problems(tls: dict[str, Any], host: str) -> list[str]:
    """A CA of the user's own comes whole (certificate and key, PEM); renewal
    must leave a certificate some life, or every run would re-issue it."""
    if not tls or not tls.get("enabled", True):
        return []
    found = []
    cert, key = str(tls.get("ca_cert") or ""), str(tls.get("ca_key") or "")
    if bool(cert) != bool(key):
        given, missing = (
            ("postgresql_tls_ca_cert", "postgresql_tls_ca_key")
            if cert
            else ("postgresql_tls_ca_key", "postgresql_tls_ca_cert")
        )
        found.append(
            f"{host}: {given} is set but {missing} is not: a CA of your own needs both (PEM, the key in a"
            " vault); leave both empty and Dockyard makes the cluster's CA."
        )
    if cert and "-----BEGIN CERTIFICATE-----" not in cert:
        found.append(f"{host}: postgresql_tls_ca_cert is not a PEM certificate (-----BEGIN CERTIFICATE-----).")
    if key and "PRIVATE KEY-----" not in key:
        found.append(f"{host}: postgresql_tls_ca_key is not a PEM private key (it is not shown here).")
    renew, days = as_int(tls.get("renew_days")), as_int(tls.get("certificate_days"))
    if renew is None or days is None or not 0 < renew < days:
        found.append(
            f"{host}: postgresql_tls_renew_days ({tls.get('renew_days')}) must be above 0 and below"
            f" postgresql_tls_certificate_days ({tls.get('certificate_days')}), or every run would renew"
            " the certificates (defaults: 30 and 397)."
        )
    return found


def mixed_majors(majors: Mapping[str, str], origins: Mapping[str, str] | None = None, primary: str = "") -> str:
    """A cluster runs one PostgreSQL major version: a replica of another can
    neither clone the primary (pg_basebackup) nor replay its WAL. '' when the
    hosts agree; else the refusal, naming each host, its major version and
    where that came from (`origins`), and the version to set: the primary's,
    whose data is in it, else the lowest."""
    if len(set(majors.values())) <= 1:
        return ""
    listed = ", ".join(
        f"{host} {major}" + (f" ({origins[host]})" if origins and origins.get(host) else "")
        for host, major in majors.items()
    )
    if primary in majors:
        version, whose = majors[primary], f" (the primary {primary}'s)"
    else:
        version, whose = min(majors.values(), key=lambda v: as_int(v) or 0), ""
    return (
        f"The cluster would mix PostgreSQL major versions: {listed}. Streaming replication needs the same"
        " major version on every host. Set postgresql_version the same for the whole cluster, e.g."
        f' postgresql_version: "{version}"{whose} in group_vars/postgresql.yml: the hosts whose distribution'
        " ships another major version install it from the PostgreSQL apt repository."
        " Nothing was changed."
    )


def mixed_majors_of(
    hostvars: Mapping[str, Any], cluster: Sequence[str], play_hosts: Sequence[str], primary: str = ""
) -> str:
    """mixed_majors from the facts of this run (the filter's entry point): the
    major version preflight.yml worked out on each cluster host in the play
    (postgresql_replication_major), and whether postgresql_version or the
    distribution chose it."""
    majors: dict[str, str] = {}
    origins: dict[str, str] = {}
    for host in cluster:
        if host not in play_hosts:
            continue
        host_vars = hostvars[host]
        major = str(host_vars.get("postgresql_replication_major") or "")
        if not major:
            continue
        majors[host] = major
        facts = host_vars.get("ansible_facts") or {}
        from_pgdg = host_vars.get("postgresql_replication_from_pgdg")
        if str(from_pgdg).strip().lower() in ("true", "yes", "1"):
            origins[host] = "postgresql_version"
        else:
            name = f"{facts.get('distribution') or ''} {facts.get('distribution_version') or ''}".strip()
            origins[host] = f"{name}'s" if name else ""
    return mixed_majors(majors, origins, primary)
