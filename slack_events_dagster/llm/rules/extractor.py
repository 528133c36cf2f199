"""The rule extractor: events from candidates without a model, the embedded default.

For each candidate it reads the message (:mod:`.reading`) and decides:

* a question, a recap, someone's own plan ("I'll deploy tonight") or a message whose
  only text is code, quotes or logs gives no event;
* a written or relative date with an event word (or announcement phrasing with a
  time, or a meeting link) gives a dated event (``date_source`` written or relative);
* no date, but something of an event's kind happening now ("v0.7.2 released", "the
  CFP is open", "we're seeing an outage", "starting now") gives an event on the
  posting day (``date_source`` posted);
* a thread reply that moves or cancels ("moved to Thursday", "cancelled") changes
  the parent's event: the draft takes the parent's title and category and carries
  ``thread_ts`` so that deduplication applies it; "resolved" in an incident's thread
  ends the incident.

A message whose lines each name an event and a day of their own (an agenda, "Mon:
planning, Wed: demo day") gives one event per line. A release note naming several
components' versions gives one release whose title names them: they ship together,
from one announcement, and one calendar entry says so without tripling the digest.

Conventions of the drafts: timed events have ``start``/``end`` in UTC and
``timezone`` set to the zone the time was written in (an explicit zone such as
"PT", else the channel's); all-day events have dates, and a multi-day event's
``end`` is its last day (inclusive).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from slack_events_dagster.domain import lexicon as lx
from slack_events_dagster.domain.anchors import find_links
from slack_events_dagster.domain.dates import EXPLICIT, VAGUE, When, find_times, find_when
from slack_events_dagster.domain.models import (
    CandidateStatus,
    DateSource,
    EventCategory,
    EventDraft,
    EventLink,
    EventStatus,
    SourceRef,
)
from slack_events_dagster.domain.text import slack_links
from slack_events_dagster.llm.base import (
    CandidateOutcome,
    ExtractionInput,
    ExtractionResult,
    ExtractionResults,
)
from slack_events_dagster.llm.rules import names, titles
from slack_events_dagster.llm.rules import reading as rd
from slack_events_dagster.llm.rules.happening import in_question
from slack_events_dagster.llm.rules.reading import Reading

# What opens for people to take part (:data:`lexicon.OPENINGS` as written).
_OPENING = re.compile(
    r"\bcall\s+for\s+(?:papers|speakers|proposals|submissions|talks)\b"
    r"|\b(?:" + "|".join(sorted(lx.OPENINGS, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
_SLACK_FORMATTING = re.compile(r"(?<!\w)[*_~`]+|[*_~`]+(?!\w)")
_ENUMERATOR = re.compile(
    r"^\W*(?:first|second|third|fourth|finally|lastly|also|and)\W*[,:]\W*", re.IGNORECASE
)
# A past date this close to the posting day still dates a report ("released on Monday").
REPORT_GRACE_DAYS = 7


def _confidence(reading: Reading, when: When, candidate_score: float) -> float:
    confidence = 0.35
    if when.source is DateSource.POSTED:
        confidence += 0.15
    else:
        confidence += {"explicit": 0.25, "day": 0.2, "time": 0.1, "vague": 0.05}.get(when.kind, 0.0)
    if when.has_time:
        confidence += 0.1
    if when.explicit_zone:
        confidence += 0.05
    if reading.category is not None:
        confidence += 0.1 + min(0.05, 0.025 * reading.category_strength)
    if reading.announces:
        confidence += 0.05
    if reading.tentative:
        confidence -= 0.1
    confidence += 0.05 * candidate_score
    return round(min(0.95, max(0.05, confidence)), 3)


def _posted_when(reading: Reading, timezone: str) -> When:
    """An undated happening: all day on the posting day, in the channel's zone."""
    return When(
        start=reading.posted_day,
        end=None,
        timezone=timezone,
        kind="posted",
        source=DateSource.POSTED,
        has_time=False,
        explicit_zone=False,
        spans=(),
    )


