"""The Socket Mode listener: Slack pushes message events, they are stored as the poller
stores them, and a channel's watermark moves forward only over contiguous data.

Slack's Socket Mode (``slack_sdk.socket_mode.builtin.SocketModeClient``, an app-level
``xapp-`` token with ``connections:write``, no public endpoint) sends every ``message``
event of the channels the app is in: new messages and thread replies, edits
(``message_changed``), deletions (``message_deleted``) and thread changes on parents.
Each event goes through the poller's path: :func:`~slack_events_dagster.slack.normalize.
normalize_message`, the same permalink, ``MessageStore.upsert_messages`` (idempotent by
content hash, so a redelivered envelope or a message the poller also read changes
nothing). The envelope is acknowledged only after that write committed: a crash before
means Slack sends it again.

The watermark rule. A watermark W promises that every message up to W is stored (the
poller reads on from it). Push alone cannot promise that: events sent while the listener
was down, or lost with a connection, never arrive. So:

1. Every connection starts with ``hello``. On it every channel becomes *not contiguous*
   and is filled: the poller's own incremental read
   (:func:`~slack_events_dagster.slack.ingest.ingest_channel`) from its watermark, which
   stores the gap, however long, and moves the watermark as polling always does.
2. A channel whose fill ended well is *contiguous*: everything posted before the fill read
   the history is stored by it; everything posted after the ``hello`` comes as an event
   on this connection.
3. A new message (or reply) stored from an event of a contiguous channel moves the
   channel's watermark to its ts, in the same transaction. Events of other channels are
   stored but move nothing. Edits and deletions never move a watermark.
4. A write that fails is not acknowledged (Slack sends it again) and the channel is not
   contiguous until it is filled again.

Everything above happens on one thread, in arrival order: ``hello``, its fills, then the
events that waited meanwhile (the SDK queues them; an envelope Slack sends again while
waiting is stored twice, harmlessly). So a fill never runs beside the events it could
overwrite with an older read (a stale page resurrecting a message just deleted), and a
watermark never passes a message that arrived before it and is not stored. A fill that
failed (Slack or the database in trouble) is tried again every few seconds, on the same
thread. Slack does not promise delivery order; a message that would arrive out of order
behind a newer one is still within the poller's lookback (``slack.lookback_days``) from
the watermark.

Channels are those of the Web API source (``slack.channels``, ``slack.exclude_channels``);
an event from a channel the listener does not know refreshes the list (at most once a
minute) and, when the channel is wanted, fills it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from slack_events_dagster.domain.models import (
    IngestionOutcome,
    IngestionState,
    SlackChannel,
    SlackMessage,
)
from slack_events_dagster.settings import SlackSettings
from slack_events_dagster.slack.errors import SlackAuthError, SlackSourceError, redact
from slack_events_dagster.slack.ingest import ingest_channel
from slack_events_dagster.slack.normalize import normalize_message
from slack_events_dagster.slack.source import permalink
from slack_events_dagster.slack.webapi import AUTH_ERRORS, WebApiSource, build_retry_handlers
from slack_events_dagster.storage.base import MessageStore, RepositoryError

log = logging.getLogger(__name__)

# Events about a message that already exists: they never move a watermark.
_CHANGE_SUBTYPES = frozenset({"message_changed", "message_deleted", "message_replied"})
# Seconds between refreshes of the channel list for events of unknown channels.
_CHANNEL_REFRESH_S = 60.0
# Bytes per socket read of the Socket Mode client (see SocketModeListener.__init__).
_RECEIVE_BUFFER = 256 * 1024
# A message of our own in the SDK's queue: fill what is pending, on the event thread.
_FILL_MESSAGE = "slack_events_fill"
# Seconds between records of the contiguous channels as read (channel_freshness).
_HEARTBEAT_S = 300.0
# Seconds before a fill that failed (Slack or database trouble) is tried again.
_FILL_RETRY_S = 5.0


class ListenerConfigError(SlackSourceError):
    """The listener cannot start: a token is missing or refused."""


@dataclass
class ListenerCounts:
    """What the listener did since it started (for logs and tests)."""

    events: Counter[str] = field(default_factory=Counter)
    fills: int = 0
    watermark_moves: int = 0


class SocketModeListener:
    """Receives pushed messages over Socket Mode and stores them (see the module docstring)."""

    def __init__(
        self,
        settings: SlackSettings,
        repository: MessageStore,
        *,
        source: WebApiSource | None = None,
    ) -> None:
        app_token = settings.app_token.get_secret_value()
        if not app_token:
            raise ListenerConfigError(
                "slack.app_token is empty: the listener needs the Slack app's app-level token "
                "(xapp-..., scope connections:write); set SLACK_EVENTS_SLACK__APP_TOKEN "
                "(docs/operations.md, Socket Mode)"
            )
        self.settings = settings
        self.repository = repository
        self.source = source or WebApiSource(settings)
        self.counts = ListenerCounts()
        self.client = SocketModeClient(
            app_token=app_token,
            web_client=WebClient(
                base_url=settings.base_url,
                timeout=int(settings.timeout_s),
                retry_handlers=build_retry_handlers(settings.max_retries, settings.retry_backoff_s),
            ),
            # One at a time, in arrival order: the watermark rule depends on it.
            concurrency=1,
            # The builtin client parses a stream recursively, a level per read and per
            # frame: with its default 1 KiB reads a backlog of envelopes after a restart
            # (hundreds of KiB back to back) passes Python's recursion limit
            # (python-slack-sdk#1232). Larger reads keep it lower; should the client
            # still lose its place, _on_socket_error reconnects.
            receive_buffer_size=_RECEIVE_BUFFER,
            logger=logging.getLogger("slack_events_dagster.slack.socket_mode"),
            on_error_listeners=[self._on_socket_error],
        )
        self.client.message_listeners.append(self._on_message)
        self.client.socket_mode_request_listeners.append(self._on_request)
        self._lock = threading.Lock()
        self._channels: dict[str, SlackChannel] = {}
        self._contiguous: set[str] = set()
        self._needs_fill: set[str] = set()
        # No fill before the first hello: a fill counts from the connection it follows.
        self._connected = False
        self._fill_after = 0.0
        self._stopping = threading.Event()
        self._failure: BaseException | None = None
        self._channels_read_at = 0.0
        self._base_url = ""
        self._reconnecting = False
        self._reconnected_at = 0.0

    # -- running -------------------------------------------------------------------

    def run(self, stop: threading.Event, *, on_ready: Callable[[], None] | None = None) -> None:
        """Listen until ``stop`` is set; raises ListenerConfigError or SlackAuthError when
        a token is refused (the listener cannot do anything useful then)."""
        timer = threading.Thread(target=self._tick, name="listener-timer", daemon=True)
        try:
            self.source.check_auth()
            self._base_url = self.source.workspace_url()
            self._refresh_channels(force=True)
            timer.start()
            self._connect()
            if on_ready is not None:
                on_ready()
            while not stop.wait(0.2):
                if self._failure is not None:
                    raise self._failure
        finally:
            self._stopping.set()
            self.client.close()
            if timer.is_alive():
                timer.join(timeout=30)

    def _connect(self) -> None:
        try:
            self.client.connect()
        except SlackApiError as exc:
            error = str(exc.response.get("error") or exc.response.status_code)
            if error in AUTH_ERRORS or error == "not_allowed_token_type":
                raise ListenerConfigError(
                    f"Slack refused slack.app_token ({error}) on apps.connections.open; set "
                    "SLACK_EVENTS_SLACK__APP_TOKEN to the app's app-level token (xapp-...) "
                    "with the scope connections:write, and turn Socket Mode on for the app"
                ) from None
            raise SlackSourceError(f"Slack API apps.connections.open failed: {error}") from None
        except (SlackClientError, OSError) as exc:
            raise SlackSourceError(
                f"could not open a Socket Mode connection: {type(exc).__name__}: "
                f"{redact(str(exc))}; check slack.base_url and the network"
            ) from None

    def contiguous_channels(self) -> set[str]:
        with self._lock:
            return set(self._contiguous)

    # -- channels --------------------------------------------------------------------

    def _refresh_channels(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._channels_read_at < _CHANNEL_REFRESH_S:
            return
        self._channels_read_at = now
        listed = {c.id: c for c in self.source.list_channels() if not c.is_archived}
        with self._lock:
            for channel_id in listed.keys() - self._channels.keys():
                self._needs_fill.add(channel_id)
            self._channels = listed

    def _known(self, channel_id: str) -> bool:
        with self._lock:
            if channel_id in self._channels:
                return True
        try:
            self._refresh_channels()
        except SlackSourceError as exc:
            log.warning("could not refresh the channel list: %s", exc)
        with self._lock:
            return channel_id in self._channels

    # -- events ------------------------------------------------------------------------

    def _on_message(self, client: BaseSocketModeClient, message: dict[str, Any], raw: Any) -> None:
        kind = message.get("type")
        if kind == "hello":
            with self._lock:
                self._connected = True
                self._contiguous.clear()
                self._needs_fill.update(self._channels)
                self._fill_after = 0.0
            self.counts.events["hello"] += 1
            log.info("Socket Mode connected; filling the gap since each channel's watermark")
            self._fill_pending()
        elif kind == _FILL_MESSAGE:
            self._fill_pending()

    def _on_request(self, client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        event = request.payload.get("event") if request.type == "events_api" else None
        if not isinstance(event, dict) or event.get("type") != "message":
            self.counts.events["ignored"] += 1
            self._ack(client, request)
            return
        channel_id = event.get("channel")
        if not isinstance(channel_id, str) or not self._known(channel_id):
            self.counts.events["other_channel"] += 1
            self._ack(client, request)
            return
        try:
            message = normalize_message(event, channel_id)
        except ValueError as exc:
            # Sent again it would fail again: acknowledged and skipped, as the poller does.
            log.warning("skipping a pushed message in %s: %s", channel_id, exc)
            self.counts.events["skipped"] += 1
            self._ack(client, request)
            return
        message.permalink = permalink(self._base_url, channel_id, message.ts, message.thread_ts)
        if self._store(message, new=event.get("subtype") not in _CHANGE_SUBTYPES):
            self.counts.events["stored"] += 1
            self._ack(client, request)

    def _store(self, message: SlackMessage, *, new: bool) -> bool:
        channel_id = message.channel_id
        with self._lock:
            advance = new and channel_id in self._contiguous
        try:
            self.repository.upsert_messages(
                [message], watermarks={channel_id: message.ts} if advance else None
            )
        except RepositoryError as exc:
            log.error("storing a pushed message failed (Slack sends it again): %s", exc)
            with self._lock:
                self._contiguous.discard(channel_id)
                self._needs_fill.add(channel_id)
                self._fill_after = time.monotonic() + _FILL_RETRY_S
            return False
        if advance:
            self.counts.watermark_moves += 1
        return True

    def _on_socket_error(self, error: Exception) -> None:
        """A frame the client could not parse leaves its reader out of step with the
        stream (what follows reads as garbage): start a new connection, whose hello
        fills whatever was lost. Connection errors are the client's own to retry."""
        if isinstance(error, OSError) or self._stopping.is_set():
            return
        with self._lock:
            if self._reconnecting:
                return
            self._reconnecting = True
            # Not more often than every few seconds, should every connection fail.
            wait_s = max(0.0, self._reconnected_at + _FILL_RETRY_S - time.monotonic())
        log.warning("Socket Mode stream unreadable (%s); reconnecting", type(error).__name__)

        def reconnect() -> None:
            if self._stopping.wait(wait_s):
                return
            with self._lock:
                self._reconnected_at = time.monotonic()
            try:
                self.client.connect_to_new_endpoint(force=True)
            except Exception as exc:  # the client's monitor tries again
                log.warning("reconnecting failed: %s", redact(str(exc)))
            finally:
                with self._lock:
                    self._reconnecting = False

        threading.Thread(target=reconnect, name="socket-reconnect", daemon=True).start()

    def _ack(self, client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        try:
            client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
        except (SlackClientError, OSError) as exc:
            # The connection is gone: Slack sends the envelope again; storing is idempotent.
            log.info("could not acknowledge an envelope (%s); Slack will send it again", exc)

    # -- gap fills ---------------------------------------------------------------------

    def _tick(self) -> None:
        """Ask for the fills still pending (through the SDK's queue, so they run on the
        event thread, in order) and record the heartbeat."""
        heartbeat_at = time.monotonic() + _HEARTBEAT_S
        while not self._stopping.wait(1.0):
            with self._lock:
                due = (
                    self._connected
                    and bool(self._needs_fill)
                    and time.monotonic() >= self._fill_after
                )
                if due:
                    # Asked once per retry interval, however long the queue is.
                    self._fill_after = time.monotonic() + _FILL_RETRY_S
            if due:
                self.client.enqueue_message(json.dumps({"type": _FILL_MESSAGE}))
            if time.monotonic() >= heartbeat_at:
                heartbeat_at = time.monotonic() + _HEARTBEAT_S
                self._record_heartbeat()

    def _record_heartbeat(self) -> None:
        """Channels kept current by push are read: their ingestion state says so, which
        keeps the channel_freshness check true while the listener is connected."""
        now = datetime.now(UTC)
        for channel_id in sorted(self.contiguous_channels()):
            state = IngestionState(
                channel_id=channel_id, source="push", last_run_at=now, outcome=IngestionOutcome.OK
            )
            try:
                self.repository.record_ingestion(state)
            except RepositoryError as exc:
                log.warning("could not record the listener's heartbeat: %s", exc)
                return

    def _fill_pending(self) -> None:
        """Fill every channel that needs it (on the event thread; see the module docstring)."""
        with self._lock:
            if not self._connected:
                return  # the first hello starts the first fills
            pending = sorted(self._needs_fill)
            channels = dict(self._channels)
        for channel_id in pending:
            channel = channels.get(channel_id)
            if self._stopping.is_set():
                return
            if channel is None:
                with self._lock:
                    self._needs_fill.discard(channel_id)
                continue
            try:
                report = ingest_channel(
                    self.source,
                    self.repository,
                    channel,
                    now=datetime.now(UTC),
                    lookback_days=self.settings.lookback_days,
                    thread_horizon_days=self.settings.thread_horizon_days,
                    page_size=self.settings.page_size,
                )
            except SlackAuthError as exc:
                self._failure = exc
                return
            self.counts.fills += 1
            with self._lock:
                if report.outcome is IngestionOutcome.FAILED:
                    self._fill_after = time.monotonic() + _FILL_RETRY_S
                    continue
                self._needs_fill.discard(channel_id)
                if report.outcome is IngestionOutcome.OK:
                    self._contiguous.add(channel_id)
            log.info(
                "#%s filled: %d new, %d edited, %d deleted; watermark %s",
                channel.name,
                report.new,
                report.edited,
                report.deleted,
                report.watermark_after,
            )
