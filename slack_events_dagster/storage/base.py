"""The repository's ports: one protocol per aggregate, and every read and write the
pipeline makes, nothing else.

Each adapter and step depends on the smallest port it uses (the Slack ingestion on
:class:`MessageStore`, the poster on :class:`DigestStore`, the LLM extractor on
:class:`LlmCallStore`, the event book on the domain's ``EventReader``, which
:class:`EventStore` satisfies); what works across aggregates (the steps of the pipeline
and the assets around them) takes :class:`Repository`, all of them. Nothing depends on
SQL: one implementation (:class:`~slack_events_dagster.storage.repository.SqlRepository`)
serves SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from slack_events_dagster.domain.budget import Pace
from slack_events_dagster.domain.models import (
    CandidateStatus,
    Digest,
    Event,
    EventCandidate,
    IngestionState,
    LLMCall,
    SlackChannel,
    SlackMessage,
    SlackUser,
    SourceRef,
)


class RepositoryError(RuntimeError):
    """A database operation failed; the message names the operation, never credentials."""

    def __init__(self, operation: str, detail: str) -> None:
        super().__init__(f"repository operation {operation!r} failed: {detail}")
        self.operation = operation


class RepositoryUnavailableError(RepositoryError):
    """The database could not be reached (server down, wrong host or port, bad credentials)."""


@dataclass(frozen=True)
class UpsertCounts:
    """What a bulk upsert did: rows new, rows changed, rows already as given."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
        )

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged


# (candidate, status, error, raw answer): how extraction ended for one candidate.
CandidateOutcomeRecord = tuple[SourceRef, CandidateStatus, str | None, str | None]


class MessageStore(Protocol):
    """Messages, their threads, the channels' watermarks and ingestion state."""

    def upsert_messages(
        self,
        messages: Iterable[SlackMessage],
        *,
        watermarks: dict[str, str] | None = None,
    ) -> UpsertCounts:
        """Insert new messages, update changed ones (an edit keeps the previous text and
        edited ts in the message's edit history), skip unchanged ones. ``watermarks``
        (channel id -> ts) advance in the same transaction, only forward."""
        ...

    def mark_messages_deleted(self, channel_id: str, ts_values: Sequence[str]) -> int:
        """Flag stored messages as deleted (their text is kept); returns how many changed."""
        ...

    def get_messages(
        self,
        channel_id: str,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        include_deleted: bool = False,
    ) -> list[SlackMessage]:
        """Messages of a channel posted in ``[start, end)`` (replies included), oldest first."""
        ...

    def get_messages_by_keys(self, keys: Sequence[SourceRef]) -> list[SlackMessage]: ...

    def get_message_links(
        self, keys: Sequence[SourceRef]
    ) -> dict[tuple[str, str], tuple[str | None, str | None]]:
        """(permalink, thread_ts) of the stored messages among ``keys``: what a link to
        each needs, without loading the messages (a digest links thousands)."""
        ...

    def get_thread_replies(self, channel_id: str, thread_ts: str) -> list[SlackMessage]:
        """Every stored reply of a thread (not the parent), oldest first."""
        ...

    def get_thread_latest_replies(self, channel_id: str, since_ts: str) -> dict[str, str | None]:
        """For thread parents posted at or after ``since_ts``: thread ts -> stored latest_reply."""
        ...

    def get_message_ts_between(self, channel_id: str, oldest_ts: str, latest_ts: str) -> set[str]:
        """The ts of stored, not deleted top-level messages in ``[oldest_ts, latest_ts]``."""
        ...

    def newest_message_ts(self, channel_id: str) -> str | None: ...

    def changed_message_times(
        self, channel_id: str, posted_since: datetime, changed_after: datetime
    ) -> list[tuple[datetime, datetime]]:
        """(posted_at, updated_at) of the channel's messages posted at or after
        ``posted_since`` whose row was written (inserted or changed) after ``changed_after``:
        where pushed messages arrived, without asking Slack."""
        ...

    def get_watermark(self, channel_id: str) -> str | None: ...

    def get_watermarks(self) -> dict[str, str]: ...

    def record_ingestion(self, state: IngestionState) -> None: ...

    def get_ingestion_states(self) -> dict[str, IngestionState]: ...


class ChannelStore(Protocol):
    """Channels and users (their names make mentions readable)."""

    def upsert_channels(self, channels: Iterable[SlackChannel]) -> UpsertCounts: ...

    def get_channels(self, *, include_archived: bool = False) -> list[SlackChannel]: ...

    def upsert_users(self, users: Iterable[SlackUser]) -> UpsertCounts: ...

    def get_users(self) -> dict[str, SlackUser]: ...


