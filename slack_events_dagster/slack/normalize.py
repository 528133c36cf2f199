"""Raw Slack payloads (Web API responses, export files, Events API bodies) -> domain records.

One function per record kind. :func:`normalize_message` accepts every message shape
Slack produces: plain messages, ``bot_message``, ``thread_broadcast``, ``file_share``,
``me_message``, edited messages, ``message_changed`` / ``message_deleted`` /
``message_replied`` wrappers, join/leave/topic/purpose notices (kept with
``is_content=False``), messages whose words live only in blocks or attachments, and
subtypes nobody has seen yet (kept, never a crash). A payload it cannot make sense of
(no ``ts``, a field of the wrong type) raises one :class:`ValueError` naming the field;
callers decide whether to skip it.

``SlackMessage.text`` stays Slack's mrkdwn: when Slack sent a non-empty ``text`` it is
kept verbatim; only when it is empty is it filled with mrkdwn recovered from blocks or
attachments, so downstream code that reads ``text`` sees the words of bot posts too.
:func:`plain_text` turns mrkdwn into readable text for scoring, prompts and digests.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from slack_events_dagster.domain.models import SlackChannel, SlackMessage, SlackUser

# Notices about the conversation rather than messages people wrote: stored so the
# history is complete, but never scored as an event.
SYSTEM_SUBTYPES = frozenset(
    {
        "channel_join",
        "channel_leave",
        "channel_topic",
        "channel_purpose",
        "channel_name",
        "channel_archive",
        "channel_unarchive",
        "channel_convert_to_private",
        "channel_convert_to_public",
        "channel_posting_permissions",
        "group_join",
        "group_leave",
        "group_topic",
        "group_purpose",
        "group_name",
        "group_archive",
        "group_unarchive",
        "bot_add",
        "bot_remove",
        "pinned_item",
        "unpinned_item",
        "reminder_add",
        "tombstone",
        "joiner_notification",
        "slackbot_response",
        "sh_room_created",
        "huddle_thread",
    }
)

# Wrappers whose real message is the nested ``message`` object.
_WRAPPER_SUBTYPES = frozenset({"message_changed", "message_replied"})

# Deep enough for any real block tree; bounds recursion on hostile input.
_MAX_BLOCK_DEPTH = 12
# Deeper JSON documents are not stored (see normalize_message).
_MAX_STORED_DEPTH = 64

_TS_PATTERN = re.compile(r"^\d+(\.\d+)?$")


def _field_error(field: str, problem: str, raw: Mapping[str, Any]) -> ValueError:
    ts = raw.get("ts")
    where = f" (ts {ts!r})" if isinstance(ts, str) else ""
    return ValueError(f"bad Slack message{where}: field {field!r} {problem}")


def _opt_str(raw: Mapping[str, Any], field: str) -> str | None:
    value = raw.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _field_error(field, f"must be a string, got {type(value).__name__}", raw)
    return value


def _opt_ts(
    raw: Mapping[str, Any], field: str, source: Mapping[str, Any] | None = None
) -> str | None:
    """A ts-shaped string or None; ``source`` is a nested object (``edited``) holding ``ts``."""
    if source is not None:
        value = source.get("ts")
        if value is not None and not isinstance(value, str):
            raise _field_error(field, f"must be a string, got {type(value).__name__}", raw)
    else:
        value = _opt_str(raw, field)
    if value is not None and not _TS_PATTERN.match(value):
        raise _field_error(field, f"is not a Slack ts: {value[:40]!r}", raw)
    return value


def _dict_list(raw: Mapping[str, Any], field: str) -> list[dict[str, Any]]:
    value = raw.get(field)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _field_error(field, "must be a list of objects", raw)
    return value


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether lists and objects in ``value`` nest more than ``limit`` levels (iterative)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False


def _int_field(raw: Mapping[str, Any], field: str) -> int:
    value = raw.get(field)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise _field_error(field, f"must be an integer, got {type(value).__name__}", raw)
    return value


# -- text recovery -----------------------------------------------------------


def _rich_text_elements(elements: Any, depth: int) -> str:
    if depth > _MAX_BLOCK_DEPTH or not isinstance(elements, list):
        return ""
    parts: list[str] = []
    for element in elements:
        if not isinstance(element, dict):
            continue
        kind = element.get("type")
        if kind == "text":
            parts.append(str(element.get("text", "")))
        elif kind == "link":
            url = str(element.get("url", ""))
            label = element.get("text")
            parts.append(f"<{url}|{label}>" if label else f"<{url}>")
        elif kind == "user":
            parts.append(f"<@{element.get('user_id', '')}>")
        elif kind == "channel":
            parts.append(f"<#{element.get('channel_id', '')}>")
        elif kind == "usergroup":
            parts.append(f"<!subteam^{element.get('usergroup_id', '')}>")
        elif kind == "emoji":
            parts.append(f":{element.get('name', '')}:")
        elif kind == "broadcast":
            parts.append(f"<!{element.get('range', 'here')}>")
        elif kind == "date":
            parts.append(str(element.get("fallback", "")))
        elif kind in ("rich_text_section", "rich_text_preformatted", "rich_text_quote"):
            parts.append(_rich_text_elements(element.get("elements"), depth + 1))
            parts.append("\n")
        elif kind == "rich_text_list":
            for item in element.get("elements") or []:
                if isinstance(item, dict):
                    parts.append("• " + _rich_text_elements(item.get("elements"), depth + 1))
                    parts.append("\n")
        elif "elements" in element:
            parts.append(_rich_text_elements(element.get("elements"), depth + 1))
    return "".join(parts)


def _text_object(value: Any) -> str:
    if isinstance(value, dict):
        text = value.get("text")
        return text if isinstance(text, str) else ""
    return value if isinstance(value, str) else ""


def blocks_text(blocks: list[dict[str, Any]]) -> str:
    """The words of Block Kit blocks, as mrkdwn (rich_text, section, header, context)."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "rich_text":
            lines.append(_rich_text_elements(block.get("elements"), 0).strip("\n"))
        elif kind in ("section", "header"):
            lines.append(_text_object(block.get("text")))
            fields = block.get("fields")
            if isinstance(fields, list):
                lines.extend(_text_object(field) for field in fields)
        elif kind == "context":
            elements = block.get("elements")
            if isinstance(elements, list):
                lines.append(" ".join(_text_object(element) for element in elements).strip())
    return "\n".join(line for line in lines if line)


