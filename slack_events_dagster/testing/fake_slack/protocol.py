"""The Slack Web API's conventions the fake follows: scopes, tier limits, error bodies,
cursors and how parameters are read."""

from __future__ import annotations

import base64
from typing import Any

from slack_events_dagster.domain.models import ts_sort_key

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

# Slack's limits for an app distributed outside the Marketplace (2025): these methods get
# 1 call a minute and at most 15 objects a call.
UNLISTED_METHODS = ("conversations.history", "conversations.replies")
UNLISTED_OBJECT_CAP = 15

# What each method needs; history/read methods on private channels need groups:*.
METHOD_SCOPES = {
    "conversations.list": "channels:read",
    "conversations.info": "channels:read",
    "conversations.join": "channels:join",
    "users.list": "users:read",
    "users.info": "users:read",
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
}

FAR_FUTURE = (10**12, 0)


class ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def encode_cursor(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def decode_cursor(cursor: str) -> str:
    try:
        return base64.b64decode(cursor.encode(), validate=True).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError("invalid_cursor") from exc


def truthy(value: Any) -> bool:
    return str(value).lower() in ("1", "true")


def without_metadata(message: dict[str, Any], keep: bool) -> dict[str, Any]:
    """Message metadata is returned only when asked for (``include_all_metadata``)."""
    if keep or "metadata" not in message:
        return message
    return {k: v for k, v in message.items() if k != "metadata"}


def page_limit(params: dict[str, Any], default: int = 100, cap: int = 1000) -> int:
    raw = params.get("limit")
    if raw in (None, "", "0", 0):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError) as exc:
        raise ApiError("invalid_limit") from exc
    return max(1, min(value, cap))


def ts_key(value: Any, name: str) -> tuple[int, int]:
    try:
        return ts_sort_key(str(value))
    except ValueError as exc:
        raise ApiError("invalid_ts_" + name) from exc