def _summary(text: str) -> str | None:
    summary = re.sub(r"\s+", " ", _SLACK_FORMATTING.sub("", text)).strip()
    if not summary:
        return None
    return summary if len(summary) <= 280 else summary[:279].rstrip() + "…"


class RuleExtractor:
    """Reads event drafts with date rules and the lexicon's words; no model, no network."""

    name = "rules"

    def __init__(self, *, date_order: str = "month_first") -> None:
        self.date_order = "day_first" if date_order == "day_first" else "month_first"

    def extract(self, items: Sequence[ExtractionInput]) -> ExtractionResult:
        result = ExtractionResult()
        for item in items:
            key = (item.candidate.channel_id, item.candidate.ts)
            try:
                drafts = self.read_drafts(item)
            except Exception as exc:  # one unreadable message must not stop the batch
                result.outcomes[key] = CandidateOutcome(
                    CandidateStatus.FAILED, error=f"{type(exc).__name__}: {exc}"
                )
                continue
            result.drafts.extend(drafts)
            status = CandidateStatus.EXTRACTED if drafts else CandidateStatus.NO_EVENT
            result.outcomes[key] = CandidateOutcome(status)
        return result

    def extract_groups(self, groups: Sequence[Sequence[ExtractionInput]]) -> ExtractionResults:
        # Reading is pure and cheap: one group after the other, each when asked for.
        for items in groups:
            yield self.extract(items)

    def _read(self, item: ExtractionInput, message_is_parent: bool = False) -> Reading:
        message = item.thread_parent if message_is_parent else item.message
        assert message is not None
        return rd.read(
            message,
            item.timezone,
            names=item.names,
            order=self.date_order,  # type: ignore[arg-type]
            raw_links=slack_links(message.text),
        )

    def read_drafts(self, item: ExtractionInput) -> list[EventDraft]:
        """The drafts of one candidate (empty when it announces no event)."""
        message = item.message
        reading = self._read(item)
        thread_ts = message.thread_ts if message.is_reply else None
        source = SourceRef(channel_id=message.channel_id, ts=message.ts)
        parent = None
        if thread_ts is not None and item.thread_parent is not None:
            parent = self._read(item, message_is_parent=True)
        links = find_links(message.text)
        if parent is not None and (reading.cancelled or reading.rescheduled):
            draft = self._change_draft(reading, parent, item, source, thread_ts)
            return [draft] if draft is not None else []
        if parent is not None and parent.category is EventCategory.INCIDENT:
            resolution = self._resolution_draft(reading, parent, item, source, thread_ts)
            if resolution is not None:
                return [resolution]
        # A status page's incident link alone has no prose, and is an incident all the same.
        status_link = reading.now and reading.category is EventCategory.INCIDENT
        if reading.question or reading.past or reading.personal or reading.hypothetical:
            return []
        if reading.prose.empty and not status_link:
            return []
        if (
            parent is not None
            and not _announced(parent)
            and reading.head is None
            and not (
                _answers_incident(reading)
                and (_asks_about_an_incident(parent) or rd.status_linked(reading))
            )
        ):
            # "all clear: dashboards are fast again" under a message that announced no
            # event: nothing to report on its own, unless it answers a question about an
            # incident ("Is HubSpot down?" - "Normal service has resumed!") or links the
            # status page's incident (which says there is one, whatever the parent said).
            return []
        segments = self._segments(reading, item)
        if segments:
            return [
                self._draft(segment, when, item, source, thread_ts, parent, links)
                for segment, when in segments
            ]
        when = self._when(reading, item.timezone)
        if when is None or not self._announces_something(reading, when, thread_ts):
            return []
        draft = self._draft(reading, when, item, source, thread_ts, parent, links)
        opening = self._opening_now(reading, when, draft, item)
        if opening is not None:
            return [draft, opening]
        released = self._released_now(reading, when, draft, item)
        if released is not None:
            return [draft, released]
        if _nameless(draft.title):
            named = names.with_channel(draft.title, item.channel_name)
            if named is not None:
                # "BETA" in #local-development: the channel is named after the thing.
                draft = draft.model_copy(update={"title": titles.finish(named)})
        if when.source is DateSource.POSTED and _nameless(draft.title):
            # "they have to finish some items that are in beta" ("Beta"), "yeah looks
            # like it's back up": with neither a date nor a name, nothing says which
            # event this is.
            return []
        if (
            when.source is DateSource.RELATIVE
            and not when.has_time
            and names.is_generic(draft.title)
            and len(draft.title.split()) == 1
            and reading.meeting_url is None
            and thread_ts is None
            and not _headline(reading)
        ):
            # "they are fixing to launch today" ("Launch"): a bare kind on a day said
            # in passing (not as the message's headline, "Release tomorrow"), without a
            # time, a meeting link or a thread to name it.
            return []
        return [draft]

    def _when(self, reading: Reading, timezone: str) -> When | None:
        """The event's date: the written one, else the posting day for a happening now."""
        when = reading.when
        if when is not None and when.source is not DateSource.POSTED:
            over = when.day < reading.posted_day
            report = reading.now and when.day >= reading.posted_day - timedelta(
                days=REPORT_GRACE_DAYS
            )
            if over and not report:
                # A date that is over dates nothing new ("the outage on Oct 3 ...").
                when = None
        if when is None and reading.now and reading.category in rd.NOW_CATEGORIES:
            return _posted_when(reading, timezone)
        return when

    @staticmethod
    def _announces_something(reading: Reading, when: When, thread_ts: str | None) -> bool:
        if when.source is DateSource.POSTED:
            return True
        # Announcement phrasing alone ("reminder: read the doc before Thursday") is not
        # enough; with a time of day it is ("join us Thursday at 4pm").
        announces = (
            reading.category is not None
            or (reading.announces and when.has_time)
            or reading.meeting_url is not None
            # An event page whose address names the event ("<https://events.example.com/
            # events/details/acme-presents-graphql-night/>"); a bare number names nothing.
            or rd.slug_title(reading.url) is not None
            or reading.cancelled
            or reading.rescheduled
        )
        if thread_ts is not None and not (reading.announces or when.has_time or reading.now):
            # A dated aside in a thread ("booking flights today") neither repeats nor
            # changes the event; only a reply that announces or gives a time does.
            return False
        if when.kind == VAGUE and reading.category is None:
            return False
        return announces

    def _segments(self, reading: Reading, item: ExtractionInput) -> list[tuple[Reading, When]]:
        """One reading per line when several lines each name an event and their own day."""
        lines = [line for line in reading.prose.text.split("\n") if line.strip()]
        if len(lines) < 2:
            return []
        found: list[tuple[Reading, When]] = []
        for line in lines:
            line_reading = rd.read(
                item.message.model_copy(update={"text": line}),
                item.timezone,
                names=item.names,
                order=self.date_order,  # type: ignore[arg-type]
            )
            when = line_reading.when
            if (
                when is not None
                and when.kind == EXPLICIT
                and line_reading.category is not None
                and when.day >= reading.posted_day
            ):
                found.append((line_reading, when))
        days = {when.day for _, when in found}
        return found if len(found) >= 2 and len(days) >= 2 else []

    def _draft(
        self,
        reading: Reading,
        when: When,
        item: ExtractionInput,
        source: SourceRef,
        thread_ts: str | None,
        parent: Reading | None,
        links: list[EventLink],
    ) -> EventDraft:
        title, category = reading.title, reading.category
        host = None
        if category is EventCategory.INCIDENT and reading.url is not None:
            host = titles.status_page_title(reading.url)
        trouble = None
        if category is EventCategory.INCIDENT and parent is not None:
            trouble = names.issue_title(reading.text)
        if trouble is not None:
            # "We've addressed the issue that's caused content and email editing tools to be
            # unavailable" under "seeing issues when loading DM, anyone else?": the reply
            # names what is in trouble, better than the question or the thread's opening.
            title = titles.finish(trouble)
        elif parent is not None and _asks_about_an_incident(parent) and _answers_incident(reading):
            # The answer to "Is HubSpot down?": the question names what was down, better
            # than a status page's host ("HubSpot incident" for "downtime on CRM card
            # requests?").
            by_host = reading.url is not None and title == titles.status_page_title(reading.url)
            title = parent.title if reading.head is None or by_host else title
        elif (
            parent is not None
            and _announced(parent)
            and (
                reading.category is None
                or reading.head is None
                or reading.category == parent.category
            )
        ):
            # "Reminder: this is tomorrow!", "Done, out of read-only as of 1:55am" in a
            # thread: the parent names the event.
            title, category = parent.title, parent.category
        elif (
            parent is not None
            and _nameless(title)
            and not _nameless(parent.title)
            and not (host is not None and parent.category is not EventCategory.INCIDENT)
        ):
            # "The recording is now available!" under "Developer Day 2020 ...": the parent
            # names the thing; a generic title keeps its kind ("... recording").
            kind = title.lower() if names.is_generic(title) else ""
            title = (
                f"{parent.title} {kind}".strip()
                if kind not in parent.title.lower()
                else parent.title
            )
        if host is not None and _nameless(title):
            # "Status page has been updated <https://status.HubSpot.com/>" under "But
            # don't worry, All Systems are Operational": whose status page it is names
            # the incident.
            title = host
        status = EventStatus.SCHEDULED
        if reading.cancelled:
            status = EventStatus.CANCELLED
        elif reading.rescheduled:
            status = EventStatus.RESCHEDULED
        elif reading.tentative:
            status = EventStatus.TENTATIVE
        return EventDraft(
            title=title or "Event",
            category=category or EventCategory.OTHER,
            start=when.start,
            end=when.end,
            timezone=when.timezone,
            date_source=when.source,
            location=reading.location,
            url=reading.url,
            links=links,
            summary=_summary(reading.text),
            confidence=_confidence(reading, when, item.candidate.score),
            status=status,
            source=source,
            thread_ts=thread_ts,
        )

    def _opening_now(
        self,
        reading: Reading,
        when: When,
        dated: EventDraft,
        item: ExtractionInput,
    ) -> EventDraft | None:
        """A second event in a message that dates one ahead: what opens as it is posted
        ("Developer Day 2017 will be on September 29 ... Registration is now open": the
        registration opens today, the conference is in September; "we're opening a Call
        for Speakers ... submissions are due by August 1")."""
        if when.source is DateSource.POSTED or when.day <= reading.posted_day:
            return None
        if _nameless(dated.title):
            return None
        text, lower = reading.prose.text, reading.prose.lower
        for match in _OPENING.finditer(text):
            start, sentence = rd.sentence_around(text, match.start())
            if any(start <= begin < start + len(sentence) for begin, _ in when.spans):
                continue  # "registration opens on March 3": the dated event itself
            tokens = lx.words(sentence.lower())
            opens = lx.NOW_BY_CATEGORY[EventCategory.LAUNCH]
            if not opens.any_in(tokens, frozenset(tokens)) or in_question(lower, match.start()):
                continue
            kind = re.sub(r"\s+", " ", match.group(0).lower())
            title = dated.title if kind in dated.title.lower() else f"{dated.title} {kind}"
            posted = _posted_when(reading, item.timezone)
            # The dated event's message, links and source; its own kind, day and title.
            return dated.model_copy(
                update={
                    "title": titles.finish(title),
                    "category": EventCategory.LAUNCH,
                    "start": posted.start,
                    "end": None,
                    "timezone": posted.timezone,
                    "date_source": DateSource.POSTED,
                    "location": None,
                    "confidence": _confidence(reading, posted, item.candidate.score),
                    "status": EventStatus.SCHEDULED,
                }
            )
        return None

    def _released_now(
        self, reading: Reading, when: When, dated: EventDraft, item: ExtractionInput
    ) -> EventDraft | None:
        """A second event in a message that dates one ahead: what its other sentence says
        is released or launched as it is posted ("the CMS Boilerplate is now out of beta
        ... theme submissions open March 10"; "we're excited to officially kick off the
        Mobile Chat SDK Beta! ... office hours on July 8")."""
        if reading.now_at is None or when.source is DateSource.POSTED:
            return None
        if when.day <= reading.posted_day:
            return None
        start, sentence = rd.sentence_around(reading.prose.text, reading.now_at)
        if any(start <= begin < start + len(sentence) for begin, _ in when.mentions):
            return None  # "the beta is live until March 10": the dated event itself
        sentence = _ENUMERATOR.sub("", sentence)  # "*First*, the CMS Boilerplate is ..."
        said = rd.read(
            item.message.model_copy(update={"text": sentence}),
            item.timezone,
            names=item.names,
            order=self.date_order,  # type: ignore[arg-type]
        )
        if (
            not said.now
            or said.when is not None
            or said.category is not EventCategory.LAUNCH
            or said.question
            or said.past
            or said.hypothetical
            or said.personal
            or _nameless(said.title)
            or said.title.lower() == dated.title.lower()
        ):
            return None
        posted = _posted_when(said, item.timezone)
        return dated.model_copy(
            update={
                "title": said.title,
                "category": said.category,
                "start": posted.start,
                "end": None,
                "timezone": posted.timezone,
                "date_source": DateSource.POSTED,
                "location": None,
                "confidence": _confidence(said, posted, item.candidate.score),
                "status": EventStatus.SCHEDULED,
            }
        )

    def _resolution_draft(
        self,
        reading: Reading,
        parent: Reading,
        item: ExtractionInput,
        source: SourceRef,
        thread_ts: str | None,
    ) -> EventDraft | None:
        """ "Resolved at 11:35 ET" in an incident's thread: the incident's end, the first
        time the reply writes, on the incident's day (the next one if it is earlier)."""
        start = parent.when.start if parent.when is not None else None
        times = find_times(reading.lower)
        if not isinstance(start, datetime) or not times or not rd.resolved(reading):
            return None
        zone = ZoneInfo(times[0].zone or item.timezone)
        day = start.astimezone(zone).date()
        end = datetime.combine(day, times[0].start, tzinfo=zone).astimezone(start.tzinfo)
        if end < start:
            end += timedelta(days=1)  # resolved after midnight
        if end - start > timedelta(days=3):
            return None
        assert parent.when is not None
        return EventDraft(
            title=parent.title,
            category=EventCategory.INCIDENT,
            start=start,
            end=end,
            timezone=parent.when.timezone,
            date_source=parent.when.source,
            location=parent.location,
            url=parent.url,
            summary=_summary(reading.text),
            confidence=_confidence(parent, parent.when, item.candidate.score),
            status=EventStatus.SCHEDULED,
            source=source,
            thread_ts=thread_ts,
        )

    def _change_draft(
        self,
        reading: Reading,
        parent: Reading,
        item: ExtractionInput,
        source: SourceRef,
        thread_ts: str | None,
    ) -> EventDraft | None:
        """A reply that cancels or moves the parent's event."""
        if parent.when is None:
            return None
        when = parent.when
        status = EventStatus.CANCELLED if reading.cancelled else EventStatus.RESCHEDULED
        if status is EventStatus.RESCHEDULED:
            new = reading.when
            if reading.shift_days is not None and (new is None or new.kind == VAGUE):
                # "pushed to next week" / "moved by two days": relative to the announced day.
                when = replace(
                    when,
                    start=when.start + timedelta(days=reading.shift_days),
                    end=None if when.end is None else when.end + timedelta(days=reading.shift_days),
                )
            elif new is not None and new.kind != "time":
                if not new.has_time and parent.when.has_time:
                    # "moved to Thursday": same time of day as announced, on the new day.
                    new = _keep_time_of_day(new, parent.when)
                when = new
            elif new is not None and new.kind == "time":
                when = _with_time_of(parent.when, new)
            else:
                # "postponed" without a new date: no longer sure it happens as announced.
                status = EventStatus.TENTATIVE
        return EventDraft(
            title=parent.title,
            category=parent.category or reading.category or EventCategory.OTHER,
            start=when.start,
            end=when.end,
            timezone=when.timezone,
            date_source=when.source,
            location=reading.location or parent.location,
            url=reading.url or parent.url,
            links=find_links(item.message.text),
            summary=_summary(reading.text),
            confidence=_confidence(parent, when, item.candidate.score),
            status=status,
            source=source,
            thread_ts=thread_ts,
        )


