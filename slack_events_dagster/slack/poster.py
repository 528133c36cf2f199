"""Posting digests and alerts to Slack, idempotently.

A digest is posted once per day with ``chat.postMessage``; its ``ts`` is stored
in ``digests``, so materializing the same day again edits that message with
``chat.update`` instead of posting a second one. A failed post leaves the stored
digest intact and unposted: the next run posts it.

Slack may store a post whose answer never reaches us (the process is killed, the
connection drops after the request went out). So the attempt is recorded first
(``mark_digest_posting``: channel and time, no ts) and the post carries message
metadata naming the day and that attempt; the next post of a digest with an attempt
but no ts first reads the channel's history since the attempt and adopts the message
that attempt posted instead of posting a second one. Only that recovery reads history
(``channels:history``, or ``groups:history`` for a private digest channel); if it
cannot, it says so and posts.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from slack_events_dagster.domain.models import Digest
from slack_events_dagster.settings import SlackSettings
from slack_events_dagster.slack.errors import SlackAuthError, SlackSourceError, redact
from slack_events_dagster.slack.webapi import AUTH_ERRORS, web_client
from slack_events_dagster.storage.base import DigestStore

log = logging.getLogger(__name__)

# The metadata event type of our digest posts; its payload names the day.
DIGEST_EVENT_TYPE = "slack_events_digest"
# History read back from before the recorded attempt (clock skew between us and Slack).
_RECOVERY_MARGIN = timedelta(minutes=5)
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")


def _payload(day: date, attempt: datetime) -> dict[str, str]:
    """The metadata of one post: the day, and the attempt's time as stored with it, so
    another installation's digest of the same day in the channel is never taken for ours."""
    return {"day": day.isoformat(), "attempt": attempt.astimezone(UTC).isoformat()}


class PostingError(SlackSourceError):
    """A digest or alert could not be posted; the message says why and what to fix."""


class AnswerLost(PostingError):
    """The connection broke during the call: Slack may have applied it."""


class SlackPoster:
    """Posts to Slack through the real slack_sdk client (with its retry handlers)."""

    def __init__(self, settings: SlackSettings, *, client: WebClient | None = None) -> None:
        self.client = client or web_client(settings, purpose="; needed to post")
        self.max_retries = settings.max_retries

    def _call(self, method: str, *, read: bool = False, **kwargs: Any) -> dict[str, Any]:
        try:
            if read:  # Slack's read methods take form or query parameters, not JSON
                response = self.client.api_call(method, http_verb="GET", params=kwargs)
            else:
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
        except OSError as exc:  # connection reset, read timeout, refused
            raise AnswerLost(
                f"Slack {method} failed: {type(exc).__name__}: {redact(str(exc))}"
            ) from None
        except (SlackClientError, ValueError) as exc:
            raise PostingError(
                f"Slack {method} failed: {type(exc).__name__}: {redact(str(exc))}"
            ) from None
        return dict(response.data) if isinstance(response.data, dict) else {}

    def post_digest(self, repository: DigestStore, digest: Digest, channel: str) -> str:
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
        if not digest.posted_ts and digest.channel_id and digest.posted_at:
            # An earlier post was sent and its answer lost: Slack may have the message.
            found = self._find_lost_post(digest)
            if found is not None:
                channel_id, ts = found
                log.warning("digest of %s was posted by a run that died; updating it", digest.day)
                repository.mark_digest_posted(digest.day, channel_id, ts, datetime.now(UTC))
                digest = digest.model_copy(update={"channel_id": channel_id, "posted_ts": ts})
        if digest.posted_ts and digest.channel_id:
            try:
                self._call("chat.update", channel=digest.channel_id, ts=digest.posted_ts, **content)
                return digest.posted_ts
            except PostingError as exc:
                if "message_not_found" not in str(exc):
                    raise
                log.warning("digest of %s was deleted in Slack; posting it again", digest.day)
        attempt = datetime.now(UTC)
        repository.mark_digest_posting(digest.day, channel, attempt)
        metadata = {"event_type": DIGEST_EVENT_TYPE, "event_payload": _payload(digest.day, attempt)}
        pending = digest.model_copy(update={"channel_id": channel, "posted_at": attempt})
        for retry in range(self.max_retries + 1):
            try:
                data = self._call("chat.postMessage", channel=channel, metadata=metadata, **content)
                break
            except AnswerLost:
                # slack_sdk does not resend a post (webapi.NOT_IDEMPOTENT): look first.
                found = self._find_lost_post(pending)
                if found is not None:
                    data = {"channel": found[0], "ts": found[1]}
                    break
                if retry == self.max_retries:
                    raise
                log.warning("posting the digest of %s broke off; posting again", digest.day)
        ts, channel_id = str(data["ts"]), str(data.get("channel") or channel)
        repository.mark_digest_posted(digest.day, channel_id, ts, datetime.now(UTC))
        return ts

    def _find_lost_post(self, digest: Digest) -> tuple[str, str] | None:
        """(channel id, ts) of the message our recorded attempt posted, or None when
        there is none or history cannot be read (then we post again)."""
        assert digest.channel_id is not None and digest.posted_at is not None
        try:
            channel_id = self._channel_id(digest.channel_id)
            oldest = f"{(digest.posted_at - _RECOVERY_MARGIN).timestamp():.6f}"
            cursor: str | None = None
            while True:
                data = self._call(
                    "conversations.history",
                    read=True,
                    channel=channel_id,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=200,
                    **({"cursor": cursor} if cursor else {}),
                )
                wanted = _payload(digest.day, digest.posted_at)
                for message in data.get("messages") or []:
                    meta = message.get("metadata") or {}
                    if (
                        meta.get("event_type") == DIGEST_EVENT_TYPE
                        and meta.get("event_payload") == wanted
                    ):
                        return channel_id, str(message["ts"])
                cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
                if cursor is None:
                    return None
        except PostingError as exc:
            log.warning(
                "cannot tell whether the digest of %s was posted before a run died (%s); "
                "posting it, it may appear twice",
                digest.day,
                exc,
            )
            return None

    def _channel_id(self, channel: str) -> str:
        """The id of a channel given by id or name (history takes ids only)."""
        if _CHANNEL_ID.match(channel):
            return channel
        name, cursor = channel.lstrip("#"), None
        while True:
            data = self._call(
                "conversations.list",
                read=True,
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=1000,
                **({"cursor": cursor} if cursor else {}),
            )
            for item in data.get("channels") or []:
                if item.get("name") == name:
                    return str(item["id"])
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                raise PostingError(f"channel {channel} not found; check digest.channel")

    def post_alert(self, channel: str, text: str) -> str:
        data = self._call(
            "chat.postMessage", channel=channel, text=text, parse="none", unfurl_links=False
        )
        return str(data["ts"])
