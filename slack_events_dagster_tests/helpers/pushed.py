"""What the Socket Mode tests compare: the fake's messages against the stored ones, and
whether a watermark promises a message that is not stored."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from slack_events_dagster.domain.models import ts_sort_key
from slack_events_dagster.slack.listener import SocketModeListener
from slack_events_dagster.slack.normalize import normalize_message
from slack_events_dagster.storage.base import MessageStore
from slack_events_dagster.testing.fake_slack import FakeSlack

# What a message says: text, thread, the thread's metadata on a parent, the edit.
View = dict[str, tuple[Any, ...]]


def fake_view(fake: FakeSlack, channel_id: str) -> tuple[View, set[str]]:
    """The fake's live messages of a channel, and its tombstones (deleted parents)."""
    live: View = {}
    tombstones: set[str] = set()
    with fake._lock:
        for ts, message in fake.channels[channel_id].messages.items():
            if message.get("subtype") == "tombstone":
                tombstones.add(ts)
                continue
            # As the poller would store it (text recovered from blocks, for one).
            normalized = normalize_message(message, channel_id)
            live[ts] = (
                normalized.text,
                normalized.thread_ts,
                normalized.reply_count,
                normalized.latest_reply,
                normalized.edited_ts,
            )
    return live, tombstones


def stored_view(repository: MessageStore, channel_id: str) -> tuple[View, set[str]]:
    """The stored messages of a channel that are not deleted, and the ts of those that are."""
    live: View = {}
    deleted: set[str] = set()
    for message in repository.get_messages(channel_id, include_deleted=True):
        if message.is_deleted:
            deleted.add(message.ts)
            continue
        live[message.ts] = (
            message.text,
            message.thread_ts,
            message.reply_count,
            message.latest_reply,
            message.edited_ts,
        )
    return live, deleted


def watermark_promises_missing(
    repository: MessageStore, fake: FakeSlack, channel_id: str
) -> list[str]:
    """The fake's messages at or before the channel's watermark that are not stored (in
    any state): what a watermark ahead of the data would make the poller skip.

    The watermark is read first, then the fake, then the store: a message the fake holds
    then existed when the watermark was set, so its absence is a real gap (a message
    posted and deleted before anyone read it is no gap, and is not counted).
    """
    watermark = repository.get_watermark(channel_id)
    if watermark is None:
        return []
    mark = ts_sort_key(watermark)
    with fake._lock:
        held = [ts for ts in fake.channels[channel_id].messages if ts_sort_key(ts) <= mark]
    stored = {m.ts for m in repository.get_messages(channel_id, include_deleted=True)}
    return sorted(ts for ts in held if ts not in stored)


@contextmanager
def running(listener: SocketModeListener, timeout_s: float = 60.0) -> Iterator[None]:
    """Run the listener in a thread for the ``with`` block; re-raise what stopped it."""
    stop, ready = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def target() -> None:
        try:
            listener.run(stop, on_ready=ready.set)
        except BaseException as exc:
            errors.append(exc)
            ready.set()

    thread = threading.Thread(target=target, name="listener", daemon=True)
    thread.start()
    ready.wait(timeout_s)
    try:
        if errors:
            raise errors[0]
        yield
    finally:
        stop.set()
        thread.join(timeout_s)
    if errors:
        raise errors[0]


def wait_for(condition: Callable[[], bool], timeout_s: float = 60.0, what: str = "") -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.05)
