"""Checks of docker_engine's variables and the daemon.json keys that changed."""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

POOL_BASE = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}$")


NETWORK = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,3}){3}(/[0-9]{1,2})?$")


DAEMON_HOST = re.compile(r"^(unix|tcp|fd|ssh)://")


VERSION = re.compile(r"^[0-9A-Za-z.:~+-]*$")


ENVIRONMENT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

ENVIRONMENT_DROPIN_HEADER = "# Managed by Dockyard (docker_engine): docker_engine_environment.\n[Service]\n"


# Docker 26+ turns IPv6 off on each container's interface of an IPv4-only
# network and, where the host's /proc/sys is read-only (the host is itself a
# container: LXC, Docker, a CI runner), fails every container start unless
# told to go on. Older engines ignore the variable.
READ_ONLY_SYSCTLS_ENVIRONMENT = {"DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE": "1"}


def daemon_environment(environment: dict[str, Any], net_sysctls_writable: bool = True) -> dict[str, Any]:
    """dockerd's environment: what docker_engine_environment asks for, over
    what the host needs (READ_ONLY_SYSCTLS_ENVIRONMENT where its network
    sysctls cannot be written)."""
    needed = {} if net_sysctls_writable else READ_ONLY_SYSCTLS_ENVIRONMENT
    return {**needed, **environment}


def environment_dropin(environment: dict[str, Any]) -> str:
    """The docker unit's drop-in that gives dockerd these environment
    variables (one Environment= line each, sorted; systemd's quoting), or ''
    for none."""
    if not environment:
        return ""
    lines = []
    for name in sorted(environment):
        value = str(environment[name]).replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
        lines.append(f'Environment="{name}={value}"\n')
    return ENVIRONMENT_DROPIN_HEADER + "".join(lines)


def _environment_problems(environment: Any, host: str) -> list[str]:
    if not isinstance(environment, dict):
        return [
            f"{host}: docker_engine_environment must map variable names to values, e.g."
            f" {{HTTPS_PROXY: http://proxy.example:3128}}; got a {type(environment).__name__}."
        ]
    found = []
    bad_names = [str(name) for name in environment if not ENVIRONMENT_NAME.match(str(name))]
    if bad_names:
        found.append(
            f"{host}: docker_engine_environment has names that are not environment variable names:"
            f" {', '.join(bad_names)} (letters, digits and _, not starting with a digit)."
        )
    # The value is never repeated: a proxy URL may carry a password.
    multi_line = [str(name) for name, value in environment.items() if "\n" in str(value) or "\r" in str(value)]
    if multi_line:
        found.append(f"{host}: docker_engine_environment values must be one line; not: {', '.join(multi_line)}.")
    return found


def changed_keys(current: dict[str, Any], desired: dict[str, Any]) -> list[str]:
    """Top-level keys whose value differs between two daemon.json mappings."""
    keys = sorted(set(current) | set(desired))
    return [key for key in keys if current.get(key) != desired.get(key)]


def _pool_ok(pool: Any) -> bool:
    if not isinstance(pool, dict) or not isinstance(pool.get("base"), str) or not POOL_BASE.match(pool["base"]):
        return False
    size = str(pool.get("size", ""))
    return size.isdigit() and int(pool["base"].split("/")[1]) <= int(size) <= 30


def _ipv4_network(text: str) -> bool:
    try:
        return NETWORK.match(text) is not None and ipaddress.ip_network(text, strict=False).version == 4
    except ValueError:
        return False


def _insecure_tcp(hosts: list[str], config: dict[str, Any], allowed: bool, host: str) -> list[str]:
    """A tcp:// listener without verified TLS gives root on the host to whoever
    reaches it: anyone on the network, or on loopback every local user."""
    if allowed or config.get("tlsverify") is True:
        return []
    plain = [h for h in hosts if h.startswith("tcp://")]
    if not plain:
        return []
    return [
        f"{host}: docker_engine_daemon_options 'hosts' has {', '.join(plain)} without TLS: whoever reaches it"
        " gets root on this host (on loopback: every local user). Reach the engine through its unix socket"
        " (from elsewhere: docker -H ssh://HOST), or set tlsverify: true with tlscacert, tlscert and tlskey;"
        " docker_engine_allow_insecure_tcp: true accepts the risk."
    ]


