"""The sample api's answers to what a client may send, on a real server
process (services/api/app.py on a loopback port). This machine has no
psycopg2, so every database answer here is the api's "database unavailable"
path, which is the one under test; the answers that need a real database
(writes, paging, a read-only primary after a switchover) are checked in the
Molecule default scenario and test_cli_lab."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from support import REPO_ROOT, wait_for

APP = REPO_ROOT / "services" / "api" / "app.py"
DB_HOST = "db-secret-host.internal"
DB_USER = "appuser-not-for-clients"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_api() -> Iterator[tuple[int, subprocess.Popen]]:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "PGHOST": DB_HOST, "PGUSER": DB_USER, "PGPASSWORD": "x"}
    process = subprocess.Popen(
        [sys.executable, str(APP)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )

    def listening() -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    assert wait_for(listening, timeout=10)
    try:
        yield port, process
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def api() -> Iterator[tuple[int, subprocess.Popen]]:
    with running_api() as answering:
        yield answering


def call(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    answer = (response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    connection.close()
    return answer


# name: (method, path, body, status, words the JSON error must contain)
BAD_REQUESTS = {
    "a NUL byte in the name": ("POST", "/items", rb'{"name": "nul\u0000byte"}', 400, "control characters"),
    "a lone surrogate in the name": ("POST", "/items", rb'{"name": "half \ud800"}', 400, "lone surrogates"),
    "a body that is not JSON": ("POST", "/items", b"name=x", 400, "not JSON"),
    "a body that is not UTF-8": ("POST", "/items", b'{"name": "\xff"}', 400, "not JSON"),
    "no name": ("POST", "/items", b'{"title": "x"}', 400, '{"name": "..."}'),
    "a name too long": ("POST", "/items", json.dumps({"name": "x" * 201}).encode(), 400, "1 to 200"),
    "a limit that is no number": ("GET", "/items?limit=lots", None, 400, "whole numbers"),
    "a limit too large": ("GET", "/items?limit=100000", None, 400, "between 1 and 1000"),
    "an after below zero": ("GET", "/items?after=-1", None, 400, "0 or more"),
    "PUT": ("PUT", "/items", b"{}", 405, "PUT is not allowed"),
    "DELETE": ("DELETE", "/items", None, 405, "DELETE is not allowed"),
    "PATCH": ("PATCH", "/items", b"{}", 405, "PATCH is not allowed"),
    "POST on /health": ("POST", "/health", b"{}", 405, "POST is not allowed"),
    "an unknown path": ("GET", "/nowhere", None, 404, "not found"),
    "an unknown method": ("BREW", "/items", None, 501, "Unsupported method"),
}


@pytest.mark.parametrize("case", BAD_REQUESTS.values(), ids=list(BAD_REQUESTS))
def test_a_request_it_cannot_take_gets_a_json_error(api: tuple[int, subprocess.Popen], case: tuple) -> None:
    method, path, body, status, words = case
    got, headers, raw = call(api[0], method, path, body)
    assert got == status, raw
    assert headers["content-type"] == "application/json"
    assert words in json.loads(raw)["error"]
    if status == 405:
        assert headers["allow"] in ("GET, HEAD, POST", "GET, HEAD")


def test_database_trouble_is_503_json_with_retry_after_and_no_detail(api: tuple[int, subprocess.Popen]) -> None:
    port, _ = api
    for method, path, body in (("POST", "/items", b'{"name": "fine"}'), ("GET", "/items", None)):
        status, headers, raw = call(port, method, path, body)
        assert status == 503, raw
        assert headers["content-type"] == "application/json"
        assert headers["retry-after"] == "2"
        assert json.loads(raw) == {"error": "database unavailable"}
        assert DB_HOST.encode() not in raw and DB_USER.encode() not in raw


def test_health_says_writes_are_not_accepted(api: tuple[int, subprocess.Popen]) -> None:
    status, _, raw = call(api[0], "GET", "/health")
    assert status == 200
    assert json.loads(raw) == {"status": "ok", "database": "unavailable", "writes": False}


def test_head_answers_like_get_without_a_body(api: tuple[int, subprocess.Popen]) -> None:
    status, headers, raw = call(api[0], "HEAD", "/health")
    assert status == 200 and raw == b""
    assert int(headers["content-length"]) > 0


def test_the_details_go_to_the_log() -> None:
    with running_api() as (port, process):
        call(port, "POST", "/items", b'{"name": "logged"}')
    assert "POST /items: psycopg2 is not installed" in process.stderr.read()
