"""The fake's HTTP routes: ``GET /v1/models`` and ``POST /v1/chat/completions``, with
OpenAI's status codes and JSON error bodies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from slack_events_dagster.testing.fake_openai.api import HTTPError

if TYPE_CHECKING:
    from slack_events_dagster.testing.fake_openai.server import FakeOpenAIServer


def handler_class(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    """A request handler class answering for ``server``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in separate writes; with Nagle on, the client's
        # delayed ACK adds ~40 ms to every response.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            # Quiet by default: request lines would drown test output.
            return

        def do_GET(self) -> None:
            server.count_request()
            if self.path.rstrip("/") in ("/v1/models", "/models"):
                try:
                    server.check_auth(self.headers.get("Authorization"))
                except HTTPError as exc:
                    self._send_json(exc.status, exc.body, exc.headers)
                    return
                body = {
                    "object": "list",
                    "data": [
                        {
                            "id": server.model,
                            "object": "model",
                            "created": 0,
                            "owned_by": "fake",
                        }
                    ],
                }
                self._send_json(200, body)
            else:
                self._send_json(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            server.count_request()
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self._send_json(404, {"error": {"message": f"no route {self.path}"}})
                return
            try:
                status, payload, headers = server.complete(raw, self.headers.get("Authorization"))
            except HTTPError as exc:
                status, payload, headers = exc.status, exc.body, exc.headers
            if isinstance(payload, bytes):
                self._send_bytes(status, payload, "application/json", headers)
            else:
                self._send_json(status, payload, headers)

        def _send_json(
            self, status: int, body: Any, headers: Mapping[str, str] | None = None
        ) -> None:
            self._send_bytes(status, json.dumps(body).encode(), "application/json", headers)

        def _send_bytes(
            self,
            status: int,
            data: bytes,
            content_type: str,
            headers: Mapping[str, str] | None = None,
        ) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up (a simulated hang outlived its timeout).
                pass

    return Handler
