"""`dockyard status`: the platform as it is, from playbooks/status.yml; with
--json the same as one object, whose shape tests/integration/test_cli.py checks."""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from dockyard import backups
from dockyard.runner.model import RunResult

REPORT_TASK = "Dockyard report: status"
# The label the microservices role puts on a container whose service declares
# `database:` (plugins/module_utils/database_access.py).
DATABASE_LABEL = "org.dockyard.database"
HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")


def _health(container: dict[str, Any]) -> str | None:
    state = container.get("State")
    if isinstance(state, dict) and isinstance(state.get("Health"), dict):
        return state["Health"].get("Status")
    match = HEALTH.search(str(container.get("Status", "")))
    if match is None:
        return None
    return "starting" if match.group(1) == "health: starting" else match.group(1)


def _state(container: dict[str, Any]) -> str:
    state = container.get("State")
    if isinstance(state, dict):
        return str(state.get("Status", "unknown"))
    if isinstance(state, str) and state:
        return state
    status = str(container.get("Status", "")).lower()
    for word, name in (("up", "running"), ("exited", "exited"), ("created", "created")):
        if status.startswith(word):
            return name
    return "unknown"


def _ports_and_urls(container: dict[str, Any], address: str) -> tuple[list[str], list[str]]:
    ports: list[str] = []
    urls: list[str] = []
    seen: set[tuple[str, int, int, str]] = set()
    for port in container.get("Ports") or []:
        public = port.get("PublicPort")
        if not public:
            continue
        ip = port.get("IP", "0.0.0.0")
        private, proto = port.get("PrivatePort"), port.get("Type", "tcp")
        if ip == "::" and ("0.0.0.0", public, private, proto) in seen:
            continue  # the IPv6 twin of a 0.0.0.0 binding
        seen.add((ip, public, private, proto))
        ports.append(f"{ip}:{public}->{private}/{proto}")
        # A URL only where this machine can reach the binding.
        if proto == "tcp" and ip in ("0.0.0.0", "::"):
            urls.append(f"http://{address}:{public}")
    return ports, urls


def _container(container: dict[str, Any], address: str) -> dict[str, Any]:
    names = container.get("Names") or [container.get("Name", "?")]
    ports, urls = _ports_and_urls(container, address)
    database = (container.get("Labels") or {}).get(DATABASE_LABEL)
    return {
        "name": str(names[0]).lstrip("/"),
        "image": container.get("Image", ""),
        "state": _state(container),
        "health": _health(container),
        "ports": ports,
        "urls": urls,
        # A service that declares `database:` writes to whichever host is the
        # primary: filled in by build() once every host is read.
        "database": {"name": database, "writes_to": None} if database else None,
    }


def _host(report: dict[str, Any] | None) -> dict[str, Any]:
    if report is None or not report.get("reachable", True):
        return {
            "reachable": report is not None and bool(report.get("reachable")),
            "docker": None,
            "containers": [],
            "postgresql": None,
        }
    docker_info = report.get("docker")
    docker = None
    if report.get("docker_installed"):
        docker = {
            "version": (docker_info or {}).get("ServerVersion"),
            "running": bool(docker_info),
        }
    address = str(report.get("address") or "")
    containers = sorted(
        (_container(c, address) for c in report.get("containers") or []),
        key=lambda c: c["name"],
    )
    return {
        "reachable": True,
        "docker": docker,
        "containers": containers,
        "postgresql": report.get("postgresql"),
    }


def build(result: RunResult, hosts: tuple[str, ...], reports: dict[str, dict[str, Any]]) -> dict[str, Any]:
    unreachable = {f.host for f in result.failures if f.unreachable}
    status: dict[str, Any] = {}
    for host in hosts:
        if host in unreachable:
            status[host] = {
                "reachable": False,
                "docker": None,
                "containers": [],
                "postgresql": None,
            }
            continue
        report = (reports.get(host) or {}).get(REPORT_TASK, {}).get("msg")
        status[host] = _host(report if isinstance(report, dict) else None)
    primaries = [name for name, h in status.items() if (h["postgresql"] or {}).get("role") == "primary"]
    primary = primaries[0] if len(primaries) == 1 else None
    for host in status.values():
        for container in host["containers"]:
            if container["database"]:
                container["database"]["writes_to"] = primary
    return {"ok": healthy(status, primaries), "primary": primary, "hosts": status, "backup": _backup(reports)}


