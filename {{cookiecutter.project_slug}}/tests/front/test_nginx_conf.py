"""The front's headers and limits (deploy/nginx.conf), checked against an upstream that echoes what it received."""

import http.client
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.conf import settings

from deploy.front import TEMPLATE
from tests.perf.slow_clients import HOST, front, get, slow_bodies

pytestmark = pytest.mark.front


class _Echo(BaseHTTPRequestHandler):
    """Answer every request with the headers and the body size it arrived with, as JSON."""

    def do_GET(self) -> None:
        """Echo a GET."""
        self._echo(b"")

    def do_POST(self) -> None:
        """Echo a POST, its body read whole."""
        self._echo(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

    def _echo(self, body: bytes) -> None:
        """Send back the request's headers and body size."""
        answer = json.dumps({"headers": dict(self.headers.items()), "body_bytes": len(body)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing."""


@pytest.fixture(scope="module")
def echo_port(nginx_executable: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Return the port of nginx, with the shipped configuration, in front of the echoing upstream."""
    upstream = ThreadingHTTPServer((HOST, 0), _Echo)
    thread = threading.Thread(target=upstream.serve_forever, daemon=True)
    thread.start()
    try:
        with front(upstream.server_port, tmp_path_factory.mktemp("echo-front")) as port:
            yield port
    finally:
        upstream.shutdown()
        upstream.server_close()


def _request(port: int, method: str, *, headers: dict[str, str], body: bytes | None = None) -> tuple[int, Any]:
    """Return the status and the decoded JSON body of one request to HOST:port."""
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request(method, "/", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_front_replaces_the_forwarded_headers_a_client_sends(echo_port: int) -> None:
    forged = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}

    status, echoed = _request(echo_port, "GET", headers=forged)

    assert status == 200
    assert echoed["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert echoed["headers"]["X-Forwarded-Proto"] == "http"


def test_front_drops_header_names_with_underscores(echo_port: int) -> None:
    status, echoed = _request(echo_port, "GET", headers={"X_Forwarded_For": "203.0.113.7"})

    assert status == 200
    assert "X_Forwarded_For" not in echoed["headers"]


def test_front_passes_a_body_of_the_apps_upload_limit(echo_port: int) -> None:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    status, echoed = _request(echo_port, "POST", headers={}, body=b"x" * limit)

    assert status == 200
    assert echoed["body_bytes"] == limit


def test_front_refuses_a_body_over_the_apps_upload_limit_with_a_json_413(echo_port: int) -> None:
    status, answer = _request(echo_port, "POST", headers={}, body=b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1))

    assert status == 413
    assert answer["code"] == "request_too_large"


def test_front_refuses_a_request_over_the_limit_in_progress_from_one_address(echo_port: int) -> None:
    match = re.search(r"limit_conn per_client (\d+);", TEMPLATE.read_text())
    assert match is not None
    limit = int(match[1])

    with slow_bodies(echo_port, limit):
        time.sleep(0.5)  # nginx has read every slow client's header, so each counts
        refused = get(echo_port, "/", timeout=10)
    time.sleep(0.5)
    answered = get(echo_port, "/", timeout=10)

    assert refused == 429
    assert answered == 200