class CandidateStore(Protocol):
    """Scored messages and how their extraction ended."""

    def upsert_candidates(self, candidates: Iterable[EventCandidate]) -> UpsertCounts:
        """Store scores; a candidate whose score and reasons are unchanged keeps its status."""
        ...

    def set_candidate_status(
        self,
        keys: Sequence[SourceRef],
        status: CandidateStatus,
        *,
        error: str | None = None,
        raw_answer: str | None = None,
    ) -> int: ...

    def get_candidates(
        self,
        *,
        statuses: Sequence[CandidateStatus] | None = None,
        channel_id: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> list[EventCandidate]: ...


class EventStore(Protocol):
    """Events, their sources and links; the merge's locks and unit of work. It reads as
    the event book's port (:class:`~slack_events_dagster.domain.dedup.book.EventReader`)
    asks."""

    def get_events(
        self,
        *,
        start_date: date | None = None,
        end_date: date | None = None,
    ) -> list[Event]:
        """Events whose start date lies in ``[start_date, end_date]``, by start."""
        ...

    def get_events_updated_since(self, since: datetime) -> list[Event]: ...

    def get_events_for_sources(self, sources: Sequence[SourceRef]) -> list[Event]:
        """Events that have any of these messages among their sources."""
        ...

    def get_events_for_links(self, keys: Sequence[tuple[str, str]]) -> list[Event]:
        """Events that have any of these (kind, key) anchors among their links ("jira",
        "OPS-142"), by start: the events of a ticket or a release tag, whatever their dates."""
        ...

    def get_events_by_ids(self, event_ids: Sequence[str]) -> list[Event]:
        """The events with these ids (those that exist), by start."""
        ...

    def count_events(self) -> int: ...

    def events_lock(self) -> AbstractContextManager[None]:
        """Held while a run merges drafts into events (reads, folds, writes): merging
        looks at every channel's events, so runs take turns."""
        ...

    def extraction_lock(self, channel_id: str) -> AbstractContextManager[None]:
        """Held while a run extracts a channel's candidates (claim, model calls, save):
        two runs of the same partition take turns instead of extracting twice."""
        ...

    def save_extraction(
        self,
        events_to_write: Sequence[Event],
        events_to_delete: Sequence[str],
        outcomes: Sequence[CandidateOutcomeRecord],
    ) -> UpsertCounts:
        """One extraction's result as a unit of work: events written, duplicates removed
        and candidate outcomes recorded in one transaction, so a crash leaves all or none."""
        ...

    def event_integrity(self) -> tuple[list[str], list[str]]:
        """Dedup keys held by more than one event, and ids of events none of whose
        sources is a stored message (both empty when all is well)."""
        ...


class LlmCallStore(Protocol):
    """LLM calls by prompt hash: the cache, the token and cost record, the budget."""

    def record_llm_call(self, call: LLMCall) -> None:
        """Store a call by prompt hash; a later call with the same hash replaces it."""
        ...

    def get_llm_call(self, prompt_hash: str) -> LLMCall | None: ...

    def llm_spend_usd(self, start: datetime, end: datetime) -> float:
        """Cost of calls made in ``[start, end)``."""
        ...


class DigestStore(Protocol):
    """Daily digests and where each was posted."""

    def save_digest(self, digest: Digest) -> None:
        """Store the digest of a day; a posted ts already stored is kept unless given."""
        ...

    def get_digest(self, day: date) -> Digest | None: ...

    def mark_digest_posting(self, day: date, channel: str, started_at: datetime) -> None:
        """Record that the digest of ``day`` is about to be posted to ``channel`` (no ts
        yet): if the answer is lost, the next post looks for the message first."""
        ...

    def mark_digest_posted(
        self, day: date, channel_id: str, posted_ts: str, posted_at: datetime
    ) -> None: ...


class BudgetStore(Protocol):
    """The Slack app's call budget per Web API method, shared by every process and run
    that uses this database (a token bucket; see ``domain.budget``)."""

    def take_api_call(self, method: str, pace: Pace, now: datetime) -> float:
        """Take one call of ``method`` if the budget has one at ``now`` and return 0.0;
        else take nothing and return the seconds until it has one. Atomic across
        processes: two takers never both get the last call."""
        ...


class Repository(
    MessageStore,
    ChannelStore,
    CandidateStore,
    EventStore,
    LlmCallStore,
    DigestStore,
    BudgetStore,
    Protocol,
):
    """Every port at once, for what works across aggregates (the pipeline's steps and the
    assets around them). :class:`~slack_events_dagster.storage.repository.SqlRepository`
    implements it on SQLite and PostgreSQL."""

    def prepare_schema(self) -> str | None:
        """Make the database ready for this code: migrate it where this process may (a
        SQLite file), else the one message naming the command that does. None: ready."""
        ...

    def close(self) -> None: ...
