"""Dockyard's sample api: items written to the PostgreSQL primary, read back
from a replica. Standard library plus psycopg2 (Debian's python3-psycopg2).

    GET  /health  -> {"status": "ok", "database": "ok" | "read-only" | "unavailable",
                      "writes": true | false}
    POST /items   {"name": "..."} -> 201 {"id": 1, "name": "...", "created_at": "..."}
    GET  /items?limit=100&after=0 -> [{"id": 1, "name": "...", "created_at": "..."}]
                  (a replica; ordered by id; a full page has a Link rel="next")

Every answer is JSON, errors included: 400 for a request it cannot take, 404,
405 with Allow, 503 with Retry-After while the database cannot serve it (down,
or no host takes writes during a failover). Database details (hosts, users,
server messages) go to the log, not to clients.

Configuration: libpq's own environment, which Dockyard gives a service that
declares `database:` (PGHOST listing every cluster host, PGPORT, PGDATABASE,
PGUSER, PGPASSWORD, PGTARGETSESSIONATTRS=read-write, PGSSLMODE, PGSSLROOTCERT):
libpq connects to whichever host is the primary now, so a switchover or a
failover needs no redeploy. Reads use DATABASE_READ_URL (a replica first, the
primary when none answers). PORT (default 8000).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
import unicodedata
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

try:
    import psycopg2
except ImportError:  # the image installs it; without it the api still answers, with 503
    psycopg2 = None

RETRY_AFTER_S = 2
MAX_NAME = 200
MAX_BODY = 16 * 1024
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS items"
    " (id serial PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
)
ALLOWED = {"/health": "GET, HEAD", "/items": "GET, HEAD, POST"}
READ_ONLY_SQLSTATE = "25006"


class BadRequest(Exception):
    """The client's mistake, said in words it can act on (answered with 400)."""


class DatabaseUnavailable(Exception):
    """The database cannot serve this request now. `public` is what the client
    is told; the exception's text (host, user, server message) is logged only."""

    def __init__(self, detail: str, public: str = "database unavailable") -> None:
        super().__init__(detail)
        self.public = public


def connect(purpose: str):
    """A connection for writes (libpq's environment: the host that takes
    writes now) or for reads (DATABASE_READ_URL: a replica first)."""
    if psycopg2 is None:
        raise DatabaseUnavailable("psycopg2 is not installed")
    if not os.environ.get("PGHOST"):
        raise DatabaseUnavailable("PGHOST is not set: declare `database:` for this service")
    try:
        if purpose == "read":
            read_url = os.environ.get("DATABASE_READ_URL", "")
            if read_url:
                return psycopg2.connect(read_url)
            return psycopg2.connect("", target_session_attrs="prefer-standby")
        return psycopg2.connect("")
    except psycopg2.Error as error:
        raise DatabaseUnavailable(f"{purpose}: {first_line(error)}") from error


def first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def unavailable(purpose: str, error: Exception) -> DatabaseUnavailable:
    """A database error met while running a query, as the client may see it."""
    return DatabaseUnavailable(f"{purpose}: {first_line(error)}")


def read_only(error: Exception) -> bool:
    return getattr(error, "pgcode", None) == READ_ONLY_SQLSTATE


def checked_name(body: bytes) -> str:
    """The item name from a POST body, or BadRequest saying what is wrong."""
    try:
        payload = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"the body is not JSON ({error})") from error
    name = payload.get("name") if isinstance(payload, dict) else None
    if not isinstance(name, str):
        raise BadRequest('send {"name": "..."}')
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise BadRequest(f"name must have 1 to {MAX_NAME} characters")
    # PostgreSQL text holds no NUL, and UTF-8 no lone surrogate (JSON's
    # "\ud800" decodes to one): refused here, not as a failed INSERT.
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in name):
        raise BadRequest("name must not contain control characters or lone surrogates")
    return name


def page_of(query: str) -> tuple[int, int]:
    """(limit, after) from ?limit=&after=, or BadRequest."""
    params = parse_qs(query, keep_blank_values=True)
    try:
        limit = int(params.get("limit", [str(DEFAULT_LIMIT)])[-1])
        after = int(params.get("after", ["0"])[-1])
    except ValueError as error:
        raise BadRequest("limit and after must be whole numbers") from error
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
    if after < 0:
        raise BadRequest("after must be 0 or more (the last id of the previous page)")
    return limit, after