def attachments_text(attachments: list[dict[str, Any]]) -> str:
    """The words of legacy attachments: pretext, title and text, else the fallback."""
    lines: list[str] = []
    for attachment in attachments:
        parts = [
            value
            for key in ("pretext", "title", "text")
            if isinstance(value := attachment.get(key), str) and value
        ]
        blocks = attachment.get("blocks")
        if not parts and isinstance(blocks, list):
            parts.append(blocks_text([b for b in blocks if isinstance(b, dict)]))
        if not any(parts):
            fallback = attachment.get("fallback")
            parts = [fallback] if isinstance(fallback, str) else []
        lines.extend(part for part in parts if part)
    return "\n".join(lines)


def recovered_text(
    blocks: list[dict[str, Any]], attachments: list[dict[str, Any]], files: list[dict[str, Any]]
) -> str:
    """Mrkdwn for a message whose ``text`` is empty, from its blocks, attachments or files."""
    text = blocks_text(blocks)
    if not text:
        text = attachments_text(attachments)
    if not text:
        titles = [f.get("title") or f.get("name") for f in files]
        text = "\n".join(t for t in titles if isinstance(t, str) and t)
    return text


# -- messages ------------------------------------------------------------------


def normalize_message(
    raw: Mapping[str, Any], channel_id: str, *, permalink: str | None = None
) -> SlackMessage:
    """A domain message for one raw Slack message payload of any subtype.

    Raises ValueError (one, naming the field) when the payload has no usable ``ts`` or a
    field of the wrong type.
    """
    if not isinstance(raw, Mapping):
        raise ValueError(f"bad Slack message: expected an object, got {type(raw).__name__}")
    subtype = _opt_str(raw, "subtype")
    if subtype in _WRAPPER_SUBTYPES:
        inner = raw.get("message")
        if not isinstance(inner, Mapping):
            raise _field_error("message", f"must be an object in a {subtype} event", raw)
        return normalize_message(inner, channel_id, permalink=permalink)
    if subtype == "message_deleted":
        deleted_ts = _opt_ts(raw, "deleted_ts")
        if deleted_ts is None:
            raise _field_error("deleted_ts", "is missing in a message_deleted event", raw)
        previous = raw.get("previous_message")
        if previous is not None and not isinstance(previous, Mapping):
            raise _field_error("previous_message", "must be an object", raw)
        base = dict(previous or {})
        base["ts"] = deleted_ts
        message = normalize_message(base, channel_id, permalink=permalink)
        message.is_deleted = True
        message.is_content = False
        return message

    ts = _opt_ts(raw, "ts")
    if ts is None:
        raise _field_error("ts", "is missing", raw)
    text = _opt_str(raw, "text") or ""
    blocks = _dict_list(raw, "blocks")
    attachments = _dict_list(raw, "attachments")
    files = _dict_list(raw, "files")
    single_file = raw.get("file")
    if isinstance(single_file, dict) and not files:
        # Exports from before 2019 carry one ``file`` object instead of ``files``.
        files = [single_file]
    if not text.strip():
        text = recovered_text(blocks, attachments, files)
    # Slack's own structures nest a few levels; a document nested deeper than the JSON
    # encoder's recursion limit could never be stored (RecursionError in the writer),
    # so it is dropped here, after its text was recovered.
    blocks, attachments, files = (
        [] if _nested_deeper_than(value, _MAX_STORED_DEPTH) else value
        for value in (blocks, attachments, files)
    )
    edited = raw.get("edited")
    if edited is not None and not isinstance(edited, Mapping):
        raise _field_error("edited", "must be an object", raw)
    edited_ts = _opt_ts(raw, "edited.ts", edited) if edited else None
    username = _opt_str(raw, "username")
    bot_profile = raw.get("bot_profile")
    if username is None and isinstance(bot_profile, Mapping):
        name = bot_profile.get("name")
        username = name if isinstance(name, str) else None
    deleted = subtype == "tombstone" or raw.get("is_deleted") is True
    if subtype == "tombstone":
        # "This message was deleted." is a placeholder: an empty text lets the repository
        # keep what the parent said, as it does for any deletion.
        text = ""
    try:
        return SlackMessage(
            channel_id=channel_id,
            ts=ts,
            thread_ts=_opt_ts(raw, "thread_ts"),
            user=_opt_str(raw, "user"),
            bot_id=_opt_str(raw, "bot_id"),
            username=username,
            subtype=subtype,
            text=text,
            blocks=blocks,
            attachments=attachments,
            files=files,
            reactions=_dict_list(raw, "reactions"),
            reply_count=_int_field(raw, "reply_count"),
            latest_reply=_opt_ts(raw, "latest_reply"),
            edited_ts=edited_ts,
            is_deleted=deleted,
            is_content=subtype not in SYSTEM_SUBTYPES and not deleted,
            permalink=permalink,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "message"
        raise _field_error(field, first["msg"], raw) from None


# -- channels and users ------------------------------------------------------------


def _epoch(value: Any) -> datetime | None:
    if isinstance(value, bool) or value in (None, "", 0, "0"):
        return None
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _topic(value: Any) -> str:
    if isinstance(value, Mapping):
        inner = value.get("value")
        return inner if isinstance(inner, str) else ""
    return value if isinstance(value, str) else ""


def normalize_channel(raw: Mapping[str, Any], *, private: bool = False) -> SlackChannel:
    """A domain channel for a conversations.list entry or an export's channels.json entry."""
    channel_id = raw.get("id")
    name = raw.get("name")
    if not isinstance(channel_id, str) or not channel_id:
        raise ValueError("bad Slack channel: field 'id' is missing or not a string")
    if not isinstance(name, str):
        # DMs have no name: the other user's id is the most useful label.
        user = raw.get("user")
        name = user if isinstance(user, str) else channel_id
    members = raw.get("members")
    num_members = raw.get("num_members")
    if not isinstance(num_members, int) and isinstance(members, list):
        num_members = len(members)
    is_member = raw.get("is_member")
    return SlackChannel(
        id=channel_id,
        name=name,
        is_private=bool(
            private or raw.get("is_private") or raw.get("is_group") or raw.get("is_mpim")
        ),
        is_archived=bool(raw.get("is_archived")),
        # An export has no membership: everything in it is readable.
        is_member=True if is_member is None else bool(is_member),
        created=_epoch(raw.get("created")),
        topic=_topic(raw.get("topic")),
        purpose=_topic(raw.get("purpose")),
        num_members=num_members if isinstance(num_members, int) else None,
    )


def normalize_user(raw: Mapping[str, Any]) -> SlackUser:
    """A domain user for a users.list entry or an export's users.json entry."""
    user_id = raw.get("id")
    if not isinstance(user_id, str) or not user_id:
        raise ValueError("bad Slack user: field 'id' is missing or not a string")
    profile = raw.get("profile")
    profile = profile if isinstance(profile, Mapping) else {}

    def text(value: Any) -> str | None:
        return value if isinstance(value, str) and value else None

    name = text(raw.get("name")) or user_id
    return SlackUser(
        id=user_id,
        name=name,
        real_name=text(raw.get("real_name")) or text(profile.get("real_name")),
        display_name=text(profile.get("display_name")),
        is_bot=bool(raw.get("is_bot")) or user_id == "USLACKBOT",
        deleted=bool(raw.get("deleted")),
        tz=text(raw.get("tz")),
    )


# -- plain text --------------------------------------------------------------------

# A small table of the shortcodes people use around events; unknown ones stay as typed.
EMOJI = {
    "tada": "🎉",
    "rocket": "🚀",
    "calendar": "📆",
    "date": "📅",
    "spiral_calendar_pad": "🗓️",
    "alarm_clock": "⏰",
    "clock1": "🕐",
    "hourglass": "⌛",
    "warning": "⚠️",
    "rotating_light": "🚨",
    "fire": "🔥",
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "x": "❌",
    "no_entry": "⛔",
    "construction": "🚧",
    "wrench": "🔧",
    "hammer_and_wrench": "🛠️",
    "bug": "🐛",
    "mega": "📣",
    "loudspeaker": "📢",
    "pushpin": "📌",
    "memo": "📝",
    "eyes": "👀",
    "thumbsup": "👍",
    "+1": "👍",
    "thumbsdown": "👎",
    "-1": "👎",
    "clap": "👏",
    "raised_hands": "🙌",
    "pray": "🙏",
    "wave": "👋",
    "smile": "😄",
    "slightly_smiling_face": "🙂",
    "joy": "😂",
    "thinking_face": "🤔",
    "heart": "❤️",
    "star": "⭐",
    "sparkles": "✨",
    "partying_face": "🥳",
    "coffee": "☕",
    "pizza": "🍕",
    "cake": "🍰",
    "beers": "🍻",
    "airplane": "✈️",
    "microphone": "🎤",
    "tv": "📺",
    "link": "🔗",
    "lock": "🔒",
    "ship": "🚢",
    "package": "📦",
    "chart_with_upwards_trend": "📈",
    "bulb": "💡",
    "point_right": "👉",
    "100": "💯",
}

_ANGLE = re.compile(r"<([^<>\n]*)>")
_EMOJI_CODE = re.compile(r":([a-z0-9_+\-']+):(?::skin-tone-[2-6]:)?")


def _label(value: object) -> str | None:
    if isinstance(value, SlackUser):
        return value.label
    if isinstance(value, SlackChannel):
        return value.name
    return value if isinstance(value, str) else None


def plain_text(
    text: str,
    users: Mapping[str, SlackUser | str] | None = None,
    channels: Mapping[str, SlackChannel | str] | None = None,
) -> str:
    """Readable text for Slack mrkdwn: names for mentions, labels and URLs for links,
    ``<``/``>``/``&`` for their entities, emoji for common shortcodes."""
    users = users or {}
    channels = channels or {}

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            name = _label(users.get(target[1:])) or label or target[1:]
            return "@" + name
        if target.startswith("#"):
            name = label or _label(channels.get(target[1:])) or target[1:]
            return "#" + name
        if target.startswith("!"):
            command = target[1:]
            if command in ("here", "channel", "everyone"):
                return "@" + command
            if command.startswith("subteam^"):
                return label or "@" + command.removeprefix("subteam^")
            return label or command
        if not target:
            return match.group(0)
        url = target
        if label and label != url:
            shown = url.removeprefix("mailto:")
            return label if label == shown else f"{label} ({url})"
        return url.removeprefix("mailto:")

    rendered = _ANGLE.sub(replace, text)
    rendered = rendered.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return _EMOJI_CODE.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), rendered)
