"""A generic title ("Public beta", "Launch", "Sessions") completed by the name written
beside the event word: "Custom Channels API public beta", "Meetings API".

A name is a run of capitalized words, acronyms and numbers in the event word's
sentence; an addressee ("Hello HubSpot People"), a place or tool after "in/at/on"
("live in KnowBe4"), a day or month and a pronoun ("I'd") are not names of the thing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from slack_events_dagster.domain import lexicon as lx
from slack_events_dagster.llm.rules.happening import sentence_around
from slack_events_dagster.llm.rules.titles import (
    _AUXILIARY,
    _FUNCTION,
    _VERBISH,
    Token,
    _generic,
    _join,
    _mixed,
    tokenize,
    words_of,
)

_ADDRESSEES = frozenset(
    "people folks devs developers everyone everybody team community all friends y'all "
    "guys members".split()
)
_GREETINGS = frozenset(
    "hey hi hello howdy heya dear attention greetings welcome good morning afternoon "
    "evening".split()
)
_NAME_JOINERS = frozenset({"of", "for", "&", "+", "and", "x"})
_SENTENCE_GAP = re.compile(r"[.!?\n]")
_BREAK = re.compile(r"[.!?:;,\n()\[\]|\"“”]|\s[-\u2013\u2014]\s")


def _capitalized(token: Token) -> bool:
    word = token.text
    return word[:1].isupper() or any(ch.isdigit() for ch in word) or _mixed(word)


def name_runs(text: str) -> list[tuple[int, str]]:
    """The proper names of ``text`` as (position, words): runs of capitalized words,
    acronyms and numbers ("Custom Channels API", "Developer Feedback Tool", "INBOUND
    2021"), never a greeting's addressee ("Hello HubSpot People") nor a sentence's
    capitalized first word alone."""
    tokens = words_of(text)
    runs: list[tuple[int, str]] = []
    run: list[Token] = []
    previous_end = 0
    after_greeting = False

    def close() -> None:
        while run and run[-1].lower in _NAME_JOINERS:
            run.pop()
        words = [t for t in run if t.lower not in _FUNCTION]
        single_opening = len(run) == 1 and run[0].begin in opening
        addressed = after_greeting or (run and run[-1].lower in _ADDRESSEES)
        if words and not single_opening and not addressed and not _kind_only(run):
            runs.append((run[0].begin, _join(run)))
        run.clear()

    opening: set[int] = set()
    for token in tokens:
        gap = text[previous_end : token.begin]
        starts_sentence = previous_end == 0 or _SENTENCE_GAP.search(gap) is not None
        if starts_sentence:
            opening.add(token.begin)
        if starts_sentence or _BREAK.search(gap) is not None:
            close()
            after_greeting = False
        lower = token.lower
        named = _capitalized(token) and lower not in _VERBISH and lower not in _FUNCTION
        if named or (run and lower in _NAME_JOINERS and not _BREAK.search(gap)):
            run.append(token)
        else:
            close()
            after_greeting = False
            if lower in _GREETINGS:
                after_greeting = True
        previous_end = token.end
    close()
    return runs


@functools.lru_cache(maxsize=8192)
def is_generic(title: str) -> bool:
    """A title that says what kind of thing but not which ("Public beta", "Launch",
    "Sessions"): no number, no name, only words of kind, function and manner."""
    tokens = tokenize(title)
    if not tokens or any(any(ch.isdigit() for ch in t.text) for t in tokens):
        return False
    if title.isupper():
        return all(_generic(t.text) or t.lower in _KINDS for t in tokens)
    return _kind_only(tokens)


# Kinds of event the lexicon leaves out alone ("talk" is chatter in "let's talk") but
# that name no event in a title either.
_KINDS = frozenset(
    "talk session class course presentation stream livestream early access preview "
    "availability changelog post status page update updates announcement".split()
)


# Words that make a title a clause about someone: "You're Invited", "We deployed out a
# fix", "Here's a new module that we just added", "This is now live".
_CLAUSE_WORDS = frozenset(
    "i i'm i've i'll i'd we we're we've we'll you you're you've you'll it's here's this "
    "that's there's they they're he she her his it thanks thank because was were "
    # someone's negations and indefinite subjects: "But don't worry ...", "Just in case
    # anyone hasn't seen ...", "Anyone else having issues ..."
    "don't didn't doesn't hasn't haven't isn't aren't wasn't can't won't anyone anybody "
    "someone somebody there did does".split()
)


def quoted_title(text: str) -> str | None:
    """A title written in quotes, in title case ("“Using Your Website to Grow”", "“How
    to Optimize your website like a pro”"): two to ten words, the first capitalized and
    no pronoun of someone speaking."""
    for match in _QUOTED.finditer(text):
        words = match.group(1).split()
        if not 2 <= len(words) <= 10 or not words[0][:1].isupper():
            continue
        if any(word.lower().strip(",.!?") in _SPEAKING for word in words):
            continue
        return match.group(1).strip()
    return None


_SPEAKING = frozenset("i i'm i'll i've we we're we'll you're it's".split())


@functools.lru_cache(maxsize=8192)
def is_clause(title: str) -> bool:
    """A title that is a piece of a sentence told by someone, not a name."""
    # ("IT maintenance": the department, not the pronoun.)
    return any(token.lower in _CLAUSE_WORDS and token.text != "IT" for token in tokenize(title))


# A title in quotes: "“How to Optimize your website like a pro” by Lukas Pleva".
_QUOTED = re.compile(r"[“\"]([^”\"\n]{3,90})[”\"]")
# How far from the event word (in characters) a name may stand to name it.
NAME_REACH = 80


# Words of manner and time that name nothing ("Still release", "Already live").
_MANNER = _AUXILIARY | {"still", "yet", "soon", "again"}


@functools.lru_cache(maxsize=8192)
def _kind_words(title: str) -> str:
    """The words of a generic title that say what kind ("Still release" -> "release")."""
    return " ".join(t.lower for t in tokenize(title) if t.lower not in _MANNER)


def is_addressee(title: str) -> bool:
    """ "HubSpot Devs", "Hello Developer Community": whom a message greets."""
    tokens = tokenize(title)
    if not tokens or tokens[-1].lower not in _ADDRESSEES:
        return False
    # "jQuery for CMS developers" is for someone, not to them.
    return not any(t.lower in ("for", "of", "to", "with", "by") for t in tokens)


def _kind_only(run: Sequence[Token]) -> bool:
    """ "Public Beta", "Webinar": capitalized words of kind; "Meetings API" names one."""
    if any(len(t.text) > 1 and (t.text.isupper() or _mixed(t.text)) for t in run):
        return False
    if any(t.lower.endswith(("'s", "’s")) for t in run):
        return False  # "R user's group talk": whose it is names it
    return all(_generic(t.text) or t.lower in _KINDS or t.lower in _MANNER for t in run)


def with_name(title: str, text: str, position: int) -> str | None:
    """A generic title ("Public beta", "Launch", "Sessions") with the name written next
    to ``position`` in its sentence: "Custom Channels API public beta"; None without
    one."""
    start, sentence = sentence_around(text, position)
    runs = [
        (begin + start, name)
        for begin, name in name_runs(sentence)
        if any(ch.isalpha() for ch in name)
        and name.split()[0].lower() not in _PRONOUN_NAMES
        and not (
            _PLACE_BEFORE.search(sentence[:begin])
            and not _HOST_AFTER.match(sentence, begin + len(name))
        )
        and not _dated(name)
    ]
    runs += [
        (match.start(1) + start, match.group(1).strip())
        for match in _QUOTED.finditer(sentence)
        if 2 <= len(match.group(1).split()) <= 10
    ]
    near = [run for run in runs if _distance(run, position) <= NAME_REACH]
    if not near:
        return None
    _, name = min(near, key=lambda run: (_distance(run, position), -len(run[1])))
    kind = _kind_words(title)
    if not kind or kind in name.lower():
        return name
    return f"{name} {kind}"


_PRONOUN_NAMES = frozenset("i i'd i'm i'll i've".split())
# "due in Ramp", "live in KnowBe4", "posted on YouTube": where it is, not what.
_PLACE_BEFORE = re.compile(r"\b(?:in|at|on|via|from|by|through|inside)\s+(?:the\s+)?$", re.I)


# "from the Dev HUG crew": whose it is, not where.
_HOST_AFTER = re.compile(r"\s+(?:crew|team|folks|community|group|gang|squad)\b", re.I)


def _dated(name: str) -> bool:
    words = lx.words(name.lower())
    return bool(words) and (words[0] in lx.MONTHS or words[0] in lx.WEEKDAYS)


def _distance(run: tuple[int, str], position: int) -> int:
    begin, name = run
    end = begin + len(name)
    return 0 if begin <= position <= end else min(abs(begin - position), abs(end - position))


# -- what is in trouble: an incident titled the way people write it ----------------------

_TROUBLE = re.compile(
    r"(?P<subject>(?:[\w.'’/+-]+,?\s+){1,6}?)"
    r"(?:(?:is|are|was|were|seems?\s+to\s+be|has\s+been|have\s+been|keeps?)\s+)?"
    r"(?:(?:currently|still|intermittently|partially)\s+)?"
    r"(?P<trouble>failing|not\s+loading|not\s+working|not\s+sending|down|unavailable|degraded"
    r"|timing\s+out|erroring|broken|delayed)\b",
    re.IGNORECASE,
)
_TROUBLE_LEAD = frozenset(
    "some all many most the our your their its parts part of several certain a an and "
    "that which where when while because including".split()
)


def trouble_title(text: str) -> str | None:
    """ "Some edits are failing with marketing email" -> "Edits failing"; "CMS sites
    should now be loading" is no trouble; "parts of HubSpot, including the navigation and
    CRM records, are not loading" -> "Navigation and CRM records not loading"."""
    named = _NAMED_TROUBLE.search(text)
    if named is not None:
        return f"{named['what'].strip()} {named['trouble'].lower()}"
    return issue_title(text) or _subject_and(_TROUBLE, text)


# "CMS sites should now be loading", "the editor is working again": what recovers names
# what was in trouble.
_RECOVERED = re.compile(
    r"(?P<subject>(?:[\w.'’/+-]+,?\s+){1,6}?)(?:should|is|are|seems?\s+to\s+be)\s+"
    r"(?:now\s+)?(?:be\s+)?(?P<trouble>loading|working|back\s+up|back\s+online"
    r"|available(?=\s+(?:again|now)))"
    r"(?:\s+(?:again|now|normally|properly|fine))?\b",
    re.IGNORECASE,
)


# "HubSpot is presently experiencing a major outage", "GitHub is experiencing degraded
# performance": a named thing's trouble, said of it.
_EXPERIENCING = re.compile(
    r"(?P<what>\b[A-Z][\w.-]*(?:\s+[A-Z][\w.-]*){0,2})\s+(?:is|are)\s+"
    r"(?:presently\s+|currently\s+|now\s+|still\s+)?experiencing\s+(?:an?\s+|some\s+)?"
    r"(?:(?:major|partial|minor|widespread|intermittent)\s+)?"
    r"(?P<trouble>(?i:outages?|issues|errors|problems|downtime|degraded\s+performance|degradation))\b"
)


def experiencing_title(text: str) -> str | None:
    """ "HubSpot is presently experiencing a major outage" -> "HubSpot outage"."""
    match = _EXPERIENCING.search(text)
    if match is None:
        return None
    what = match["what"].split()
    while what and what[0].lower() in _LEAD_TAGS:
        what = what[1:]  # "FYI Heroku is ..."
    if not what or what[0].lower() in _FUNCTION | _SOMETHING:
        return None
    return f"{' '.join(what)} {' '.join(match['trouble'].lower().split())}"


_LEAD_TAGS = frozenset("fyi psa update note reminder heads hi hey hello alert".split())


def recovered_title(text: str) -> str | None:
    """ "... this should now be resolved and CMS sites should now be loading" -> "CMS sites
    outage": an incident titled by what is said to have recovered."""
    found = _subject_and(_RECOVERED, text, predicate=False)
    if found is None:
        return None
    words = found.split()
    if "and" in words:
        # "resolved and CMS sites": a participle joined to the subject is no part of it.
        cut = words.index("and")
        if all(w.islower() and w.endswith("ed") for w in words[:cut]):
            words = words[cut + 1 :]
    if not words or {w.lower() for w in words} <= _VAGUE_ISSUE | _TROUBLE_LEAD | _SOMETHING:
        return None
    return f"{' '.join(words)} outage"


_SOMETHING = frozenset(
    "everything something anything things thing it stuff all everyone nothing".split()
)


def issue_title(text: str) -> str | None:
    """What an issue is said to be of: "the issue that's caused content and email editing
    tools to be unavailable", "the issue with design manager and web page rendering",
    "follow the crm card issue" (but not "the same issue")."""
    caused = _subject_and(_CAUSED, text)
    if caused is not None:
        return caused
    with_what = _ISSUE_WITH.search(text)
    if with_what is not None:
        return f"{with_what['what'].strip()} {with_what['issue'].lower()}"
    own = _subject_and(_ISSUE_OF, text)
    if own is not None and not set(lx.words(own.lower())[:-1]) <= _VAGUE_ISSUE:
        return own
    return None


# Words before "issue" that say which issue without naming what is in trouble.
_VAGUE_ISSUE = frozenset(
    "same ongoing above current previous known following original main underlying actual "
    "other first second last whole real big bigger major minor recent new old reported "
    "mentioned related similar specific this that one weird strange odd general overall "
    "biggest only official wider wide larger large broader global".split()
)


# "the issue that's caused content and email editing tools to be unavailable"
_CAUSED = re.compile(
    r"\b(?:issue|problem|bug|incident)s?\s+(?:that|which)\s*(?:'s|’s|\s+has|\s+had)?\s+caused\s+"
    r"(?P<subject>(?:[\w.'’/+-]+\s+){1,6}?)to\s+be\s+"
    r"(?P<trouble>unavailable|down|slow|delayed|broken|failing)\b",
    re.IGNORECASE,
)
# "the issue with design manager and web page rendering", "issues affecting the CRM"
_ISSUE_WITH = re.compile(
    r"\b(?:the|an|some)\s+(?P<issue>issue|problem|outage|incident)s?\s+"
    r"(?:with|affecting|impacting)\s+(?:the\s+|our\s+|your\s+)?"
    r"(?P<what>[\w][\w &/'’.-]{2,60}?)(?=\s*[.,;:!?(<\n]|\s+(?:please|is|are|was|were|has|have"
    r"|should|see|for|in|on|at|as|too|since|today|this|that|which|and\s+(?:we|our|it))\b|$)",
    re.IGNORECASE,
)
# "follow the crm card issue at status.hubspot.com": a thing's own issue.
_ISSUE_OF = re.compile(
    r"\bthe\s+(?P<subject>(?:[\w.'’/+-]+\s+){1,4}?)(?P<trouble>issue|outage|incident)\b",
    re.IGNORECASE,
)


# "For folks seeing API issues", "experiencing Workflows errors": a named thing's trouble
# (the name capitalized, as people write product names).
_NAMED_TROUBLE = re.compile(
    r"\b(?:seeing|having|experiencing|reporting|reports\s+of|with)\s+(?:some\s+)?"
    r"(?P<what>(?:[A-Z][\w.-]*\s+){1,3})(?P<trouble>(?i:issues|errors|problems|outages?|downtime))\b"
)


_DUE = re.compile(
    r"(?P<subject>(?:[\w.'’/+-]+,?\s+){1,6}?)(?:(?:is|are)\s+)?(?:now\s+)?"
    r"(?P<trouble>due|closing)\b",
    re.IGNORECASE,
)


# "Q1 self-reviews are open in Lattice and are due in two weeks": what is due is the
# subject of the first of two predicates.
_DUE_SECOND = re.compile(
    r"(?P<subject>(?:[\w.'’/+-]+\s+){1,5}?)(?:is|are)\s+[^.!?\n]{1,40}?\s+and\s+"
    r"(?:(?:is|are)\s+)?(?P<trouble>due)\b",
    re.IGNORECASE,
)


def due_title(text: str) -> str | None:
    """ "February expense reports are due EOD Friday" -> "February expense reports due":
    a deadline titled by what is due."""
    text = _EMPHASIS.sub("", text)  # "and are *due in two weeks*"
    return _subject_and(_DUE_SECOND, text) or _subject_and(_DUE, text)


_EMPHASIS = re.compile(r"(?<!\w)[*_~]+|[*_~]+(?!\w)")


def _subject_and(pattern: re.Pattern[str], text: str, *, predicate: bool = True) -> str | None:
    """The subject of the first match of ``pattern`` (words up to five, after the last
    function word that cannot be in it) and its predicate word ("failing", "due")."""
    for match in pattern.finditer(text):
        words = match["subject"].split()
        cut = 0
        for index, word in enumerate(words):
            lower = word.lower().strip(",.;:")
            closes = word.endswith((",", ";")) and index < len(words) - 1
            if (lower in _FUNCTION and lower not in ("and", "of", "&")) or closes:
                cut = index + 1
        subject = [w.strip(",.;:") for w in words[cut:]]
        while subject and subject[0].lower() in _TROUBLE_LEAD:
            subject = subject[1:]
        if not subject or any(w.lower() in _CLAUSE_WORDS for w in subject):
            continue
        if len(subject) == 1 and subject[0].lower() in _TROUBLE_LEAD | _FUNCTION:
            continue
        said = " ".join(match["trouble"].lower().split())
        return " ".join([*subject[-5:], said] if predicate else subject[-5:])
    return None


# -- a talk by someone: "@Amanda Shih is starting her talk about D3" ------------------------

_SPEAKER = re.compile(r"@(?P<name>[A-Z][\w.'’-]*(?:\s[A-Z][\w.'’-]*){0,2}|[\w.-]+)")
_TOPIC = re.compile(
    r"\s+(?:on|about)\s+(?:(?:a|an|the|some|his|her|their|our)\s+)?(?P<topic>(?:[^.,;:!?\n()]|\.(?=\w))+)"
)
# Where a talk's topic ends: what it is for, where and when it is given.
_TOPIC_END = frozenset("for in at during from to by next our this tomorrow today".split())
TALK_WORDS = frozenset("talk talks presentation keynote lightning".split())


def speaker_title(text: str, head_begin: int, head_text: str) -> str | None:
    """ "@Amanda Shih is starting her talk about D3" -> "Amanda Shih talk about D3": a
    talk given by someone mentioned before it in its sentence, with its topic."""
    words = head_text.split()
    if not words or words[-1] not in TALK_WORDS:
        return None
    start, _ = sentence_around(text, head_begin)
    speaker = None
    for match in _SPEAKER.finditer(text, start, head_begin):
        speaker = match["name"]
    if speaker is None:
        return None
    kind = " ".join(w for w in words if w not in _CLAUSE_WORDS and w not in ("a", "an", "the"))
    title = f"{speaker} {kind}"
    topic = _TOPIC.match(text, head_begin + len(head_text))
    if topic is not None:
        about: list[str] = []
        for word in topic["topic"].split():
            if len(about) == 6 or (about and word.lower() in _TOPIC_END):
                break  # "... using leaflet.js and mapbox | for map data in our next meetup"
            about.append(word)
        while about and about[-1].lower() in _FUNCTION:
            about.pop()
        if about:
            title += " on " + " ".join(about)
    return title


# -- a channel named after the thing: #local-development, #mobile-chat-sdk-beta -----------

# Words of channel names that say what the channel is for, not what it is about.
_CHANNEL_WORDS = frozenset(
    "general random announcements announcement announce releases release updates update "
    "news events event dev devs developer developers team teams chat help questions question "
    "misc offtopic off topic community social watercooler introductions intro jobs job "
    "feedback links share showcase show tell and of the for ops eng engineering product "
    "support alerts alert notifications incidents incident status all hands meta slack "
    "admins staff internal external public private test testing bots bot lounge gratitude "
    "thanks kudos shoutouts shout outs wins praise celebrations".split()
)


def with_channel(title: str, channel: str) -> str | None:
    """A nameless title with the name of a channel named after a thing ("BETA" in
    #local-development: "Local development beta"); None for a channel named after what it
    is for (#general, #releases-and-updates) or a title that is a clause."""
    words = [w for w in re.split(r"[-_\s]+", channel) if w]
    if not words or all(
        w.lower() in _CHANNEL_WORDS or w.lower() in _KINDS or _generic(w) for w in words
    ):
        return None
    if is_clause(title):
        return None
    name = " ".join(words)
    kind = _kind_words(title)
    if not kind or kind in name.lower():
        return name
    return f"{name} {kind}"