def problems(values: dict[str, Any], host: str) -> list[str]:
    """Every mistake in the role's variables that the argument spec lets
    through or that dockerd would only reject when it restarts, in one pass:
    each is reported at once, and a run pays for one task. `config` is
    daemon.json as the role writes it (docker_engine_daemon_config), None when
    the options or defaults are not mappings and cannot be merged."""
    found: list[str] = []
    users = values["users"]
    if not isinstance(users, list) or not all(isinstance(user, str) for user in users):
        found.append(
            f"{host}: docker_engine_users must be a YAML list of user names, e.g. [alice, bob];"
            f" got {json.dumps(users)}."
        )
    options, config = values["options"], values["config"]
    if config is None:
        found.append(
            f"{host}: docker_engine_daemon_options must be a mapping of daemon.json keys to values,"
            f" e.g. {{log-level: warn}}; got {json.dumps(options)}."
        )
    else:
        unknown = [key for key in config if key not in values["known_keys"]]
        if unknown:
            found.append(
                f"{host}: docker_engine_daemon_options has keys dockerd does not know: {', '.join(unknown)}."
                " dockerd refuses to start with them; check the spelling against"
                " https://docs.docker.com/reference/cli/dockerd/#daemon-configuration-file."
            )
        log_opts = config.get("log-opts", {})
        if not isinstance(log_opts, dict) or not all(isinstance(v, str) for v in log_opts.values()):
            found.append(
                f"{host}: docker_engine_daemon_options 'log-opts' must map names to strings (dockerd fails on"
                f' numbers): quote them, e.g. log-opts: {{max-file: "3"}}; got {json.dumps(log_opts)}.'
            )
        for pool in config.get("default-address-pools", []) or []:
            if not _pool_ok(pool):
                found.append(
                    f"{host}: each docker_engine_daemon_options 'default-address-pools' entry needs base (an IPv4"
                    " CIDR) and size (a prefix length between the base's and 30), e.g."
                    f" {{base: 172.16.0.0/12, size: 24}}; got {json.dumps(pool)}."
                )
        if "hosts" in config:
            hosts = config["hosts"]
            if (
                not isinstance(hosts, list)
                or not hosts
                or not all(isinstance(h, str) and DAEMON_HOST.match(h) for h in hosts)
            ):
                found.append(
                    f"{host}: docker_engine_daemon_options 'hosts' must be a non-empty list of unix://, tcp://,"
                    ' fd:// or ssh:// addresses, e.g. ["unix:///var/run/docker.sock"];'
                    f" got {json.dumps(hosts)}."
                )
            else:
                found.extend(_insecure_tcp(hosts, config, values.get("allow_insecure_tcp") is True, host))
    sources = values["allowed_sources"]
    if not isinstance(sources, list) or not all(isinstance(s, str) and _ipv4_network(s) for s in sources):
        found.append(
            f"{host}: docker_engine_published_ports_allowed_sources must list IPv4 networks in CIDR form,"
            f' e.g. ["10.0.0.0/8", "192.0.2.7/32"]; got {json.dumps(sources)}.'
        )
    found.extend(_environment_problems(values.get("environment", {}), host))
    # YAML reads 27.3 as a number: a version all the same.
    version = values["version"] if isinstance(values["version"], str) else str(values["version"])
    if not VERSION.match(version):
        found.append(
            f'{host}: docker_engine_version must be a version such as "27.3.1" or a full apt version string,'
            f' or empty; got "{version}".'
        )
    return found
