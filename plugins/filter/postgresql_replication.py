"""Filters of the postgresql_replication role: small pure functions that would
be unreadable as Jinja."""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
from typing import Any


def is_ip(value: Any) -> bool:
    """Whether value is an IPv4 or IPv6 address (not a name, not a network)."""
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


def host_cidr(address: str) -> str:
    """The one-address network of an address, for a pg_hba.conf line."""
    parsed = ipaddress.ip_address(address)
    return f"{parsed}/{parsed.max_prefixlen}"


def bad_networks(networks: Any) -> list[str]:
    """Entries of a list that are not IP networks in CIDR notation."""
    if not isinstance(networks, list):
        return [repr(networks)]
    bad = []
    for network in networks:
        try:
            ipaddress.ip_network(str(network), strict=False)
        except ValueError:
            bad.append(str(network))
        else:
            if "/" not in str(network):
                bad.append(str(network))
    return bad


def slot_name(host: str, prefix: str) -> str:
    """A replication slot name for a host: lower case letters, digits, _."""
    return prefix + re.sub(r"[^a-z0-9_]", "_", host.lower())


def wal_senders(replicas: int, headroom: int, configured: int) -> int:
    """max_wal_senders: the configured value, or sized from the replica count
    with headroom and rounded up to a multiple of 10, so that one more replica
    seldom changes it (a change needs a restart of every host)."""
    if configured > 0:
        return configured
    return max(10, math.ceil((replicas + headroom) / 10.0) * 10)


def quorum(names: list[str], count: int) -> str:
    """synchronous_standby_names for ANY count of the given standbys (sorted:
    the order means nothing to ANY, and must not change the file).

    Never more than there are standbys: after a failover that left fewer
    followers than asked for, ANY N of fewer than N would block every write
    forever; the followers there are confirm commits until the others rejoin."""
    count = min(count, len(names))
    if count <= 0:
        return ""
    quoted = ", ".join('"' + name.replace('"', '""') + '"' for name in sorted(names))
    return f"ANY {count} ({quoted})"


def pgpass_field(value: Any) -> str:
    """A field of a .pgpass line: backslash and colon escaped."""
    return str(value).replace("\\", "\\\\").replace(":", "\\:")


