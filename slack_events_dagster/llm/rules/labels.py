"""A link's label that names the event: "hanging out in the virtual <url|Developing
Website Themes for HubSpot CMS Meetup>", "Happening now! <zoom|Using HubSpot Payments
and integrating it into your CRM and CMS webinar>", "a second <url|CMS Development Topic
Chat tomorrow 11:30 AM CST>".

Whoever links an event page usually labels it with the event's own name, so a label that
holds the event word, or the event's date, is a better title than the words around it.
A label that is a clause ("Mobile Chat SDK for iOS has been updated to v1.0.5") or an
instruction ("join us here", "registering here") names nothing.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from slack_events_dagster.domain.text import strip_emoji
from slack_events_dagster.llm.rules.names import is_clause
from slack_events_dagster.llm.rules.titles import _FUNCTION, _VERBISH, is_cjk, tokenize

Label = tuple[int, int]

_LINK_LABEL = re.compile(r"<(?:https?|webcal)://[^<>|]*\|([^<>]+)>")
# Words that make a label a clause or an instruction, not a name.
_NOT_NAMING = frozenset(
    "i i'm i'll i've we we're we'll we've is are was were has have had been will be "
    "here this click sign register registering join rsvp read watch see more link our "
    "your my their another coming apply install download learn get try buy submit visit "
    "follow check view go according".split()
)
MAX_LABEL_WORDS = 12
# A label whose sentence goes on to say what it is about: the label is only its kind.
_GOES_ON = re.compile(r"\W{0,3}\s+(?:about|on|for|covering)\s", re.IGNORECASE)
_FORMATTING = re.compile(r"(?<!\w)[*_~`]+|[*_~`]+(?!\w)")


def label_spans(raw: str, text: str) -> tuple[Label, ...]:
    """Where each link label of the raw ``text`` field stands in the prose ``text``."""
    if "|" not in raw:
        return ()
    spans: list[Label] = []
    cursor = 0
    for match in _LINK_LABEL.finditer(raw):
        label = strip_emoji(html.unescape(match.group(1))).strip()
        if not label or label.startswith(("http", "www.")):
            continue
        at = text.find(label, cursor)
        if at < 0:
            continue
        spans.append((at, at + len(label)))
        cursor = at + len(label)
    return tuple(spans)


def naming_label(
    text: str, spans: Sequence[Label], positions: Sequence[int], blanks: Sequence[Label] = ()
) -> str | None:
    """The first label holding one of ``positions`` (the event word, its date) that reads
    as a name, its dates (``blanks``) left out."""
    for begin, end in spans:
        if not any(begin <= position < end for position in positions):
            continue
        if _GOES_ON.match(text, end) is not None:
            continue  # "a <url|DHUG live webinar> about the Custom Channels API"
        label = list(text[begin:end])
        for blank_begin, blank_end in blanks:
            for index in range(max(blank_begin, begin), min(blank_end, end)):
                label[index - begin] = "\x00"
        name = _named("".join(label).split("\x00")[0])
        if name is not None:
            return name
    return None


def _named(label: str) -> str | None:
    title = re.sub(r"\s*\([^)]*\)?\s*$", "", _FORMATTING.sub("", label))
    title = " ".join(title.split()).strip(" :,;|.!?-\u2013\u2014")
    tokens = tokenize(title)
    if not 2 <= len(tokens) <= MAX_LABEL_WORDS:
        return None
    if any(t.lower in _NOT_NAMING for t in tokens) or tokens[0].lower in _VERBISH:
        return None
    if is_clause(title) or is_cjk(title):
        return None
    if not any(t.text[:1].isupper() or any(c.isdigit() for c in t.text) for t in tokens):
        return None  # "the event app": a phrase, not a name
    if all(t.lower in _FUNCTION for t in tokens):
        return None
    return title
