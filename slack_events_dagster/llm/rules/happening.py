"""Whether a message reports something happening as it is posted, and the tests around
it: a "now" phrase stated, not supposed, asked or told as history ("v0.7.2 is out",
"we're seeing an outage", "starting now"); a launch or release introduced ("pleased to
announce the launch of ..."); an event said to be on today ("It's Developer Day 2021!");
a named thing that begins on a day ("INBOUND 2021 starts tomorrow"); the version
numbers that name a release.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from slack_events_dagster.domain import candidates as signals
from slack_events_dagster.domain import lexicon as lx
from slack_events_dagster.domain.models import EventCategory
from slack_events_dagster.domain.prose import Prose

_WORD = re.compile(r"[a-z]+")
_SENTENCE = re.compile(r"(?<=[.!?。！])\s+|\n+")
_DOCUMENTS = frozenset(
    "prd doc docs document spec specs rfc draft deck slides proposal design notes memo "
    "brief plan roadmap".split()
)


@dataclass(frozen=True, slots=True)
class Head:
    """The event word a message is about, where it stands, and its category."""

    begin: int
    text: str
    category: EventCategory


def sentence_around(text: str, position: int) -> tuple[int, str]:
    start = 0
    for match in _SENTENCE.finditer(text):
        if match.end() <= position:
            start = match.end()
        else:
            end = match.start()
            return start, text[start:end]
    return start, text[start:]


# How many words apart a "happening now" phrase and the thing it is about may stand.
_NOW_REACH = 8
_SENTENCE_BREAK = re.compile(r"[.!?。！]\s|\n")


def reports_now(prose: Prose, heads: list[Head], raw: str) -> int | None:
    """The message reports something happening as it is posted: a "now" phrase
    ("is out", "now live", "we're seeing an outage") stated, not supposed ("after the
    page is live", "is supposed to be rolling out") nor asked nor told as history ("the
    time we released X"), and about something: an event word or version a few words
    away, a subject right before it ("The PayPal integration issue has been resolved"),
    or a link in a short message ("Live now! <link>")."""
    lower = prose.lower
    if "/incidents/" in raw and signals.STATUS_INCIDENT.search(raw.lower()):
        return 0
    if lx.has_cjk(lower):
        found = [lower.find(word) for word in lx.NOW_SUBSTRINGS if word in lower]
        if found:
            return min(found)
    spans = lx.NOW_WORDS.positions(prose.tokens) if prose.hits.now else []
    if not spans:
        return None
    offsets = [match.start() for match in _WORD.finditer(prose.masked)]
    things = [head.begin for head in heads]
    things += [match.start() for match in versions(prose)]
    linked_and_short = "<http" in raw and len(prose.tokens) <= 12
    for start, end in spans:
        before = prose.tokens[max(0, start - 3) : start]
        if not lx.HYPOTHETICAL.isdisjoint(before) or not lx.FUTURE.isdisjoint(before):
            continue  # "if it is live", "will be released as a font": not happening now
        clause = _clause_start(lower, offsets, start)
        phrase = prose.tokens[start:end]
        if _hedged(prose.tokens[clause:start], phrase):
            continue  # "I feel like HubSpot should be looking at how many pages are live"
        if phrase[0].endswith("ing") and before[-1:] and before[-1] in _PREPOSITIONS:
            continue  # "working on rolling out", "in terms of launching": a gerund, no report
        if phrase == ["currently", "live"] and before[-1:] not in (["is"], ["are"]):
            continue  # "I am from Vietnam, currently live in Russia": where someone lives
        if not lx.PAST_CONTEXT.isdisjoint(prose.tokens[max(clause, start - 6) : start]):
            continue  # "the time we released X", "was down earlier" (in the same clause)
        following = prose.tokens[end] if end < len(prose.tokens) else ""
        if following == "yet" or not _NEGATING.isdisjoint(
            prose.tokens[max(clause, start - 4) : start]
        ):
            continue  # "nothing is live yet", "hasn't been rolled out to everyone": not so
        if (
            (following == "of" and phrase[-1] == "out" and not _out_of_beta(prose, end))
            or (
                following in ("to", "for")
                and phrase[-1] == "open"
                and not {"now", "officially"} & set(phrase)
            )
            or (following in ("source", "sourced") and phrase[-1] == "open")
        ):
            continue  # "are out of Zurich", "is open to everyone", "is open source": no report
        if in_question(lower, offsets[start]):
            continue
        begin, finish = offsets[start], offsets[end - 1] + len(prose.tokens[end - 1])
        if linked_and_short:
            return begin
        weak = " ".join(phrase) in _WEAK_NOW
        if (
            _named_subject(prose, offsets, start)
            if weak
            else _has_subject(prose, offsets, start, end)
        ):
            return begin
        for thing in things:
            low, high = sorted((thing, begin))
            if _SENTENCE_BREAK.search(lower, low, high) is None and (
                abs(_token_at(offsets, thing) - start) <= _NOW_REACH or low <= thing <= finish
            ):
                return begin
    return None


# "For those of you who missed Developer Day 2020, you can catch the full stream":
# the recording of a past event is published as the message is posted.
_MISSED = re.compile(
    r"\b(?:for|to)\s+(?:those|anyone|everyone|all|folks|people)(?:\s+of\s+you)?\s+"
    r"(?:who|that)\s+(?:missed|could\s*n[o'’]?t\s+(?:make|attend|join|watch)"
    r"|(?:were|was)\s*n[o'’]?t\s+able\s+to\s+(?:make|attend|join|watch))\b"
)
_REPLAY_REACH = 60


def replayed(prose: Prose, heads: list[Head]) -> Head | None:
    """The event whose recording a "for those who missed X" message publishes (None when
    the recording is only promised: "we will post the recording next week")."""
    match = _MISSED.search(prose.lower)
    if match is None or not lx.FUTURE.isdisjoint(prose.tokens):
        return None
    after = [h for h in heads if match.end() <= h.begin <= match.end() + _REPLAY_REACH]
    return after[0] if after else None


def _out_of_beta(prose: Prose, end: int) -> bool:
    """ "is out of beta" reports a launch ("are out of Zurich" reports nothing)."""
    return prose.tokens[end + 1 : end + 2] in (["beta"], ["preview"])


_SUPPOSING = frozenset("if unless whether suppose supposing say imagine hypothetically".split())
# The Japanese event word followed by "when/if (one does it)": "イベントを開催するときは
# こちらに" (when you hold an event, post here), "発表する場合は" (if you present).
_JA_SUPPOSING = re.compile(
    r"[\u3040-\u30ff\u3400-\u9fff]{0,6}?"
    r"(?:(?:する|される|した|の)(?:ときは|時は|場合は?|際は)|したら|するなら)"
)
_EXAMPLE_OPENERS = ("example", "for example", "e.g", "eg", "for instance")


_JUDGING = frozenset(
    "great nice awesome amazing good fun excellent fantastic wonderful brilliant "
    "productive lovely".split()
)
_LOOKS = frozenset("looks looked looking seems seemed was sounds".split())


def judged(prose: Prose, begin: int) -> bool:
    """ "great retro everyone", "the meetup tonight looks great": a judgement of an event,
    said after it or while it is on, is no announcement of it."""
    offsets = [match.start() for match in _WORD.finditer(prose.masked)]
    token = next((i for i, offset in enumerate(offsets) if offset >= begin), None)
    if token is None:
        return False
    tokens = prose.tokens
    before = tokens[max(0, token - 2) : token]
    if (before and before[-1] in _JUDGING) or before[:1] == ["what"]:
        return True
    after = tokens[token + 1 : token + 4]
    return any(
        word in _LOOKS and i + 1 < len(after) and after[i + 1] in _JUDGING
        for i, word in enumerate(after)
    )


def versions(prose: Prose) -> list[re.Match[str]]:
    """The version numbers of the text, but those of a document ("Beacon PRD v3 is up": a
    new draft, no release) and asides in parentheses."""
    found = []
    for match in signals.VERSION.finditer(prose.text):
        before = prose.lower[max(0, match.start() - 12) : match.start()].split()
        if before and before[-1].strip("*_:") in _DOCUMENTS:
            continue
        if prose.lower[match.start() - 1 : match.start()] == "(":
            continue  # "anomaly explanations are out (v2)": an aside, naming nothing
        if _AT_LEAST.match(prose.lower, match.end()):
            continue  # "update to version 4.1.3 or higher": a requirement, no release
        found.append(match)
    return found


_AT_LEAST = re.compile(r"\s*(?:\+|or\s+(?:higher|later|above|newer|greater))")


# The next one of something held again and again, named: "The next DHUG will be on the
# 29th", "our next Haskell-jp meetup is on Saturday".
NEXT_ONE = re.compile(
    r"\b(?:[Tt]he|[Oo]ur)\s+next\s+[*_]?(?P<name>[A-Z][\w.'’&+-]*(?:\s+[A-Z0-9][\w.'’&+-]*){0,3})[*_]?"
    r"\s+(?:is|will\s+be|takes\s+place|happens)\b"
)
# A name (capitalized, an acronym, a number) right before a verb of beginning.
STARTING = re.compile(
    r"(?:\b[A-Z][\w.'’&+-]*|\b\d[\w.]*|[)*>])\*?\s+"
    r"(?:starts|begins|kicks\s+off|is\s+starting|is\s+happening|takes\s+place)\b"
)
# "It's Developer Day 2021!", "Tonight is our meetup": the event is on as it is posted.
_ITS_ON = re.compile(
    r"(?:\bit[’']?s|\bit\s+is|\btoday\s+is|\btonight\s+is|\btoday[’']?s|\btonight[’']?s)"
    r"\s+(?:the\s+|our\s+|(?:the\s+)?first\s+)?(?:[\w.-]+\s+){0,3}$",
    re.IGNORECASE,
)
_ON_CATEGORIES = frozenset({EventCategory.MEETING, EventCategory.CONFERENCE})
# "We can't wait to see you there": the organizers speak, not someone's attendance.
ORGANIZERS = frozenset({"we", "our", "us"})


# "We're excited to announce the launch of X", "Introducing Content Hub", "X is out of
# beta", "Early Access to App Cards is Here": a launch or release announced, undated, is
# one happening as it is posted.
INTRODUCING = re.compile(
    r"\b(?:introduc(?:e|es|ing)|announc(?:e|es|ing)|unveil(?:s|ing)?|out\s+of\s+beta"
    r"|(?:is|are)\s+(?:now\s+)?here|now\s+(?:in|available|supports?)|(?:excited|pleased|happy|thrilled|proud)"
    r"\s+to\s+share)\b"
)
_AHEAD_WORDS = frozenset(
    "will ll soon upcoming next plan planning planned going tomorrow later".split()
)
INTRODUCED = frozenset({EventCategory.LAUNCH, EventCategory.RELEASE})


def introduced(prose: Prose, head: Head) -> int | None:
    """The position of a launch or release introduced in the event word's sentence."""
    start, sentence = sentence_around(prose.lower, head.begin)
    if INTRODUCING.search(sentence) is None:
        # "We are introducing *Themes* to the CMS ... request to be part of the Themes
        # beta": an introduction earlier in the paragraph introduces what it goes on about.
        paragraph = prose.lower.rfind("\n\n", 0, head.begin) + 1
        found = INTRODUCING.search(prose.lower, paragraph, start)
        if found is None:
            return None
        _, sentence = sentence_around(prose.lower, found.start())
    if sentence.rstrip().endswith("?") or not _AHEAD_WORDS.isdisjoint(lx.words(sentence)):
        return None
    return head.begin


def incident_phrase(prose: Prose, at: int) -> bool | None:
    """Whether the "happening now" phrase at ``at`` is an incident's only ("investigating",
    "is down") and its sentence names trouble: True, it reports an incident; False, it
    reports nothing of another kind; None when it is not an incident's phrase."""
    offsets = [match.start() for match in _WORD.finditer(prose.masked)]
    index = next((i for i, offset in enumerate(offsets) if offset >= at), None)
    if index is None:
        return None
    kinds = {
        category
        for category, phrases in lx.NOW_BY_CATEGORY.items()
        if any(start == index for start, _ in phrases.positions(prose.tokens))
    }
    if kinds != {EventCategory.INCIDENT}:
        return None
    _, sentence = sentence_around(prose.lower, at)
    return not lx.TROUBLE_WORDS.isdisjoint(lx.words(sentence))


def tagged_now(prose: Prose, head: Head) -> int | None:
    """The position of a release or launch tagged as news at the message's start
    ("[Release] Included CSS files no longer require ...", "*New:* ...")."""
    if head.category not in INTRODUCED or _NEWS_TAG.match(prose.lower) is None:
        return None
    return head.begin


# A tag that opens a message as news of the day: "[Release]", "New:", "[Now Live]".
_NEWS_TAG = re.compile(
    r"^\W*(?:now\s+live|new|release[sd]?|launch(?:ed)?|shipped)\W*[\]:|\-]",
)


def named_today(text: str, head: Head) -> int | None:
    """The position of an event said to be on today ("It's Developer Day 2021!")."""
    if head.category not in _ON_CATEGORIES:
        return None
    start = max(text.rfind(mark, 0, head.begin) for mark in ".!?\n") + 1
    before = text[start : head.begin]
    if _ITS_ON.search(before) is None or "?" in text[head.begin : head.begin + 80].split("\n")[0]:
        return None
    return head.begin


def supposed(prose: Prose, begin: int) -> bool:
    """The word at ``begin`` is in a clause that supposes ("if you launch it at 1pm") or
    in a message that opens as an example."""
    if prose.lower.startswith(_EXAMPLE_OPENERS):
        return True
    if _JA_SUPPOSING.match(prose.text, begin):
        return True
    offsets = [match.start() for match in _WORD.finditer(prose.masked)]
    token = next((i for i, offset in enumerate(offsets) if offset >= begin), None)
    if token is None:
        return False
    first = _clause_start(prose.lower, offsets, token)
    return not _SUPPOSING.isdisjoint(prose.tokens[first:token])


# Words that make a clause an opinion rather than a report ("I feel like HubSpot should
# look at how many pages are live", "sounds like a case for open sourcing"); people hedge
# trouble they see all the same ("I think GitLab is down" reports an outage).
_HEDGES = frozenset("think feel sounds seems seem guess believe suppose wonder".split())
_TROUBLE_NOW = lx.NOW_BY_CATEGORY[EventCategory.INCIDENT]
_PREPOSITIONS = frozenset("on of for about with without from by in at to into".split())


def _hedged(clause: list[str], phrase: list[str]) -> bool:
    """The clause before a "now" phrase makes it a possibility ("if", "should", "the faster
    new features can be released") or, but for trouble, an opinion."""
    if not lx.HYPOTHETICAL.isdisjoint(clause) or clause[-2:] in (["can", "be"], ["may", "be"]):
        return True
    return not _HEDGES.isdisjoint(clause) and phrase not in _TROUBLE_NOW


def _clause_start(lower: str, offsets: list[int], token: int) -> int:
    """The first token of the clause holding ``token`` (after a comma, stop or colon)."""
    cut = max(lower.rfind(mark, 0, offsets[token]) for mark in ",.;:!?")
    first = token
    while first > 0 and offsets[first - 1] > cut:
        first -= 1
    return first


# Words that deny what follows in their clause ("t": "isn't", "hasn't", "don't").
_NEGATING = frozenset("not no nothing never nobody none neither t".split())
# "Now" phrases that chat says of anything ("the app is out yet", "something is down",
# "get that all up and running", "I got kicked off", "plans are underway"): they report
# an event only of a named subject ("CDN is down", "The HubSpot Spotlight is starting",
# "The long awaited CMS for Developers Certification is up and running") or beside an
# event word.
_WEAK_NOW = frozenset(
    {
        "is out",
        "are out",
        "up and running",
        "is down",
        "are down",
        "not loading",
        "back up",
        "about to start",
        "is starting",
        "kicked off",
        "kicking off",
        "underway",
        "under way",
        "currently live",
        "happening now",
        "happening right now",
        "presently experiencing",
        "currently experiencing",
        "is experiencing",
        "are experiencing",
    }
)
# Words between a subject and its "now" phrase ("HubSpot is *still* down").
_BETWEEN = frozenset(
    "just now still finally officially currently also already all is are was has have been be "
    "the a an".split()
)


def _named_subject(prose: Prose, offsets: list[int], start: int) -> bool:
    """The phrase opens the message ("Live now!"), or one of the three words before it in
    its sentence is written as a name: capitals beyond a sentence's first letter ("HS
    sites are down", "CDN is down", "The HubSpot Spotlight is starting")."""
    if start == 0:
        return True
    index, seen = start - 1, 0
    while index >= 0 and seen < 3:
        begin = offsets[index]
        if _SENTENCE_BREAK.search(prose.lower, begin, offsets[index + 1]):
            return False
        token = prose.tokens[index]
        index -= 1
        if token in _BETWEEN:
            continue
        seen += 1
        written = prose.text[begin : begin + len(token)]
        capitals = sum(ch.isupper() for ch in written)
        opens = begin == 0 or _SENTENCE_BREAK.search(prose.lower, max(0, begin - 2), begin)
        if capitals > 1 or (capitals == 1 and not opens):
            return True
    return False


def _has_subject(prose: Prose, offsets: list[int], start: int, end: int) -> bool:
    """A noun right before the phrase in its sentence ("the integration issue has been
    resolved"), or right after a phrase that opens its sentence ("Introducing Themes")."""
    lower = prose.lower
    for index in range(start - 1, max(-1, start - 4), -1):
        if _SENTENCE_BREAK.search(lower, offsets[index], offsets[index + 1]):
            break
        if prose.tokens[index] not in lx.SUBJECTLESS:
            return True
    opens = start == 0 or _SENTENCE_BREAK.search(lower, offsets[start - 1], offsets[start])
    return bool(opens) and end < len(prose.tokens) and prose.tokens[end] not in lx.SUBJECTLESS


def in_question(lower: str, position: int) -> bool:
    """The sentence around ``position`` asks ("is the new editor rolled out yet?")."""
    end = len(lower)
    match = _SENTENCE_BREAK.search(lower, position)
    if match is not None:
        end = match.start() + 1
    return lower[position:end].rstrip().endswith("?")


def _token_at(offsets: list[int], position: int) -> int:
    index = 0
    for index, offset in enumerate(offsets):
        if offset >= position:
            return index
    return index


# "25% off", "$10 off": a discount (the number is no word, so "is 25% off" reads "is off").
_DISCOUNT = re.compile(r"\d\s*%\s*off\b|\$\s*\d[\d.,]*\s+off\b")


def releases_now(prose: Prose) -> bool:
    """In Japanese, only a release's own words make a version a release ("9.1を読み終わりま
    した" finishes reading section 9.1)."""
    if not lx.has_cjk(prose.lower):
        return True
    return any(word in prose.lower for word in lx.JA_RELEASE_NOW)


def cancels(prose: Prose) -> bool:
    found = lx.CANCEL_WORDS.found(prose.tokens, prose.token_set, prose.pairs)
    if found and all(phrase == "is off" for phrase in found) and _DISCOUNT.search(prose.lower):
        return False
    return bool(found)
