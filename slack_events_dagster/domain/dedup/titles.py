"""Titles as dedup compares them: normalized, keyed, and scored for similarity."""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from datetime import date
from functools import lru_cache

from rapidfuzz import fuzz

from slack_events_dagster.domain.dedup.rules import GENERIC_TITLE_SIMILARITY
from slack_events_dagster.domain.models import (
    EventCategory,
    SourceRef,
)

_STOP_WORDS = frozenset(
    {
        "the",
        "a",
        "an",
        "our",
        "reminder",
        "update",
        "heads",
        "up",
        "fyi",
        "psa",
        "is",
        "are",
        "will",
        "be",
        "of",
        "for",
        "on",
        "at",
        "to",
        "and",
        "new",
        "rescheduled",
        "cancelled",
        "canceled",
        "postponed",
        "moved",
    }
)
# Words that say what kind of event it is, not which one; ignored when comparing titles.
_GENERIC_WORDS = frozenset(
    {
        "conference",
        "deadline",
        "deploy",
        "deployment",
        "due",
        "event",
        "goes",
        "going",
        "incident",
        "is",
        "kickoff",
        "launch",
        "live",
        "maintenance",
        "meeting",
        "meetings",
        "meetup",
        "out",
        "outage",
        "planning",
        "release",
        "releases",
        "reminder",
        "retro",
        "review",
        "rollout",
        "scheduled",
        "session",
        "ships",
        "sync",
        "today",
        "tomorrow",
        "tonight",
        "upgrade",
        "webinar",
        "window",
    }
)
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
# A version number: "4.14", "v2.3", "4.12.1" (not a time: "12:30").
_VERSION = re.compile(r"(?<![\d.])v?(\d+(?:\.\d+)+)(?![\d.]*\d)")
_NUMBER = re.compile(r"\d+")
# Words that say nothing about what an event is ("With" is no subject).
_FUNCTION_WORDS = frozenset(
    {"all", "any", "but", "by", "from", "hi", "if", "in", "it", "its", "just", "not", "or"}
    | {"please", "so", "that", "this", "we", "with", "you", "your"}
)
_EVENT_ID_NAMESPACE = uuid.UUID("6f1c3f8e-5d0a-4c1e-9a57-0b6f4d2f9c11")
# Titles are compared pairwise many times in a merge (every draft against every event
# of its days, again when folding): what a title is made of is worked out once.
_TITLE_CACHE = 1 << 16


@lru_cache(maxsize=_TITLE_CACHE)
def normalize_title(title: str) -> str:
    """Lower case ASCII words without filler ("Reminder: The Payments API v2.3 release!"
    becomes "payments api v2 3 release")."""
    folded = unicodedata.normalize("NFKD", title.casefold())
    ascii_text = folded.encode("ascii", "ignore").decode("ascii")
    words = [word for word in _NON_ALNUM.split(ascii_text) if word and word not in _STOP_WORDS]
    return " ".join(words)


def dedup_key(title: str, category: EventCategory | str, start_date: date) -> str:
    """A stable key: sha1 of ``"category:normalized title:YYYY-MM-DD"``, 20 hex digits."""
    raw = f"{EventCategory(category).value}:{normalize_title(title)}:{start_date.isoformat()}"
    return hashlib.sha1(raw.encode("utf-8"), usedforsecurity=False).hexdigest()[:20]


def source_key(first_message: SourceRef) -> str:
    """The ``dedup_key`` of the event whose earliest message is ``first_message``
    (20 hex digits): one message announces at most one event, so keys never collide."""
    raw = f"first-message:{first_message.channel_id}:{first_message.ts}"
    return hashlib.sha1(raw.encode("utf-8"), usedforsecurity=False).hexdigest()[:20]


def event_id_for(key: str) -> str:
    """The event id derived from an event's first dedup key (a UUID, usable as a calendar UID)."""
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, key))


@lru_cache(maxsize=_TITLE_CACHE)
def _distinctive(normalized: str) -> str:
    return " ".join(word for word in normalized.split() if word not in _GENERIC_WORDS)


