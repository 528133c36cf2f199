"""What the rule extractor reads from one message, before it decides on drafts.

A :class:`Reading` holds the message's prose (no code, quotes or logs), the words of
the lexicon it contains (event kinds, things happening now, announcement and change
phrasing), its date and time (:func:`~slack_events_dagster.domain.dates.find_when`,
chosen near the event word) and a title. The candidate scorer reads the same prose
with the same words (:mod:`~slack_events_dagster.domain.candidates`), so what one
knows the other knows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from slack_events_dagster.domain import candidates as signals
from slack_events_dagster.domain import lexicon as lx
from slack_events_dagster.domain.dates import DateOrder, When, find_when, has_past_day
from slack_events_dagster.domain.models import DateSource, EventCategory, SlackMessage
from slack_events_dagster.domain.prose import Prose, read_prose
from slack_events_dagster.domain.text import Guarded
from slack_events_dagster.llm.rules import clauses, names, titles
from slack_events_dagster.llm.rules.happening import (
    INTRODUCED,
    NEXT_ONE,
    ORGANIZERS,
    STARTING,
    Head,
    cancels,
    incident_phrase,
    introduced,
    judged,
    named_today,
    releases_now,
    replayed,
    reports_now,
    sentence_around,
    supposed,
    tagged_now,
    versions,
)
from slack_events_dagster.llm.rules.labels import Label, label_spans, naming_label
from slack_events_dagster.llm.rules.speaker import asks_for_help, is_personal, job_post

_WORD = re.compile(r"[a-z]+")
_CONFERENCE_NAME = re.compile(r"\b[A-Z][A-Za-z]*[a-zA-Z](?:Con|Conf)\b")
_LOCATION = re.compile(
    r"(?:\b(?:location|where|venue|place|room)\s*[:\-]\s*|📍\s*)"
    r"(?P<loc>[^\n.;()]{2,60})"
    r"|\b(?:in|at)\s+(?P<room>(?:the\s+)?(?:(?:[A-Z][\w'&-]*|\d+\w*)\s+){0,3}"
    r"(?:office|HQ|room|Room|hall|Hall|auditorium|Auditorium|kitchen|cafeteria|lounge|Lounge"
    r"|building|Building|floor|campus|Campus|center|Center|centre|Centre|rooftop)"
    r"(?:\s+[A-Z0-9][\w-]*)?)\b"
    r"|\b(?P<numbered>(?:[Rr]oom|[Cc]onf(?:erence)?\s+[Rr]oom|[Bb]uilding|[Ff]loor)\s+"
    r"(?=[\w-]*\d)[\w-]+)"
)
_TENTATIVE = Guarded(
    r"\btentative(?:ly)?\b|\btbc\b|\btbd\b|\bto\s+be\s+confirmed\b|\bpencil(?:l)?ed\s+in\b"
    r"|\bprovisional(?:ly)?\b|\bsubject\s+to\s+change\b",
    ("tentative", "tbc", "tbd", "confirmed", "pencil", "provisional", "change"),
)
_CHANGE = Guarded(
    r"\b(?:mov(?:e|ed|ing)|bump(?:ed|ing)?|shift(?:ed|ing)?|push(?:ed|ing)?|slip(?:s|ped|ping)?)"
    r"(?:\s+(?!to\b|by\b|from\b)[\w.-]+){0,3}?\s+(?:back\s+|out\s+)?"
    r"(?:to|by|until|till|from|a\s+(?:day|week)|one\s+(?:day|week)|\d+\s*(?:min|mins|minutes"
    r"|hours?|h)\b)\b"
    r"|\bnow\s+(?:looking\s+like|set\s+for|planned\s+for|scheduled\s+for|targeted\s+for)\b"
    r"|\bpostpon(?:ed|ing)\b|\bre-?schedul(?:ed|ing)\b|\bdelayed\b|\bnew\s+(?:date|time)\b"
    r"|\bnow\s+(?:on|at|happening)\b|\binstead\b|延期",
    tuple("mov bump shift push slip now postpon schedul delayed new instead 延期".split()),
)
_CHANGE_TARGET = re.compile(r"\b(?:to|until|till)\b|->|\u2192|に")
_RESCHEDULE_WORD = Guarded(
    r"\bpostpon(?:ed|ing)\b|\bre-?schedul(?:ed|ing)\b|\bdelayed\b|\bnew\s+(?:date|time)\b|延期",
    ("postpon", "schedul", "delayed", "new", "延期"),
)
_SHIFT = Guarded(
    r"\b(?:pushed|pushing|moved|moving|bumped|shifted|delayed|postponed|slipped)\s+"
    r"(?:back\s+|out\s+)?(?:by\s+)?(?P<n>a|an|one|two|three|\d)\s+(?P<unit>days?|weeks?)\b"
    r"|\b(?P<next>(?:to|until|till)\s+next\s+week)\b"
    r"|\b(?P<n2>a|one|two|\d)\s+(?P<unit2>days?|weeks?)\s+later\b",
    ("day", "week"),
)
_RESOLVED = Guarded(
    r"\bresolved\b|\bmitigated\b|\ball\s+clear\b|\bback\s+to\s+normal\b|\brecovered\b"
    r"|\bback\s+(?:up|online)\b|\bfixed\b|\brestored\b|\bresumed\b|\baddressed\b",
    (
        "resolved",
        "mitigated",
        "clear",
        "back",
        "recovered",
        "fixed",
        "restored",
        "resumed",
        "addressed",
    ),
)
_MEETING_HOSTS = re.compile(
    r"zoom\.us/|meet\.google\.com/|teams\.microsoft\.com/|teams\.live\.com/|webex\.com/"
    r"|whereby\.com/|youtube\.com/live/"
)
_CALENDAR_LINK = re.compile(
    r"calendar\.google\.com/|outlook\.(?:office|live)\.com/|\.ics\b|^webcal://|"
    + signals.EVENT_PAGE_HOSTS,
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?。！])\s+|\n+")
_RELEASE = EventCategory.RELEASE
_AHEAD = frozenset({"will", "tomorrow", "next"})
# Categories whose happening is dated by the posting time when nothing else dates it.
NOW_CATEGORIES = frozenset(
    {
        EventCategory.RELEASE,
        EventCategory.LAUNCH,
        EventCategory.INCIDENT,
        EventCategory.ANNOUNCEMENT,
        EventCategory.MEETING,
        EventCategory.CONFERENCE,
        EventCategory.MAINTENANCE,
    }
)


@dataclass(frozen=True)
class Reading:
    prose: Prose
    posted: datetime
    when: When | None
    category: EventCategory | None
    head: Head | None
    category_strength: int
    now: bool
    # Where the phrase saying it happens now stands ("has been resolved"), if any.
    now_at: int | None
    announces: bool
    meeting_url: str | None
    # The event's link: the meeting, else a calendar or event page, else the first link.
    url: str | None
    question: bool
    past: bool
    # "if you launch something say 1pm", "Example: new homepage just launched": the event
    # word sits in a supposition or an example, not a report.
    hypothetical: bool
    personal: bool
    cancelled: bool
    rescheduled: bool
    tentative: bool
    shift_days: int | None
    version: bool
    location: str | None
    title: str
    # Every event word of the prose (``head`` is the main one).
    heads: tuple[Head, ...] = ()
    # Where the links' labels stand in the prose.
    labels: tuple[Label, ...] = ()

    @property
    def text(self) -> str:
        return self.prose.text

    @property
    def lower(self) -> str:
        return self.prose.lower

    @property
    def posted_day(self) -> date:
        return self.posted.date()


def _heads(prose: Prose) -> list[Head]:
    """Every event word of the prose with its position and category, in text order."""
    present = {category for _, category in prose.hits.events}
    offsets = [match.start() for match in _WORD.finditer(prose.masked)] if present else []
    heads: list[Head] = []
    for spec in lx.CATEGORIES:
        if spec.category not in present:
            continue
        for start, end in lx.event_positions(prose.tokens, spec.words, prose.hits.not_event):
            begin = offsets[start]
            finish = offsets[end - 1] + len(prose.tokens[end - 1])
            if (begin and prose.lower[begin - 1].isalnum()) or (
                finish < len(prose.lower) and prose.lower[finish].isalpha()
            ):
                continue  # inside a longer word: "PartnerDay18Contest" (but "SEV3" counts)
            heads.append(Head(begin, prose.lower[begin:finish], spec.category))
    # A conference named the way they are: "KubeCon", "PyCon", "RubyConf", "JSConf".
    if "Con" in prose.text:
        for match in _CONFERENCE_NAME.finditer(prose.text):
            begin = match.start()
            heads.append(Head(begin, prose.lower[begin : match.end()], EventCategory.CONFERENCE))
    # A version number names a release ("*Lumen 4.13* target: Tuesday").
    for match in versions(prose) if releases_now(prose) else ():
        heads.append(Head(match.start(), prose.lower[match.start() : match.end()], _RELEASE))
    if lx.has_cjk(prose.lower):
        for word, category in lx.JA_EVENT_WORDS:
            position = prose.lower.find(word)
            if position >= 0:
                heads.append(Head(position, word, category))
    heads.sort(key=lambda head: (head.begin, -len(head.text)))
    # A phrase ("lightning talk") wins over the word inside it ("talk").
    kept: list[Head] = []
    for head in heads:
        if kept and head.begin < kept[-1].begin + len(kept[-1].text):
            continue
        kept.append(head)
    return kept


def _main_head(heads: list[Head], text: str) -> tuple[Head | None, int]:
    """The category whose words weigh most wins; on a tie the earlier mention (the
    subject). A deadline word weighs two ("training due Friday" is a deadline), a word
    written as a name ("Developer Day", "AMA") one more. Within the category, a named
    word beats a common one ("Developer Day ... Registration is now open")."""
    if not heads:
        return None, 0
    # The first sentence that names an event ("Hi all! We're excited to announce that our
    # modules are now live ... submit them today!": the launch, not the invitation), not
    # one that only points at it ("we want YOU to speak at Extend()!").
    naming = [head for head in heads if not _pointer(head)] or heads
    first_end = _sentence_end_after(text, min(head.begin for head in naming))
    stated = [head for head in heads if head.begin < first_end]
    counts: dict[EventCategory, int] = {}
    for head in stated:
        weight = lx.CATEGORY[head.category].weight + _named(head, text)
        counts[head.category] = counts.get(head.category, 0) + weight
    best = max(counts, key=lambda c: (counts[c], -min(h.begin for h in heads if h.category == c)))
    ours = [head for head in stated if head.category is best]
    return max(ours, key=lambda h: (not _pointer(h), _named(h, text), -h.begin)), counts[best]


def _category_at_date(heads: list[Head], text: str, when: When | None) -> EventCategory | None:
    """The category of the event words in the sentence that holds the chosen date."""
    # Only event words a few words from the date: "due by Friday", "deadline is tomorrow".
    inside = _heads_at_date(heads, text, when)
    if not inside:
        return None
    weights: dict[EventCategory, int] = {}
    for head in inside:
        weights[head.category] = weights.get(head.category, 0) + lx.CATEGORY[head.category].weight
    return max(
        weights, key=lambda c: (weights[c], -min(h.begin for h in inside if h.category == c))
    )


# Words that invite as often as they set a deadline: "submit them today!" invites,
# "submit your talk by Sept 18" sets one (a due word before the date).
_INVITING = frozenset({"submit"})
_DUE = re.compile(r"\b(?:by|before|until|till|due|close[sd]?|closing|ends?|deadline|later than)\b")


def _deadline_noun_at(heads: list[Head], text: str, when: When | None) -> Head | None:
    """A deadline word that names a thing ("Theme submissions", "code freeze") in the
    sentence of the date, the nearest to it; None for predicates ("due", "closes")."""
    nouns = [
        head
        for head in _heads_at_date(heads, text, when)
        if head.category is EventCategory.DEADLINE and head.text not in _DEADLINE_PREDICATES
    ]
    if when is None or not nouns:
        return None
    date_begin = when.spans[0][0]
    return min(nouns, key=lambda h: abs(h.begin - date_begin))


def _heads_at_date(heads: list[Head], text: str, when: When | None) -> list[Head]:
    """The event words in the chosen date's sentence, a few words from it; an inviting
    word ("submit") only with a due word before the date."""
    if when is None or not when.spans:
        return []
    date_begin = when.spans[0][0]
    start, sentence = sentence_around(text, date_begin)
    return [
        head
        for head in heads
        if start <= head.begin < start + len(sentence)
        and abs(head.begin - date_begin) <= 25
        and (head.text not in _INVITING or _DUE.search(text, start, date_begin) is not None)
    ]


_DEADLINE_PREDICATES = frozenset(
    {"due", "expires", "expire", "closes", "submit", "cut off", "last day", "last day to"}
    | {"no later than"}
)


def _pointer(head: Head) -> bool:
    """ "speaking at", "join us for": words that point at the event rather than name it."""
    return head.text.endswith((" at", " for", " on", " to"))


def _sentence_end_after(text: str, position: int) -> int:
    match = _SENTENCE.search(text, position)
    return match.start() if match else len(text)


def _named(head: Head, text: str) -> int:
    """1 when the event word is written as (part of) a name: capitals beyond a sentence's
    first letter ("Developer Day", "AMA", but not "Registration is now open"), or right
    after a capitalized word ("Kubernetes Berlin meetup")."""
    written = text[head.begin : head.begin + len(head.text)]
    if written[:1].isdigit():
        return 0  # a version is release evidence already
    capitals = sum(ch.isupper() for ch in written)
    before = text[: head.begin].rstrip(" *_")
    opens = head.begin == 0 or before[-1:] in (".", "!", "?", ":", "\n", "")
    return int(capitals > 1 or (capitals == 1 and not opens))


def _named_event(head: Head, text: str) -> bool:
    """The event word is written as a name or right after one ("Kubernetes Berlin
    meetup", "the *Kubernetes Berlin meetup*")."""
    if _named(head, text):
        return True
    before = text[: head.begin].rstrip(" *_")
    words = before.split()
    return (
        bool(words) and words[-1][:1].isupper() and len(words) > 1 and words[-2][-1:] not in ".!?:"
    )


def _shift_days(lower: str) -> int | None:
    match = _SHIFT.search(lower)
    if match is None:
        return None
    if match["next"]:
        return 7
    number = match["n"] or match["n2"]
    unit = match["unit"] or match["unit2"]
    count = int(number) if number.isdigit() else lx.NUMBER_WORDS.get(number)
    if count is None:
        return None
    return count * (7 if unit.startswith("week") else 1)


def _location(text: str) -> str | None:
    match = _LOCATION.search(text)
    if match is None:
        return None
    value = (match["loc"] or match["room"] or match["numbered"] or "").strip(" :-,")
    return value or None


def read(
    message: SlackMessage,
    timezone: str,
    *,
    names: Mapping[str, str] | None = None,
    order: DateOrder = "month_first",
    raw_links: list[str] | None = None,
) -> Reading:
    prose = read_prose(message.text, names)
    lower = prose.lower
    posted = message.posted_at.astimezone(ZoneInfo(timezone))
    heads = _heads(prose)
    head, strength = _main_head(heads, prose.text)
    category = head.category if head is not None else None

    change = _CHANGE.search(lower)
    prefer_after = None
    if change is not None:
        prefer_after = change.end()
        if change.group(0).endswith("from"):
            # "moved from Tuesday to Thursday": the new date follows "to".
            target = _CHANGE_TARGET.search(lower, prefer_after)
            prefer_after = target.end() if target else prefer_after
    when = find_when(
        lower,
        message.posted_at,
        timezone,
        order=order,
        prefer_after=prefer_after,
        focus=head.begin if head is not None else None,
    )
    if _category_at_date(heads, prose.text, when) is EventCategory.DEADLINE:
        # "Security training is live in KnowBe4 ... it's due by Friday": a deadline is
        # what its day is said to be.
        category = EventCategory.DEADLINE
        named = _deadline_noun_at(heads, prose.text, when)
        if named is not None and head is not None and head.category in INTRODUCED:
            # "... the CMS Boilerplate is now out of beta ... *Second,* the Marketplace will
            # start accepting Theme submissions tomorrow, 3/10": the submissions are what
            # the day is of (a bare "due" or "closes" leaves the thing to the main head).
            head = named
    shift_days = _shift_days(lower)
    # "Moved to the big room" moves nothing in time: a change needs a new date or time
    # after the change words, a shift ("by a week") or an explicit "postponed".
    rescheduled = change is not None and (
        _RESCHEDULE_WORD.search(lower) is not None
        or shift_days is not None
        or (when is not None and any(begin >= change.start() for begin, _ in when.spans))
    )
    now_at = reports_now(prose, heads, message.text)
    if now_at is not None and category not in (None, EventCategory.INCIDENT):
        trouble = incident_phrase(prose, now_at)
        if trouble is False:
            # "we are actively investigating ways of giving developers more control ...
            # stay tuned to our changelog": an incident's words about no trouble report
            # no release.
            now_at = None
        elif trouble:
            # "The new beta editor is down for some users": an incident, whatever it hit.
            category = EventCategory.INCIDENT
    if now_at is None and when is None and head is not None:
        now_at = named_today(prose.text, head)
    if now_at is None and when is None and head is not None and head.category in INTRODUCED:
        now_at = introduced(prose, head)
    if now_at is None and when is None and head is not None:
        now_at = tagged_now(prose, head)
    reminder_set = _REMINDER_SET.match(prose.text) is not None
    if reminder_set:
        # Slackbot's word that someone set a reminder ("set up a reminder “成果報告の時間です！”
        # in this channel at 6PM Saturday"): what it quotes happens when it fires, not now.
        now_at = None
    replay = replayed(prose, heads) if now_at is None and when is None else None
    if replay is not None:
        # The recording of "the Themes Challenge Workshop" is published now.
        head, now_at, category = replay, replay.begin, EventCategory.ANNOUNCEMENT
    now = now_at is not None
    if (
        category is None
        and when is not None
        and not now
        and (STARTING.search(prose.text) or NEXT_ONE.search(prose.text))
    ):
        # "INBOUND 2021 starts tomorrow", "Finding Your Inner Voice with Hasan Minhaj
        # starts in 15 minutes", "The next DHUG will be on the 29th": something named
        # begins on a day, whatever its kind.
        category = EventCategory.OTHER
    if category is None and now:
        category = lx.now_category(prose.tokens)
    opens = (
        now_at is not None
        and when is None
        and category is EventCategory.DEADLINE
        and _OPENS.match(lower, now_at) is not None
        and not prose.token_set.isdisjoint(lx.OPENINGS)
    )
    if opens:
        # "The Marketplace is now officially accepting module submissions": undated, the
        # submissions' opening is the event (their deadline is not said).
        category = EventCategory.ANNOUNCEMENT
    status_incident = "/incidents/" in message.text and bool(
        signals.STATUS_INCIDENT.search(message.text.lower())
    )
    if status_incident:
        now = True
        if category is None:
            category = EventCategory.INCIDENT
    version = ("." in lower or " v" in lower) and bool(versions(prose))
    if not now and version and signals.release_evidence(message.text, prose.text):
        # "GHC 8.10.1-alpha1!", "Haskell Language Server 2.0.0.0 <.../releases/tag/2.0.0.0>"
        now, now_at = True, versions(prose)[0].start()
    if category is None and version and now and releases_now(prose):
        category = EventCategory.RELEASE
    whole_question, _ = signals.is_question(prose)
    links = raw_links or []
    meeting_url = next((url for url in links if _MEETING_HOSTS.search(url)), None)
    calendar_url = next((url for url in links if _CALENDAR_LINK.search(url)), None)
    # A day said ahead of the posting ("on *September 8th at 11 AM*", "Friday EOD") outweighs
    # one sign of the past: "... on *September 8th at 11 AM EST* ... This is a great
    # session for customers" announces what is to come.
    ahead = when is not None and when.source is not DateSource.POSTED and when.day > posted.date()
    past = replay is None and (
        signals.is_past(prose, now=now or ahead)
        or (bool(prose.tokens) and prose.tokens[0] in lx.COMPLETION)
        or (has_past_day(lower) and prose.token_set.isdisjoint(_AHEAD))
        or (head is not None and not now and judged(prose, head.begin))
    )
    # The reminder's confirmation is Slackbot's, not an announcement by its author; what it
    # quotes is an event by its own words ("第48回もくもく会"), else a to-do.
    announces = signals.announces(prose, message.text.lower()) and not reminder_set
    # "see you there", "wish I could": someone's attendance, unless the message itself
    # announces ("Tonight is our meetup! ... all the cool kids will be there").
    attendance = (
        not announces
        and prose.token_set.isdisjoint(ORGANIZERS)
        and (
            lx.ATTENDANCE.any_in(prose.tokens, prose.token_set, prose.pairs)
            or (lx.has_cjk(lower) and any(phrase in lower for phrase in lx.JA_ATTENDANCE))
        )
    )
    reading = Reading(
        prose=prose,
        posted=posted,
        when=when,
        category=category,
        head=head,
        category_strength=strength,
        now=now,
        now_at=now_at,
        announces=announces,
        meeting_url=meeting_url,
        url=meeting_url or calendar_url or (links[0] if links else None),
        question=whole_question,
        past=past,
        hypothetical=head is not None and supposed(prose, head.begin),
        personal=(
            is_personal(prose, head)
            or attendance
            or job_post(prose)
            # "Anyone else having issues loading Loki dashboards? <status incident>": a
            # status page's incident is the event the question is about.
            or (asks_for_help(prose) and not status_incident)
        ),
        cancelled=cancels(prose),
        rescheduled=rescheduled,
        tentative=_TENTATIVE.search(lower) is not None,
        shift_days=shift_days,
        version=version,
        location=_location(prose.text),
        title="",
        heads=tuple(heads),
        labels=label_spans(message.text, prose.text),
    )
    title = make_title(reading, links)
    if replay is not None and "record" not in title.lower():
        title = titles.finish(f"{title} recording")
    elif opens and "open" not in title.lower():
        title = titles.finish(f"{title} open")
    return replace(reading, title=title)


_REMINDER_SET = re.compile(r"\W*set up a reminder\b", re.IGNORECASE)


def _blanked(text: str, when: When | None, blank: str = " ") -> str:
    """The text with its date and time words blanked (titles leave them out)."""
    if when is None:
        return text
    chars = list(text)
    for begin, finish in when.mentions or when.spans:
        for index in range(begin, min(finish, len(chars))):
            chars[index] = blank
    return "".join(chars)


def make_title(reading: Reading, links: list[str]) -> str:
    """The event's title (:func:`_title`); a generic one ("Public beta", "Sessions")
    takes the name written nearest the event word."""
    if reading.category is EventCategory.INCIDENT:
        experienced = names.experiencing_title(reading.prose.text)
        if experienced is not None:
            return titles.finish(experienced)
    title = _title(reading, links)
    generic = names.is_generic(title)
    if (generic or names.is_clause(title)) and reading.category is EventCategory.INCIDENT:
        # "Status Page", "We're seeing issues": what is in trouble names an incident.
        trouble = names.trouble_title(reading.prose.text)
        if trouble is not None:
            return titles.finish(trouble)
    if (generic or names.is_clause(title)) and reading.category is EventCategory.DEADLINE:
        # "Due": "February expense reports are due EOD Friday" says what is due.
        due = names.due_title(_blanked(reading.prose.text, reading.when))
        if due is not None:
            return titles.finish(due)
    if generic or names.is_clause(title):
        # "Submit ... our <url|HubSpot CRM + CMS website contest>": a label naming an event.
        labelled = _label_title(reading, reading.heads)
        if labelled is not None:
            return labelled
        # "Public beta" keeps its kind ("Custom Channels API public beta"); "You're
        # Invited" gives way to the name and the category's noun.
        kind = title if generic else _kind_noun(reading)
        text = _blanked(reading.prose.text, reading.when)
        # The event word's sentence, the "happening now" one, else the message's opening
        # ("World Certification Week is back! ... The week celebrates").
        anchors = [reading.head.begin if reading.head is not None else None, reading.now_at, 0]
        for anchor in dict.fromkeys(a for a in anchors if a is not None):
            named = names.with_name(kind, text, anchor)
            if named:
                return titles.finish(named)
        slug = slug_title(reading.url)
        if slug is not None:
            # "have you marked your calendars? ... <https://events.example.com/events/
            # details/acme-presents-graphql-night/>": the event's page names it.
            return titles.finish(slug)
    return title


# The words of an event phrase that are not its kind ("giving a talk", "talk by").
_NOT_KIND = frozenset("giving give gives a an the her his their our my next by".split())


def _kind_noun(reading: Reading) -> str:
    """The event word as written ("AMA", "webinar"), else the category's noun."""
    if reading.head is not None and not reading.head.text[:1].isdigit():
        words = [
            w for w in reading.head.text.split() if not names.is_clause(w) and w not in _NOT_KIND
        ]
        if words:
            return " ".join(words)
    return lx.CATEGORY[reading.category].noun if reading.category is not None else ""


def _title(reading: Reading, links: list[str]) -> str:
    """The event's title, from the strongest evidence there is: a changelog tag's line, a
    bold heading, the issue a status page is about, a named version, the noun phrase
    around the event word or around what "happens now", and failing those the clause of
    the sentence that carries the event (not a greeting or preamble before it)."""
    text = reading.prose.text
    if len(text) != len(reading.prose.lower):
        text = reading.prose.lower  # a character whose lowercase differs in length
    marked = _blanked(text, reading.when, "\x00")
    greeting = _GREETING.match(marked)
    if greeting is not None and greeting.end() < len(marked):
        # "Hey all! ..." / "Hello developers, ...": the name is in what follows.
        marked = " " * greeting.end() + marked[greeting.end() :]
    text = marked.replace("\x00", " ")
    head = reading.head
    tagged = clauses.LEADING_TAG.match(text)
    if head is not None and titles.is_cjk(head.text):
        # Japanese runs on without spaces: brackets around the event word name it
        # (「関数型まつり2025」の詳細タイムテーブルが公開されました), and after a tag the run around
        # it does ("Reminder: 第52回もくもく会の時間です！好きなタイミングで...").
        named = titles.cjk_bracketed(text, head.begin)
        if named is None:
            # After a tag, the run around any event word; else a noun's name before it.
            read = titles.cjk_phrase if tagged is not None else titles.cjk_name
            named = read(text, head.begin, head.text)
        if named:
            return titles.finish(named)
    if tagged is not None:
        # "[Now Live] Customize the default company info": the line after the tag names it.
        clause = clauses.trimmed_clause(text[tagged.end() :])
        if len(clause.split()) >= 2:
            return titles.finish(clause)
    next_one = NEXT_ONE.search(text) if reading.head is None else None
    if next_one is not None:
        # "The next DHUG will be on the 29th": the thing held again is named there.
        return titles.finish(next_one["name"])
    labelled = _label_title(reading, [reading.head] if reading.head is not None else [])
    if labelled is not None:
        return labelled
    heading = clauses.bold_heading(text)
    if heading is not None:
        return titles.finish(heading)
    if reading.head is not None:
        speaker = names.speaker_title(reading.prose.text, reading.head.begin, reading.head.text)
        if speaker is not None:
            return titles.finish(speaker)
    if reading.category in (EventCategory.MEETING, EventCategory.CONFERENCE):
        quoted = names.quoted_title(text)
        prose = reading.prose.text
        if quoted is not None and not any(_named_event(h, prose) for h in reading.heads):
            # A talk or session named in quotes: "“How to Optimize your website like a
            # pro” by Lukas Pleva is currently being presented", "Customer webinar: "Meet
            # Beacon"" (a talk at a named event, "at the Kubernetes Berlin meetup", is the
            # event's).
            kind = _kind_noun(reading) if reading.head is not None else ""
            return titles.finish(quoted if kind.lower() in quoted.lower() else f"{quoted} {kind}")
    if reading.version and reading.category in (EventCategory.RELEASE, EventCategory.LAUNCH):
        versioned = titles.versioned_title(
            text, reading.category, head.begin if head is not None else None
        )
        if versioned:
            return titles.finish(versioned)
    if head is not None and reading.category in (EventCategory.MEETING, EventCategory.CONFERENCE):
        # A pasted event card: "Andrei Macsin / CTO at ... / Applying Graphic Design
        # Principles to Create Killer Dashboards / Reserve your Webinar seat now".
        card = clauses.headline(reading.prose.text, head.begin)
        if card is not None:
            return titles.finish(card)
    first = clauses.sentence_title(marked)
    if clauses.reads_as_title(first) and (reading.when is not None or reading.head is not None):
        # A short opening clause that names the thing ("Postgres 16 upgrade", "All-hands").
        return titles.finish(first)
    status = next((url for url in links if signals.STATUS_INCIDENT.search(url.lower())), None)
    if reading.category in (EventCategory.INCIDENT, None):
        issue = _ISSUE_NAME.search(text)
        if issue is not None and len(issue["name"].split()) >= 2:
            return titles.finish(issue["name"])
        # A status page names whose incident; the message says what is in trouble.
        trouble = (
            names.trouble_title(text) or names.recovered_title(text) if status is not None else None
        )
        if trouble is not None:
            return titles.finish(trouble)
        named = titles.status_page_title(status) if status is not None else None
        if named:
            return named
    if head is not None:
        phrase = _phrase_at(text, head.begin, head.text, head.category)
        if phrase and phrase.lower() == head.text.lower():
            # "notified of stale assets removal ... rescheduling the removal of stale
            # assets to 7/8": the event word alone names nothing; where it comes again
            # with its thing, that mention names it.
            phrase = _named_again(text, head) or phrase
        if phrase:
            return titles.finish(phrase)
    category = reading.category or EventCategory.OTHER
    if reading.now_at is not None:
        words = lx.NOW_WORDS.found(reading.prose.tokens, reading.prose.token_set)
        now_text = min(words, key=len) if words else ""
        phrase = titles.noun_phrase(
            sentence_around(text, reading.now_at)[1],
            reading.now_at - sentence_around(text, reading.now_at)[0],
            now_text or "now",
            category,
            verb=True,
        )
        if phrase:
            return titles.finish(phrase)
    anchor = head.begin if head is not None else (reading.now_at or 0)
    start, _ = sentence_around(marked, anchor)
    clause = clauses.sentence_title(marked[start:]) or clauses.trimmed_clause(text[start:])
    if head is not None and head.text not in clause.lower():
        clause = f"{clause} {lx.CATEGORY[head.category].noun}" if clause else head.text
    return titles.finish(clause) or titles.finish(text[: titles.MAX_CHARS])


def _label_title(reading: Reading, heads: Sequence[Head]) -> str | None:
    """A link label holding one of ``heads`` or the event's date names the event."""
    if not reading.labels:
        return None
    spans = reading.when.spans if reading.when is not None else ()
    positions = [head.begin for head in heads] + [begin for begin, _ in spans]
    if reading.now_at is not None and not any(
        begin <= head.begin < end for head in heads for begin, end in reading.labels
    ):
        # "We're excited to introduce our new <url|Developer Feedback Tool>".
        introduced = _INTRODUCED_LABEL.match(reading.prose.lower, reading.now_at)
        if introduced is not None:
            named = naming_label(reading.prose.text, reading.labels, [introduced.end()])
            if named and reading.category in (EventCategory.RELEASE, EventCategory.LAUNCH):
                # The introduced thing and what happens to it: "Developer Feedback Tool
                # launch".
                return titles.finish(f"{named} {lx.CATEGORY[reading.category].noun}")
    named = naming_label(reading.prose.text, reading.labels, positions, spans)
    return titles.finish(named) if named else None


def _named_again(text: str, head: Head) -> str | None:
    """The first later mention of ``head``'s word whose noun phrase says more than it,
    for the words a title names by their thing ("the removal of stale assets", "an
    outage of the package server"); a meeting's or a course's later mention is as often
    another one ("meetings with Doctor B")."""
    if not titles.named_by_its_thing(head.text):
        return None
    lower, word = text.lower(), head.text.lower()
    at = lower.find(word, head.begin + len(word))
    while at >= 0:
        whole = (at == 0 or not lower[at - 1].isalnum()) and not lower[
            at + len(word) : at + len(word) + 1
        ].isalnum()
        if whole:
            phrase = _phrase_at(text, at, text[at : at + len(word)], head.category)
            if phrase and phrase.lower() != word:
                return phrase
        at = lower.find(word, at + len(word))
    return None


def _phrase_at(text: str, begin: int, word: str, category: EventCategory) -> str | None:
    sentence_start, sentence = sentence_around(text, begin)
    if titles.is_cjk(word):
        return titles.cjk_phrase(text, begin, word)
    return titles.noun_phrase(sentence, begin - sentence_start, word, category)


# A label right after the words that introduce it.
_INTRODUCED_LABEL = re.compile(
    r"(?:[\w']+\s+){0,3}?(?:introduce|introducing|announce|announcing|launch|launched|"
    r"launching|release|released|releasing)\s+(?:(?:our|the|a|an|brand|all|new)\s+){0,3}\W*"
)
# A "now" phrase that opens something: "now officially accepting", "are now open".
_OPENS = re.compile(r"(?:\w+\s+){0,2}?(?:open|accepting)\b")
_GREETING = re.compile(
    r"^\W*(?:hey|hi|hello|howdy|heya|hiya|yo|greetings|dear|good\s+(?:morning|afternoon|evening)"
    r"|happy\s+\w+day)\b[^.!?\n]{0,30}?(?:[.!?,:\n]\W*|$)",
    re.IGNORECASE,
)
# "the update on the Asset Marketplace Theme Updates Bug", "issue with design manager ...".
_ISSUE_NAME = re.compile(
    r"\b(?:issue|incident|outage|problem|bug|update|issues|problems)\s+"
    r"(?:with|on|for|regarding|affecting)\s+(?:the\s+)?"
    r"(?P<name>[\w.-]+(?:\s+(?:and\s+|&\s+|of\s+)?(?!(?:please|see|is|are|was|has|for|to|in|"
    r"on|at|that|which|we|you)\b)[\w.-]+){1,5})"
)


def event_page(url: str | None) -> bool:
    """An event's own page (Eventbrite, Meetup, lu.ma, connpass, an ``events.`` site)."""
    return url is not None and _CALENDAR_LINK.search(url) is not None


# An event page's path that names it: ".../e/introductory-data-exploration-with-python-
# 2-day-course-tickets-25675106936", ".../details/acme-developer-presents-graphql-night/".
_SLUG = re.compile(r"/(?P<slug>[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+){2,})/?$")
_SLUG_TAIL = frozenset({"tickets", "ticket", "registration", "register", "rsvp"})


def slug_title(url: str | None) -> str | None:
    """The name an event page's URL path gives it, or None."""
    if not event_page(url):
        return None
    assert url is not None
    match = _SLUG.search(url.split("?", 1)[0].split("#", 1)[0])
    if match is None:
        return None
    words = match["slug"].split("-")
    if "presents" in words:
        words = words[words.index("presents") + 1 :]  # "acme-developer-presents-..."
    while words and (words[-1].isdigit() or words[-1].lower() in _SLUG_TAIL):
        words = words[:-1]
    if not 2 <= len(words) <= 12:
        return None
    return " ".join(words)


def status_linked(reading: Reading) -> bool:
    return (
        reading.url is not None and signals.STATUS_INCIDENT.search(reading.url.lower()) is not None
    )


def resolved(reading: Reading) -> bool:
    return _RESOLVED.search(reading.lower) is not None