def _backup(reports: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The backup host's judgement of the backups (playbooks/status.yml);
    null without a backup host. Not part of `ok`: that says whether the
    platform serves, and backups that need care do not stop it."""
    for results in reports.values():
        msg = (results.get(REPORT_TASK) or {}).get("msg")
        if isinstance(msg, dict) and isinstance(msg.get("backup"), dict):
            return msg["backup"]
    return None


def backup_line(backup: dict[str, Any]) -> Text:
    """One line: what is wrong with the repository, the last good backup,
    then the WAL archive; what needs care in red. (The date is in the label.)"""
    parts = [Text(str(backup["message"]), "bold red")] if backup.get("message") else []
    last = backup.get("last_good")
    if last:
        parts.append(Text(f"last {last.get('type')} {last.get('label')} at {backups.clock(last.get('stop'))}"))
    elif not parts:
        parts.append(Text("no good backup yet", "bold red"))
    archive = backup.get("archive") or {}
    parts.append(
        Text("archive ok")
        if archive.get("ok")
        else Text(str(archive.get("message") or "the WAL archive is not known"), "bold red")
    )
    return Text.assemble(f"Backups on {backup.get('host')}: ", Text("; ").join(parts))


def healthy(hosts: dict[str, Any], primaries: list[str]) -> bool:
    """Every host reachable; where there is PostgreSQL, one primary, every
    other server running as a replica that streams."""
    if not all(h["reachable"] for h in hosts.values()):
        return False
    servers = [h["postgresql"] for h in hosts.values() if h["postgresql"] is not None]
    if not servers:
        return True
    return len(primaries) == 1 and all(
        pg["role"] == "primary" or (pg["role"] == "replica" and pg.get("streaming")) for pg in servers
    )


def render(console: Console, status: dict[str, Any]) -> None:
    for name, host in status["hosts"].items():
        if not host["reachable"]:
            console.print(Text.assemble((name, "bold"), ("  unreachable", "bold red")))
            continue
        docker = host["docker"]
        engine = (
            Text("no Docker", "dim")
            if docker is None
            else Text(f"Docker {docker['version']}", "green")
            if docker["running"]
            else Text("Docker not running", "red")
        )
        if docker is None and host.get("postgresql") is not None:
            engine = Text("")
        parts: list[Any] = [Text.assemble((name, "bold"), "  ", engine)]
        if host["containers"]:
            table = Table(box=None, pad_edge=False, show_header=True)
            for column in ("container", "image", "state", "health", "ports", "urls"):
                table.add_column(column)
            for c in host["containers"]:
                database = c.get("database")
                table.add_row(
                    c["name"] + (f"\n writes to {database['writes_to'] or 'no primary'}" if database else ""),
                    c["image"],
                    c["state"],
                    c["health"] or "-",
                    "\n".join(c["ports"]) or "-",
                    "\n".join(c["urls"]) or "-",
                )
            parts.append(table)
        pg = host.get("postgresql")
        if pg and pg.get("role") is None:
            parts.append(Text(f"  PostgreSQL {pg.get('version', '?')} installed, not running", "bold red"))
        elif pg:
            upstream = f" from {pg['upstream']}" if pg.get("upstream") else ""
            lag = ""
            if pg["role"] == "replica":
                lag = f", lag {pg['lag_bytes']} B / {pg['lag_seconds']} s" if pg.get("streaming") else ", not streaming"
                if pg.get("sync_state"):
                    lag += f", {pg['sync_state']}"
            parts.append(
                Text(
                    f"  PostgreSQL {pg.get('version', '?')} {pg['role']}{upstream}"
                    f" (timeline {pg.get('timeline', '?')}){lag}, {'TLS' if pg.get('tls') else 'no TLS'}",
                    "" if pg["role"] == "primary" or pg.get("streaming") else "bold red",
                )
            )
        console.print(Group(*parts))
    if status.get("backup"):
        console.print(backup_line(status["backup"]))
    verdict = (
        Text("Healthy", "bold green")
        if status["ok"]
        else Text("Not healthy: an unreachable host, no single primary, or a replica that does not stream", "bold red")
    )
    console.print(Text.assemble(verdict, f"  (primary: {status['primary'] or 'none'})"))
