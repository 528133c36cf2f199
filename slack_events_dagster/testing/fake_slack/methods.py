"""The Web API methods the fake answers, over its workspace: what each returns, its
pagination and its errors, as Slack documents them."""

from __future__ import annotations

import bisect
import copy
import json
import time
from typing import Any

from slack_events_dagster.domain.models import ts_sort_key
from slack_events_dagster.testing.fake_slack.protocol import (
    FAR_FUTURE,
    ApiError,
    decode_cursor,
    encode_cursor,
    page_limit,
    truthy,
    ts_key,
    without_metadata,
)
from slack_events_dagster.testing.fake_slack.state import Channel, WorkspaceState


class WebApiMethods(WorkspaceState):
    """``_api_<method>`` answers the Web API method ``<method>`` (dots as underscores)."""

    # Objects one conversations.history or .replies call returns at most, whatever its
    # ``limit`` (None: Slack's 1000). An unlisted app gets 15.
    object_cap: int | None = None

    def _object_limit(self, params: dict[str, Any], default: int) -> int:
        cap = min(1000, self.object_cap or 1000)
        return page_limit(params, default=min(default, cap), cap=cap)

    def _channel(self, params: dict[str, Any]) -> Channel:
        channel_id = params.get("channel")
        if not channel_id:
            raise ApiError("channel_not_found")
        channel = self.channels.get(str(channel_id))
        if channel is None:
            # chat.postMessage also accepts a channel name
            name = str(channel_id).lstrip("#")
            channel = next((c for c in self.channels.values() if c.info["name"] == name), None)
        if channel is None:
            raise ApiError("channel_not_found")
        return channel

    def _readable(self, params: dict[str, Any], scopes: frozenset[str]) -> Channel:
        channel = self._channel(params)
        needed = "groups:history" if channel.info["is_private"] else "channels:history"
        if needed not in scopes:
            raise ApiError("missing_scope", needed=needed, provided=",".join(sorted(scopes)))
        if channel.info["id"] in self.not_in_channel or not channel.bot_is_member:
            raise ApiError("not_in_channel")
        return channel

    def _channel_info(self, channel: Channel) -> dict[str, Any]:
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
        exclude_archived = truthy(params.get("exclude_archived", False))
        limit = page_limit(params)
        chosen = []
        for channel in self.channels.values():
            kind = "private_channel" if channel.info["is_private"] else "public_channel"
            if kind not in types or (exclude_archived and channel.info["is_archived"]):
                continue
            if kind == "private_channel" and not channel.bot_is_member:
                continue  # private channels are invisible to non-members
            chosen.append(channel)
        chosen.sort(key=lambda c: c.info["id"])
        offset = int(decode_cursor(params["cursor"]).split(":")[1]) if params.get("cursor") else 0
        page = chosen[offset : offset + limit]
        more = offset + limit < len(chosen)
        cursor = encode_cursor(f"offset:{offset + limit}") if more else ""
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
            raise ApiError("method_not_supported_for_channel_type")
        if channel.info["is_archived"]:
            raise ApiError("is_archived")
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
        limit = self._object_limit(params, default=100)
        inclusive = truthy(params.get("inclusive", False))
        oldest = ts_key(params.get("oldest") or "0", "oldest")
        latest = ts_key(params["latest"], "latest") if params.get("latest") else FAR_FUTURE
        if params.get("cursor"):
            # The cursor names the last ts returned: continue strictly older than it.
            last = decode_cursor(params["cursor"]).removeprefix("next_ts:")
            latest_key, latest_inclusive = ts_key(last, "cursor"), False
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
        with_metadata = truthy(params.get("include_all_metadata", False))
        body: dict[str, Any] = {
            "ok": True,
            "messages": [without_metadata(channel.messages[ts], with_metadata) for ts in selected],
            "has_more": has_more,
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
        }
        body["response_metadata"] = {
            "next_cursor": encode_cursor(f"next_ts:{selected[-1]}") if has_more else ""
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
            raise ApiError("invalid_arguments")
        message = channel.messages.get(str(ts))
        if message is None:
            raise ApiError("thread_not_found")
        thread_ts = message.get("thread_ts") or message["ts"]
        parent = channel.messages.get(thread_ts)
        if parent is None:
            raise ApiError("thread_not_found")
        limit = self._object_limit(params, default=1000)
        inclusive = truthy(params.get("inclusive", False))
        oldest = ts_key(params.get("oldest") or "0", "oldest")
        latest = ts_key(params["latest"], "latest") if params.get("latest") else FAR_FUTURE

        def wanted(reply_ts: str) -> bool:
            key = ts_sort_key(reply_ts)
            if inclusive:
                return oldest <= key <= latest
            return oldest < key < latest

        replies = [r for r in channel.replies.get(thread_ts, []) if wanted(r)]
        first_page = not params.get("cursor")
        if not first_page:
            after = ts_sort_key(decode_cursor(params["cursor"]).removeprefix("next_ts:"))
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
                "next_cursor": encode_cursor(f"next_ts:{page[-1]}") if has_more and page else ""
            },
        }

    def _api_users_list(self, params: dict[str, Any], scopes: frozenset[str]) -> dict[str, Any]:
        limit = page_limit(params)
        users = sorted(self.users.values(), key=lambda u: u["id"])
        offset = int(decode_cursor(params["cursor"]).split(":")[1]) if params.get("cursor") else 0
        page = users[offset : offset + limit]
        more = offset + limit < len(users)
        return {
            "ok": True,
            "members": page,
            "cache_ts": int(time.time()),
            "response_metadata": {
                "next_cursor": encode_cursor(f"offset:{offset + limit}") if more else ""
            },
        }

    def _api_users_info(self, params: dict[str, Any], scopes: frozenset[str]) -> dict[str, Any]:
        user = self.users.get(str(params.get("user")))
        if user is None:
            raise ApiError("user_not_found")
        return {"ok": True, "user": user}

    def _api_chat_postMessage(
        self, params: dict[str, Any], scopes: frozenset[str]
    ) -> dict[str, Any]:
        channel = self._channel(params)
        if channel.info["is_archived"]:
            raise ApiError("is_archived")
        text = params.get("text") or ""
        blocks = params.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if not text and not blocks:
            raise ApiError("no_text")
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
            raise ApiError("message_not_found")
        if message.get("user") != self.bot_user_id:
            raise ApiError("cant_update_message")
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
            raise ApiError("message_not_found")
        channel_id = channel.info["id"]
        link = (
            f"https://{self.team['domain']}.slack.com/archives/{channel_id}/p{ts.replace('.', '')}"
        )
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != ts:
            link += f"?thread_ts={thread_ts}&cid={channel_id}"
        return {"ok": True, "channel": channel_id, "permalink": link}