def write_item(name: str) -> dict[str, object]:
    """The row, written on the primary. A primary that became read-only
    between connecting and writing (a switchover) is left for a fresh
    connection, once: libpq then finds the new primary."""
    for attempt in (1, 2):
        connection = connect("write")
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(SCHEMA)
                cursor.execute("INSERT INTO items (name) VALUES (%s) RETURNING id, created_at", (name,))
                item_id, created = cursor.fetchone()
            return {"id": item_id, "name": name, "created_at": created.isoformat()}
        except psycopg2.Error as error:
            if attempt == 1 and read_only(error):
                log(f"write: {first_line(error)}; retrying on a fresh connection")
                continue
            raise unavailable("write", error) from error
        finally:
            connection.close()
    raise DatabaseUnavailable("write: the database stayed read-only")


def read_items(limit: int, after: int) -> tuple[list[dict[str, object]], str]:
    """One page of items and which kind of host served it ("replica" or
    "primary"; never its address)."""
    connection = connect("read")
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute("SELECT pg_is_in_recovery(), to_regclass('items') IS NOT NULL")
            in_recovery, has_items = cursor.fetchone()
            served_by = "replica" if in_recovery else "primary"
            if not has_items:
                return [], served_by
            cursor.execute("SELECT id, name, created_at FROM items WHERE id > %s ORDER BY id LIMIT %s", (after, limit))
            rows = cursor.fetchall()
        return [{"id": i, "name": n, "created_at": c.isoformat()} for i, n, c in rows], served_by
    except psycopg2.Error as error:
        raise unavailable("read", error) from error
    finally:
        connection.close()


def database_state() -> dict[str, object]:
    """Whether writes are accepted now: a host takes them (ok), only
    read-only hosts answer (read-only: a failover in progress), or none."""
    try:
        connection = connect("write")
    except DatabaseUnavailable as error:
        log(f"health: {error}")
        try:
            connect("read").close()
        except DatabaseUnavailable:
            return {"database": "unavailable", "writes": False}
        return {"database": "read-only", "writes": False}
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute("SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off'")
            writes = bool(cursor.fetchone()[0])
    except psycopg2.Error as error:
        log(f"health: {first_line(error)}")
        return {"database": "unavailable", "writes": False}
    finally:
        connection.close()
    return {"database": "ok" if writes else "read-only", "writes": writes}


def log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


class Handler(BaseHTTPRequestHandler):
    server_version = "dockyard-api/2"
    sys_version = ""

    def _send(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (a malformed request line, a header too
        long) in JSON too, instead of its HTML page."""
        self.close_connection = True
        self._send(code, {"error": message or self.responses.get(code, ("error",))[0]})

    def _path(self) -> tuple[str, str]:
        parts = urlsplit(self.path)
        return (parts.path.rstrip("/") or "/"), parts.query

    def _answer(self, method: str) -> None:
        path, query = self._path()
        if path not in ALLOWED:
            self._send(404, {"error": "not found", "paths": sorted(ALLOWED)})
            return
        if method not in ALLOWED[path].split(", "):
            self._send(405, {"error": f"{method} is not allowed on {path}"}, {"Allow": ALLOWED[path]})
            return
        try:
            if path == "/health":
                self._send(200, {"status": "ok", **database_state()})
            elif method == "POST":
                self._send(201, write_item(checked_name(self._body())))
            else:
                self._list(*page_of(query))
        except BadRequest as error:
            self._send(400, {"error": str(error)})
        except DatabaseUnavailable as error:
            log(f"{method} {path}: {error}")
            self._send(503, {"error": error.public}, {"Retry-After": str(RETRY_AFTER_S)})
        except Exception:  # an answer in JSON, the traceback in the log
            log(traceback.format_exc())
            self._send(500, {"error": "internal error (see the api's log)"})

    def _body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError as error:
            raise BadRequest("Content-Length is not a number") from error
        if not 0 <= length <= MAX_BODY:
            raise BadRequest(f"the body must be at most {MAX_BODY} bytes")
        return self.rfile.read(length)

    def _list(self, limit: int, after: int) -> None:
        items, served_by = read_items(limit, after)
        headers = {"X-Served-By": served_by}
        if len(items) == limit:
            headers["Link"] = f'</items?limit={limit}&after={items[-1]["id"]}>; rel="next"'
        self._send(200, items, headers)

    def do_GET(self) -> None:
        self._answer("GET")

    def do_HEAD(self) -> None:
        self._answer("HEAD")

    def do_POST(self) -> None:
        self._answer("POST")

    def do_PUT(self) -> None:
        self._answer("PUT")

    def do_PATCH(self) -> None:
        self._answer("PATCH")

    def do_DELETE(self) -> None:
        self._answer("DELETE")

    def do_OPTIONS(self) -> None:
        self._answer("OPTIONS")

    def log_message(self, fmt: str, *args: object) -> None:
        log(f"{self.address_string()} {fmt % args}")


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    print(f"dockyard-api listening on :{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
