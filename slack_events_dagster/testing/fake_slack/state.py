"""The fake's workspace: channels, users and messages, seeded from a generated workspace
or an export, and changed by tests between calls (add, edit, delete, replies) under one
lock, with thread metadata kept on parents as Slack keeps it."""

from __future__ import annotations

import bisect
import copy
import json
import threading
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from slack_events_dagster.domain.models import ts_sort_key
from slack_events_dagster.testing.workspace_gen import GeneratedWorkspace


@dataclass
class Channel:
    """One channel: its info, the bot's membership, its messages and the indexes
    history and replies read."""

    info: dict[str, Any]
    bot_is_member: bool = True
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    # sort keys of messages shown in history (top level and broadcasts), ascending
    history_keys: list[tuple[int, int]] = field(default_factory=list)
    history_ts: list[str] = field(default_factory=list)
    # thread ts -> reply ts, ascending
    replies: dict[str, list[str]] = field(default_factory=dict)
    last_ts: tuple[int, int] = (0, 0)


class WorkspaceState:
    """The workspace the Web API methods read and change."""

    def __init__(self, *, team_domain: str = "fake-workspace") -> None:
        self.team = {"id": "T00000001", "name": "Fake", "domain": team_domain}
        self.bot_user_id = "UBOT00001"
        self.bot_id = "BBOT00001"
        self.channels: dict[str, Channel] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.not_in_channel: set[str] = set()
        self.posted: list[dict[str, Any]] = []
        self.updated: list[dict[str, Any]] = []
        self._lock = threading.RLock()

    # -- seeding ----------------------------------------------------------------

    @classmethod
    def from_workspace(cls, workspace: GeneratedWorkspace, **kwargs: Any) -> Self:
        kwargs.setdefault("team_domain", workspace.team.get("domain", "fake-workspace"))
        fake = cls(**kwargs)
        fake.load(workspace.channels, workspace.users, workspace.messages.items())
        return fake

    @classmethod
    def from_export(cls, path: Path | str, **kwargs: Any) -> Self:
        """Seed from a Slack export ZIP or folder (public and private channels)."""
        fake = cls(**kwargs)
        files = read_export_files(Path(path))
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
            self.channels[info["id"]] = Channel(info=info, bot_is_member=bot_is_member)

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

    def _next_ts(self, channel: Channel, ts: str | None) -> str:
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


def read_export_files(path: Path) -> dict[str, bytes]:
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
