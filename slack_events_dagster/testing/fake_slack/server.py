"""The fake Slack's HTTP server: options, dispatch of a call (authentication, scopes,
seeded faults, per-method rate limits) and the counters tests read.

``FakeSlack(rate_limits=True, rate_limit_overrides={...}, object_cap=15)`` behaves as
Slack does for an unlisted app: each limited method answers 429 with ``Retry-After``
beyond its calls per window, and history and replies return at most 15 objects a call."""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from slack_events_dagster.testing.fake_slack.protocol import (
    ALL_SCOPES,
    DEFAULT_TOKEN,
    METHOD_SCOPES,
    TIER_LIMITS,
    ApiError,
)
from slack_events_dagster.testing.fake_slack.socket_mode import (
    APP_SCOPES,
    DEFAULT_APP_TOKEN,
    SOCKET_PATH,
    SocketModeMethods,
)


@dataclass
class FaultPlan:
    """Seeded random faults: each call fails with probability ``rate``, picking a kind."""

    rate: float = 0.0
    seed: int = 0
    # "429", "500", "502", "503", "ratelimited" (200 + ok:false) and "hang".
    kinds: tuple[str, ...] = ("429", "500", "502", "503", "ratelimited")
    # Only these methods fail; None means every method.
    methods: frozenset[str] | None = None
    retry_after_s: int = 0
    # How long a "hang" sleeps before answering: set it above the client timeout.
    hang_s: float = 2.0
    # The first this many matching calls always succeed ("fail from the 3rd page on").
    after_calls: int = 0


