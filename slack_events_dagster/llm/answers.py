"""A model's answer to event drafts: each event of a candidate's answer checked on its own.

An event whose dates cannot be (or that claims the posting day but names another) is
rejected with its reason, the message's other events stay; a candidate fails only when
none of its events is usable. The links an event keeps are those the model named *and*
that :func:`~slack_events_dagster.domain.anchors.find_links` finds in the message
(:func:`message_links`): a model can select a message's links, never add one. Text is
cleaned and URLs checked by :mod:`~slack_events_dagster.domain.safety`.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from slack_events_dagster.domain.anchors import find_links
from slack_events_dagster.domain.models import (
    CandidateStatus,
    DateSource,
    EventDraft,
    EventLink,
    SourceRef,
)
from slack_events_dagster.domain.safety import clean_text, safe_url
from slack_events_dagster.llm.base import CandidateOutcome, ExtractionInput, ExtractionResult
from slack_events_dagster.llm.prompt import (
    AnswerEvent,
    CandidateAnswer,
    ParsedAnswer,
    truncate_raw_answer,
)
from slack_events_dagster.llm.quoting import source_text, zone_or_utc

# Dates further from the message than this are treated as hallucinated.
_PLAUSIBLE_PAST = timedelta(days=366)
_PLAUSIBLE_FUTURE = timedelta(days=5 * 366)


def _parse_moment(value: str, zone: ZoneInfo, *, name: str) -> datetime | date:
    text = value.strip()
    if len(text) == 10:
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"{name} {value!r} is not a date: {exc}") from None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{name} {value!r} is not a date-time: {exc}") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=zone)
    return moment.astimezone(zone)


def message_links(item: ExtractionInput) -> list[EventLink]:
    """The anchors of a candidate's message: the one place the LLM path asks for them."""
    return find_links(source_text(item))


def _link_form(text: str) -> str:
    """A link as written, reduced to what tells two spellings of it apart.

    The model may copy a Slack span whole (``<https://x|label>``), keep the ``&amp;``
    of Slack's escaping, add or drop a trailing slash, or change the case of a key.
    """
    text = html.unescape(text.strip())
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].partition("|")[0]
    return text.strip().rstrip("/").casefold()


def select_links(named: Sequence[str], found: Sequence[EventLink]) -> list[EventLink]:
    """The links of ``found`` (the message's) whose URL or key is among ``named``
    (the model's), in the message's order: whatever else the model named is dropped."""
    wanted = {_link_form(text) for text in named} - {""}
    if not wanted:
        return []
    return [
        link
        for link in found
        if _link_form(link.key) in wanted
        or (link.url is not None and _link_form(link.url) in wanted)
    ]


@dataclass
class AnswerReading:
    """The drafts of one candidate's answer, and why each unusable event was rejected."""

    drafts: list[EventDraft] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def read_answer(answer: CandidateAnswer, item: ExtractionInput) -> AnswerReading:
    """Each event of one candidate's answer as a draft, or rejected with its reason."""
    reading = AnswerReading()
    posted_at = item.message.posted_at
    found: list[EventLink] | None = None
    for index, event in enumerate(answer.events):
        if event.links and found is None:
            found = message_links(item)
        try:
            reading.drafts.append(_draft(event, item, posted_at, found or []))
        except ValidationError as exc:
            reason = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'event'}: {e['msg']}" for e in exc.errors()[:3]
            )
            reading.rejected.append(f"event {index} ({event.title[:60]!r}): {reason}")
        except ValueError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            reading.rejected.append(f"event {index} ({event.title[:60]!r}): {reason}")
    return reading


def drafts_from_answer(answer: CandidateAnswer, item: ExtractionInput) -> list[EventDraft]:
    """Event drafts for one candidate's answer; ``ValueError`` names the first bad event."""
    reading = read_answer(answer, item)
    if reading.rejected:
        raise ValueError(reading.rejected[0])
    return reading.drafts


