"""Domain records: what the product knows about Slack and events, independent of storage.

A Slack ``ts`` is an id, not a number: it is kept verbatim as a string and only
turned into a datetime for display and windows (``ts_to_datetime``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator


def ts_to_datetime(ts: str) -> datetime:
    """The UTC instant of a Slack ``ts`` ("1700000000.000100"), exact to the microsecond.

    From the digits, not through a float (which can be a microsecond off), so both
    backends store the same instant (the SQLite writer formats the same digits).
    """
    whole, _, fraction = ts.partition(".")
    moment = datetime.fromtimestamp(int(whole), tz=UTC)
    return moment.replace(microsecond=int(fraction[:6].ljust(6, "0")))


def datetime_to_ts(moment: datetime) -> str:
    """A Slack-style ``ts`` string for an aware datetime (microsecond precision)."""
    if moment.tzinfo is None:
        raise ValueError("datetime_to_ts needs an aware datetime")
    seconds = moment.timestamp()
    whole = int(seconds)
    micros = round((seconds - whole) * 1_000_000)
    if micros == 1_000_000:
        whole, micros = whole + 1, 0
    return f"{whole}.{micros:06d}"


def ts_sort_key(ts: str) -> tuple[int, int]:
    """Order Slack ``ts`` strings exactly (no float rounding)."""
    whole, _, frac = ts.partition(".")
    return int(whole), int((frac or "0").ljust(6, "0")[:6])


class _Record(BaseModel):
    model_config = ConfigDict(frozen=False, extra="forbid")


class SlackMessage(_Record):
    """One Slack message (or thread reply) as stored in ``raw_slack_messages``."""

    channel_id: str
    ts: str
    thread_ts: str | None = None
    user: str | None = None
    bot_id: str | None = None
    username: str | None = None
    subtype: str | None = None
    text: str = ""
    blocks: list[dict[str, Any]] = []
    attachments: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    reactions: list[dict[str, Any]] = []
    reply_count: int = 0
    latest_reply: str | None = None
    edited_ts: str | None = None
    is_deleted: bool = False
    # False for joins, leaves, topic changes and the like: kept, never an event.
    is_content: bool = True
    permalink: str | None = None

    @field_validator("ts")
    @classmethod
    def _ts_is_slack_ts(cls, value: str) -> str:
        whole, dot, frac = value.partition(".")
        if not whole.isdigit() or (dot and not frac.isdigit()):
            raise ValueError(f"not a Slack ts: {value!r}")
        return value

    @property
    def posted_at(self) -> datetime:
        return ts_to_datetime(self.ts)

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def is_thread_parent(self) -> bool:
        return self.thread_ts == self.ts or self.reply_count > 0


class SlackChannel(_Record):
    id: str
    name: str
    is_private: bool = False
    is_archived: bool = False
    is_member: bool = True
    created: AwareDatetime | None = None
    topic: str = ""
    purpose: str = ""
    num_members: int | None = None


class SlackUser(_Record):
    id: str
    name: str
    real_name: str | None = None
    display_name: str | None = None
    is_bot: bool = False
    deleted: bool = False
    tz: str | None = None

    @property
    def label(self) -> str:
        return self.display_name or self.real_name or self.name


class ChannelWatermark(_Record):
    """The newest ``ts`` of a channel whose messages are all stored."""

    channel_id: str
    ts: str
    updated_at: AwareDatetime


class IngestionOutcome(StrEnum):
    OK = "ok"
    SKIPPED = "skipped"
    FAILED = "failed"


class IngestionState(_Record):
    channel_id: str
    source: str
    last_run_at: AwareDatetime
    outcome: IngestionOutcome
    fetched: int = 0
    new: int = 0
    edited: int = 0
    deleted: int = 0
    api_calls: int = 0
    last_error: str | None = None


class CandidateStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    EXTRACTED = "extracted"
    NO_EVENT = "no_event"
    FAILED = "failed"
    DEFERRED = "deferred"


class EventCandidate(_Record):
    """A message scored as likely to announce or change an event."""

    channel_id: str
    ts: str
    score: float = Field(ge=0, le=1)
    reasons: list[str] = []
    status: CandidateStatus = CandidateStatus.PENDING
    # For a reply that changes an event ("moved to Thursday"): the thread parent's ts.
    parent_ts: str | None = None
    attempts: int = 0
    last_error: str | None = None
    # The model's raw answer when it could not be used, kept for diagnosis.
    raw_answer: str | None = None
    updated_at: AwareDatetime | None = None


class EventCategory(StrEnum):
    RELEASE = "release"
    INCIDENT = "incident"
    MAINTENANCE = "maintenance"
    MEETING = "meeting"
    DEADLINE = "deadline"
    CONFERENCE = "conference"
    LAUNCH = "launch"
    ANNOUNCEMENT = "announcement"
    OTHER = "other"


class EventStatus(StrEnum):
    SCHEDULED = "scheduled"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    TENTATIVE = "tentative"


class DateSource(StrEnum):
    """Where an event's date came from."""

    # A date or time written in the message ("March 18", "2025-10-15T14:30Z", "3pm").
    WRITTEN = "written"
    # A phrase relative to the posting time ("tomorrow", "next Tuesday", "in 5 days").
    RELATIVE = "relative"
    # No date at all: the message reports something happening now ("v0.7.2 released").
    POSTED = "posted"