def _announced(reading: Reading) -> bool:
    """The message announced an event: a date, or something of an event's kind
    happening as it was posted."""
    return reading.when is not None or (reading.now and reading.category in rd.NOW_CATEGORIES)


def _reports_incident(reading: Reading) -> bool:
    return reading.now and reading.category is EventCategory.INCIDENT


def _headline(reading: Reading) -> bool:
    """The event word opens the message ("Release tomorrow", "Offsite next week")."""
    return reading.head is not None and reading.head.begin <= 2


def _nameless(title: str) -> bool:
    return names.is_generic(title) or names.is_clause(title) or names.is_addressee(title)


def _answers_incident(reading: Reading) -> bool:
    """A reply that settles a question about an incident: it is resolved ("Normal
    service has resumed") or has a status page, not one more user seeing it ("Over here
    it's not loading")."""
    return _reports_incident(reading) and (rd.resolved(reading) or rd.status_linked(reading))


def _asks_about_an_incident(reading: Reading) -> bool:
    """ "Is HubSpot down?", "anyone else seeing errors on the API?"."""
    if not reading.question:
        return False
    return not lx.TROUBLE_WORDS.isdisjoint(reading.prose.token_set)


def _keep_time_of_day(new: When, old: When) -> When:
    """The new day at the old wall-clock time (in the old event's zone)."""
    assert isinstance(old.start, datetime)
    zone = ZoneInfo(old.timezone)
    new_day = new.start if not isinstance(new.start, datetime) else new.start.date()
    local_start = old.start.astimezone(zone)
    start = datetime.combine(new_day, local_start.timetz().replace(tzinfo=None), tzinfo=zone)
    end = None
    if isinstance(old.end, datetime):
        end = start + (old.end - old.start)
    return replace(
        new, start=start.astimezone(old.start.tzinfo), end=end, timezone=old.timezone, has_time=True
    )


def _with_time_of(old: When, new: When) -> When:
    """The old day at the new time ("moved to 4pm")."""
    assert isinstance(new.start, datetime)
    zone_name = new.timezone if new.explicit_zone else old.timezone
    zone = ZoneInfo(zone_name)
    old_day = old.start.astimezone(zone).date() if isinstance(old.start, datetime) else old.start
    # The new wall-clock time as written; without its own zone it means the old event's zone.
    new_local = new.start.astimezone(ZoneInfo(new.timezone))
    start = datetime.combine(old_day, new_local.time(), tzinfo=zone).astimezone(new.start.tzinfo)
    end = None
    if isinstance(new.end, datetime):
        end = start + (new.end - new.start)
    return replace(new, start=start, end=end, timezone=zone_name)


__all__ = ["RuleExtractor", "find_when"]
