"""The one vocabulary of events: categories, their words, and the words of change.

Every place that needs to know what a release or a webinar is reads it from here:
the candidate scorer (:mod:`~slack_events_dagster.domain.candidates`), the rule
extractor, the LLM prompt and the digest. A word one of them knows, the others
know; an event category is one entry of :data:`CATEGORIES` (its name, words,
emoji, prompt text and digest label).

Words are lowercase tokens as :func:`words` cuts them (letters only, apostrophes
dropped: "we'll" -> "we", "ll"); phrases are tuples of such tokens. Matching a
set of tokens and a set of token pairs is far cheaper than regular expressions,
which is what keeps the scorer above 50,000 messages a second.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from slack_events_dagster.domain.models import EventCategory

_WORD = re.compile(r"[a-z]+")


def words(lower: str) -> list[str]:
    """The tokens of lowercase text: runs of letters (digits and punctuation split them)."""
    return _WORD.findall(lower)


Phrase = tuple[str, ...]


def _phrases(*texts: str) -> frozenset[Phrase]:
    return frozenset(tuple(words(text)) for text in texts)


@dataclass(frozen=True)
class WordSet:
    """Single words and multi-word phrases, matched against a message's tokens."""

    words: frozenset[str] = frozenset()
    phrases: frozenset[Phrase] = frozenset()
    _by_first: dict[str, tuple[Phrase, ...]] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        by_first: dict[str, list[Phrase]] = {}
        for phrase in self.phrases:
            by_first.setdefault(phrase[0], []).append(phrase)
        self._by_first.update({key: tuple(value) for key, value in by_first.items()})

    @classmethod
    def of(cls, *entries: str) -> WordSet:
        """Entries with a space are phrases, the others words."""
        single = frozenset(e for e in entries if " " not in e)
        multi = _phrases(*(e for e in entries if " " in e))
        return cls(single, multi)

    def __or__(self, other: WordSet) -> WordSet:
        return WordSet(self.words | other.words, self.phrases | other.phrases)

    def found(self, tokens: Sequence[str], token_set: frozenset[str] | set[str]) -> list[str]:
        """The words and phrases present (phrases joined by spaces), in no particular order."""
        hits = (
            [w for w in self.words if w in token_set]
            if len(self.words) < len(token_set)
            else [w for w in token_set if w in self.words]
        )
        if self._by_first and not token_set.isdisjoint(self._by_first):
            hits.extend(" ".join(p) for p in self._phrases_in(tokens, token_set))
        return hits

    def _phrases_in(self, tokens: Sequence[str], token_set: Iterable[str]) -> list[Phrase]:
        found: list[Phrase] = []
        for index, token in enumerate(tokens):
            for phrase in self._by_first.get(token, ()):
                if tuple(tokens[index : index + len(phrase)]) == phrase:
                    found.append(phrase)
        return found

    def any_in(self, tokens: Sequence[str], token_set: frozenset[str] | set[str]) -> bool:
        if not self.words.isdisjoint(token_set):
            return True
        if not self._by_first or token_set.isdisjoint(self._by_first):
            return False
        return bool(self._phrases_in(tokens, token_set))

    def positions(self, tokens: Sequence[str]) -> list[tuple[int, int]]:
        """Token index ranges ``[start, end)`` of every word and phrase occurrence."""
        spans: list[tuple[int, int]] = []
        for index, token in enumerate(tokens):
            if token in self.words:
                spans.append((index, index + 1))
            for phrase in self._by_first.get(token, ()):
                if tuple(tokens[index : index + len(phrase)]) == phrase:
                    spans.append((index, index + len(phrase)))
        return spans


def has_pair(tokens: Sequence[str], pairs: frozenset[tuple[str, str]]) -> bool:
    return not pairs.isdisjoint(pairwise(tokens))


@dataclass(frozen=True)
class CategorySpec:
    """Everything the product says about one event category."""

    category: EventCategory
    # The digest's section label and the line's emoji.
    label: str
    emoji: str
    # What the LLM prompt says the category is for.
    prompt: str
    # Words that name an event of this category ("webinar", "code freeze").
    words: WordSet
    # The noun a title gets when the message names the thing but not the kind
    # ("OLake Go v0.7.2" -> "OLake Go v0.7.2 release").
    noun: str


CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec(
        EventCategory.RELEASE,
        label="Releases",
        emoji="🚀",
        prompt="a version, build or hotfix shipped, available or planned for a day",
        words=WordSet.of(
            "release",
            "releases",
            "released",
            "releasing",
            "deploy",
            "deploys",
            "deployed",
            "deploying",
            "deployment",
            "rollout",
            "hotfix",
            "ship",
            "ships",
            "shipped",
            "shipping",
            "changelog",
            "roll out",
            "rolling out",
            "rolled out",
            "release candidate",
            "now available",
            "is out",
            "are out",
            "is available",
            "are available",
        ),
        noun="release",
    ),
    CategorySpec(
        EventCategory.LAUNCH,
        label="Launches",
        emoji="🎉",
        prompt="a product, feature, beta or site going live or opening to users",
        words=WordSet.of(
            "launch",
            "launches",
            "launched",
            "launching",
            "golive",
            "unveil",
            "unveiled",
            "unveiling",
            "go live",
            "goes live",
            "going live",
            "went live",
            "is live",
            "are live",
            "now live",
            "be live",
            "general availability",
            "public beta",
            "open beta",
            "public preview",
            "early access",
            "product hunt",
        ),
        noun="launch",
    ),
    CategorySpec(
        EventCategory.INCIDENT,
        label="Incidents",
        emoji="🚨",
        prompt="an outage, degradation or incident that started, continues or was resolved",
        words=WordSet.of(
            "outage",
            "outages",
            "incident",
            "incidents",
            "degraded",
            "degradation",
            "disruption",
            "sev",
            "is down",
            "are down",
            "went down",
            "service disruption",
            "partial outage",
            "elevated errors",
            "elevated error rates",
            "experiencing issues",
        ),
        noun="outage",
    ),
    CategorySpec(
        EventCategory.MAINTENANCE,
        label="Maintenance",
        emoji="🔧",
        prompt="planned maintenance, downtime, a migration, upgrade or cutover window",
        words=WordSet.of(
            "maintenance",
            "downtime",
            "migration",
            "migrations",
            "migrate",
            "migrating",
            "upgrade",
            "upgrades",
            "upgrading",
            "cutover",
            "patching",
            "failover",
            "drill",
            "drills",
            "read only",
            "planned work",
            "service window",
            "maintenance window",
            "will be down",
            "will be offline",
            "will be unavailable",
        ),
        noun="maintenance",
    ),
    CategorySpec(
        EventCategory.MEETING,
        label="Meetings",
        emoji="👥",
        prompt=(
            "a meeting, call, webinar, AMA, meetup, study session, workshop, training, demo "
            "or office hours"
        ),
        words=WordSet.of(
            "meeting",
            "meetings",
            "standup",
            "standups",
            "sync",
            "allhands",
            "townhall",
            "retro",
            "retrospective",
            "kickoff",
            "offsite",
            "webinar",
            "webinars",
            "webcast",
            "livestream",
            "ama",
            "meetup",
            "meetups",
            "workshop",
            "workshops",
            "bootcamp",
            "training",
            "demo",
            "demos",
            "hangout",
            "talk",
            "talks",
            "presentation",
            "session",
            "sessions",
            "lecture",
            "seminar",
            "class",
            "course",
            "jam",
            "hackathon",
            "all hands",
            "town hall",
            "office hours",
            "lunch and learn",
            "lightning talk",
            "lightning talks",
            "tech talk",
            "reading group",
            "study group",
            "book club",
            "community call",
            "sprint review",
            "sprint planning",
            "planning meeting",
            "design review",
            "live stream",
            "q and a",
            "data jam",
        ),
        noun="meeting",
    ),
    CategorySpec(
        EventCategory.CONFERENCE,
        label="Conferences",
        emoji="🎤",
        prompt="a conference, summit, expo or festival, its call for papers or registration",
        words=WordSet.of(
            "conference",
            "conferences",
            "conf",
            "summit",
            "expo",
            "keynote",
            "symposium",
            "convention",
            "festival",
            "cfp",
            "inbound",
            "call for papers",
            "call for proposals",
            "call for speakers",
            "developer day",
            "dev day",
        ),
        noun="conference",
    ),
    CategorySpec(
        EventCategory.DEADLINE,
        label="Deadlines",
        emoji="⏰",
        prompt="a deadline, freeze, sunset, deprecation or closing date",
        words=WordSet.of(
            "deadline",
            "deadlines",
            "freeze",
            "cutoff",
            "sunset",
            "sunsets",
            "sunsetting",
            "sunsetted",
            "deprecation",
            "deprecated",
            "deprecating",
            "eol",
            "due",
            "expires",
            "expire",
            "closes",
            "code freeze",
            "feature freeze",
            "end of life",
            "last day",
            "no later than",
            "submissions close",
            "registration closes",
        ),
        noun="deadline",
    ),
    CategorySpec(
        EventCategory.ANNOUNCEMENT,
        label="Announcements",
        emoji="📣",
        prompt="a notice with a day: an office closure, a holiday, an opening, a publication",
        words=WordSet.of(
            "holiday",
            "closure",
            "recording",
            "recordings",
            "registration",
            "office closed",
            "open house",
            "now open",
            "is open",
            "are open",
            "slides are",
            "videos are",
            "recording is",
        ),
        noun="announcement",
    ),
    CategorySpec(
        EventCategory.OTHER,
        label="Other events",
        emoji="📌",
        prompt="any other dated happening: a party, a social, a celebration",
        words=WordSet.of(
            "party",
            "parties",
            "celebration",
            "happy hour",
            "team lunch",
            "team dinner",
            "game night",
            "potluck",
            "picnic",
            "farewell",
        ),
        noun="event",
    ),
)

CATEGORY: dict[EventCategory, CategorySpec] = {spec.category: spec for spec in CATEGORIES}
assert set(CATEGORY) == set(EventCategory), "every category needs an entry"

# Any word that names an event of some category.
EVENT_WORDS: WordSet = WordSet()
for _spec in CATEGORIES:
    EVENT_WORDS = EVENT_WORDS | _spec.words
