"""Candidate scoring: which Slack messages probably announce or change an event.

This is the cheap first stage in front of the extractor: every ingested
message passes through :func:`score_message`, and only candidates go to the
(slower, possibly paid) extractor. It is a pure function of the message, its
channel and its thread parent: no I/O, no model, no date parser. Fixed
keyword sets, substring tests and a few compiled regular expressions (each run
only when a cheap test says it may match) keep it above 50,000
messages per second on one core (measured by ``bench/extract.py``).

The score adds up evidence (a date or time, an event word, announcement
phrasing, a meeting link, reactions), multiplies it by the channel's weight,
and subtracts penalties (questions, past-tense retrospectives, bot noise, very
short messages), clamped to ``[0, 1]``. Every piece of evidence leaves a short
reason (``"date:weekday"``, ``"penalty:question"``) so an operator can see why
a message was or was not passed on.

A thread reply that changes an event ("moved to Thursday", "cancelled") is a
candidate even when it is short, linked to its parent via ``parent_ts``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise

from slack_events_dagster.domain.models import EventCandidate, SlackMessage

# -- evidence weights ---------------------------------------------------------
# Chosen so that "a date + an event word" or "a date + a time + announcement
# phrasing" passes the default threshold (0.5) while a date alone, an event
# word alone or a question about either does not.
W_EXPLICIT_DATE = 0.35
W_DAY_DATE = 0.3
W_VAGUE_DATE = 0.2
W_TIME_WITH_DATE = 0.15
W_TIME_ALONE = 0.1
W_EVENT_WORD = 0.3
W_EVENT_WORD_EXTRA = 0.05
W_ANNOUNCE = 0.15
W_MEETING_LINK = 0.2
W_REACTION = 0.01
MAX_REACTION_BONUS = 0.1
W_THREAD_PARENT = 0.05

P_QUESTION = 0.35
P_SOME_QUESTION = 0.1
P_PAST = 0.3
P_BOT_NOISE = 0.5
P_BOT = 0.1
P_SHORT = 0.3
P_NON_ANNOUNCEMENT_DATE = 0.1

CHANGE_REPLY_SCORE = 0.6
CHANGE_REPLY_EVENTFUL_PARENT_SCORE = 0.75
SHORT_WORDS = 4

_WORD = re.compile(r"[a-z]+")

_WEEKDAYS = frozenset(
    {
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "mon",
        "tue",
        "tues",
        "thu",
        "thur",
        "thurs",
        "fri",
        "weds",
    }
)
_DAY_WORDS = frozenset({"tomorrow", "tmrw", "tmr", "today", "tonight", "eod", "eow", "cob"})
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
# Each pattern runs only when a cheap word-set or substring test says it may
# match: alternations that start with \b are tried at every position and cost
# microseconds each, which is the whole per-message budget.
_MONTH_TOKENS = frozenset(
    [
        "jan",
        "january",
        "feb",
        "february",
        "mar",
        "march",
        "apr",
        "april",
        "may",
        "jun",
        "june",
        "jul",
        "july",
        "aug",
        "august",
        "sep",
        "sept",
        "september",
        "oct",
        "october",
        "nov",
        "november",
        "dec",
        "december",
    ]
)
_MONTH_DATE = re.compile(
    rf"\b{_MONTH}\.?\s+\d{{1,2}}(?!\d)|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\b"
)
_ISO_DATE = re.compile(r"20\d\d-[01]\d-[0-3]\d(?!\d)")
_SLASH_DATE = re.compile(r"(?<![\d/])[01]?\d/[0-3]?\d(?:/(?:20)?\d\d)?(?![\d/])")
_SLASH_DIGIT = re.compile(r"/(?=\d)")
_DOTTED_DATE = re.compile(r"(?<![\d.])[0-3]?\d\.[01]?\d\.20\d\d(?!\d)")
_VAGUE_KEYS = frozenset({"week", "weeks", "month", "weekend", "sprint", "quarter", "days", "day"})
_VAGUE_DATE = re.compile(
    r"\b(?:next|this|coming)\s+(?:week|month|weekend|sprint|quarter)\b"
    r"|\bin\s+(?:a|one|two|three|four|a\s+couple\s+of|a\s+few|\d+)\s+(?:days?|weeks?)\b"
    r"|\bend\s+of\s+(?:the\s+)?(?:day|week|month|sprint)\b"
    r"|\bday\s+after\s+tomorrow\b"
)
_TIME_WORDS = frozenset({"noon", "midnight", "midday"})
_AMPM_KEYS = frozenset({"am", "pm", "m"})
_AMPM_TIME = re.compile(r"\d\s*[ap]\.?m\b")
# A literal first character lets the regex engine skip ahead; the digit before the
# colon is checked by hand.
_COLON_MINUTES = re.compile(r":[0-5]\d(?!\d)")

# Word -> event category hint; the scorer only needs "is there one", the reasons
# name the first word found so that an operator sees what triggered.
_EVENT_WORDS = frozenset(
    {
        "release",
        "releases",
        "releasing",
        "deploy",
        "deploying",
        "deployment",
        "rollout",
        "outage",
        "incident",
        "maintenance",
        "downtime",
        "meeting",
        "standup",
        "sync",
        "allhands",
        "townhall",
        "deadline",
        "webinar",
        "conference",
        "summit",
        "meetup",
        "launch",
        "launching",
        "postponed",
        "rescheduled",
        "cancelled",
        "canceled",
        "retro",
        "retrospective",
        "planning",
        "offsite",
        "workshop",
        "hackathon",
        "demo",
        "kickoff",
        "training",
        "freeze",
        "migration",
        "cutover",
        "upgrade",
        "keynote",
        "presentation",
        "party",
        "celebration",
        "ama",
        "onboarding",
        "session",
        "event",
        "golive",
        "submissions",
        "submission",
        "submit",
        "cutoff",
        "drill",
        "sev",
        "declaring",
        "closed",
        "closure",
        "ships",
        "hotfix",
        "patch",
        "meetups",
        "webinars",
        "reviews",
        "standups",
        "meetings",
        "deadlines",
    }
)
# Conference names are often one word ending in "con" (KubeCon, PyCon); these common
# words end the same way and are not conferences.
_CON_NOT_CONFERENCE = frozenset(
    {"bacon", "beacon", "falcon", "silicon", "icon", "recon", "deacon", "lexicon", "rubicon"}
)
_EVENT_PHRASE_KEYS = frozenset(
    {"hands", "hall", "live", "moved", "pushed", "hour", "due", "lunch", "dinner", "freeze"}
)
# "*Thursday 16:00 UTC*": people bold what matters in an announcement.
W_BOLD = 0.1
_BOLD = re.compile(r"(?:^|[\s(])\*[^*\n]{2,80}\*(?=$|[\s.,:;!?)])")
_EVENT_PHRASES = re.compile(
    r"\ball[- ]hands\b|\btown[- ]hall\b|\bgo[- ]live\b|\bgoing\s+live\b|\b1:1\b"
    r"|\bcode\s+freeze\b|\bmoved\s+to\b|\bpushed\s+(?:back|to)\b|\bhappy\s+hour\b"
    r"|\bdue\s+[*_~]*(?:on|by|date|eod|eow|cob|today|tomorrow|tonight|this|next|mon|tue|wed|thu|fri)"
    r"|\bteam\s+(?:lunch|dinner)\b|\bdue\s+in\b|\b(?:be|is|are|goes|go)\s+live\b"
)
_ANNOUNCE_WORDS = frozenset(
    {
        "reminder",
        "fyi",
        "psa",
        "rsvp",
        "agenda",
        "announcing",
        "announcement",
        "announce",
        "invite",
        "mega",
        "loudspeaker",
    }
)
# Announcement phrases as word pairs: a set lookup per pair of words is far
# cheaper than a regex alternation of phrases.
_ANNOUNCE_PAIRS = frozenset(
    {
        ("join", "us"),
        ("heads", "up"),
        ("save", "the"),
        ("we", "will"),
        ("we", "ll"),
        ("scheduled", "for"),
        ("scheduled", "on"),
        ("please", "join"),
        ("t", "forget"),
        ("dont", "forget"),
        ("your", "calendar"),
        ("your", "calendars"),
        ("planned", "for"),
        ("will", "be"),
        ("will", "take"),
        ("will", "happen"),
        ("will", "start"),
        ("will", "run"),
        ("ll", "be"),
        ("is", "happening"),
        ("is", "scheduled"),
        ("come", "join"),
        ("come", "along"),
    }
)
_ANNOUNCE_KEYS = frozenset(first for first, _ in _ANNOUNCE_PAIRS)
_ANNOUNCE_MARKUP = (
    "<!here",
    "<!channel",
    "<!everyone",
    "@here",
    "@channel",
    ":calendar:",
    ":date:",
)
_LINK_KEYS = frozenset(
    [
        "zoom",
        "meet",
        "teams",
        "webex",
        "calendar",
        "ics",
        "calendly",
        "whereby",
        "webcal",
        "eventbrite",
        "ma",
        "meetup",
        "outlook",
    ]
)
_MEETING_LINK = re.compile(
    r"zoom\.us/|meet\.google\.com/|teams\.microsoft\.com/|teams\.live\.com/|webex\.com/"
    r"|calendar\.google\.com/|outlook\.(?:office|live)\.com/(?:owa/)?calendar|\.ics\b"
    r"|calendly\.com/|whereby\.com/|webcal://|eventbrite\.|lu\.ma/|meetup\.com/"
)
_QUESTION_START = frozenset(
    {
        "what",
        "when",
        "where",
        "who",
        "why",
        "how",
        "is",
        "are",
        "does",
        "do",
        "did",
        "can",
        "could",
        "should",
        "will",
        "would",
        "anyone",
        "any",
        "has",
        "have",
        "was",
        "were",
    }
)
_PAST_WORDS = frozenset(
    {
        "yesterday",
        "was",
        "were",
        "went",
        "happened",
        "attended",
        "recap",
        "recording",
        "postmortem",
        "shipped",
        "resolved",
        "ago",
        "finished",
        "completed",
        "wrapped",
        "recorded",
    }
)
_PAST_PAIRS = frozenset(
    {("last", day) for day in ("week", "night", "month", "time", "monday", "tuesday")}
    | {("last", day) for day in ("wednesday", "thursday", "friday", "sprint", "quarter")}
    | {("thanks", who) for who in ("everyone", "all", "for", "to")}
    | {("thank", "you"), ("post", "mortem")}
    | {("went", how) for how in ("well", "smoothly", "great", "fine", "live", "out")}
    | {(verb, "resolved") for verb in ("is", "now", "been", "was")}
    | {("been", done) for done in ("fixed", "deployed", "released", "completed", "mitigated")}
)
_PAST_KEYS = frozenset(first for first, _ in _PAST_PAIRS)
_FUTURE_WORDS = frozenset(
    {"will", "tomorrow", "next", "upcoming", "tonight", "scheduled", "planned", "join", "starts"}
)
_CI_WORDS = frozenset(
    {
        "build",
        "pipeline",
        "passed",
        "failed",
        "succeeded",
        "failing",
        "job",
        "commit",
        "merged",
        "pr",
        "ci",
        "workflow",
        "coverage",
        "lint",
        "tests",
        "nightly",
        "alert",
        "triggered",
        "firing",
    }
)
_CHANGE = re.compile(
    r"\b(?:moved|moving|move\s+it|bumped|shifted|pushed|pushing)\s+(?:back\s+|out\s+)?"
    r"(?:to|by|until|till|from|a\s+(?:day|week))\b"
    r"|\bpostpon(?:ed|ing|e)\b|\bre-?schedul(?:ed|ing|e)\b|\bdelayed\b|\bcancell?(?:ed|ing)\b"
    r"|\bcalled\s+off\b|\bnew\s+(?:date|time)\b|\bnot\s+happening\b|\bis\s+off\b"
    r"|\bwon'?t\s+(?:happen|take\s+place)\b|\bnow\s+(?:on|at)\b|\binstead\b"
    r"|\bnow\s+(?:looking\s+like|set\s+for|planned\s+for|targeted\s+for)\b|\bslipp(?:ed|ing)\b"
)
_CANCEL_HINT = re.compile(r"\bcancell?(?:ed|ing)\b|\bcalled\s+off\b|\bnot\s+happening\b")
_BOT_SUBTYPES = frozenset({"bot_message"})
_TRAILING_EMOJI = re.compile(r"(?:\s*:[a-z0-9_+'-]+:)+\s*$")


@dataclass(slots=True)
class CandidateScore:
    """How likely a message announces or changes an event, and why."""

    score: float
    reasons: list[str] = field(default_factory=list)
    is_candidate: bool = False
    # The thread parent's ts when the message is a reply (the event it may change).
    parent_ts: str | None = None


def channel_weight(weights: Mapping[str, float], channel_id: str, channel_name: str) -> float:
    """A channel's weight by id, by name or by ``#name``; 1.0 when none is set."""
    if not weights:
        return 1.0
    for key in (channel_id, channel_name, "#" + channel_name):
        if key in weights:
            return weights[key]
    return 1.0


