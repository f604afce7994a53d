"""Dockyard's sample api: items written to the PostgreSQL primary, read back
from a replica. Standard library plus psycopg2 (Debian's python3-psycopg2).

    GET  /health  -> {"status": "ok", "database": "ok" | "unavailable", ...}
    POST /items   {"name": "..."} -> 201 {"id": 1, "name": "..."}   (primary)
    GET  /items   -> [{"id": 1, "name": "...", "created_at": "..."}] (a replica)

Configuration from the environment: DB_PRIMARY_HOST, DB_REPLICA_HOSTS
(comma-separated; the primary when empty), DB_PORT, DB_NAME, DB_USER,
DB_PASSWORD, PORT (default 8000). Without a database it keeps serving and says
so in /health and with 503 on /items, instead of crashing.
"""

from __future__ import annotations

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    import psycopg2
except ImportError:  # the image installs it; this keeps /health honest without
    psycopg2 = None

CONNECT_TIMEOUT_S = 3
SCHEMA = "CREATE TABLE IF NOT EXISTS items (id serial PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"


def settings() -> dict[str, object]:
    primary = os.environ.get("DB_PRIMARY_HOST", "")
    replicas = [h.strip() for h in os.environ.get("DB_REPLICA_HOSTS", "").split(",") if h.strip()]
    return {
        "primary": primary,
        "replicas": replicas or ([primary] if primary else []),
        "port": int(os.environ.get("DB_PORT", "5432")),
        "dbname": os.environ.get("DB_NAME", "app"),
        "user": os.environ.get("DB_USER", "app"),
        "password": os.environ.get("DB_PASSWORD", ""),
    }


class DatabaseUnavailable(Exception):
    pass


def connect(host: str):
    config = settings()
    if psycopg2 is None:
        raise DatabaseUnavailable("psycopg2 is not installed")
    if not host:
        raise DatabaseUnavailable("DB_PRIMARY_HOST is not set")
    try:
        return psycopg2.connect(
            host=host, port=config["port"], dbname=config["dbname"], user=config["user"],
            password=config["password"], connect_timeout=CONNECT_TIMEOUT_S,
        )  # fmt: skip
    except psycopg2.Error as error:
        raise DatabaseUnavailable(f"{host}: {str(error).strip().splitlines()[0]}") from error


def write_item(name: str) -> dict[str, object]:
    connection = connect(str(settings()["primary"]))
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(SCHEMA)
            cursor.execute("INSERT INTO items (name) VALUES (%s) RETURNING id, created_at", (name,))
            item_id, created = cursor.fetchone()
        return {"id": item_id, "name": name, "created_at": created.isoformat()}
    finally:
        connection.close()


def read_items() -> tuple[list[dict[str, object]], str]:
    errors = []
    for host in settings()["replicas"]:
        try:
            connection = connect(str(host))
        except DatabaseUnavailable as error:
            errors.append(str(error))
            continue
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute("SELECT to_regclass('items') IS NOT NULL")
                if not cursor.fetchone()[0]:
                    return [], str(host)
                cursor.execute("SELECT id, name, created_at FROM items ORDER BY id")
                rows = cursor.fetchall()
            return [{"id": i, "name": n, "created_at": c.isoformat()} for i, n, c in rows], str(host)
        finally:
            connection.close()
    raise DatabaseUnavailable("; ".join(errors) or "no database host configured")


def database_state() -> dict[str, object]:
    try:
        connect(str(settings()["primary"])).close()
        return {"database": "ok"}
    except DatabaseUnavailable as error:
        return {"database": "unavailable", "detail": str(error)}


class Handler(BaseHTTPRequestHandler):
    server_version = "dockyard-api/1"

    def _send(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        if path == "/health":
            self._send(200, {"status": "ok", **database_state()})
        elif path == "/items":
            try:
                items, host = read_items()
            except DatabaseUnavailable as error:
                self._send(503, {"error": "database unavailable", "detail": str(error)})
                return
            self._send(200, items, {"X-Served-By": host})
        else:
            self._send(404, {"error": "not found", "paths": ["/health", "/items"]})

    def do_POST(self) -> None:  # noqa: N802
        if self.path.split("?", 1)[0].rstrip("/") != "/items":
            self._send(404, {"error": "not found"})
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            name = body.get("name") if isinstance(body, dict) else None
        except (ValueError, json.JSONDecodeError):
            name = None
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            self._send(400, {"error": 'send {"name": "..."} with 1 to 200 characters'})
            return
        try:
            self._send(201, write_item(name.strip()))
        except DatabaseUnavailable as error:
            self._send(503, {"error": "database unavailable", "detail": str(error)})

    def log_message(self, fmt: str, *args: object) -> None:
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    print(f"dockyard-api listening on :{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
