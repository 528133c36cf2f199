"""The contract every Slack message source (Web API, export) fulfils for ingestion.

``fetch`` yields :class:`MessagePage` batches. A page is a list of messages with a
little context: whether it came from the channel history or from one thread's replies,
and whether it is the last history page (after which the channel window is complete).

Order matters and every source keeps it: the replies of a thread come *before* the
history page that holds the thread's parent. The parent carries ``latest_reply``; once
it is stored, the next run believes the thread is up to date. Writing the replies first
means a run that dies half-way re-fetches the thread next time instead of losing replies.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from typing import Any, Literal, Protocol, runtime_checkable

from slack_events_dagster.domain.models import SlackChannel, SlackMessage, SlackUser, ts_sort_key
from slack_events_dagster.slack.budget import CallBudget

PageKind = Literal["history", "replies"]


class MessagePage(list[SlackMessage]):
    """One batch of messages as one API page (or one export day file) delivered it."""

    def __init__(
        self,
        messages: Iterable[SlackMessage] = (),
        *,
        kind: PageKind = "history",
        thread_ts: str | None = None,
        last: bool = False,
    ) -> None:
        super().__init__(messages)
        self.kind: PageKind = kind
        # The thread these replies belong to (replies pages only).
        self.thread_ts = thread_ts
        # True on the final history page: everything in the requested window was seen.
        self.last = last


class CallCounter(Counter[str]):
    """API calls (or files read) per method, for reports and benchmarks."""


@runtime_checkable
class MessageSource(Protocol):
    """Where messages come from: the Slack Web API or a Slack export.

    Callers ask a source what it can do (``live``, ``needs_membership``, ``days``),
    never which one it is: a new chat source answers the same questions.
    """

    # A label for reports and the ingestion state, nothing decides on it.
    name: str
    calls: CallCounter
    # New messages keep arriving: today is read incrementally from the channel's
    # watermark (with a lookback that catches edits, deletions and new replies), and a
    # channel not read for long is stale. False for a fixed history (an export).
    live: bool
    # A channel can be read only by a member (the Web API's bot user must be in it).
    needs_membership: bool
    # The app's shared call budget the source draws from (None: unpaced, as an export).
    budget: CallBudget | None

    def days(self, channel: SlackChannel) -> tuple[date, date] | None:
        """The first and last day the source holds for the channel, when its history is
        fixed (an export); None when it is open-ended (a live source) or empty."""
        ...

    def list_channels(self) -> list[SlackChannel]:
        """The conversations to ingest (include/exclude lists applied)."""
        ...

    def list_users(self) -> list[SlackUser]: ...

    def newest_ts(self, channel: SlackChannel) -> str | None:
        """The ts of the channel's newest top-level message (one cheap call)."""
        ...

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
        """Top-level messages posted in ``[oldest_ts, latest_ts]`` (both inclusive, None is
        open), newest page first, plus the replies of every thread parent among them whose
        ``latest_reply`` differs from ``known_threads`` (thread ts -> stored latest_reply).

        Messages older than ``thread_parents_before`` are wanted only as parents of such
        changed threads: a source may leave the others out of its pages (the Web API
        source does, so an incremental run does not normalize a 30-day thread horizon to
        write its last days).

        Raises ChannelSkipped when the channel cannot be read, SlackAuthError when the
        credentials are refused.
        """
        ...


def needs_replies(message: SlackMessage, known_threads: Mapping[str, str | None]) -> bool:
    """Whether a history message is a thread parent whose replies changed since stored.

    "Changed" rather than "newer": when the last reply is deleted, ``latest_reply`` moves
    back, and re-reading the thread is how that deletion is seen.
    """
    if message.is_reply or message.latest_reply is None:
        return False
    return known_threads.get(message.ts) != message.latest_reply


def unchanged_old_message(
    raw: Mapping[str, Any], cutoff: tuple[int, int], known_threads: Mapping[str, str | None]
) -> bool:
    """Whether a raw history payload is older than ``cutoff`` (a ts sort key) and no parent
    of a changed thread, decided without normalizing it (see ``thread_parents_before``).

    Anything odd (no ts, a malformed one) answers False: normalization then reports it.
    """
    ts = raw.get("ts")
    if not isinstance(ts, str):
        return False
    try:
        if ts_sort_key(ts) >= cutoff:
            return False
    except ValueError:
        return False
    latest_reply = raw.get("latest_reply")
    if latest_reply is None:
        return True  # not a thread parent
    thread_ts = raw.get("thread_ts")
    if thread_ts is not None and thread_ts != ts:
        return True  # a reply broadcast to the channel, not a parent
    return known_threads.get(ts) == latest_reply


def in_window(ts: str, oldest_ts: str | None, latest_ts: str | None) -> bool:
    """Whether ``ts`` lies in ``[oldest_ts, latest_ts]`` (None is open)."""
    key = ts_sort_key(ts)
    if oldest_ts is not None and key < ts_sort_key(oldest_ts):
        return False
    return latest_ts is None or key <= ts_sort_key(latest_ts)


def permalink(base_url: str, channel_id: str, ts: str, thread_ts: str | None = None) -> str:
    """Slack's permalink format, built locally: no API call per message."""
    link = f"{base_url.rstrip('/')}/archives/{channel_id}/p{ts.replace('.', '')}"
    if thread_ts is not None and thread_ts != ts:
        link += f"?thread_ts={thread_ts}&cid={channel_id}"
    return link