def _reaction_count(message: SlackMessage) -> int:
    total = 0
    for reaction in message.reactions:
        count = reaction.get("count", 1)
        total += count if isinstance(count, int) and count > 0 else 1
    return total


def _is_bot(message: SlackMessage) -> bool:
    return message.bot_id is not None or message.subtype in _BOT_SUBTYPES


def _is_question(lower: str, words: list[str]) -> tuple[bool, bool]:
    """(the whole message reads as a question, it contains some question)."""
    if "?" not in lower:
        return False, False
    tail = lower.rstrip(" !.)\n\t")
    if tail.endswith(":"):
        tail = _TRAILING_EMOJI.sub("", tail)
    # A message that ends in a question and either opens with a question word
    # or is a single sentence asks rather than announces.
    ends_with_question = tail.rstrip().endswith("?")
    opens_with_question = bool(words) and words[0] in _QUESTION_START
    sentences = lower.count(". ") + lower.count("! ") + lower.count("\n")
    whole = ends_with_question and (opens_with_question or sentences == 0)
    return whole, True


def _has_pair(words: list[str], pairs: frozenset[tuple[str, str]]) -> bool:
    return not pairs.isdisjoint(pairwise(words))


def _has_markup(lower: str) -> bool:
    return any(marker in lower for marker in _ANNOUNCE_MARKUP)


