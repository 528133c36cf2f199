"""Posting digests and alerts to Slack, idempotently.

A digest is posted once per day with ``chat.postMessage``; its ``ts`` is stored
in ``digests``, so materializing the same day again edits that message with
``chat.update`` instead of posting a second one. A failed post leaves the stored
digest intact and unposted: the next run posts it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from slack_events_dagster.domain.models import Digest
from slack_events_dagster.settings import SlackSettings
from slack_events_dagster.slack.errors import SlackAuthError, SlackSourceError, redact
from slack_events_dagster.slack.webapi import AUTH_ERRORS, web_client
from slack_events_dagster.storage.base import Repository

log = logging.getLogger(__name__)


class PostingError(SlackSourceError):
    """A digest or alert could not be posted; the message says why and what to fix."""


class SlackPoster:
    """Posts to Slack through the real slack_sdk client (with its retry handlers)."""

    def __init__(self, settings: SlackSettings, *, client: WebClient | None = None) -> None:
        self.client = client or web_client(settings, purpose="; needed to post")

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.client.api_call(method, json=kwargs)
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            error = str(data.get("error") or f"HTTP {exc.response.status_code}")
            if error in AUTH_ERRORS:
                raise SlackAuthError(error, method) from None
            hint = {
                "channel_not_found": "check digest.channel / digest.alert_channel",
                "not_in_channel": "invite the bot to the channel",
                "missing_scope": "give the Slack app the chat:write scope",
                "message_not_found": "the posted message was deleted; it will be posted anew",
            }.get(error, "see Slack's documentation of the error")
            raise PostingError(f"Slack {method} failed: {error}; {hint}") from None
        except (SlackClientError, OSError, ValueError) as exc:
            raise PostingError(
                f"Slack {method} failed: {type(exc).__name__}: {redact(str(exc))}"
            ) from None
        return dict(response.data) if isinstance(response.data, dict) else {}

    def post_digest(self, repository: Repository, digest: Digest, channel: str) -> str:
        """Post the digest, or update the message already posted for its day; returns ts."""
        content: dict[str, Any] = {
            "text": digest.slack_text,
            "blocks": digest.slack_blocks,
            # Text from messages is escaped; these keep Slack from re-linking it.
            "parse": "none",
            "link_names": False,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if digest.posted_ts and digest.channel_id:
            try:
                self._call("chat.update", channel=digest.channel_id, ts=digest.posted_ts, **content)
                return digest.posted_ts
            except PostingError as exc:
                if "message_not_found" not in str(exc):
                    raise
                log.warning("digest of %s was deleted in Slack; posting it again", digest.day)
        data = self._call("chat.postMessage", channel=channel, **content)
        ts, channel_id = str(data["ts"]), str(data.get("channel") or channel)
        repository.mark_digest_posted(digest.day, channel_id, ts, datetime.now(UTC))
        return ts

    def post_alert(self, channel: str, text: str) -> str:
        data = self._call(
            "chat.postMessage", channel=channel, text=text, parse="none", unfurl_links=False
        )
        return str(data["ts"])
