"""Candidate scoring: which Slack messages probably announce or change an event.

This is the cheap first stage in front of the extractor: every ingested message
passes through :func:`score_message`, and only candidates go to the (slower,
possibly paid) extractor. It reads the message's prose
(:func:`~slack_events_dagster.domain.prose.read_prose`: no code, quotes or logs) with
the words of :mod:`~slack_events_dagster.domain.lexicon`, the same words the rule
extractor reads, and the cheap date tests of :mod:`~slack_events_dagster.domain.dates`.
Word-set lookups first, a regular expression only when they say it may match: that
keeps it above 50,000 messages per second on one core (``bench/extract.py``).

The score adds up evidence (a date or time, an event word, something happening now
such as "v0.7.2 released", announcement phrasing, a meeting link, reactions),
multiplies it by the channel's weight, and subtracts penalties (questions, the past,
bot noise, very short messages), clamped to ``[0, 1]``. Every piece of evidence leaves
a short reason (``"date:day"``, ``"now:released"``, ``"penalty:question"``) so an
operator can see why a message was or was not passed on.

A thread reply that changes an event ("moved to Thursday", "cancelled") is a candidate
even when it is short, linked to its parent via ``parent_ts``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from slack_events_dagster.domain import lexicon as lx
from slack_events_dagster.domain.dates import EXPLICIT, date_cues, date_signal, time_signal
from slack_events_dagster.domain.models import EventCandidate, SlackMessage
from slack_events_dagster.domain.prose import Prose, read_prose

# -- evidence weights ---------------------------------------------------------
# Chosen so that "a date + an event word", "an event word + something happening now"
# or "a date + a time + announcement phrasing" pass the default threshold (0.5) while
# a date alone, an event word alone or a question about either does not.
W_EXPLICIT_DATE = 0.35
W_DAY_DATE = 0.3
W_VAGUE_DATE = 0.2
W_TIME_WITH_DATE = 0.15
W_TIME_ALONE = 0.15
W_EVENT_WORD = 0.35
W_EVENT_WORD_EXTRA = 0.05
W_NOW = 0.5
W_VERSION = 0.1
W_ANNOUNCE = 0.15
W_MEETING_LINK = 0.2
W_LINK = 0.1
W_BOLD = 0.1
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
P_PERSONAL = 0.2

CHANGE_REPLY_SCORE = 0.6
CHANGE_REPLY_EVENTFUL_PARENT_SCORE = 0.75
SHORT_WORDS = 4
_DATE_WEIGHTS = {"explicit": W_EXPLICIT_DATE, "day": W_DAY_DATE, "vague": W_VAGUE_DATE}

# "v0.7.2", "1.9.0-beta1", "4.14": a version number next to a release word.
# (ASCII word characters around it: "GHC 9.0.2が" is a version in Japanese text.)
VERSION = re.compile(
    r"(?<![A-Za-z0-9_.:/$-])v?\d+(?:\.\d+){1,3}(?:[-.]?(?:alpha|beta|rc|pre|preview|m)[.-]?\d*)?"
    r"(?![A-Za-z0-9_%]|\.\d)|(?<![A-Za-z0-9_.])v\d+\b",
    re.IGNORECASE,
)
# "GHC 8.10.1-alpha1!": a version cheered is a release announced.
VERSION_CHEER = re.compile(r"(?:" + VERSION.pattern + r")\s*!", re.IGNORECASE)
# A GitHub or GitLab release tag link: a release, whatever the words around it.
RELEASE_TAG = re.compile(r"/releases/tag/|/-/releases/")


def release_evidence(raw: str, prose_text: str) -> bool:
    """A release tag link, a version cheered ("GHC 8.10.1-alpha1!"), or a changelog: a
    first line with a version that is a bold heading of a release or update ("*Version
    Update | v0.0.20*") or is followed by what changed ("What's changed?")."""
    if "/releases/" in raw and RELEASE_TAG.search(raw) is not None:
        return True
    cheer = "!" in prose_text
    heading = "*" in raw or "\n" in raw
    happy = "appy" in prose_text
    if not (cheer or heading or happy) or _VERSION_HINT.search(prose_text) is None:
        return False
    if cheer and VERSION_CHEER.search(prose_text) is not None:
        return True
    if happy and _VERSION_DAY.search(prose_text) is not None:
        return True
    return heading and _changelog_heading(raw)


def _changelog_heading(raw: str) -> bool:
    first, _, rest = raw.lstrip().partition("\n")
    if len(first) > 100 or VERSION.search(first) is None:
        return False
    return _RELEASE_HEADING.match(first) is not None or _CHANGES_FOLLOW.match(rest) is not None


# "Happy D3.js v4.0 day": a version's day celebrated is its release.
_VERSION_DAY = re.compile(
    r"\bhappy\s+(?:[\w.+#-]+\s+){0,3}?(?:" + VERSION.pattern + r")\s+(?:release\s+)?day\b",
    re.IGNORECASE,
)
_RELEASE_HEADING = re.compile(
    r"\W*\*[^*\n]{0,60}\b(?:version|release|update|changelog)\b[^*\n]{0,40}\*", re.IGNORECASE
)
_CHANGES_FOLLOW = re.compile(
    r"\W*(?:what['’]s\s+(?:new|changed)|changes|changelog|release\s+notes)\b", re.IGNORECASE
)


# A digit, a dot and a digit, or "v" and a digit: where a version can be.
_VERSION_HINT = re.compile(r"\d\.\d")
# An event's own page (lowercase addresses; the rule extractor reads the same hosts).
EVENT_PAGE_HOSTS = (
    r"eventbrite\.|lu\.ma/|meetup\.com/|connpass\.com/"
    r"|//events\.[a-z0-9-]+\.[a-z]+/|facebook\.com/events/|splashthat\.com"
)
_MEETING_LINK = re.compile(
    r"zoom\.us/|meet\.google\.com/|teams\.microsoft\.com/|teams\.live\.com/|webex\.com/"
    r"|youtube\.com/live/|calendar\.google\.com/|outlook\.(?:office|live)\.com/(?:owa/)?calendar|\.ics\b"
    r"|calendly\.com/|whereby\.com/|webcal://|" + EVENT_PAGE_HOSTS
)
_BOLD = re.compile(r"(?:^|[\s(])\*[^*\n]{2,80}\*(?=$|[\s.,:;!?)])")
_TRAILING_EMOJI = re.compile(r"(?:\s*:[a-z0-9_+'-]+:)+\s*$")
_BOT_SUBTYPES = frozenset({"bot_message"})
# A status page's incident (Atlassian Statuspage and look-alikes): an incident, now.
STATUS_INCIDENT = re.compile(r"status\.[\w.-]+/incidents/|[\w-]+status\.(?:com|io)/incidents/")


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


def _named(channels: Collection[str] | None, channel_id: str, channel_name: str) -> bool:
    return channels is None or any(
        key in channels for key in (channel_id, channel_name, "#" + channel_name)
    )


def _reaction_count(message: SlackMessage) -> int:
    total = 0
    for reaction in message.reactions:
        count = reaction.get("count", 1)
        total += count if isinstance(count, int) and count > 0 else 1
    return total


def is_bot(message: SlackMessage) -> bool:
    return message.bot_id is not None or message.subtype in _BOT_SUBTYPES


def is_question(prose: Prose) -> tuple[bool, bool]:
    """(the whole message reads as a question, it contains some question)."""
    lower = prose.lower
    if "?" not in lower and "？" not in lower:
        return asks_without_mark(prose), False
    tail = lower.rstrip(" !.)\n\t")
    if tail.endswith(":"):
        tail = _TRAILING_EMOJI.sub("", tail)
    # A message that ends in a question and either opens with a question word or is
    # a single sentence asks rather than announces.
    ends_with_question = tail.rstrip().endswith(("?", "？"))
    opens_with_question = bool(prose.tokens) and prose.tokens[0] in lx.QUESTION_WORDS
    sentences = lower.count(". ") + lower.count("! ") + lower.count("\n")
    whole = ends_with_question and (opens_with_question or sentences == 0)
    return whole, True


def asks_without_mark(prose: Prose) -> bool:
    """ "does EOD mean 5pm or before I go to bed": one sentence opening with an
    auxiliary verb asks, question mark or not."""
    tokens = prose.tokens
    return (
        len(tokens) >= 3
        and tokens[0] in _AUXILIARY_QUESTION
        # "@Greg will be presenting ...": a name is the subject (names are no tokens).
        and not prose.text.lstrip().startswith(("@", "#"))
        and "\n" not in prose.text
        and not any(mark in prose.text for mark in (". ", "! "))
    )


_AUXILIARY_QUESTION = frozenset(
    "does do did is are can could should would will has have was were".split()
)


def is_past(prose: Prose, *, now: bool = False) -> bool:
    """A recap or a thank-you: two signs of the past, or one without any of the future
    (or of something happening now: "yesterday we released" still reports a release)."""
    found = prose.hits
    hits = found.past_words + (1 if found.past_phrase else 0)
    return bool(hits) and (hits >= 2 or (prose.token_set.isdisjoint(_FUTURE_WORDS) and not now))


_COLLECTIVE = frozenset({"we", "our", "us", "team", "everyone", "all"})
_FUTURE_WORDS = frozenset(
    {"will", "tomorrow", "next", "upcoming", "tonight", "scheduled", "planned", "join", "starts"}
)


def happening_now(prose: Prose) -> list[str]:
    """The phrases saying something happens as the message is posted ("is out", "now live")."""
    found = list(dict.fromkeys(word for word, _ in prose.hits.now))
    if not found and lx.has_cjk(prose.lower):
        found = [word for word in lx.NOW_SUBSTRINGS if word in prose.lower]
    return found


def event_words(prose: Prose) -> list[str]:
    found = list(dict.fromkeys(word for word, _ in prose.hits.events))
    if found and prose.hits.not_event:
        tokens = prose.tokens
        found = [" ".join(tokens[a:b]) for a, b in lx.event_positions(tokens)]
    if not found and lx.has_cjk(prose.lower):
        found = [word for word, _ in lx.JA_EVENT_WORDS if word in prose.lower]
    return found


def announces(prose: Prose, raw_lower: str) -> bool:
    return prose.hits.announce or (
        ("<!" in raw_lower or "@" in raw_lower or ":" in raw_lower)
        and any(marker in raw_lower for marker in lx.ANNOUNCE_MARKUP)
    )


def is_change(prose: Prose) -> bool:
    return prose.hits.reschedule or prose.hits.cancel


def score_message(
    message: SlackMessage,
    *,
    channel_name: str,
    thread_parent: SlackMessage | None = None,
    channel_weights: Mapping[str, float] | None = None,
    threshold: float = 0.5,
    bot_channels: Collection[str] | None = None,
    names: Mapping[str, str] | None = None,
) -> CandidateScore:
    """Score one message in ``[0, 1]``; ``is_candidate`` when the score reaches ``threshold``.

    ``thread_parent`` (the message a reply answers) lets a short "moved to Thursday"
    count more when the parent itself looks like an announcement. ``bot_channels``:
    where bot posts are read at all (None: everywhere).
    """
    weight = channel_weight(channel_weights or {}, message.channel_id, channel_name)
    scored = _score(
        message, channel_name, thread_parent, weight, threshold, bot_channels, names, None
    )
    assert scored is not None  # nothing is skipped without a floor
    return scored


def _score(
    message: SlackMessage,
    channel_name: str,
    thread_parent: SlackMessage | None,
    weight: float,
    threshold: float,
    bot_channels: Collection[str] | None,
    names: Mapping[str, str] | None,
    skip_below: float | None,
) -> CandidateScore | None:
    """The score, or None when ``skip_below`` is given and the message's evidence
    cannot reach it (:func:`evidence_bound`): the cheap answer for most chatter."""
    parent_ts = message.thread_ts if message.is_reply else None
    if message.is_deleted or not message.is_content:
        return CandidateScore(0.0, ["penalty:not_content"], False, parent_ts)
    bot = is_bot(message)
    if bot and not _named(bot_channels, message.channel_id, channel_name):
        return CandidateScore(0.0, ["penalty:bot_channel"], False, parent_ts)
    prose = read_prose(message.text, names)
    status_link = "/incidents/" in message.text and STATUS_INCIDENT.search(message.text.lower())
    released = release_evidence(message.text, prose.text)
    if prose.empty and not status_link:
        reason = "penalty:noise_only" if prose.had_noise else "penalty:empty"
        return CandidateScore(0.0, [reason], False, parent_ts)
    if not (status_link or released):
        # Scores are rounded to 4 places: a bound that short of a floor cannot reach it.
        floor = skip_below - 1e-4 if skip_below is not None else 0.0
        bound = evidence_bound(message, prose, weight, bot=bot, floor=max(floor, 0.0))
        if bound == 0.0:
            return CandidateScore(0.0, [], threshold <= 0.0, parent_ts)
        if skip_below is not None and bound < floor:
            return None

    lower, token_set = prose.lower, prose.token_set
    raw_lower = message.text.lower()
    reasons: list[str] = []
    positive = 0.0

    # -- dates and times ---------------------------------------------------
    date_kind = date_signal(lower, token_set)
    if date_kind is not None:
        positive += _DATE_WEIGHTS[date_kind]
        reasons.append(f"date:{date_kind}")
    timed = time_signal(lower, token_set)
    if timed:
        positive += W_TIME_WITH_DATE if date_kind else W_TIME_ALONE
        reasons.append("time")

    # -- what kind of message ----------------------------------------------
    kinds = event_words(prose)
    now = happening_now(prose)
    if status_link:
        kinds, now = [*kinds, "status incident"], [*now, "status incident"]
    if released:
        now = [*now, "release"]
    version = bool(kinds or now) and (
        ("v" in token_set or _VERSION_HINT.search(lower) is not None)
        and VERSION.search(prose.text) is not None
    )
    if kinds or (version and now):
        positive += W_EVENT_WORD + (W_EVENT_WORD_EXTRA if len(kinds) > 1 else 0.0)
        reasons.append(f"event:{min(kinds) if kinds else 'version'}")
    if now:
        positive += W_NOW
        reasons.append(f"now:{min(now)}")
    if version and (kinds or now):
        positive += W_VERSION
        reasons.append("version")
    has_announce = announces(prose, raw_lower)
    if has_announce:
        positive += W_ANNOUNCE
        reasons.append("announce")
    if "/" in raw_lower and _MEETING_LINK.search(raw_lower):
        positive += W_MEETING_LINK
        reasons.append("link:meeting")
    elif "<http" in raw_lower:
        positive += W_LINK
        reasons.append("link")
    if "*" in prose.text and _BOLD.search(prose.text):
        positive += W_BOLD
        reasons.append("format:bold")
    if message.reactions:
        reactions = _reaction_count(message)
        positive += min(reactions * W_REACTION, MAX_REACTION_BONUS)
        reasons.append(f"reactions:{reactions}")
    if message.reply_count > 0:
        positive += W_THREAD_PARENT
        reasons.append("thread_parent")

    if weight != 1.0:
        positive *= weight
        reasons.append(f"channel_weight:{weight:g}")

    if positive == 0.0 and not (message.is_reply and is_change(prose)):
        # No evidence at all (most chatter): penalties cannot change a zero.
        return CandidateScore(0.0, [], False, parent_ts)

    # -- penalties -----------------------------------------------------------
    penalty = 0.0
    whole_question, some_question = is_question(prose)
    if whole_question:
        penalty += P_QUESTION
        reasons.append("penalty:question")
    elif some_question:
        penalty += P_SOME_QUESTION
        reasons.append("penalty:some_question")
    if is_past(prose, now=bool(now)):
        penalty += P_PAST
        reasons.append("penalty:past")
    if bot:
        if not token_set.isdisjoint(lx.CI_WORDS):
            penalty += P_BOT_NOISE
            reasons.append("penalty:bot_noise")
        else:
            penalty += P_BOT
            reasons.append("penalty:bot")
    change = message.is_reply and not whole_question and is_change(prose)
    linked = "<http" in message.text
    short = len(prose.text.split()) < SHORT_WORDS and not lx.has_cjk(prose.lower)
    complete = (kinds and (date_kind or timed)) or (now and (linked or kinds or version))
    if short and not change and not complete:
        penalty += P_SHORT
        reasons.append("penalty:short")
    if (
        not (date_kind or timed or now)
        and not token_set.isdisjoint(lx.FIRST_PERSON)
        and token_set.isdisjoint(_COLLECTIVE)
    ):
        # "my internet is flaky, will be offline": someone's own day, not an event.
        penalty += P_PERSONAL
        reasons.append("penalty:personal")
    other_evidence = kinds or now or has_announce or "link:meeting" in reasons
    if date_kind and not other_evidence and "format:bold" not in reasons:
        # A date with nothing to happen on it ("I'm out Friday") is weak evidence.
        penalty += P_NON_ANNOUNCEMENT_DATE
        reasons.append("penalty:date_only")

    score = positive - penalty
    if change:
        floor = CHANGE_REPLY_SCORE
        if thread_parent is not None and _parent_is_eventful(thread_parent, channel_name, names):
            floor = CHANGE_REPLY_EVENTFUL_PARENT_SCORE
        kind = "cancel" if prose.hits.cancel else "change"
        reasons.append(f"reply:{kind}")
        score = max(score, floor)
    score = round(min(1.0, max(0.0, score)), 4)
    return CandidateScore(score, reasons, score >= threshold, parent_ts)


def evidence_bound(
    message: SlackMessage,
    prose: Prose,
    weight: float = 1.0,
    *,
    bot: bool = False,
    floor: float = 0.0,
) -> float:
    """An upper bound of the message's score from set tests on its prose.

    The weights of the evidence it may hold (event, happening-now and announcement words,
    phrases by their first two words, date and time words, links, bold, reactions,
    replies), less the penalties that surely apply (a question, a bot, someone's own day
    without a date, a date alone, a short line). Change replies are never bounded (a
    change floors the score). Once the bound is known to be under ``floor`` the costlier
    tests are left out: the answer is then still a bound, only a looser one.
    :func:`build_candidates` skips the messages whose bound is under the threshold;
    ``test_candidates`` holds the bound to the scorer.
    """
    lower, token_set = prose.lower, prose.token_set
    cjk = not lower.isascii() and lx.has_cjk(lower)
    cues = lx.cues(token_set, prose.pairs)
    if cjk:
        cues |= lx.cjk_cues(lower)
    if cues & lx.CHANGE_CUE and message.is_reply:
        return _ANY
    date_kind, timed = date_cues(lower, token_set)
    bound = _DATE_WEIGHTS[date_kind] if date_kind else 0.0
    if timed:
        bound += W_TIME_WITH_DATE
    eventful = cues & (lx.EVENT_CUE | lx.NOW_CUE)
    if eventful:
        bound += W_EVENT_WORD + W_EVENT_WORD_EXTRA
        # A version ("1.2") has a digit, a dot and a digit: date_cues saw it as a date.
        if "v" in token_set or date_kind == EXPLICIT:
            bound += W_VERSION
        if cues & lx.NOW_CUE:
            bound += W_NOW
    text = message.text
    bold = "*" in prose.text
    if bold:
        bound += W_BOLD
    if message.reactions:
        bound += min(_reaction_count(message) * W_REACTION, MAX_REACTION_BONUS)
    if message.reply_count:
        bound += W_THREAD_PARENT
    meeting = False
    if "/" in text or "<" in text:
        raw_lower = text.lower()
        meeting = "/" in raw_lower and _MEETING_LINK.search(raw_lower) is not None
        if meeting:
            bound += W_MEETING_LINK
        elif "<http" in raw_lower:
            bound += W_LINK
    scale = max(weight, 1.0)
    if (bound + W_ANNOUNCE) * scale <= floor:
        return (bound + W_ANNOUNCE) * scale
    announce = bool(cues & lx.ANNOUNCE_CUE) or _ANNOUNCE_MARKUP.search(text) is not None
    if announce:
        bound += W_ANNOUNCE
    bound *= scale
    if bound <= floor:
        return bound
    # -- penalties that surely apply (the scorer's, on what is certain here) --
    if bot:
        bound -= P_BOT_NOISE if not token_set.isdisjoint(lx.CI_WORDS) else P_BOT
    if (
        not (date_kind or timed or cues & lx.NOW_CUE)
        and not token_set.isdisjoint(lx.FIRST_PERSON)
        and token_set.isdisjoint(_COLLECTIVE)
    ):
        bound -= P_PERSONAL
    if date_kind and not (eventful or announce or meeting or bold):
        # A date with nothing else: the scorer takes P_NON_ANNOUNCEMENT_DATE off, or the
        # date was no date and its weight (more than that) is not there.
        bound -= P_NON_ANNOUNCEMENT_DATE
    if not eventful and not cjk and len(prose.text.split()) < SHORT_WORDS:
        bound -= P_SHORT
    if bound > floor:
        whole_question, some_question = is_question(prose)
        if whole_question:
            bound -= P_QUESTION
        elif some_question:
            bound -= P_SOME_QUESTION
    return max(bound, 0.0)


_ANNOUNCE_MARKUP = re.compile("|".join(map(re.escape, lx.ANNOUNCE_MARKUP)), re.IGNORECASE)
# A bound that says "score it" whatever the threshold.
_ANY = 2.0


def _parent_is_eventful(
    parent: SlackMessage, channel_name: str, names: Mapping[str, str] | None
) -> bool:
    # Scored without weights or its own parent: only "does it look like an event".
    return score_message(parent, channel_name=channel_name, names=names).score >= 0.5


def build_candidates(
    messages: Iterable[SlackMessage],
    *,
    channel_names: Mapping[str, str] | None = None,
    channel_weights: Mapping[str, float] | None = None,
    threshold: float = 0.5,
    parents: Mapping[tuple[str, str], SlackMessage] | None = None,
    bot_channels: Collection[str] | None = None,
    names: Mapping[str, str] | None = None,
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
    channel_of = channel_names or {}
    candidates: list[EventCandidate] = []
    weights = channel_weights or {}
    for message in batch:
        channel_id = message.channel_id
        channel_name = channel_of.get(channel_id, channel_id)
        weight = channel_weight(weights, channel_id, channel_name) if weights else 1.0
        parent = None
        thread_ts = message.thread_ts
        if thread_ts is not None and thread_ts != message.ts:
            parent = by_key.get((channel_id, thread_ts))
        result = _score(
            message, channel_name, parent, weight, threshold, bot_channels, names, threshold
        )
        if result is None:
            continue
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