def _has_slash_date(lower: str) -> bool:
    """ "3/10", "12/24/2026": checked only where a slash is followed by a digit."""
    for match in _SLASH_DIGIT.finditer(lower):
        slash = match.start()
        for begin in (slash - 2, slash - 1):
            if begin >= 0 and _SLASH_DATE.match(lower, begin):
                return True
    return False


def _has_clock_time(lower: str) -> bool:
    """ "15:00", "9:30" (a digit, a colon, two minute digits)."""
    for match in _COLON_MINUTES.finditer(lower):
        start = match.start()
        if start and lower[start - 1].isdigit():
            return True
    return False


def score_message(
    message: SlackMessage,
    *,
    channel_name: str,
    thread_parent: SlackMessage | None = None,
    channel_weights: Mapping[str, float] | None = None,
    threshold: float = 0.5,
) -> CandidateScore:
    """Score one message in ``[0, 1]``; ``is_candidate`` when the score reaches ``threshold``.

    ``thread_parent`` (the message a reply answers) lets a short "moved to
    Thursday" count more when the parent itself looks like an announcement.
    """
    parent_ts = message.thread_ts if message.is_reply else None
    if message.is_deleted or not message.is_content:
        return CandidateScore(0.0, ["penalty:not_content"], False, parent_ts)
    text = message.text
    if not text:
        return CandidateScore(0.0, ["penalty:empty"], False, parent_ts)

    lower = text.lower()
    words = _WORD.findall(lower)
    word_set = set(words)
    reasons: list[str] = []
    positive = 0.0

    # -- dates and times ---------------------------------------------------
    has_date = False
    if (
        (not word_set.isdisjoint(_MONTH_TOKENS) and _MONTH_DATE.search(lower))
        or ("-" in lower and _ISO_DATE.search(lower))
        or ("/" in lower and _has_slash_date(lower))
        or (".20" in lower and _DOTTED_DATE.search(lower))
    ):
        positive += W_EXPLICIT_DATE
        reasons.append("date:explicit")
        has_date = True
    elif not word_set.isdisjoint(_DAY_WORDS):
        positive += W_DAY_DATE
        reasons.append("date:relative_day")
        has_date = True
    elif not word_set.isdisjoint(_WEEKDAYS):
        positive += W_DAY_DATE
        reasons.append("date:weekday")
        has_date = True
    elif not word_set.isdisjoint(_VAGUE_KEYS) and _VAGUE_DATE.search(lower):
        positive += W_VAGUE_DATE
        reasons.append("date:vague")
        has_date = True
    if (
        not word_set.isdisjoint(_TIME_WORDS)
        or (not word_set.isdisjoint(_AMPM_KEYS) and _AMPM_TIME.search(lower))
        or (":" in lower and _has_clock_time(lower))
    ):
        positive += W_TIME_WITH_DATE if has_date else W_TIME_ALONE
        reasons.append("time")

    # -- what kind of message ----------------------------------------------
    event_words = word_set & _EVENT_WORDS
    if not event_words and "con" in lower:
        event_words = {
            word
            for word in word_set
            if len(word) >= 5 and word.endswith("con") and word not in _CON_NOT_CONFERENCE
        }
    has_event = bool(event_words) or (
        (not word_set.isdisjoint(_EVENT_PHRASE_KEYS) or "1:1" in lower)
        and _EVENT_PHRASES.search(lower) is not None
    )
    if has_event:
        positive += W_EVENT_WORD
        if len(event_words) > 1:
            positive += W_EVENT_WORD_EXTRA
        reasons.append(f"event:{min(event_words) if event_words else 'phrase'}")
    has_announce = (
        not word_set.isdisjoint(_ANNOUNCE_WORDS)
        or (not word_set.isdisjoint(_ANNOUNCE_KEYS) and _has_pair(words, _ANNOUNCE_PAIRS))
        or (("<!" in lower or "@" in lower or ":" in lower) and _has_markup(lower))
    )
    if has_announce:
        positive += W_ANNOUNCE
        reasons.append("announce")
    if not word_set.isdisjoint(_LINK_KEYS) and _MEETING_LINK.search(lower):
        positive += W_MEETING_LINK
        reasons.append("link:meeting")
    if "*" in text and _BOLD.search(text):
        positive += W_BOLD
        reasons.append("format:bold")
    if message.reactions:
        reactions = _reaction_count(message)
        positive += min(reactions * W_REACTION, MAX_REACTION_BONUS)
        reasons.append(f"reactions:{reactions}")
    if message.reply_count > 0:
        positive += W_THREAD_PARENT
        reasons.append("thread_parent")

    weight = channel_weight(channel_weights or {}, message.channel_id, channel_name)
    if weight != 1.0:
        positive *= weight
        reasons.append(f"channel_weight:{weight:g}")

    # -- penalties -----------------------------------------------------------
    penalty = 0.0
    whole_question, some_question = _is_question(lower, words)
    if whole_question:
        penalty += P_QUESTION
        reasons.append("penalty:question")
    elif some_question:
        penalty += P_SOME_QUESTION
        reasons.append("penalty:some_question")
    past_hits = len(word_set & _PAST_WORDS)
    if not word_set.isdisjoint(_PAST_KEYS) and _has_pair(words, _PAST_PAIRS):
        past_hits += 1
    if past_hits and (past_hits >= 2 or word_set.isdisjoint(_FUTURE_WORDS)):
        penalty += P_PAST
        reasons.append("penalty:past")
    if _is_bot(message):
        if not word_set.isdisjoint(_CI_WORDS):
            penalty += P_BOT_NOISE
            reasons.append("penalty:bot_noise")
        else:
            penalty += P_BOT
            reasons.append("penalty:bot")
    is_change = message.is_reply and not whole_question and _CHANGE.search(lower) is not None
    if len(words) < SHORT_WORDS and not is_change:
        penalty += P_SHORT
        reasons.append("penalty:short")
    other_evidence = has_event or has_announce or "link:meeting" in reasons
    if has_date and not other_evidence and "format:bold" not in reasons:
        # A date with nothing to happen on it ("I'm out Friday") is weak evidence.
        penalty += P_NON_ANNOUNCEMENT_DATE
        reasons.append("penalty:date_only")

    score = positive - penalty
    if is_change:
        floor = CHANGE_REPLY_SCORE
        if thread_parent is not None and _parent_is_eventful(thread_parent, channel_name):
            floor = CHANGE_REPLY_EVENTFUL_PARENT_SCORE
        kind = "cancel" if _CANCEL_HINT.search(lower) else "change"
        reasons.append(f"reply:{kind}")
        score = max(score, floor)
    score = round(min(1.0, max(0.0, score)), 4)
    return CandidateScore(score, reasons, score >= threshold, parent_ts)


