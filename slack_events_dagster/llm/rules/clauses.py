"""Titles from a message's heading or first clause, when no event word names the thing:
a changelog tag's line ("[Now Live] Customize the default company info"), a bold heading
("*Lumen 4.13* target: ..."), the first sentence up to its date, cleaned of lead-ins
("Reminder:", "Hey all,") and dangling edge words, at most a few words.
"""

from __future__ import annotations

import re

from slack_events_dagster.domain import lexicon as lx
from slack_events_dagster.llm.rules.titles import (
    _FUNCTION,
    _VERBISH,
    MAX_WORDS,
    _generic,
    _is_name,
    _join,
    symbols_stripped,
    tokenize,
    words_of,
)

_CLAUSE_BREAK = re.compile(r"[.!?;:](?=\s|$)|[\n(]|\s[-\u2013\u2014]\s|,\s(?:and|but|so|which)\b")
# A tag in front of a changelog line: "[Now Live]", "*Update:*", "Release -".
LEADING_TAG = re.compile(
    r"^\W*(?:now\s+live|new|release[sd]?|update[sd]?|beta|launch(?:ed)?|announcement|"
    r"deprecation|sunset|incident|outage|maintenance|heads[\s-]up|fyi|psa|reminder)\W*[\]:)|\-*]"
    r"[\s*:\-|]*",
    re.IGNORECASE,
)


def trimmed_clause(text: str) -> str:
    """The first clause of ``text`` with content, at most a few words, never ending on a
    function word (greetings and addressees are skipped: "Hey, all. Quick update...")."""
    for clause in _CLAUSE_BREAK.split(LEADING_TAG.sub("", text.strip())):
        tokens = words_of(clause)
        while tokens and (tokens[0].lower in _FUNCTION or tokens[0].lower in _VERBISH):
            tokens = tokens[1:]
        tokens = tokens[:MAX_WORDS]
        while tokens and tokens[-1].lower in _FUNCTION:
            tokens = tokens[:-1]
        if len(tokens) >= 2 or (
            tokens and (tokens[0].text[0].isupper() or len(tokens[0].text) > 3)
        ):
            return _join(tokens)
    return ""


# -- a heading or first sentence, cleaned (the fallback) ----------------------------------

_TITLE_PREFIX = re.compile(
    r"^(?:@\w[\w.-]*|friendly\s+reminder|just\s+a\s+reminder|quick\s+reminder"
    r"|reminder\s+that|reminder|yes|yep|ok|okay|sure|tl;?dr"
    r"|heads[- ]up|fyi|psa|update|important|note|save\s+the\s+date|announcement|new"
    r"|(?:(?:hey|hi|hello|howdy)\s+)?(?:all|team|everyone|folks|y'all|people|devs|developers)"
    r"(?=\s*[,:!])|hey|hi|hello|howdy|heya|greetings"
    r"|tentatively|tentative|declaring|mark\s+your\s+calendars?"
    r"|we(?:'re|\s+are)\s+planning(?:\s+(?:a|an|the|our))?|thinking\s+about|shameless\s+plug"
    r"|cross-?posting(?:\s+the)?|x-?posting|t-?minus\s+\d+\s+(?:days?|hours?|weeks?)"
    r"|we(?:'re|\s+are)\s+(?:excited|happy|thrilled|pleased)\s+to\s+(?:announce|share)"
    r"|join\s+us(?:\s+(?:for|at|on))?|please\s+join(?:\s+us)?(?:\s+(?:for|at|on))?"
    r"|don'?t\s+forget(?:\s+(?:about|that))?|there\s+will\s+be|we\s+will\s+(?:have|hold|host)"
    r"|we(?:'re|\s+are)\s+(?:having|hosting|holding)|announcing)\b[\s:,!.\-\u2013\u2014]*",
    re.IGNORECASE,
)
_TITLE_EDGE_WORDS = re.compile(
    r"(?:^|\s)(?:on|at|from|by|is|are|will|be|for|scheduled|planned|happening|starts?"
    r"|starting|this|next|the|of|in|until|till|to|and|or|has|been|was|our|coming|up|due"
    r"|since|around|about|approx|effective|as\s+of|sharp|between|goes\s+out|going\s+out"
    r"|is\s+out|is\s+live|goes\s+live|ships|is\s+slipping|slipping|is\s+moving|moving"
    r"|takes?\s+place|kicks?\s+off|target|@|\u2014|\u2013|-|,|:|\(|\))$",
    re.IGNORECASE,
)
_TITLE_LEAD_WORDS = re.compile(
    r"^(?:on|at|from|by|for|is|the\s+(?=\w+\s+\w)|and|:|,|-|\u2013|\u2014)\s+", re.IGNORECASE
)
_SLACK_FORMATTING = re.compile(r"(?<!\w)[*_~`]+|[*_~`]+(?!\w)")
BOLD_START = re.compile(r"^\s*\*(?P<bold>[^*\n]{2,120})\*")
_HEADING_TAIL = re.compile(r"^\s*(?:[:|]|\s-|\u2013|\u2014)\s*(?P<rest>\S.*)$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z@:*])|\n")
_WEAK_HEADINGS = frozenset(
    {"reminder", "update", "heads up", "heads-up", "fyi", "psa", "note", "important"}
)


