"""How a candidate is quoted to the model: its id, its text with mentions as names, and
the record a prompt carries for it (data, never instructions)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_events_dagster.llm.base import ExtractionInput
from slack_events_dagster.llm.prompt import MAX_TEXT_CHARS


def candidate_id(item: ExtractionInput) -> str:
    """The id a candidate has in the prompt; the model copies it into its answer."""
    return f"{item.candidate.channel_id}:{item.candidate.ts}"


def zone_or_utc(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _clip(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + " [...]"


def source_text(item: ExtractionInput) -> str:
    """The mrkdwn the model reads for a candidate (and the links are checked against)."""
    text = item.message.text
    if not text.strip():
        # Bot posts often carry their content in attachments only.
        parts = [
            str(att.get("text") or att.get("fallback") or "")
            for att in item.message.attachments
            if isinstance(att, dict)
        ]
        text = "\n".join(part for part in parts if part)
    return text


# A user or channel mention ("<@U123>", "<#C123|general>") or a user group
# ("<!subteam^S1|@oncall>"). Links ("<https://...|label>") are left as written: the
# model copies their URLs into an event's links.
_MENTION = re.compile(r"<([@#])([A-Za-z0-9]+)(?:\|([^<>]*))?>|<!subteam\^[A-Za-z0-9]+\|([^<>]+)>")


def with_names(text: str, names: Mapping[str, str]) -> str:
    """``text`` with mentions as the names people see: ``<@U123>`` -> ``@Ana``.

    As Slack shows them (and :mod:`~slack_events_dagster.domain.text` reads them): a
    label written in the span wins, then the name the workspace gives the id, then
    the bare id.
    """
    if "<" not in text:
        return text

    def render(match: re.Match[str]) -> str:
        sigil, ident, label, group = match.groups()
        if group is not None:
            return group
        name = (label or names.get(ident) or ident).lstrip(sigil)
        return sigil + name

    return _MENTION.sub(render, text)


def prompt_item(item: ExtractionInput) -> dict[str, Any]:
    """How one candidate is quoted to the model (data, never instructions)."""
    zone = zone_or_utc(item.timezone)
    parent = item.thread_parent
    message = item.message
    author = item.names.get(message.user or "") or message.username or None
    return {
        "id": candidate_id(item),
        "channel": f"#{item.channel_name}",
        "posted_at": message.posted_at.astimezone(zone).isoformat(timespec="seconds"),
        "timezone": item.timezone,
        "author": author,
        "thread_parent_text": (
            _clip(with_names(parent.text, item.names)) if parent is not None else None
        ),
        "text": _clip(with_names(source_text(item), item.names)),
    }
