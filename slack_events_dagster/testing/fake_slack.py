"""A protocol-faithful local Slack Web API server for tests, benchmarks and demos.

The real ``slack_sdk.WebClient`` talks to it over HTTP (``base_url=fake.base_url``).
It follows the Web API where our code depends on it:

- form, multipart, query-string or JSON bodies; the token from ``Authorization: Bearer``
  (or a ``token`` parameter); per-token scopes, answering ``missing_scope`` with
  ``needed``/``provided``; ``not_authed`` / ``invalid_auth`` / ``token_revoked``;
- ``ok``/``error`` bodies, cursor pagination (``response_metadata.next_cursor``,
  ``has_more``), default page size 100 and history/replies capped at 1000;
- ``oldest``/``latest`` exclusive unless ``inclusive`` is true, history newest first and
  without thread replies (except ``thread_broadcast``), replies oldest first with the
  parent first, parents carrying ``reply_count``/``latest_reply``/``reply_users``;
  message ``metadata`` given to ``chat.postMessage`` comes back from history only with
  ``include_all_metadata``;
- per-method rate limits by Slack tier (429 + ``Retry-After``), switchable off;
- seeded fault injection: 429 with Retry-After, 500/502/503, a hang past the client
  timeout, ``ok:false error:ratelimited``; forced ``invalid_auth``; ``not_in_channel``
  for chosen channels.

Tests change the workspace between calls (add, edit, delete messages, add replies) under
one lock; every call is counted per method; posted and updated messages are kept for
digest and alert tests.

Command line: ``python -m slack_events_dagster.testing.fake_slack --export PATH --port N``
or ``--generate --channels 5 --days 30 --per-day 100``.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import copy
import json
import math
import random
import threading
import time
import zipfile
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from slack_events_dagster.domain.models import ts_sort_key
from slack_events_dagster.testing.workspace_gen import GeneratedWorkspace, generate_workspace

ALL_SCOPES = frozenset(
    {
        "channels:history",
        "channels:read",
        "channels:join",
        "groups:history",
        "groups:read",
        "users:read",
        "chat:write",
    }
)
DEFAULT_TOKEN = "xoxb-fake-token"  # noqa: S105 - a fixture token, not a secret

# Calls per minute by Slack's published tiers (Tier 2: 20+, Tier 3: 50+, Tier 4: 100+).
TIER_LIMITS = {
    "auth.test": 100,
    "conversations.list": 20,
    "conversations.history": 50,
    "conversations.replies": 50,
    "conversations.join": 50,
    "conversations.info": 50,
    "users.list": 20,
    "users.info": 100,
    "chat.postMessage": 60,
    "chat.update": 50,
    "chat.getPermalink": 100,
}

# What each method needs; history/read methods on private channels need groups:*.
_METHOD_SCOPES = {
    "conversations.list": "channels:read",
    "conversations.info": "channels:read",
    "conversations.join": "channels:join",
    "users.list": "users:read",
    "users.info": "users:read",
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
}

_FAR_FUTURE = (10**12, 0)


class _ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


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


@dataclass
class _Channel:
    info: dict[str, Any]
    bot_is_member: bool = True
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    # sort keys of messages shown in history (top level and broadcasts), ascending
    history_keys: list[tuple[int, int]] = field(default_factory=list)
    history_ts: list[str] = field(default_factory=list)
    # thread ts -> reply ts, ascending
    replies: dict[str, list[str]] = field(default_factory=dict)
    last_ts: tuple[int, int] = (0, 0)


def _encode_cursor(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def _decode_cursor(cursor: str) -> str:
    try:
        return base64.b64decode(cursor.encode(), validate=True).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise _ApiError("invalid_cursor") from exc


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("1", "true")


def _without_metadata(message: dict[str, Any], keep: bool) -> dict[str, Any]:
    """Message metadata is returned only when asked for (``include_all_metadata``)."""
    if keep or "metadata" not in message:
        return message
    return {k: v for k, v in message.items() if k != "metadata"}


def _limit(params: dict[str, Any], default: int = 100, cap: int = 1000) -> int:
    raw = params.get("limit")
    if raw in (None, "", "0", 0):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError) as exc:
        raise _ApiError("invalid_limit") from exc
    return max(1, min(value, cap))


def _ts_key(value: Any, name: str) -> tuple[int, int]:
    try:
        return ts_sort_key(str(value))
    except ValueError as exc:
        raise _ApiError("invalid_ts_" + name) from exc


class FakeSlack:
    """The workspace state and the HTTP server around it."""

    def __init__(
        self,
        *,
        tokens: dict[str, Iterable[str]] | None = None,
        team_domain: str = "fake-workspace",
        rate_limits: bool = False,
        rate_limit_window_s: float = 60.0,
        rate_limit_overrides: dict[str, int] | None = None,
        faults: FaultPlan | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.tokens: dict[str, frozenset[str]] = {
            token: frozenset(scopes)
            for token, scopes in (tokens or {DEFAULT_TOKEN: ALL_SCOPES}).items()
        }
        self.revoked: set[str] = set()
        self.team = {"id": "T00000001", "name": "Fake", "domain": team_domain}
        self.bot_user_id = "UBOT00001"
        self.bot_id = "BBOT00001"
        self.channels: dict[str, _Channel] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.rate_limits = rate_limits
        self.rate_limit_window_s = rate_limit_window_s
        self.limits = {**TIER_LIMITS, **(rate_limit_overrides or {})}
        self.faults = faults or FaultPlan()
        self._fault_rng = random.Random(self.faults.seed)
        self._fault_eligible = 0
        # Every call returns invalid_auth while set (a token revoked mid-run).
        self.force_invalid_auth = False
        self.not_in_channel: set[str] = set()
        self.calls: Counter[str] = Counter()
        self.faults_injected: Counter[str] = Counter()
        self.posted: list[dict[str, Any]] = []
        self.updated: list[dict[str, Any]] = []
        self._windows: dict[str, deque[float]] = {}
        self._lock = threading.RLock()
        self._host = host
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- seeding ----------------------------------------------------------------

    @classmethod
    def from_workspace(cls, workspace: GeneratedWorkspace, **kwargs: Any) -> FakeSlack:
        kwargs.setdefault("team_domain", workspace.team.get("domain", "fake-workspace"))
        fake = cls(**kwargs)
        fake.load(workspace.channels, workspace.users, workspace.messages.items())
        return fake

    @classmethod
    def from_export(cls, path: Path | str, **kwargs: Any) -> FakeSlack:
        """Seed from a Slack export ZIP or folder (public and private channels)."""
        fake = cls(**kwargs)
        files = _read_export_files(Path(path))
        channels: list[dict[str, Any]] = json.loads(files.pop("channels.json", b"[]"))
        private: list[dict[str, Any]] = json.loads(files.pop("groups.json", b"[]"))
        for item in private:
            item["is_private"] = True
        users = json.loads(files.pop("users.json", b"[]"))
        by_name = {c["name"]: c["id"] for c in channels + private}
        grouped: dict[str, list[dict[str, Any]]] = {}
        for name in sorted(files):
            folder, _, filename = name.rpartition("/")
            if folder in by_name and filename.endswith(".json"):
                grouped.setdefault(by_name[folder], []).extend(json.loads(files[name]))
        fake.load(channels + private, users, grouped.items())
        return fake

    def load(
        self,
        channels: Iterable[dict[str, Any]],
        users: Iterable[dict[str, Any]],
        messages: Iterable[tuple[str, list[dict[str, Any]]]],
    ) -> None:
        with self._lock:
            for raw in channels:
                self.add_channel(raw)
            for user in users:
                self.users[user["id"]] = copy.deepcopy(user)
            for channel_id, items in messages:
                for message in items:
                    self._insert(channel_id, copy.deepcopy(message))
                self._recompute_threads(channel_id)

    def add_channel(self, raw: dict[str, Any], *, bot_is_member: bool = True) -> None:
        info = copy.deepcopy(raw)
        private = bool(info.get("is_private") or info.get("is_group"))
        info.setdefault("is_channel", not private)
        info.setdefault("is_group", False)
        info.setdefault("is_im", False)
        info.setdefault("is_mpim", False)
        info["is_private"] = private
        info.setdefault("is_archived", False)
        info["created"] = int(float(info.get("created") or 0))
        with self._lock:
            self.channels[info["id"]] = _Channel(info=info, bot_is_member=bot_is_member)

    def _insert(self, channel_id: str, message: dict[str, Any]) -> None:
        channel = self.channels[channel_id]
        ts = message["ts"]
        key = ts_sort_key(ts)
        channel.messages[ts] = message
        channel.last_ts = max(channel.last_ts, key)
        thread_ts = message.get("thread_ts")
        is_reply = isinstance(thread_ts, str) and thread_ts != ts
        if isinstance(thread_ts, str) and is_reply:
            bisect.insort(channel.replies.setdefault(thread_ts, []), ts, key=ts_sort_key)
        if not is_reply or message.get("subtype") == "thread_broadcast":
            index = bisect.bisect_left(channel.history_keys, key)
            channel.history_keys.insert(index, key)
            channel.history_ts.insert(index, ts)

    def _recompute_threads(self, channel_id: str, only: str | None = None) -> None:
        """Fill thread metadata on parents from their replies, as Slack does."""
        channel = self.channels[channel_id]
        for thread_ts, replies in channel.replies.items():
            if only is not None and thread_ts != only:
                continue
            parent = channel.messages.get(thread_ts)
            if parent is None:
                continue
            users: list[str] = []
            for reply_ts in replies:
                user = channel.messages[reply_ts].get("user")
                if user and user not in users:
                    users.append(user)
            if replies:
                parent["thread_ts"] = thread_ts
                parent["reply_count"] = len(replies)
                parent["reply_users"] = users[:5]
                parent["reply_users_count"] = len(users)
                parent["latest_reply"] = replies[-1]
            else:
                for key in ("reply_count", "reply_users", "reply_users_count", "latest_reply"):
                    parent.pop(key, None)
            parent.pop("replies", None)

    # -- changing the workspace between calls -------------------------------------

    def _next_ts(self, channel: _Channel, ts: str | None) -> str:
        if ts is not None:
            return ts
        now = time.time()
        whole, micros = int(now), int((now - int(now)) * 1_000_000)
        candidate = (whole, micros)
        if candidate <= channel.last_ts:
            whole, micros = channel.last_ts
            micros += 1
            if micros == 1_000_000:
                whole, micros = whole + 1, 0
        return f"{whole}.{micros:06d}"

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
        """Post a message (or a reply when ``thread_ts``); returns its ts."""
        with self._lock:
            channel = self.channels[channel_id]
            ts = self._next_ts(channel, ts)
            if ts in channel.messages:
                raise ValueError(f"ts {ts} already exists in {channel_id}")
            message: dict[str, Any] = {"type": "message", "text": text, "ts": ts, **extra}
            if user is not None:
                message["user"] = user
            if thread_ts is not None:
                if thread_ts not in channel.messages:
                    raise KeyError(f"no thread parent {thread_ts} in {channel_id}")
                message["thread_ts"] = thread_ts
                message["parent_user_id"] = channel.messages[thread_ts].get("user")
            self._insert(channel_id, message)
            if thread_ts is not None:
                self._recompute_threads(channel_id, only=thread_ts)
            return ts

    def add_reply(self, channel_id: str, thread_ts: str, text: str, **kwargs: Any) -> str:
        return self.add_message(channel_id, text, thread_ts=thread_ts, **kwargs)

    def edit_message(
        self, channel_id: str, ts: str, text: str, *, edited_ts: str | None = None
    ) -> None:
        with self._lock:
            message = self.channels[channel_id].messages[ts]
            message["text"] = text
            message.pop("blocks", None)
            message["edited"] = {
                "user": message.get("user", self.bot_user_id),
                "ts": edited_ts or self._next_ts(self.channels[channel_id], None),
            }

    def delete_message(self, channel_id: str, ts: str) -> None:
        """Delete a message; a parent with replies becomes a tombstone, as in Slack."""
        with self._lock:
            channel = self.channels[channel_id]
            message = channel.messages[ts]
            thread_ts = message.get("thread_ts")
            if channel.replies.get(ts):
                message.clear()
                message.update(
                    {
                        "type": "message",
                        "subtype": "tombstone",
                        "text": "This message was deleted.",
                        "user": "USLACKBOT",
                        "hidden": True,
                        "ts": ts,
                        "thread_ts": ts,
                    }
                )
                self._recompute_threads(channel_id, only=ts)
                return
            del channel.messages[ts]
            if thread_ts is not None and thread_ts != ts:
                channel.replies[thread_ts].remove(ts)
                self._recompute_threads(channel_id, only=thread_ts)
            if ts in channel.history_ts:
                index = channel.history_ts.index(ts)
                del channel.history_ts[index]
                del channel.history_keys[index]

    def set_member(self, channel_id: str, member: bool) -> None:
        with self._lock:
            self.channels[channel_id].bot_is_member = member

    def message(self, channel_id: str, ts: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self.channels[channel_id].messages[ts])

    def reset_counts(self) -> None:
        with self._lock:
            self.calls.clear()
            self.faults_injected.clear()

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
                raise _ApiError("unknown_method")
            needed = _METHOD_SCOPES.get(method)
            if needed is not None and needed not in scopes:
                raise _ApiError("missing_scope", needed=needed, provided=",".join(sorted(scopes)))
            body = handler(params, scopes)
        except _ApiError as exc:
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
        now = time.monotonic()
        window = self._windows.setdefault(method, deque())
        while window and window[0] <= now - self.rate_limit_window_s:
            window.popleft()
        if len(window) >= self.limits[method]:
            return max(1, math.ceil(window[0] + self.rate_limit_window_s - now))
        window.append(now)
        return None

    def _authenticate(self, token: str | None) -> frozenset[str]:
        if not token:
            raise _ApiError("not_authed")
        if self.force_invalid_auth or token not in self.tokens:
            raise _ApiError("invalid_auth")
        if token in self.revoked:
            raise _ApiError("token_revoked")
        return self.tokens[token]

    def _channel(self, params: dict[str, Any]) -> _Channel:
        channel_id = params.get("channel")
        if not channel_id:
            raise _ApiError("channel_not_found")
        channel = self.channels.get(str(channel_id))
        if channel is None:
            # chat.postMessage also accepts a channel name
            name = str(channel_id).lstrip("#")
            channel = next((c for c in self.channels.values() if c.info["name"] == name), None)
        if channel is None:
            raise _ApiError("channel_not_found")
        return channel

    def _readable(self, params: dict[str, Any], scopes: frozenset[str]) -> _Channel:
        channel = self._channel(params)
        needed = "groups:history" if channel.info["is_private"] else "channels:history"
        if needed not in scopes:
            raise _ApiError("missing_scope", needed=needed, provided=",".join(sorted(scopes)))
        if channel.info["id"] in self.not_in_channel or not channel.bot_is_member:
            raise _ApiError("not_in_channel")
        return channel

    def _channel_info(self, channel: _Channel) -> dict[str, Any]:
        info = dict(channel.info)
        info["is_member"] = channel.bot_is_member
        members = info.pop("members", None)
        info.setdefault("num_members", len(members) if isinstance(members, list) else 0)
        for key in ("topic", "purpose"):
            value = info.get(key)
            if not isinstance(value, dict):
                info[key] = {"value": value or "", "creator": "", "last_set": 0}
        return info

    # -- methods -----------------------------------------------------------------------

    def _api_auth_test(self, params: dict[str, Any], scopes: frozenset[str]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{self.team['domain']}.slack.com/",
            "team": self.team["name"],
            "user": "events-bot",
            "team_id": self.team["id"],
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _api_conversations_list(
        self, params: dict[str, Any], scopes: frozenset[str]
    ) -> dict[str, Any]:
        types = set(str(params.get("types") or "public_channel").split(","))
        exclude_archived = _truthy(params.get("exclude_archived", False))
        limit = _limit(params)
        chosen = []
        for channel in self.channels.values():
            kind = "private_channel" if channel.info["is_private"] else "public_channel"
            if kind not in types or (exclude_archived and channel.info["is_archived"]):
                continue
            if kind == "private_channel" and not channel.bot_is_member:
                continue  # private channels are invisible to non-members
            chosen.append(channel)
        chosen.sort(key=lambda c: c.info["id"])
        offset = int(_decode_cursor(params["cursor"]).split(":")[1]) if params.get("cursor") else 0
        page = chosen[offset : offset + limit]
        more = offset + limit < len(chosen)
        cursor = _encode_cursor(f"offset:{offset + limit}") if more else ""
        return {
            "ok": True,
            "channels": [self._channel_info(c) for c in page],
            "response_metadata": {"next_cursor": cursor},
        }

    def _api_conversations_info(
        self, params: dict[str, Any], scopes: frozenset[str]
    ) -> dict[str, Any]:
        return {"ok": True, "channel": self._channel_info(self._channel(params))}

    def _api_conversations_join(
        self, params: dict[str, Any], scopes: frozenset[str]
    ) -> dict[str, Any]:
        channel = self._channel(params)
        if channel.info["is_private"]:
            raise _ApiError("method_not_supported_for_channel_type")
        if channel.info["is_archived"]:
            raise _ApiError("is_archived")
        already = channel.bot_is_member
        channel.bot_is_member = True
        self.not_in_channel.discard(channel.info["id"])
        body: dict[str, Any] = {"ok": True, "channel": self._channel_info(channel)}
        if already:
            body["warning"] = "already_in_channel"
        return body

    def _api_conversations_history(
        self, params: dict[str, Any], scopes: frozenset[str]
    ) -> dict[str, Any]:
        channel = self._readable(params, scopes)
        limit = _limit(params)
        inclusive = _truthy(params.get("inclusive", False))
        oldest = _ts_key(params.get("oldest") or "0", "oldest")
        latest = _ts_key(params["latest"], "latest") if params.get("latest") else _FAR_FUTURE
        if params.get("cursor"):
            # The cursor names the last ts returned: continue strictly older than it.
            last = _decode_cursor(params["cursor"]).removeprefix("next_ts:")
            latest_key, latest_inclusive = _ts_key(last, "cursor"), False
        else:
            latest_key, latest_inclusive = latest, inclusive
        keys = channel.history_keys
        # Index range of messages inside (oldest, latest) with the requested inclusivity.
        low = bisect.bisect_left(keys, oldest) if inclusive else bisect.bisect_right(keys, oldest)
        high = (
            bisect.bisect_right(keys, latest_key)
            if latest_inclusive
            else bisect.bisect_left(keys, latest_key)
        )
        start = max(low, high - limit)
        selected = channel.history_ts[start:high]
        selected.reverse()  # newest first
        has_more = start > low
        with_metadata = _truthy(params.get("include_all_metadata", False))
        body: dict[str, Any] = {
            "ok": True,
            "messages": [_without_metadata(channel.messages[ts], with_metadata) for ts in selected],
            "has_more": has_more,
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
        }
        body["response_metadata"] = {
            "next_cursor": _encode_cursor(f"next_ts:{selected[-1]}") if has_more else ""
        }
        if not params.get("latest"):
            body["latest"] = None
        return body

    def _api_conversations_replies(
        self, params: dict[str, Any], scopes: frozenset[str]
    ) -> dict[str, Any]:
        channel = self._readable(params, scopes)
        ts = params.get("ts")
        if not ts:
            raise _ApiError("invalid_arguments")
        message = channel.messages.get(str(ts))
        if message is None:
            raise _ApiError("thread_not_found")
        thread_ts = message.get("thread_ts") or message["ts"]
        parent = channel.messages.get(thread_ts)
        if parent is None:
            raise _ApiError("thread_not_found")
        limit = _limit(params, default=1000)
        inclusive = _truthy(params.get("inclusive", False))
        oldest = _ts_key(params.get("oldest") or "0", "oldest")
        latest = _ts_key(params["latest"], "latest") if params.get("latest") else _FAR_FUTURE

        def wanted(reply_ts: str) -> bool:
            key = ts_sort_key(reply_ts)
            if inclusive:
                return oldest <= key <= latest
            return oldest < key < latest

        replies = [r for r in channel.replies.get(thread_ts, []) if wanted(r)]
        first_page = not params.get("cursor")
        if not first_page:
            after = ts_sort_key(_decode_cursor(params["cursor"]).removeprefix("next_ts:"))
            replies = [r for r in replies if ts_sort_key(r) > after]
        page = replies[: limit - 1] if first_page else replies[:limit]
        has_more = len(page) < len(replies)
        messages = [parent] if first_page else []
        messages.extend(channel.messages[r] for r in page)
        return {
            "ok": True,
            "messages": messages,
            "has_more": has_more,
            "response_metadata": {
                "next_cursor": _encode_cursor(f"next_ts:{page[-1]}") if has_more and page else ""
            },
        }

    def _api_users_list(self, params: dict[str, Any], scopes: frozenset[str]) -> dict[str, Any]:
        limit = _limit(params)
        users = sorted(self.users.values(), key=lambda u: u["id"])
        offset = int(_decode_cursor(params["cursor"]).split(":")[1]) if params.get("cursor") else 0
        page = users[offset : offset + limit]
        more = offset + limit < len(users)
        return {
            "ok": True,
            "members": page,
            "cache_ts": int(time.time()),
            "response_metadata": {
                "next_cursor": _encode_cursor(f"offset:{offset + limit}") if more else ""
            },
        }

    def _api_users_info(self, params: dict[str, Any], scopes: frozenset[str]) -> dict[str, Any]:
        user = self.users.get(str(params.get("user")))
        if user is None:
            raise _ApiError("user_not_found")
        return {"ok": True, "user": user}

    def _api_chat_postMessage(
        self, params: dict[str, Any], scopes: frozenset[str]
    ) -> dict[str, Any]:
        channel = self._channel(params)
        if channel.info["is_archived"]:
            raise _ApiError("is_archived")
        text = params.get("text") or ""
        blocks = params.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if not text and not blocks:
            raise _ApiError("no_text")
        thread_ts = params.get("thread_ts") or None
        extra: dict[str, Any] = {"bot_id": self.bot_id}
        if blocks:
            extra["blocks"] = blocks
        metadata = params.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        if metadata:
            extra["metadata"] = metadata
        ts = self.add_message(
            channel.info["id"], str(text), user=self.bot_user_id, thread_ts=thread_ts, **extra
        )
        message = channel.messages[ts]
        self.posted.append({"channel": channel.info["id"], **copy.deepcopy(message)})
        return {"ok": True, "channel": channel.info["id"], "ts": ts, "message": message}

    def _api_chat_update(self, params: dict[str, Any], scopes: frozenset[str]) -> dict[str, Any]:
        channel = self._channel(params)
        ts = str(params.get("ts"))
        message = channel.messages.get(ts)
        if message is None:
            raise _ApiError("message_not_found")
        if message.get("user") != self.bot_user_id:
            raise _ApiError("cant_update_message")
        self.edit_message(channel.info["id"], ts, str(params.get("text") or ""))
        blocks = params.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if blocks:
            message["blocks"] = blocks
        self.updated.append({"channel": channel.info["id"], **copy.deepcopy(message)})
        return {"ok": True, "channel": channel.info["id"], "ts": ts, "text": message["text"]}

    def _api_chat_getPermalink(
        self, params: dict[str, Any], scopes: frozenset[str]
    ) -> dict[str, Any]:
        channel = self._channel(params)
        ts = str(params.get("message_ts"))
        message = channel.messages.get(ts)
        if message is None:
            raise _ApiError("message_not_found")
        channel_id = channel.info["id"]
        link = (
            f"https://{self.team['domain']}.slack.com/archives/{channel_id}/p{ts.replace('.', '')}"
        )
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != ts:
            link += f"?thread_ts={thread_ts}&cid={channel_id}"
        return {"ok": True, "channel": channel_id, "permalink": link}


class _Handler(BaseHTTPRequestHandler):
    server_state: FakeSlack
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read counters
        return

    def do_GET(self) -> None:
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


def _read_export_files(path: Path) -> dict[str, bytes]:
    """Every JSON file of an export (a test tool: it loads the whole export)."""
    files: dict[str, bytes] = {}
    if path.is_dir():
        for item in path.rglob("*.json"):
            files[item.relative_to(path).as_posix()] = item.read_bytes()
        return files
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.filename.endswith(".json"):
                files[info.filename] = archive.read(info)
    # Some exports nest everything under one top folder.
    if "channels.json" not in files:
        prefix = next(
            (n[: -len("channels.json")] for n in files if n.endswith("/channels.json")), ""
        )
        files = {n.removeprefix(prefix): data for n, data in files.items()}
    return files


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A local fake of the Slack Web API.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--export", type=Path, help="seed from a Slack export ZIP or folder")
    source.add_argument("--generate", action="store_true", help="seed a synthetic workspace")
    parser.add_argument("--channels", type=int, default=5)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--rate-limits", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    args = parser.parse_args(argv)
    options: dict[str, Any] = {
        "tokens": {args.token: ALL_SCOPES},
        "rate_limits": args.rate_limits,
        "faults": FaultPlan(rate=args.fault_rate, seed=args.seed, retry_after_s=1),
        "host": args.host,
        "port": args.port,
    }
    if args.export is not None:
        fake = FakeSlack.from_export(args.export, **options)
    else:
        workspace = generate_workspace(
            channels=args.channels, days=args.days, per_day=args.per_day, seed=args.seed
        )
        fake = FakeSlack.from_workspace(workspace, **options)
    base_url = fake.start()
    total = sum(len(c.messages) for c in fake.channels.values())
    print(f"fake Slack at {base_url} ({len(fake.channels)} channels, {total} messages)", flush=True)
    print(f"token: {args.token}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