class FakeSlack(SocketModeMethods):
    """The workspace state and the HTTP server around it."""

    def __init__(
        self,
        *,
        tokens: dict[str, Iterable[str]] | None = None,
        team_domain: str = "fake-workspace",
        rate_limits: bool = False,
        rate_limit_window_s: float = 60.0,
        rate_limit_overrides: dict[str, int] | None = None,
        object_cap: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        faults: FaultPlan | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(team_domain=team_domain)
        self.tokens: dict[str, frozenset[str]] = {
            token: frozenset(scopes)
            for token, scopes in (
                tokens or {DEFAULT_TOKEN: ALL_SCOPES, DEFAULT_APP_TOKEN: APP_SCOPES}
            ).items()
        }
        self.revoked: set[str] = set()
        self.rate_limits = rate_limits
        self.rate_limit_window_s = rate_limit_window_s
        self.limits = {**TIER_LIMITS, **(rate_limit_overrides or {})}
        self.object_cap = object_cap
        # Seconds for the rate-limit windows (a benchmark's simulated clock).
        self.clock = clock
        # Calls answered 429 by the rate limits (not by seeded faults), per method.
        self.refused: Counter[str] = Counter()
        self.faults = faults or FaultPlan()
        self._fault_rng = random.Random(self.faults.seed)
        self._fault_eligible = 0
        # Every call returns invalid_auth while set (a token revoked mid-run).
        self.force_invalid_auth = False
        self.calls: Counter[str] = Counter()
        self.faults_injected: Counter[str] = Counter()
        self._windows: dict[str, deque[float]] = {}
        self._host = host
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def reset_counts(self) -> None:
        with self._lock:
            self.calls.clear()
            self.faults_injected.clear()
            self.refused.clear()

    # -- HTTP ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake Slack server is not running; use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/"

    def start(self) -> str:
        fake = self

        class Handler(_Handler):
            server_state = fake

        self._server = ThreadingHTTPServer((self._host, self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        self.close_sockets()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Run the server for the ``with`` block; yields the base URL for WebClient."""
        base_url = self.start()
        try:
            yield base_url
        finally:
            self.stop()

    # -- request dispatch ------------------------------------------------------------

    def handle(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, str], bytes, float]:
        """(status, headers, JSON body, delay before answering) for one API call."""
        with self._lock:
            # Serialise under the lock: later mutations must not race the encoder.
            status, headers, body, delay = self._handle_locked(method, params, token)
            return status, headers, json.dumps(body).encode("utf-8"), delay

    def _handle_locked(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, str], dict[str, Any], float]:
        self.calls[method] += 1
        fault = self._pick_fault(method)
        if fault is not None:
            self.faults_injected[fault] += 1
            retry = {"Retry-After": str(self.faults.retry_after_s)}
            limited = {"ok": False, "error": "ratelimited"}
            if fault == "429":
                return 429, retry, limited, 0.0
            if fault == "ratelimited":
                return 200, retry, limited, 0.0
            if fault in ("500", "502", "503"):
                return int(fault), {}, {"ok": False, "error": "internal_error"}, 0.0
        delay = self.faults.hang_s if fault == "hang" else 0.0
        limited_after = self._rate_limited(method)
        if limited_after is not None:
            self.refused[method] += 1
            return (
                429,
                {"Retry-After": str(limited_after)},
                {"ok": False, "error": "ratelimited"},
                0.0,
            )
        scopes: frozenset[str] = frozenset()
        try:
            scopes = self._authenticate(token)
            handler = getattr(self, "_api_" + method.replace(".", "_"), None)
            if handler is None:
                raise ApiError("unknown_method")
            needed = METHOD_SCOPES.get(method)
            if needed is not None and needed not in scopes:
                raise ApiError("missing_scope", needed=needed, provided=",".join(sorted(scopes)))
            body = handler(params, scopes)
        except ApiError as exc:
            body = {"ok": False, "error": exc.error, **exc.extra}
        headers = {"X-OAuth-Scopes": ",".join(sorted(scopes))}
        return 200, headers, body, delay

    def _pick_fault(self, method: str) -> str | None:
        plan = self.faults
        if plan.rate <= 0 or (plan.methods is not None and method not in plan.methods):
            return None
        self._fault_eligible += 1
        if self._fault_eligible <= plan.after_calls:
            return None
        if self._fault_rng.random() >= plan.rate:
            return None
        return self._fault_rng.choice(plan.kinds)

    def _rate_limited(self, method: str) -> int | None:
        if not self.rate_limits or method not in self.limits:
            return None
        now = self.clock()
        window = self._windows.setdefault(method, deque())
        while window and window[0] <= now - self.rate_limit_window_s:
            window.popleft()
        if len(window) >= self.limits[method]:
            return max(1, math.ceil(window[0] + self.rate_limit_window_s - now))
        window.append(now)
        return None

    def _authenticate(self, token: str | None) -> frozenset[str]:
        if not token:
            raise ApiError("not_authed")
        if self.force_invalid_auth or token not in self.tokens:
            raise ApiError("invalid_auth")
        if token in self.revoked:
            raise ApiError("token_revoked")
        return self.tokens[token]


class _Handler(BaseHTTPRequestHandler):
    server_state: FakeSlack
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read counters
        return

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == SOCKET_PATH:
            query = dict(parse_qsl(parts.query))
            self.server_state.serve_websocket(self, query)
            return
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _params(self) -> dict[str, Any]:
        parts = urlsplit(self.path)
        params: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type", "")
        if not raw:
            return params
        if content_type.startswith("application/json"):
            body = json.loads(raw.decode("utf-8"))
            if isinstance(body, dict):
                params.update(body)
        elif content_type.startswith("multipart/form-data"):
            message = BytesParser().parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + raw
            )
            for part in message.walk():
                if part.is_multipart():
                    continue
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True)
                if isinstance(name, str) and isinstance(payload, bytes):
                    params[name] = payload.decode("utf-8", "replace")
        else:
            params.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        return params

    def _dispatch(self) -> None:
        path = urlsplit(self.path).path
        if not path.startswith("/api/"):
            self._send(404, {}, b'{"ok": false, "error": "not_found"}')
            return
        method = path.removeprefix("/api/")
        try:
            params = self._params()
        except (ValueError, UnicodeDecodeError):
            self._send(200, {}, b'{"ok": false, "error": "invalid_form_data"}')
            return
        token = None
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        token = token or params.pop("token", None)
        status, headers, body, delay = self.server_state.handle(method, params, token)
        if delay:
            time.sleep(delay)
        self._send(status, headers, body)

    def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a hang fault): nothing to answer
