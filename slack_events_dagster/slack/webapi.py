"""Message source over the Slack Web API, through the real ``slack_sdk.WebClient``.

Retries are slack_sdk's own handlers: ``RateLimitErrorRetryHandler`` (429 and its
``Retry-After``), ``ServerErrorRetryHandler`` (widened to 502/504, which Slack's edge
returns too), ``ConnectionErrorRetryHandler`` (widened to read timeouts), plus one small
handler for ``200 ok:false error:ratelimited``, all capped at ``slack.max_retries``.

Paced methods (``slack.app_profile``, ``slack.rate_limits``) take each call from the
app's shared budget first (``slack.budget``), and ask for pages of at most the app's
``limit``. Calls per channel are kept low: history pages of ``slack.page_size`` (Slack
caps at 1000), ``conversations.replies`` only for threads whose ``latest_reply``
changed since the stored one (a dormant thread is never polled), and permalinks built
from the workspace URL (``slack.workspace_url`` or one ``auth.test``) instead of one
``chat.getPermalink`` per message.

Errors the caller must act on are translated: refused tokens -> :class:`SlackAuthError`,
unreadable channels -> :class:`ChannelSkipped`; any other failure -> ``SlackSourceError``.
Token text never appears in an error.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from http.client import RemoteDisconnected
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    HttpRequest,
    HttpResponse,
    RateLimitErrorRetryHandler,
    RetryHandler,
    RetryState,
)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter
from slack_sdk.web import SlackResponse

from slack_events_dagster.domain.models import SlackChannel, SlackMessage, SlackUser, ts_sort_key
from slack_events_dagster.settings import SlackSettings
from slack_events_dagster.slack.budget import CallBudget
from slack_events_dagster.slack.errors import (
    ChannelSkipped,
    SlackAuthError,
    SlackSourceError,
    redact,
)
from slack_events_dagster.slack.normalize import (
    normalize_channel,
    normalize_message,
    normalize_user,
)
from slack_events_dagster.slack.source import (
    CallCounter,
    MessagePage,
    needs_replies,
    permalink,
    unchanged_old_message,
)

log = logging.getLogger(__name__)

AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)
CHANNEL_ERRORS = frozenset({"not_in_channel", "channel_not_found", "is_archived", "missing_scope"})
MAX_PAGE = 1000


class _ProportionalJitter(Jitter):
    """Up to +25% of the interval: spreads retries without the SDK's fixed +0..1 s."""

    def recalculate(self, duration: float) -> float:
        return duration * (1 + random.random() / 4)


class _ServerErrorsRetryHandler(ServerErrorRetryHandler):
    """slack_sdk's server-error handler, also for 502 and 504 (gateway errors)."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code in (500, 502, 503, 504)


# Writes Slack would apply twice if sent twice: never resent after the connection broke
# mid-call (the first may have been applied); the poster checks and resends itself.
NOT_IDEMPOTENT = frozenset({"chat.postMessage"})


class _ConnectionErrorsRetryHandler(ConnectionErrorRetryHandler):
    """slack_sdk's connection-error handler, except for writes in NOT_IDEMPOTENT."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = request.url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
        if method in NOT_IDEMPOTENT:
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)