def _parent_is_eventful(parent: SlackMessage, channel_name: str) -> bool:
    # Scored without weights or its own parent: only "does it look like an event".
    return score_message(parent, channel_name=channel_name).score >= 0.5


def build_candidates(
    messages: Iterable[SlackMessage],
    *,
    channel_names: Mapping[str, str] | None = None,
    channel_weights: Mapping[str, float] | None = None,
    threshold: float = 0.5,
    parents: Mapping[tuple[str, str], SlackMessage] | None = None,
    now: datetime | None = None,
) -> list[EventCandidate]:
    """The candidates among ``messages`` (in input order).

    Thread parents are looked up among ``messages`` first, then in ``parents``
    (keyed by ``(channel_id, ts)``) for replies whose parent came in an earlier
    batch. ``channel_names`` maps channel ids to names for channel weights.
    """
    batch = list(messages)
    by_key: dict[tuple[str, str], SlackMessage] = dict(parents or {})
    for message in batch:
        by_key[(message.channel_id, message.ts)] = message
    names = channel_names or {}
    candidates: list[EventCandidate] = []
    for message in batch:
        parent = None
        if message.is_reply and message.thread_ts is not None:
            parent = by_key.get((message.channel_id, message.thread_ts))
        result = score_message(
            message,
            channel_name=names.get(message.channel_id, message.channel_id),
            thread_parent=parent,
            channel_weights=channel_weights,
            threshold=threshold,
        )
        if result.is_candidate:
            candidates.append(
                EventCandidate(
                    channel_id=message.channel_id,
                    ts=message.ts,
                    score=result.score,
                    reasons=result.reasons,
                    parent_ts=result.parent_ts,
                    updated_at=now,
                )
            )
    return candidates
