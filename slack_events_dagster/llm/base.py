"""The extractor contract: candidates in, event drafts and per-candidate outcomes out.

Both extractors (rules and LLM) implement :class:`Extractor`; the pipeline does
not know which one it talks to.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from slack_events_dagster.domain.models import (
    CandidateStatus,
    EventCandidate,
    EventDraft,
    SlackMessage,
    SourceRef,
)


@dataclass(frozen=True)
class ExtractionInput:
    """One candidate with everything needed to read it as a person would."""

    candidate: EventCandidate
    message: SlackMessage
    channel_name: str
    # IANA zone in which relative dates ("next Tuesday at 3pm") are meant.
    timezone: str
    # For a reply: the thread's parent message (what "moved to Thursday" refers to).
    thread_parent: SlackMessage | None = None
    # User and channel ids -> names, so that "<@U123>" reads as a person's name.
    names: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> SourceRef:
        return SourceRef(channel_id=self.candidate.channel_id, ts=self.candidate.ts)


@dataclass(frozen=True)
class CandidateOutcome:
    """How extraction ended for one candidate."""

    status: CandidateStatus
    error: str | None = None
    raw_answer: str | None = None


@dataclass
class ExtractionResult:
    drafts: list[EventDraft] = field(default_factory=list)
    outcomes: dict[tuple[str, str], CandidateOutcome] = field(default_factory=dict)
    llm_calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    # True when the daily budget stopped calls; the deferred candidates are in outcomes.
    budget_reached: bool = False

    def merge(self, other: ExtractionResult) -> None:
        self.drafts.extend(other.drafts)
        self.outcomes.update(other.outcomes)
        self.llm_calls += other.llm_calls
        self.cache_hits += other.cache_hits
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cost_usd += other.cost_usd
        self.budget_reached = self.budget_reached or other.budget_reached


# One result per group of ExtractionGroups, in order (see Extractor.extract_groups).
ExtractionResults = Generator[ExtractionResult, None, None]


class Extractor(Protocol):
    """Turns candidates into event drafts. Never raises for a bad answer about one
    candidate: that candidate's outcome is ``failed`` with the reason."""

    name: str

    def extract(self, items: Sequence[ExtractionInput]) -> ExtractionResult: ...

    def extract_groups(self, groups: Sequence[Sequence[ExtractionInput]]) -> ExtractionResults:
        """Each group's result, in order, as if ``extract`` were called per group.

        A group's answer may not depend on the other groups (the LLM extractor batches
        and hashes prompts per group), but the work of all groups may overlap: the LLM
        extractor sends every group's calls to one pool under one budget, and yields a
        group's result once its calls and those of the groups before it are recorded,
        so the caller can merge group after group while later calls are in flight.
        Closing the generator early cancels calls not yet started.
        """
        ...