def conf_value(value: Any) -> str:
    """A value as postgresql.conf wants it: numbers and booleans bare,
    everything else single-quoted."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (int, float)):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def known_address(host_vars: Any) -> str:
    """A host's address as this run knows it: worked out by the role, set by
    the user, its inventory address, or its cached facts; '' if none."""
    facts = host_vars.get("ansible_facts", {}) or {}
    candidates = [
        host_vars.get("postgresql_replication_host_address", ""),
        host_vars.get("postgresql_address", ""),
        host_vars.get("ansible_host", ""),
        (facts.get("default_ipv4") or {}).get("address", ""),
    ]
    return next((str(c) for c in candidates if c and is_ip(c)), "")


def peer_addresses(
    hostvars: Any, hosts: list[str], exclude: str, remembered: dict[str, str] | None = None
) -> list[dict[str, str]]:
    """Host name and address of each cluster host but one, for pg_hba.conf.
    A host this run cannot reach is found in `remembered` (the addresses the
    last run wrote to this host's dockyard-peers file). Sorted by name: the
    inventory's order changes with every switchover the CLI records, and the
    files written from this list (pg_hba.conf, dockyard-peers) must not."""
    peers = []
    for host in sorted(hosts):
        if host == exclude:
            continue
        address = known_address(hostvars[host]) or (remembered or {}).get(host, "")
        if not address:
            raise ValueError(
                f"{host}: its address is unknown (it is not in this run and has no cached facts); "
                "set postgresql_address for it or run without --limit"
            )
        peers.append({"host": host, "cidr": host_cidr(address)})
    return peers


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


def clone_decision(
    host: str,
    identifier: str,
    primary: str,
    primary_identifier: str,
    fresh: bool,
    standby: bool,
    force: bool = False,
) -> dict[str, Any]:
    """Whether a replica's data directory is replaced by a clone of the primary's,
    and, when that would destroy data nobody else may have, why it is refused.

    Only a directory that provably holds nothing of its own is replaced without
    force: one Dockyard created empty (fresh), or absent. A standby of this
    cluster is kept as it is. Everything else (another cluster, a primary of
    this one, or a directory whose identity cannot be read) is foreign."""
    same_cluster = identifier != "" and identifier == primary_identifier
    if fresh:
        return {"clone": True, "refuse": False, "why": ""}
    if same_cluster and standby:
        return {"clone": force, "refuse": False, "why": ""}
    if identifier == "":
        why = (
            "its cluster identity cannot be read (global/pg_control is missing or unreadable), so nothing"
            f" shows it is a copy of {primary}"
        )
    elif primary_identifier == "":
        why = f"the cluster identity of {primary} is not known yet, so nothing shows this is a copy of it"
    elif not same_cluster:
        why = f"it belongs to another cluster (system identifier {identifier}, {primary} has {primary_identifier})"
    else:
        why = (
            "it is a primary of this cluster (no standby.signal): it may hold writes the primary lacks;"
            f" an old primary comes back with `dockyard rejoin {host}` (pg_rewind)"
        )
    return {"clone": True, "refuse": not force, "why": why}


def may_start_alone(host_vars: Any, cluster: list[str], play_hosts: list[str], me: str) -> bool:
    """Whether this run may start `me` as the primary without its start check
    asking the peers (on a first deploy, or with the whole cluster down, none
    answers): only when the run has seen every cluster host, and none is on a
    newer timeline or runs as a primary (the probe's view of each)."""
    own = host_vars[me].get("postgresql_replication_probe") or {}
    for host in cluster:
        if host == me:
            continue
        if host not in play_hosts:
            return False
        probe = host_vars[host].get("postgresql_replication_probe") or {}
        if int(probe.get("timeline") or 0) > int(own.get("timeline") or 0):
            return False
        if probe.get("service_active") and probe.get("data_exists") and not probe.get("standby_signal"):
            return False
    return True


def position(host_vars: Any) -> int:
    """A replica's WAL position (bytes), its newest reading: the one taken
    after an old primary stopped (failover.yml) where there is one, else
    live.yml's."""
    rows = (host_vars.get("postgresql_replication_position_now") or {}).get("query_result") or []
    if rows:
        return int(rows[0].get("position") or 0)
    return int((host_vars.get("postgresql_replication_live") or {}).get("position") or 0)


def _flag(value: Any) -> bool:
    return value.strip().lower() in ("true", "yes", "1") if isinstance(value, str) else bool(value)


def failover_view(host_vars: Any) -> dict[str, Any]:
    """What failover_refusal needs of one reachable host, from the facts the
    role gathered there (live.yml, the probe, the upstream check)."""
    live = host_vars.get("postgresql_replication_live") or {}
    check = host_vars.get("postgresql_replication_upstream_check") or {}
    peers = (host_vars.get("postgresql_replication_probe") or {}).get("peers") or {}
    address = str(live.get("upstream_address") or "")
    return {
        "running": _flag(live.get("running")),
        "in_recovery": _flag(live.get("in_recovery")),
        "streaming": _flag(live.get("streaming")),
        "upstream_address": address,
        "upstream_host": next((name for name, peer in peers.items() if peer == address), ""),
        "upstream_answers": not check.get("skipped") and check.get("rc") == 0,
    }


def failover_refusal(
    live: dict[str, dict[str, Any]],
    target: str,
    force: bool = False,
    promoted_already: bool = False,
    behind: int = 0,
    most_advanced: str = "",
) -> str:
    """Why a failover to target must not go ahead, or '' when it may.

    live maps each reachable cluster host to what it says of itself:
    running, in_recovery, and for a replica whether its WAL receiver streams
    (streaming), from where (upstream_address, upstream_host) and whether that
    upstream answered the replica just now (upstream_answers). A failover is
    for a lost primary: a primary that runs, whether this machine reaches it
    or only its replicas do, would keep taking writes beside the new one."""
    if promoted_already:
        return ""
    candidates = [h for h, s in live.items() if s.get("running") and s.get("in_recovery")]
    if target not in candidates:
        return (
            f"{target} is not a running replica that can be reached (running replicas:"
            f" {', '.join(candidates) or 'none'}): failover refused, nothing changed."
        )
    if force:
        return ""
    primaries = [h for h, s in live.items() if s.get("running") and not s.get("in_recovery") and h != target]
    if primaries:
        return (
            f"{primaries[0]} is running as the primary and this machine reaches it: a failover is for a lost"
            f" primary. Move the primary with `dockyard switchover --to {target}` (no acknowledged write is lost),"
            f" or add --force (dockyard_force=true) to stop and fence {primaries[0]} and promote {target}."
            " Nothing changed."
        )
    alive = [(h, s) for h, s in live.items() if s.get("streaming") and s.get("upstream_answers")]
    if alive:
        host, state = alive[0]
        upstream = state.get("upstream_address", "")
        name = state.get("upstream_host") or "a host"
        return (
            f"{host} still streams from {upstream} ({name}), which answers it: that primary is alive, only this"
            f" machine cannot reach it. Promoting {target} now would leave two hosts accepting writes, and the"
            f" writes {name} takes meanwhile would be lost when it rejoins. Restore this machine's access to {name}"
            f" and use `dockyard switchover --to {target}`, or stop PostgreSQL on {name} first; --force"
            " (dockyard_force=true) promotes anyway. Nothing changed."
        )
    if behind > 0:
        return (
            f"{target} is {behind} bytes behind {most_advanced}, the most advanced replica: promoting it would"
            f" lose those writes. Fail over to {most_advanced}, or add --force (dockyard_force=true) to accept"
            " the loss. Nothing changed."
        )
    return ""


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "postgresql_is_ip": is_ip,
            "postgresql_host_cidr": host_cidr,
            "postgresql_bad_networks": bad_networks,
            "postgresql_slot_name": slot_name,
            "postgresql_wal_senders": wal_senders,
            "postgresql_quorum": quorum,
            "postgresql_problems": problems,
            "postgresql_conf_value": conf_value,
            "postgresql_pgpass_field": pgpass_field,
            "postgresql_peer_addresses": peer_addresses,
            "postgresql_clone_decision": clone_decision,
            "postgresql_failover_refusal": failover_refusal,
            "postgresql_failover_view": failover_view,
            "postgresql_may_start_alone": may_start_alone,
            "postgresql_position": position,
        }
