"""Socket Mode for the fake Slack: ``apps.connections.open`` and the WebSocket it opens.

As Slack documents it (docs.slack.dev, "Using Socket Mode"):

- ``apps.connections.open`` takes an app-level token (``xapp-…``, scope
  ``connections:write``; a bot token gets ``not_allowed_token_type``) and answers a
  single-use ``ws://…/link/?ticket=…`` URL on the fake's own port;
- the WebSocket says ``hello`` first, then sends every change to a channel the app is in
  as an ``events_api`` envelope (``envelope_id``, ``payload`` an ``event_callback``
  around a ``message`` event, ``accepts_response_payload``, ``retry_attempt``,
  ``retry_reason``) and expects ``{"envelope_id": …}`` back;
- an envelope not acknowledged within ``socket_ack_timeout_s``, or in flight on a
  connection that closed, is sent again (``retry_attempt`` + 1, ``retry_reason``
  ``timeout``) on the next open connection, at most ``socket_max_retries`` times, then
  dropped, as Slack drops an event after its retries;
- a backlog (after a reconnect, or a burst) goes out at most ``socket_max_in_flight``
  unacknowledged envelopes at a time per connection. Slack does not document its pacing;
  slack_sdk's builtin client parses back-to-back frames recursively, one level each, and
  fails on about a thousand in one stream (python-slack-sdk#1232);
- ``socket_drop_while_disconnected`` drops changes made while no connection is open
  (Slack's retries have run out: the app was down for long), so only polling can find
  them.

Changes are the workspace's own (:meth:`add_message`, :meth:`edit_message`,
:meth:`delete_message`, and so ``chat.postMessage``): each is stored in the history
``conversations.history`` reads *and* pushed, in the shapes Slack sends: a new message or
reply, ``message_changed`` for an edit (and for a parent whose thread changed),
``message_deleted`` for a deletion. Events start once an app has opened a connection
(or after :meth:`enable_events`), so tests that never use Socket Mode pay nothing.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import itertools
import json
import secrets
import select
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slack_events_dagster.testing.fake_slack.methods import WebApiMethods
from slack_events_dagster.testing.fake_slack.protocol import ApiError

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler

APP_SCOPES = frozenset({"connections:write"})
DEFAULT_APP_TOKEN = "xapp-1-A00000001-fake-app-token"  # noqa: S105 - a fixture token
APP_ID = "A00000001"
SOCKET_PATH = "/link/"

_WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_OP_TEXT, _OP_CLOSE, _OP_PING, _OP_PONG = 0x1, 0x8, 0x9, 0xA


@dataclass
class Envelope:
    """One event waiting for its acknowledgement."""

    envelope_id: str
    payload: dict[str, Any]
    # Deliveries so far (the first is attempt 0, each redelivery one more).
    deliveries: int = 0
    sent_at: float = 0.0
    # The connection it is in flight on; None when waiting to be (re)sent.
    connection: int | None = None


@dataclass
class _Socket:
    number: int
    sock: socket.socket
    send_lock: threading.Lock = field(default_factory=threading.Lock)
    buffer: bytearray = field(default_factory=bytearray)


class SocketModeMethods(WebApiMethods):
    """The Socket Mode side of the fake: connection URLs, WebSockets, envelopes."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.socket_ack_timeout_s = 5.0
        self.socket_max_retries = 3
        self.socket_drop_while_disconnected = False
        # A backlog goes out in windows, not all at once (see the module docstring).
        self.socket_max_in_flight = 50
        self.events_enabled = False
        # Counters tests read: "sent", "redelivered", "acked", "dropped", "connections".
        self.socket_counts: Counter[str] = Counter()
        self._envelopes: dict[str, Envelope] = {}
        self._tickets: set[str] = set()
        self._sockets: dict[int, _Socket] = {}
        self._socket_numbers = itertools.count(1)
        self._event_numbers = itertools.count(1)

    @property
    def base_url(self) -> str:
        raise NotImplementedError  # the HTTP server (server.FakeSlack) knows its address

    # -- the Web API method ------------------------------------------------------------

    def _api_apps_connections_open(
        self, params: dict[str, Any], scopes: frozenset[str]
    ) -> dict[str, Any]:
        if "connections:write" not in scopes:
            # A bot or user token: Slack refuses the token type before looking at scopes.
            raise ApiError("not_allowed_token_type")
        ticket = secrets.token_hex(16)
        self._tickets.add(ticket)
        self.events_enabled = True
        origin = self.base_url.removesuffix("/api/").replace("http://", "ws://", 1)
        return {"ok": True, "url": f"{origin}{SOCKET_PATH}?ticket={ticket}&app_id={APP_ID}"}

    def enable_events(self) -> None:
        """Record changes as events from now on, before any app connected."""
        with self._lock:
            self.events_enabled = True

    # -- the workspace's changes, pushed ----------------------------------------------

    def add_message(
        self,
        channel_id: str,
        text: str,
        *,
        user: str | None = "U00000001",
        ts: str | None = None,
        thread_ts: str | None = None,
        **extra: Any,
    ) -> str:
        with self._lock:
            ts = super().add_message(
                channel_id, text, user=user, ts=ts, thread_ts=thread_ts, **extra
            )
            if self._pushing(channel_id):
                event = self._message_event(channel_id, self.message(channel_id, ts))
                self._push(channel_id, event)
                if thread_ts is not None:
                    self._push_parent_changed(channel_id, thread_ts)
            return ts

    def edit_message(
        self, channel_id: str, ts: str, text: str, *, edited_ts: str | None = None
    ) -> None:
        with self._lock:
            previous = self.message(channel_id, ts) if self._pushing(channel_id) else None
            super().edit_message(channel_id, ts, text, edited_ts=edited_ts)
            if previous is not None:
                self._push_changed(channel_id, self.message(channel_id, ts), previous)

    def delete_message(self, channel_id: str, ts: str) -> None:
        with self._lock:
            if not self._pushing(channel_id):
                super().delete_message(channel_id, ts)
                return
            previous = self.message(channel_id, ts)
            super().delete_message(channel_id, ts)
            messages = self.channels[channel_id].messages
            if ts in messages:  # a parent with replies became a tombstone
                self._push_changed(channel_id, self.message(channel_id, ts), previous)
                return
            event_ts = self._event_ts(channel_id)
            self._push(
                channel_id,
                {
                    "type": "message",
                    "subtype": "message_deleted",
                    "hidden": True,
                    "channel": channel_id,
                    "deleted_ts": ts,
                    "previous_message": previous,
                    "ts": event_ts,
                    "event_ts": event_ts,
                    "channel_type": self._channel_type(channel_id),
                },
            )
            thread_ts = previous.get("thread_ts")
            if isinstance(thread_ts, str) and thread_ts != ts and thread_ts in messages:
                self._push_parent_changed(channel_id, thread_ts)

    def _pushing(self, channel_id: str) -> bool:
        channel = self.channels.get(channel_id)
        return self.events_enabled and channel is not None and channel.bot_is_member

    def _channel_type(self, channel_id: str) -> str:
        return "group" if self.channels[channel_id].info["is_private"] else "channel"

    def _event_ts(self, channel_id: str) -> str:
        now = time.time()
        return f"{int(now)}.{int((now - int(now)) * 1_000_000):06d}"

    def _message_event(self, channel_id: str, message: dict[str, Any]) -> dict[str, Any]:
        event = dict(message)
        event["channel"] = channel_id
        event["event_ts"] = message["ts"]
        event["channel_type"] = self._channel_type(channel_id)
        return event

    def _push_changed(
        self, channel_id: str, message: dict[str, Any], previous: dict[str, Any]
    ) -> None:
        event_ts = self._event_ts(channel_id)
        self._push(
            channel_id,
            {
                "type": "message",
                "subtype": "message_changed",
                "hidden": True,
                "channel": channel_id,
                "message": message,
                "previous_message": previous,
                "ts": event_ts,
                "event_ts": event_ts,
                "channel_type": self._channel_type(channel_id),
            },
        )

    def _push_parent_changed(self, channel_id: str, thread_ts: str) -> None:
        """A thread's parent changed (reply count, latest reply): Slack says so."""
        parent = self.message(channel_id, thread_ts)
        self._push_changed(channel_id, parent, parent)

    def _push(self, channel_id: str, event: dict[str, Any]) -> None:
        if self.socket_drop_while_disconnected and not self._sockets:
            self.socket_counts["dropped"] += 1
            return
        number = next(self._event_numbers)
        envelope_id = f"fake-envelope-{number:08d}-{secrets.token_hex(4)}"
        payload = {
            "token": "fake-verification-token",
            "team_id": self.team["id"],
            "api_app_id": APP_ID,
            "event": copy.deepcopy(event),
            "type": "event_callback",
            "event_id": f"Ev{number:010d}",
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": self.team["id"], "user_id": self.bot_user_id, "is_bot": True}
            ],
            "is_ext_shared_channel": False,
        }
        self._envelopes[envelope_id] = Envelope(envelope_id, payload)

    @property
    def unacked(self) -> int:
        """Envelopes not acknowledged yet (waiting or in flight)."""
        with self._lock:
            return len(self._envelopes)

    def disconnect_sockets(self, reason: str = "refresh_requested") -> None:
        """Ask every client to reconnect (Slack's ``disconnect`` message), then close."""
        with self._lock:
            sockets = list(self._sockets.values())
        for item in sockets:
            message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "fake"}}
            self._send(item, _OP_TEXT, json.dumps(message).encode())
            self._close_socket(item)

    def close_sockets(self) -> None:
        """Close every WebSocket (the server is stopping)."""
        with self._lock:
            sockets = list(self._sockets.values())
        for item in sockets:
            self._close_socket(item)

    # -- the WebSocket -----------------------------------------------------------------

    def serve_websocket(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        """Run one WebSocket connection on the handler's socket until it closes."""
        key = handler.headers.get("Sec-WebSocket-Key", "")
        with self._lock:
            valid = query.get("ticket") in self._tickets
            if valid:
                self._tickets.discard(query["ticket"])
        if not valid or not key or "websocket" not in handler.headers.get("Upgrade", "").lower():
            handler.wfile.write(
                b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            return
        accept = base64.b64encode(
            hashlib.sha1((key + _WEBSOCKET_GUID).encode(), usedforsecurity=False).digest()
        ).decode()
        handler.wfile.write(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode()
        )
        sock = handler.connection
        with self._lock:
            item = _Socket(next(self._socket_numbers), sock)
            self._sockets[item.number] = item
            self.socket_counts["connections"] += 1
            count = len(self._sockets)
        hello = {
            "type": "hello",
            "num_connections": count,
            "debug_info": {"host": "fake-slack", "approximate_connection_time": 18060},
            "connection_info": {"app_id": APP_ID},
        }
        try:
            self._send(item, _OP_TEXT, json.dumps(hello).encode())
            self._run(item)
        except OSError:
            pass  # the client went away (killed): its envelopes are sent again
        finally:
            self._close_socket(item)

    def _run(self, item: _Socket) -> None:
        while True:
            with self._lock:
                if item.number not in self._sockets:
                    return
            self._deliver(item)
            readable, _, _ = select.select([item.sock], [], [], 0.02)
            if not readable:
                continue
            data = item.sock.recv(65536)
            if not data:
                return
            item.buffer.extend(data)
            while (frame := _take_frame(item.buffer)) is not None:
                opcode, payload = frame
                if opcode == _OP_CLOSE:
                    self._send(item, _OP_CLOSE, payload[:2])
                    return
                if opcode == _OP_PING:
                    self._send(item, _OP_PONG, payload)
                elif opcode == _OP_TEXT:
                    self._acknowledge(payload)

    def _acknowledge(self, payload: bytes) -> None:
        try:
            body = json.loads(payload.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return
        envelope_id = body.get("envelope_id") if isinstance(body, dict) else None
        with self._lock:
            if isinstance(envelope_id, str) and envelope_id in self._envelopes:
                del self._envelopes[envelope_id]
                self.socket_counts["acked"] += 1

    def _deliver(self, item: _Socket) -> None:
        """Send this connection the envelopes waiting and those whose ack is late, oldest
        first, keeping at most ``socket_max_in_flight`` unacknowledged on it."""
        now = time.monotonic()
        due: list[dict[str, Any]] = []
        with self._lock:
            in_flight = sum(
                1
                for envelope in self._envelopes.values()
                if envelope.connection == item.number
                and now - envelope.sent_at <= self.socket_ack_timeout_s
            )
            for envelope in list(self._envelopes.values()):
                if in_flight >= self.socket_max_in_flight:
                    break
                late = (
                    envelope.connection is not None
                    and now - envelope.sent_at > self.socket_ack_timeout_s
                )
                if envelope.connection is not None and not late:
                    continue
                if envelope.deliveries > self.socket_max_retries:
                    del self._envelopes[envelope.envelope_id]
                    self.socket_counts["dropped"] += 1
                    continue
                retry = envelope.deliveries
                envelope.deliveries += 1
                envelope.connection = item.number
                envelope.sent_at = now
                in_flight += 1
                self.socket_counts["redelivered" if retry else "sent"] += 1
                due.append(
                    {
                        "envelope_id": envelope.envelope_id,
                        "payload": envelope.payload,
                        "type": "events_api",
                        "accepts_response_payload": False,
                        "retry_attempt": retry,
                        "retry_reason": "timeout" if retry else "",
                    }
                )
            frames = [json.dumps(message).encode() for message in due]
        for frame in frames:
            self._send(item, _OP_TEXT, frame)

    def _send(self, item: _Socket, opcode: int, payload: bytes) -> None:
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, length)
        elif length < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 127, length)
        with item.send_lock:
            item.sock.sendall(header + payload)

    def _close_socket(self, item: _Socket) -> None:
        with self._lock:
            if self._sockets.pop(item.number, None) is None:
                return
            for envelope in self._envelopes.values():
                if envelope.connection == item.number:
                    envelope.connection = None  # sent again on the next connection
        with contextlib.suppress(OSError):
            item.sock.shutdown(socket.SHUT_RDWR)


def _take_frame(buffer: bytearray) -> tuple[int, bytes] | None:
    """The first complete (masked, client-to-server) frame in ``buffer``, removed from it."""
    if len(buffer) < 2:
        return None
    opcode = buffer[0] & 0x0F
    masked = buffer[1] & 0x80
    length = buffer[1] & 0x7F
    offset = 2
    if length == 126:
        if len(buffer) < 4:
            return None
        (length,) = struct.unpack("!H", buffer[2:4])
        offset = 4
    elif length == 127:
        if len(buffer) < 10:
            return None
        (length,) = struct.unpack("!Q", buffer[2:10])
        offset = 10
    mask = b""
    if masked:
        mask = bytes(buffer[offset : offset + 4])
        offset += 4
    if len(buffer) < offset + length:
        return None
    data = bytes(buffer[offset : offset + length])
    del buffer[: offset + length]
    if masked:
        data = bytes(byte ^ mask[index % 4] for index, byte in enumerate(data))
    return opcode, data