def clean_title(raw: str) -> str:
    """A clause without its lead-in ("Reminder:", "Hey all,") and dangling edge words."""
    title = _SLACK_FORMATTING.sub("", raw)
    title = re.sub(r"\s+\|\s+|\s+", " ", title).strip(" :,-\u2013\u2014|")
    for _ in range(4):
        stripped = _TITLE_PREFIX.sub("", title).strip(" :,-\u2013\u2014|")
        if stripped == title:
            break
        title = stripped
    for _ in range(8):
        previous = title
        title = _TITLE_EDGE_WORDS.sub("", title).strip(" :,-\u2013\u2014|(")
        title = _TITLE_LEAD_WORDS.sub("", title).strip(" :,-\u2013\u2014|)")
        if title == previous:
            break
    title = title.strip(" .!:,;-\u2013\u2014")
    if title.count("(") != title.count(")"):
        title = title.replace("(", "").replace(")", "").strip()
    return _words_capped(title)


def _words_capped(title: str) -> str:
    """At most MAX_WORDS words, cut at a clause boundary when there is one, never ending
    on a function word. "Scheduled maintenance: Postgres 14 → 16 upgrade on the primary
    cluster" names the upgrade after its colon: a generic lead-in gives way."""
    if ": " in title:
        lead, rest = title.split(": ", 1)
        cross_post = " from #" in lead or lead.lower().startswith(("cross-post", "x-post"))
        long_generic = len(title.split()) > MAX_WORDS and _generic(lead)
        if (cross_post or long_generic) and len(rest.split()) >= 2:
            title = rest
    words = title.split()
    if len(words) <= MAX_WORDS:
        return title
    head = " ".join(words[:MAX_WORDS])
    for separator in (": ", " - ", " \u2013 ", " \u2014 ", ", "):
        if separator in head:
            candidate = head[: head.index(separator)]
            if len(candidate.split()) >= 2:
                head = candidate
                break
    tokens = head.split()
    while tokens and tokens[-1].lower().strip(",.:;") in _FUNCTION:
        tokens.pop()
    return " ".join(tokens).rstrip(" ,;:-")


def bold_heading(text: str) -> str | None:
    """The message's bold opening ("*Lumen 4.13* target: ...") when it names something."""
    match = BOLD_START.match(symbols_stripped(text).lstrip())
    if match is None:
        return None
    title = clean_title(match["bold"])
    if len(title) < 3 or title.lower() in _WEAK_HEADINGS or len(title.split()) > MAX_WORDS:
        return None
    if any(t.lower in _CLAUSE_VERBS for t in tokenize(title)[1:]):
        return None  # "*4.12 is live*" says what happened; the version names the thing
    tokens = tokenize(title)
    if not any(
        _is_name(t, sentence_start=i == 0) or t.lower not in _FUNCTION for i, t in enumerate(tokens)
    ):
        return None
    if all(t.lower in _FUNCTION or t.lower in _VERBISH for t in tokens):
        return None
    return title


def _cut_at_date(segment: str) -> str:
    """Text up to the first blanked date; if nothing precedes it, without the date."""
    if "\x00" not in segment:
        return segment
    head = segment[: segment.index("\x00")]
    tail = segment[segment.rindex("\x00") + 1 :]
    if len(clean_title(head)) >= 3:
        # "Webinar on Jan 5: scaling Postgres": a heading colon after the date
        # introduces the subject, which belongs in the title.
        heading = _HEADING_TAIL.match(tail)
        return head.rstrip() + (": " + heading["rest"] if heading else "")
    return segment.replace("\x00", " ")


_CLAUSE_VERBS = frozenset(
    "is are was were be been has have had will would can could should open opens opened "
    "starts started ships shipped goes going went gets got moved moving slipping slips "
    "says said lands landed runs ran".split()
)
_PRONOUNS = frozenset("i i'm i'll i've we we're we've we'll you you're it's my our your".split())


def reads_as_title(title: str) -> bool:
    """A few words naming something, not a clause: at most six words, no pronoun, no
    dangling function word, and a name or an event word among them."""
    tokens = tokenize(title)
    if not 1 <= len(tokens) <= 6 or any(t.lower in _PRONOUNS for t in tokens):
        return False
    if any(t.lower in _CLAUSE_VERBS for t in tokens[1:]):
        return False  # "doors open for the meetup" is a clause, not a name
    if any(t.lower in ("heads-up", "heads", "fyi", "psa", "reminder", "update") for t in tokens):
        return False  # "NYC office heads-up" says that something follows, not what
    if tokens[-1].lower in _FUNCTION or tokens[0].lower in _VERBISH:
        return False
    named = any(_is_name(t, sentence_start=i == 0) for i, t in enumerate(tokens))
    return named or lx.EVENT_WORDS.any_in([t.lower for t in tokens], {t.lower for t in tokens})


def sentence_title(text: str) -> str:
    """The first sentence up to its date (dates are blanked with NUL), cleaned."""
    sentences = [part for part in _SENTENCE_END.split(text) if part.strip(" \x00:.,!-")]
    first = _cut_at_date(sentences[0] if sentences else text).replace("\x00", " ")
    return clean_title(first)


_SMALL_WORDS = frozenset(
    "a an the and or but for nor of on in at to by with from as vs via into over".split()
)


def headline(text: str, before: int) -> str | None:
    """The nearest line up to ``before`` written in headline case ("Applying Graphic Design
    Principles to Create Killer Dashboards"): a pasted event card's name line. At least
    four words, every word but the small ones capitalized, no sentence inside."""
    lines = text[:before].split("\n")
    # The lines just above the event word's, in its paragraph (a blank line or a " / "
    # read aloud ends it).
    for line in list(reversed(lines[:-1]))[:3]:
        if not line.strip():
            break
        words = line.split()
        if not 4 <= len(words) <= 12 or _SENTENCE_END.search(line.strip()) is not None:
            continue
        if line.rstrip().endswith((".", "!", "?", ":")):
            continue
        big = [w for w in words if w.lower() not in _SMALL_WORDS]
        if big and all(w[:1].isupper() or w[:1].isdigit() for w in big):
            return clean_title(line)
    return None