@lru_cache(maxsize=_TITLE_CACHE * 2)
def title_similarity(left: str, right: str) -> float:
    """0-100: how alike two titles are.

    Words every event of a kind shares ("release", "meeting", "due") are left
    out first, so "Payments API release" and "Search API release" differ in what
    distinguishes them (unless a title has nothing else). ``token_set_ratio``
    alone calls "Release" and "Payments API release" equal (one is a subset of
    the other); averaging with ``token_sort_ratio`` keeps subsets close but not
    identical, so that generic titles need more evidence.
    """
    a, b = normalize_title(left), normalize_title(right)
    if not a or not b:
        return 0.0
    a, b = _spell_out_initials(a, b), _spell_out_initials(b, a)
    a_distinct, b_distinct = _distinctive(a), _distinctive(b)
    if a_distinct and b_distinct:
        a, b = a_distinct, b_distinct
    elif a_distinct or b_distinct:
        # One title is only "Meetup" or "Webinar": it can be any event of its kind, so
        # it is alike enough only where the same category at the same time says so.
        return GENERIC_TITLE_SIMILARITY * fuzz.token_set_ratio(a, b) / 100
    if a == b:
        return 100.0
    return (fuzz.token_set_ratio(a, b) + fuzz.token_sort_ratio(a, b)) / 2


def _spell_out_initials(title: str, other: str) -> str:
    """``title`` with letters standing for words of ``other`` written out ("L&L" is
    "lunch learn" next to "Lunch & Learn")."""
    words = title.split()
    if not any(len(word) == 1 and word.isalpha() for word in words):
        return title
    others = other.split()
    spelled: list[str] = []
    index = 0
    while index < len(words):
        run = index
        while run < len(words) and len(words[run]) == 1 and words[run].isalpha():
            run += 1
        letters = "".join(words[index:run])
        expansion = next(
            (
                others[start : start + len(letters)]
                for start in range(len(others) - len(letters) + 1)
                if len(letters) >= 2
                and "".join(w[0] for w in others[start : start + len(letters)]) == letters
            ),
            None,
        )
        if expansion is not None:
            spelled.extend(expansion)
            index = run
        else:
            spelled.append(words[index])
            index += 1
    return " ".join(spelled)


def _subset_similarity(left: str, right: str) -> float:
    a, b = normalize_title(left), normalize_title(right)
    return float(fuzz.token_set_ratio(a, b)) * 0.9 if a and b else 0.0


@lru_cache(maxsize=_TITLE_CACHE)
def _versions(title: str) -> frozenset[str]:
    return frozenset(_VERSION.findall(title))


@lru_cache(maxsize=_TITLE_CACHE)
def _subject_words(title: str) -> frozenset[str]:
    normalized = normalize_title(title)
    words = (_distinctive(normalized) or normalized).split()
    # "expenses" and "expense reports": the same words, singular or plural.
    return frozenset(
        w[:-1] if len(w) > 3 and w.endswith("s") and w[-2] != "s" else w for w in words
    )


def _numbers_differ(left: str, right: str) -> bool:
    """True when each title has a number the other lacks: "Q2 planning drafts" and
    "Q4 planning drafts", "Sprint 5 retro" and "Sprint 6 retro" are different things."""
    left_numbers, right_numbers = _numbers(left), _numbers(right)
    return bool(left_numbers - right_numbers) and bool(right_numbers - left_numbers)


@lru_cache(maxsize=_TITLE_CACHE)
def _numbers(title: str) -> frozenset[int]:
    return frozenset(int(n) for n in _NUMBER.findall(normalize_title(title)))


def _same_subject(left: str, right: str) -> bool:
    """True when two titles name the same thing: the same version ("Planning note: 4.14
    is the last release" and "4.14 scope is locked"), or one title's words all among
    the other's ("Freeze" and "4.14 code freeze")."""
    left_versions, right_versions = _versions(left), _versions(right)
    if left_versions and right_versions:
        return left_versions == right_versions
    small, large = sorted((_subject_words(left), _subject_words(right)), key=len)
    return small <= large and any(w not in _FUNCTION_WORDS and len(w) > 2 for w in small)