class _RatelimitedBodyRetryHandler(RetryHandler):
    """Slack sometimes answers 200 with ``ok:false, error:ratelimited`` and Retry-After."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return (
            response is not None
            and response.status_code == 200
            and isinstance(response.body, dict)
            and response.body.get("error") == "ratelimited"
        )

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        time.sleep(_retry_after(response) + random.random() / 10)
        state.increment_current_attempt()


def _retry_after(response: HttpResponse | None) -> float:
    if response is None:
        return 1.0
    headers: Any = response.headers
    value: Any = None
    for key in list(headers.keys()):
        if str(key).lower() == "retry-after":
            value = headers[key]
            break
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(0.0, float(value)) if value is not None else 1.0
    except (TypeError, ValueError):
        return 1.0


def _next_cursor(response: SlackResponse) -> str:
    data = response.data if isinstance(response.data, dict) else {}
    metadata = data.get("response_metadata") or {}
    return str(metadata.get("next_cursor") or data.get("next_cursor") or "")


def build_retry_handlers(max_retries: int, backoff_s: float) -> list[RetryHandler]:
    """slack_sdk retry handlers for rate limits, server errors and connection errors."""
    interval = BackoffRetryIntervalCalculator(
        backoff_factor=backoff_s, jitter=_ProportionalJitter()
    )
    return [
        _ConnectionErrorsRetryHandler(
            max_retry_count=max_retries,
            interval_calculator=interval,
            # TimeoutError: a read that outlives the client timeout (a hung server).
            error_types=[URLError, ConnectionResetError, RemoteDisconnected, TimeoutError],
        ),
        RateLimitErrorRetryHandler(max_retry_count=max_retries),
        _ServerErrorsRetryHandler(max_retry_count=max_retries, interval_calculator=interval),
        _RatelimitedBodyRetryHandler(max_retry_count=max_retries),
    ]


def web_client(settings: SlackSettings, *, purpose: str) -> WebClient:
    """The slack_sdk client the settings describe, with our retry handlers."""
    token = settings.token.get_secret_value()
    if not token:
        raise SlackAuthError("not_authed", f"settings (slack.token is empty{purpose})")
    return WebClient(
        base_url=settings.base_url,
        token=token,
        # urllib accepts a float; WebClient's annotation says int.
        timeout=settings.timeout_s,  # type: ignore[arg-type]
        retry_handlers=build_retry_handlers(settings.max_retries, settings.retry_backoff_s),
    )


class WebApiSource:
    """:class:`~slack_events_dagster.slack.source.MessageSource` over the Web API."""

    name = "api"
    live = True
    needs_membership = True

    def __init__(
        self,
        settings: SlackSettings,
        *,
        client: WebClient | None = None,
        budget: CallBudget | None = None,
    ) -> None:
        self.settings = settings
        self.client = client or web_client(settings, purpose="")
        # Paced methods wait for the app's shared budget before each call (slack.budget).
        self.budget = budget
        self._history_limit = settings.method_limit("history").limit
        self._replies_limit = settings.method_limit("replies").limit
        self.calls = CallCounter()
        self.skipped_messages = 0
        self._workspace_url = settings.workspace_url

    # -- plumbing ------------------------------------------------------------------

    def _translate(self, method: str, channel: str | None, exc: Exception) -> SlackSourceError:
        if isinstance(exc, SlackApiError):
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            error = str(data.get("error") or f"HTTP {exc.response.status_code}")
            if error in AUTH_ERRORS:
                return SlackAuthError(error, method)
            if channel is not None and error in CHANNEL_ERRORS:
                needed = data.get("needed")
                return ChannelSkipped(channel, error, f"needs {needed}" if needed else "")
            if error == "missing_scope":
                return SlackSourceError(
                    f"Slack API {method} failed: missing_scope (needs {data.get('needed')}); "
                    "add the scope to the Slack app and reinstall it"
                )
            if error == "ratelimited" or exc.response.status_code == 429:
                return SlackSourceError(
                    f"Slack API {method} still rate limited after {self.settings.max_retries} "
                    "retries; run again later or raise slack.max_retries"
                )
            return SlackSourceError(f"Slack API {method} failed: {error}")
        return SlackSourceError(
            f"Slack API {method} failed after {self.settings.max_retries} retries: "
            f"{type(exc).__name__}: {redact(str(exc))}; check slack.base_url and the network"
        )

    def _guard(self, method: str, channel: str | None, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except (SlackClientError, OSError, ValueError) as exc:
            raise self._translate(method, channel, exc) from None

    def _pages(
        self, method: str, channel: str | None, first: Callable[[], SlackResponse]
    ) -> Iterator[SlackResponse]:
        """Every page of a cursor-paginated method (slack_sdk's own iteration), counted,
        each call taken from the budget first."""
        self._spend(method)
        response: SlackResponse = self._guard(method, channel, first)
        pages = iter(response)
        index = 0
        while True:
            if index > 0:
                # slack_sdk calls again only when the page it holds names a next cursor.
                if not _next_cursor(response):
                    return
                self._spend(method)
            page = self._guard(method, channel, lambda: next(pages, None))
            if page is None:
                return
            index += 1
            yield page

    def _spend(self, method: str) -> None:
        if self.budget is not None:
            self.budget.spend(method)
        self.calls[method] += 1

    def workspace_url(self) -> str:
        """The workspace's base URL for permalinks (one auth.test when not configured)."""
        if self._workspace_url is None:
            self.calls["auth.test"] += 1
            response = self._guard("auth.test", None, self.client.auth_test)
            self._workspace_url = str(response.get("url") or "https://slack.com/")
        return self._workspace_url

    def check_auth(self) -> dict[str, Any]:
        """auth.test: raises SlackAuthError for a refused token."""
        self.calls["auth.test"] += 1
        response = self._guard("auth.test", None, self.client.auth_test)
        data = response.data if isinstance(response.data, dict) else {}
        if self._workspace_url is None and data.get("url"):
            self._workspace_url = str(data["url"])
        return data

    # -- MessageSource ----------------------------------------------------------

    def list_channels(self) -> list[SlackChannel]:
        settings = self.settings
        channels: list[SlackChannel] = []
        pages = self._pages(
            "conversations.list",
            None,
            lambda: self.client.conversations_list(
                types=",".join(settings.channel_types), exclude_archived=True, limit=MAX_PAGE
            ),
        )
        for page in pages:
            for raw in page.get("channels") or []:
                private = bool(raw.get("is_private"))
                try:
                    channels.append(normalize_channel(raw, private=private))
                except ValueError as exc:
                    log.warning("skipping a channel Slack listed: %s", exc)
        include = {name.lstrip("#") for name in settings.channels}
        exclude = {name.lstrip("#") for name in settings.exclude_channels}
        if include:
            found = {c.id for c in channels} | {c.name for c in channels}
            for missing in sorted(include - found):
                log.warning("channel %s from slack.channels is not visible to the app", missing)
            channels = [c for c in channels if c.id in include or c.name in include]
        channels = [c for c in channels if c.id not in exclude and c.name not in exclude]
        if settings.join_public_channels:
            for channel in channels:
                if not channel.is_member and not channel.is_private and not channel.is_archived:
                    self._join(channel)
        return channels

    def _join(self, channel: SlackChannel) -> None:
        self.calls["conversations.join"] += 1
        try:
            self._guard(
                "conversations.join",
                channel.id,
                lambda: self.client.conversations_join(channel=channel.id),
            )
        except ChannelSkipped as exc:
            log.warning("could not join #%s: %s", channel.name, exc)
            return
        channel.is_member = True

    def list_users(self) -> list[SlackUser]:
        users: list[SlackUser] = []
        pages = self._pages("users.list", None, lambda: self.client.users_list(limit=200))
        for page in pages:
            for raw in page.get("members") or []:
                try:
                    users.append(normalize_user(raw))
                except ValueError as exc:
                    log.warning("skipping a user Slack listed: %s", exc)
        return users

    def days(self, channel: SlackChannel) -> tuple[date, date] | None:
        """None: the Web API's history is open-ended."""
        return None

    def newest_ts(self, channel: SlackChannel) -> str | None:
        """The ts of the newest message in the channel (one cheap history call)."""
        self._spend("conversations.history")
        response = self._guard(
            "conversations.history",
            channel.id,
            lambda: self.client.conversations_history(channel=channel.id, limit=1),
        )
        messages = response.get("messages") or []
        return str(messages[0]["ts"]) if messages else None

    def fetch(
        self,
        channel: SlackChannel,
        oldest_ts: str | None,
        latest_ts: str | None,
        known_threads: Mapping[str, str | None],
        *,
        page_size: int | None = None,
        thread_parents_before: str | None = None,
    ) -> Iterator[MessagePage]:
        base_url = self.workspace_url()
        cutoff = ts_sort_key(thread_parents_before) if thread_parents_before else None
        # The app's cap (slack.rate_limits: 15 for an unlisted app) bounds any page size.
        limit = min(page_size or self.settings.page_size, MAX_PAGE, self._history_limit)
        arguments: dict[str, Any] = {"channel": channel.id, "limit": limit, "inclusive": True}
        if oldest_ts is not None:
            arguments["oldest"] = oldest_ts
        if latest_ts is not None:
            arguments["latest"] = latest_ts
        pages = self._pages(
            "conversations.history",
            channel.id,
            lambda: self.client.conversations_history(**arguments),
        )
        for page in pages:
            history = MessagePage(kind="history", last=not page.get("has_more"))
            for raw in page.get("messages") or []:
                if (
                    cutoff is not None
                    and isinstance(raw, dict)
                    and unchanged_old_message(raw, cutoff, known_threads)
                ):
                    continue
                message = self._normalize(raw, channel.id, base_url)
                if message is not None:
                    history.append(message)
            # Replies before their parent: see slack.source for why the order matters.
            for message in history:
                if needs_replies(message, known_threads):
                    yield from self._replies(channel, message.ts, base_url)
            yield history

    def _replies(
        self, channel: SlackChannel, thread_ts: str, base_url: str
    ) -> Iterator[MessagePage]:
        pages = self._pages(
            "conversations.replies",
            channel.id,
            lambda: self.client.conversations_replies(
                channel=channel.id, ts=thread_ts, limit=self._replies_limit
            ),
        )
        try:
            for page in pages:
                replies = MessagePage(
                    kind="replies", thread_ts=thread_ts, last=not page.get("has_more")
                )
                for raw in page.get("messages") or []:
                    if raw.get("ts") == thread_ts:
                        continue  # the parent comes with its history page
                    message = self._normalize(raw, channel.id, base_url)
                    if message is not None:
                        replies.append(message)
                yield replies
        except SlackSourceError as exc:
            if "thread_not_found" not in str(exc):
                raise
            # The parent was deleted between the history and the replies call.
            log.warning("thread %s in %s vanished while reading it", thread_ts, channel.id)

    def _normalize(self, raw: Any, channel_id: str, base_url: str) -> SlackMessage | None:
        try:
            message = normalize_message(raw, channel_id)
        except ValueError as exc:
            self.skipped_messages += 1
            log.warning("skipping a message in %s: %s", channel_id, exc)
            return None
        message.permalink = permalink(base_url, channel_id, message.ts, message.thread_ts)
        return message