class LinkKind(StrEnum):
    """What a link that identifies an event points to."""

    JIRA = "jira"
    GITHUB_ISSUE = "github_issue"
    GITHUB_PULL = "github_pull"
    GITHUB_RELEASE = "github_release"
    GITLAB_ISSUE = "gitlab_issue"
    GITLAB_MERGE_REQUEST = "gitlab_merge_request"
    GITLAB_RELEASE = "gitlab_release"
    ZOOM = "zoom"
    GOOGLE_MEET = "google_meet"
    TEAMS = "teams"
    WEBEX = "webex"
    CONFLUENCE = "confluence"
    NOTION = "notion"
    GOOGLE_DOC = "google_doc"
    LINK = "link"

    @property
    def is_meeting(self) -> bool:
        return self in _MEETING_KINDS

    @property
    def is_ticket(self) -> bool:
        return self in _TICKET_KINDS

    @property
    def is_release(self) -> bool:
        return self in _RELEASE_KINDS


_MEETING_KINDS = frozenset({LinkKind.ZOOM, LinkKind.GOOGLE_MEET, LinkKind.TEAMS, LinkKind.WEBEX})
_TICKET_KINDS = frozenset(
    {
        LinkKind.JIRA,
        LinkKind.GITHUB_ISSUE,
        LinkKind.GITHUB_PULL,
        LinkKind.GITLAB_ISSUE,
        LinkKind.GITLAB_MERGE_REQUEST,
    }
)
_RELEASE_KINDS = frozenset({LinkKind.GITHUB_RELEASE, LinkKind.GITLAB_RELEASE})


class EventLink(_Record):
    """A link that identifies an event: a ticket, a pull request, a release tag, a meeting.

    ``key`` names the thing the way people write it ("OPS-142", "acme/api#45",
    "acme/api!12", "acme/api@v2.1.0", a meeting's id, a page's id); ``url`` is None for
    a bare ticket key written without a link.
    """

    kind: LinkKind
    key: str = Field(min_length=1, max_length=300)
    url: str | None = Field(None, max_length=2000)


class _EventFields(_Record):
    title: str = Field(min_length=1, max_length=300)
    category: EventCategory = EventCategory.OTHER
    # An aware datetime for a timed event, a date for an all-day event.
    start: AwareDatetime | date
    end: AwareDatetime | date | None = None
    date_source: DateSource = DateSource.WRITTEN
    # The links that identify the event (tickets, pull requests, tags, meetings, pages).
    links: list[EventLink] = []
    timezone: str = "UTC"
    location: str | None = None
    url: str | None = None
    summary: str | None = None
    confidence: float = Field(0.5, ge=0, le=1)
    status: EventStatus = EventStatus.SCHEDULED

    @model_validator(mode="after")
    def _times_are_consistent(self) -> _EventFields:
        for name in ("start", "end"):
            value = getattr(self, name)
            if isinstance(value, datetime) and value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware")
        if self.end is not None and isinstance(self.start, datetime) != isinstance(
            self.end, datetime
        ):
            raise ValueError("start and end must both be datetimes or both be dates")
        if self.end is not None and self.end < self.start:
            raise ValueError("end is before start")
        return self

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)

    @property
    def start_date(self) -> date:
        """The calendar day the event starts on, in its own time zone."""
        return local_day(self.start, self.timezone)


def local_day(moment: datetime | date, timezone: str) -> date:
    """The calendar day of ``moment`` in ``timezone`` (a date is its own day)."""
    if isinstance(moment, datetime):
        return _local_day(moment, timezone)
    return moment


@lru_cache(maxsize=65536)
def _local_day(moment: datetime, timezone: str) -> date:
    # Deduplication asks for start days millions of times in a long backfill.
    return moment.astimezone(ZoneInfo(timezone)).date()


class SourceRef(_Record):
    channel_id: str
    ts: str


class EventDraft(_EventFields):
    """What an extractor found in one candidate message, before deduplication."""

    source: SourceRef
    # Set when the message is a thread reply: the event it changes lives on the parent.
    thread_ts: str | None = None


class EventChange(_Record):
    """One entry of an event's history: what it was before a change, and why."""

    changed_at: AwareDatetime
    status: EventStatus
    start: AwareDatetime | date
    end: AwareDatetime | date | None = None
    # Where that date came from (history stored before date sources were kept: written).
    date_source: DateSource = DateSource.WRITTEN
    source: SourceRef | None = None


class Event(_EventFields):
    """A deduplicated event with every message that announced or changed it."""

    event_id: str
    dedup_key: str
    sources: list[SourceRef] = []
    history: list[EventChange] = []
    # Bumped on every reschedule or cancellation (iCalendar SEQUENCE).
    sequence: int = 0
    first_seen_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None


class LLMCallStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"


class LLMCall(_Record):
    """One request to the model, keyed by the hash of everything that shaped it."""

    prompt_hash: str
    model: str
    prompt_version: str
    candidate_keys: list[SourceRef] = []
    request: dict[str, Any] = {}
    response_text: str | None = None
    status: LLMCallStatus
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: int = 0
    created_at: AwareDatetime


class Digest(_Record):
    """The digest of one day, in every rendering, and where it was posted."""

    day: date
    markdown: str
    slack_text: str
    slack_blocks: list[dict[str, Any]] = []
    event_count: int = 0
    content_hash: str
    channel_id: str | None = None
    posted_ts: str | None = None
    posted_at: AwareDatetime | None = None
    created_at: AwareDatetime