def _draft(
    event: AnswerEvent, item: ExtractionInput, posted_at: datetime, found: Sequence[EventLink]
) -> EventDraft:
    zone_name = event.timezone.strip() if event.timezone else item.timezone
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"timezone {zone_name!r} is not an IANA time zone") from None
    start = _parse_moment(event.start, zone, name="start")
    end = _parse_moment(event.end, zone, name="end") if event.end else None
    if event.all_day and isinstance(start, datetime):
        raise ValueError(f"all_day is true but start {event.start!r} has a time of day")
    start_day = start.date() if isinstance(start, datetime) else start
    if event.date_source is DateSource.POSTED:
        # No date in the message: the event is on the day it was posted, where it was
        # posted, all day. A model that says so but names another day contradicts itself.
        posted_day = posted_at.astimezone(zone_or_utc(item.timezone)).date()
        if start_day != posted_day:
            raise ValueError(
                f"date_source is 'posted' (no date in the message) but start {event.start!r} "
                f"is not the posting day {posted_day.isoformat()}"
            )
        start, end, zone_name = posted_day, None, item.timezone
    posted_day = posted_at.astimezone(zone).date()
    if not posted_day - _PLAUSIBLE_PAST <= start_day <= posted_day + _PLAUSIBLE_FUTURE:
        raise ValueError(
            f"start {event.start!r} is implausibly far from the message date {posted_day}"
        )
    title = clean_text(event.title)
    if not title:
        raise ValueError("title is blank")
    thread_ts = item.message.thread_ts if item.message.is_reply else None
    # EventDraft checks the rest (aware datetimes, end not before start, kinds match).
    return EventDraft(
        title=title,
        category=event.category,
        start=start,
        end=end,
        date_source=event.date_source,
        links=select_links(event.links, found),
        timezone=zone_name,
        location=clean_text(event.location) or None,
        url=safe_url(event.url, percent_encode=False),
        summary=clean_text(event.summary, single_line=False) or None,
        confidence=event.confidence,
        status=event.status,
        source=SourceRef(channel_id=item.candidate.channel_id, ts=item.candidate.ts),
        thread_ts=thread_ts,
    )


def apply_answer(
    ids: Sequence[str],
    items: Sequence[ExtractionInput],
    parsed: ParsedAnswer,
    text: str | None,
    result: ExtractionResult,
    redact: Callable[[str], str],
) -> None:
    """Turn a parsed answer into drafts and one outcome per candidate of a batch (``ids``
    and ``items`` in the same order); every error text stored passes through ``redact``."""
    for cid, item in zip(ids, items, strict=True):
        key = (item.candidate.channel_id, item.candidate.ts)
        raw = parsed.raw_entries.get(cid, text)
        if cid in parsed.errors:
            result.outcomes[key] = CandidateOutcome(
                status=CandidateStatus.FAILED,
                error=redact(parsed.errors[cid]),
                raw_answer=truncate_raw_answer(raw),
            )
            continue
        reading = read_answer(parsed.answers[cid], item)
        if reading.rejected and not reading.drafts:
            result.outcomes[key] = CandidateOutcome(
                status=CandidateStatus.FAILED,
                error=redact(
                    f"unusable event in the model's answer: {'; '.join(reading.rejected)}"
                ),
                raw_answer=truncate_raw_answer(raw),
            )
            continue
        result.drafts.extend(reading.drafts)
        if reading.rejected:
            # The message's other events stand; the rejected ones are on record.
            result.outcomes[key] = CandidateOutcome(
                status=CandidateStatus.EXTRACTED,
                error=redact(
                    f"{len(reading.rejected)} of {len(parsed.answers[cid].events)} events "
                    f"rejected: {'; '.join(reading.rejected)}"
                ),
                raw_answer=truncate_raw_answer(raw),
            )
            continue
        result.outcomes[key] = CandidateOutcome(
            status=CandidateStatus.EXTRACTED if reading.drafts else CandidateStatus.NO_EVENT
        )
