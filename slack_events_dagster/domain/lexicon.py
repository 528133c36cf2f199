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
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from slack_events_dagster.domain.models import EventCategory

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")


def has_cjk(text: str) -> bool:
    """Japanese or Chinese script in the text (its words are not separated by spaces)."""
    return not text.isascii() and _CJK.search(text) is not None


def words(lower: str) -> list[str]:
    """The tokens of lowercase text: runs of letters (digits and punctuation split them).

    The same as ``re.findall("[a-z]+", lower)``, twice as fast: every byte but a-z of
    the UTF-8 text becomes a space (non-ASCII letters are bytes >= 128), then split.
    """
    return lower.encode("utf-8", "surrogatepass").translate(_LETTERS_ONLY).decode().split()


_LETTERS_ONLY = bytes(byte if 97 <= byte <= 122 else 32 for byte in range(256))


Phrase = tuple[str, ...]


def _phrases(*texts: str) -> frozenset[Phrase]:
    return frozenset(tuple(words(text)) for text in texts)


@dataclass(frozen=True)
class WordSet:
    """Single words and multi-word phrases, matched against a message's tokens.

    Phrases are indexed by their first two words: a message's set of word pairs
    (computed once, :attr:`Prose.pairs`) meets that index in one set operation, so a
    phrase costs nothing for the messages that do not hold its first two words.
    """

    words: frozenset[str] = frozenset()
    phrases: frozenset[Phrase] = frozenset()
    _by_pair: dict[tuple[str, str], tuple[Phrase, ...]] = field(default_factory=dict, compare=False)
    _pairs: set[tuple[str, str]] = field(default_factory=set, compare=False)

    def __post_init__(self) -> None:
        by_pair: dict[tuple[str, str], list[Phrase]] = {}
        for phrase in self.phrases:
            by_pair.setdefault((phrase[0], phrase[1]), []).append(phrase)
        self._by_pair.update({key: tuple(value) for key, value in by_pair.items()})
        self._pairs.update(by_pair)

    @classmethod
    def of(cls, *entries: str) -> WordSet:
        """Entries with a space are phrases, the others words."""
        single = frozenset(e for e in entries if " " not in e)
        multi = _phrases(*(e for e in entries if " " in e))
        return cls(single, multi)

    def __contains__(self, entry: object) -> bool:
        """Whether ``entry`` (a word's tokens, ["is", "down"]) is one of the set's entries."""
        if not isinstance(entry, list | tuple):
            return False
        if len(entry) == 1:
            return entry[0] in self.words
        return tuple(entry) in self.phrases

    def __or__(self, other: WordSet) -> WordSet:
        return WordSet(self.words | other.words, self.phrases | other.phrases)

    def found(
        self,
        tokens: Sequence[str],
        token_set: frozenset[str] | set[str],
        pairs: frozenset[tuple[str, str]] | None = None,
    ) -> list[str]:
        """The words and phrases present (phrases joined by spaces), in no particular order."""
        hits = (
            [w for w in self.words if w in token_set]
            if len(self.words) < len(token_set)
            else [w for w in token_set if w in self.words]
        )
        if self._pairs:
            hits.extend(" ".join(p) for p in self._phrases_in(tokens, pairs))
        return hits

    def _phrases_in(
        self, tokens: Sequence[str], pairs: frozenset[tuple[str, str]] | None
    ) -> list[Phrase]:
        if pairs is None:
            pairs = word_pairs(tokens)
        shared = self._pairs.intersection(pairs)
        if not shared:
            return []
        found: list[Phrase] = []
        for key in shared:
            for phrase in self._by_pair[key]:
                if len(phrase) == 2 or _contains(tokens, phrase):
                    found.append(phrase)
        return found

    def any_in(
        self,
        tokens: Sequence[str],
        token_set: frozenset[str] | set[str],
        pairs: frozenset[tuple[str, str]] | None = None,
    ) -> bool:
        if not self.words.isdisjoint(token_set):
            return True
        return bool(self._pairs) and bool(self._phrases_in(tokens, pairs))

    def positions(self, tokens: Sequence[str]) -> list[tuple[int, int]]:
        """Token index ranges ``[start, end)`` of every word and phrase occurrence."""
        spans: list[tuple[int, int]] = []
        last = len(tokens) - 1
        for index, token in enumerate(tokens):
            if token in self.words:
                spans.append((index, index + 1))
            if index < last and (token, tokens[index + 1]) in self._pairs:
                for phrase in self._by_pair[(token, tokens[index + 1])]:
                    if tuple(tokens[index : index + len(phrase)]) == phrase:
                        spans.append((index, index + len(phrase)))
        return spans


def word_pairs(tokens: Sequence[str]) -> frozenset[tuple[str, str]]:
    """Every pair of neighbouring words."""
    return frozenset(pairwise(tokens))


def _contains(tokens: Sequence[str], phrase: Phrase) -> bool:
    size = len(phrase)
    return any(
        tuple(tokens[index : index + size]) == phrase
        for index in range(len(tokens) - size + 1)
        if tokens[index] == phrase[0]
    )


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
    # How much one of its words counts against another category's: a deadline word
    # ("due Friday") outweighs the meeting word of "training due Friday".
    weight: int = 1


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
            "ships",
            "shipped",
            "changelog",
            "roll out",
            "rolling out",
            "rolled out",
            "release candidate",
            "goes out",
            "going out",
            "go out",
            "deployments",
            "hotfixes",
            "now available",
            "new version",
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
            "beta",
            "private beta",
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
            "service disruption",
            "partial outage",
            "elevated errors",
            "elevated error rates",
            "experiencing issues",
            "intermittent issues",
            "currently unavailable",
            "are failing",
            "is failing",
            "not working for",
            "timing out",
            "interruption in service",
            "service interruption",
            "status page",
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
            "swap",
            "swapping",
            "swapped",
            "replacing",
            "replacement",
            "rotation",
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
            "bootcamp",
            "training",
            "demo",
            "demos",
            "hangout",
            "giving a talk",
            "give a talk",
            "gives a talk",
            "her talk",
            "his talk",
            "their talk",
            "our talk",
            "talk by",
            "presentation",
            "session",
            "sessions",
            "lecture",
            "seminar",
            "live broadcast",
            "panel",
            "roundtable",
            "fireside chat",
            "user group",
            "user groups",
            "class",
            "course",
            "all hands",
            "town hall",
            "office hours",
            "lunch and learn",
            "lunch learn",
            "l l",
            "reading group",
            "study group",
            "book club",
            "community call",
            "ask me anything",
            "team call",
            "community call",
            "weekly call",
            "monthly call",
            "kickoff call",
            "zoom call",
            "video call",
            "interview",
            "grooming",
            "refinement",
            "brainstorm",
            "brainstorming",
            "demo day",
            "onboarding session",
            "kick off",
            "off site",
            "q planning",
            "release planning",
            "roadmap planning",
            "annual planning",
            "team planning",
            "capacity planning",
            "quarterly planning",
            "planning session",
            "planning day",
            "planning poker",
            "planning sync",
            "planning kickoff",
            "roadmap review",
            "architecture review",
            "security review",
            "product review",
            "quarterly review",
            "quarter review",
            "business review",
            "performance review",
            "budget review",
            "board review",
            "annual review",
            "weekly review",
            "monthly review",
            "review meeting",
            "review session",
            "sprint demo",
            "sprint review",
            "sprint planning",
            "planning meeting",
            "design review",
            "live stream",
            "live broadcast",
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
            "meetup",
            "meetups",
            "workshop",
            "workshops",
            "talks",
            # "talk" alone is chatter ("let's talk"); a talk someone gives is not.
            "a talk",
            "the talk",
            "his talk",
            "my talk",
            "our talk",
            "their talk",
            "next talk",
            "lightning talk",
            "lightning talks",
            "tech talk",
            "booth",
            "speaking at",
            "speak at",
            "speaks at",
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
            "removal",
            "eol",
            "due",
            "expires",
            "expire",
            "closes",
            "code freeze",
            "feature freeze",
            "end of life",
            "last day",
            "last day to",
            "no later than",
            "submission",
            "submissions",
            "submit",
            "cut off",
            "expire",
            "code freeze",
            "deploy freeze",
            "release freeze",
            "merge freeze",
            "change freeze",
            "scope freeze",
            "submissions close",
            "registration closes",
        ),
        noun="deadline",
        weight=2,
    ),
    CategorySpec(
        EventCategory.ANNOUNCEMENT,
        label="Announcements",
        emoji="📣",
        prompt="a notice with a day: an office closure, a holiday, an opening, a publication",
        words=WordSet.of(
            "holiday",
            "closure",
            "contest",
            "giveaway",
            "recording",
            "recordings",
            "registration",
            "office closed",
            "office is closed",
            "office will be closed",
            "offices closed",
            "offices are closed",
            "office closure",
            "volunteer",
            "volunteering",
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
            "hackathon",
            "hackathons",
            "team event",
            "team outing",
            "birthday",
            "celebrate",
            "celebrating",
            "celebrates",
            # "social" alone is mostly "social media", "social sharing".
            "a social",
            "the social",
            "our social",
            "socials",
            "team social",
            "community social",
            "summer social",
            "holiday social",
            "social event",
            "social hour",
            "social night",
            "social gathering",
            "bbq",
        ),
        noun="event",
        weight=2,
    ),
)

CATEGORY: dict[EventCategory, CategorySpec] = {spec.category: spec for spec in CATEGORIES}
assert set(CATEGORY) == set(EventCategory), "every category needs an entry"

# Any word that names an event of some category.
EVENT_WORDS: WordSet = WordSet()
for _spec in CATEGORIES:
    EVENT_WORDS = EVENT_WORDS | _spec.words
# Phrases that contain an event word but name no event: a room, notes, a question.
NOT_EVENTS = WordSet.of(
    "social media",
    "social network",
    "social networks",
    "social sharing",
    "social share",
    "social post",
    "social posts",
    "social icon",
    "social icons",
    "social login",
    "social accounts",
    "social profiles",
    "social links",
    "social channels",
    "conference room",
    "conference rooms",
    "conference call",
    "meeting room",
    "meeting rooms",
    "meeting notes",
    "release notes",
    "release branch",
    "outage page",
    "training data",
    "launch pad",
    "deploy key",
    "deployment target",
    "sync with",
    "in sync",
    "out of sync",
    "session cookie",
    "session id",
    "session storage",
    "session token",
    "user session",
    "class name",
    "class names",
    "css class",
    "python class",
    "due to",
    "no meeting",
    "no meetings",
    "side panel",
    "control panel",
    "admin panel",
    "settings panel",
    "of course",
)


def event_positions(
    tokens: Sequence[str], words: WordSet = EVENT_WORDS, exclusions: bool = True
) -> list[tuple[int, int]]:
    """Token ranges of event words, without those inside a non-event phrase (looked for
    unless ``exclusions`` is False: the caller knows there is none)."""
    spans = words.positions(tokens)
    if not spans or not exclusions:
        return spans
    excluded = NOT_EVENTS.positions(tokens)
    if not excluded:
        return spans
    return [
        (start, end)
        for start, end in spans
        if not any(low <= start and end <= high for low, high in excluded)
    ]


# -- date words ---------------------------------------------------------------------

MONTHS: dict[str, int] = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
WEEKDAYS: dict[str, int] = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tues": 1,
    "tue": 1,
    "wednesday": 2,
    "weds": 2,
    "wed": 2,
    "thursday": 3,
    "thurs": 3,
    "thur": 3,
    "thu": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}
NUMBER_WORDS: dict[str, int] = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "a couple of": 2,
    "a few": 3,
}
# Abbreviations map to the region's zone, not to a fixed offset: people write "PST" or
# "CET" all year round and mean the local time of that region.
ZONE_ABBREVIATIONS: dict[str, str] = {
    "utc": "UTC",
    "gmt": "UTC",
    "z": "UTC",
    "cet": "Europe/Berlin",
    "cest": "Europe/Berlin",
    "bst": "Europe/London",
    "wet": "Europe/Lisbon",
    "west": "Europe/Lisbon",
    "eet": "Europe/Athens",
    "eest": "Europe/Athens",
    "pt": "America/Los_Angeles",
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "mt": "America/Denver",
    "mst": "America/Denver",
    "mdt": "America/Denver",
    "ct": "America/Chicago",
    "cst": "America/Chicago",
    "cdt": "America/Chicago",
    "et": "America/New_York",
    "est": "America/New_York",
    "edt": "America/New_York",
    "ist": "Asia/Kolkata",
    "jst": "Asia/Tokyo",
    "sgt": "Asia/Singapore",
    "aest": "Australia/Sydney",
    "aedt": "Australia/Sydney",
    "pacific": "America/Los_Angeles",
    "eastern": "America/New_York",
    "central": "America/Chicago",
    "mountain": "America/Denver",
}


# -- how a message speaks about an event ----------------------------------------------

# Something is happening or just happened, so the posting time dates it: "v0.7.2
# released", "the CFP is open", "we're seeing an outage", "starting now". Each phrase says
# which kind of event it reports, for messages that name no event word ("The PayPal
# integration issue has been resolved", "Live now!").
NOW_BY_CATEGORY: dict[EventCategory, WordSet] = {
    EventCategory.RELEASE: WordSet.of(
        "released",
        "is released",
        "has been released",
        "have been released",
        "just released",
        "we released",
        "is out",
        "are out",
        "now out",
        "now available",
        "available now",
        "officially available",
        "finally available",
        "finally out",
        "officially out",
        "available today",
        "just shipped",
        "has shipped",
        "shipped today",
        "rolling out",
        "rolled out",
        "changelog post",
        "introducing",
        "now supports",
        "now support",
        "just added",
        "we added",
        "we ve added",
        "have added",
        "has added",
        "we ve enabled",
        "we enabled",
        "have enabled",
        "now enabled",
        "we introduced",
        "we ve introduced",
        "updated to",
        "has been updated",
        "have been updated",
        "been deployed",
        "have been deployed",
        "we deployed",
        "just deployed",
        # A product update told as what people can do from now on.
        "you can now",
        "customers can now",
        "users can now",
        "developers can now",
        "everyone can now",
    ),
    EventCategory.LAUNCH: WordSet.of(
        "excited to introduce",
        "happy to introduce",
        "pleased to introduce",
        "proud to introduce",
        "is in beta",
        "are in beta",
        "in private beta",
        "is live",
        "are live",
        "now live",
        "went live",
        "is now up",
        "are now up",
        "just launched",
        "launched today",
        "has launched",
        "have launched",
        "we launched",
        "officially launched",
        "up and running",
        "ready for testing",
        "now in beta",
        "in open beta",
        "in public beta",
        "now open source",
        "open sourcing",
        "open sourced",
        "now accepting",
        "is accepting",
        "are accepting",
        # The same with the adverb people put in: "registration is officially open",
        # "RSVPs are officially live", "is now officially accepting submissions".
        "officially open",
        "officially live",
        "officially accepting",
        "finally live",
        "just opened",
        "is open",
        "are open",
        "now open",
        "has opened",
        "have opened",
        "we ve opened",
        "we re opening",
        "are opening",
        "opened today",
    ),
    EventCategory.MEETING: WordSet.of(
        "starting now",
        "starts now",
        "is starting",
        "under way",
        "underway",
        "kicking off",
        "happening now",
        "happening right now",
        "about to start",
        "live now",
        "is live now",
        "currently live",
        "being presented",
        "is giving a talk",
        "are giving a talk",
        "today s the day",
        "today is the day",
        "starting up",
        "kicked off",
        "take the stage",
        "takes the stage",
        "taking the stage",
        "live broadcast",
    ),
    EventCategory.INCIDENT: WordSet.of(
        "is down",
        "are down",
        "went down",
        "seeing an outage",
        "experiencing an outage",
        "presently experiencing",
        "currently experiencing",
        "is experiencing",
        "are experiencing",
        "experiencing issues",
        "experiencing problems",
        "investigating",
        "degraded",
        "is resolved",
        "has been resolved",
        "been restored",
        "back up",
        "back online",
        "we ve addressed",
        "have addressed",
        "has resumed",
        "have resumed",
        "we are aware",
        "we re aware",
        "not loading",
        "is unavailable",
        "are unavailable",
        "currently unavailable",
        "all clear",
        "coming back up",
    ),
    EventCategory.ANNOUNCEMENT: WordSet.of(
        "now published",
        "on demand now",
        "now on demand",
        "is published",
        "are published",
        "been published",
        "just published",
    ),
}
NOW_WORDS: WordSet = WordSet()
for _words in NOW_BY_CATEGORY.values():
    NOW_WORDS = NOW_WORDS | _words


def now_category(tokens: Sequence[str]) -> EventCategory | None:
    """The kind of event the first "happening now" phrase of the tokens reports."""
    first: tuple[int, EventCategory] | None = None
    for category, phrases in NOW_BY_CATEGORY.items():
        for start, _ in phrases.positions(tokens):
            if first is None or start < first[0]:
                first = (start, category)
    return first[1] if first else None


# The same in Japanese, matched as substrings (no spaces between words).
NOW_SUBSTRINGS: tuple[str, ...] = (
    "リリースしました",
    "リリースされました",
    "リリースされた",
    "をリリース",
    "公開しました",
    "公開されました",
    "の時間です",
    "のお時間です",
    "開始しました",
    "始まりました",
    "出ました",
    "降ってきた",
)
# Those of them that report a release ("ghcupにGHC 9.0.2が降ってきた").
JA_RELEASE_NOW: tuple[str, ...] = (
    "リリース",
    "公開しました",
    "公開されました",
    "出ました",
    "降ってきた",
)
# Japanese event words (matched as substrings), each with its category.
JA_EVENT_WORDS: tuple[tuple[str, EventCategory], ...] = (
    ("もくもく会", EventCategory.MEETING),
    ("勉強会", EventCategory.MEETING),
    ("読書会", EventCategory.MEETING),
    ("輪読会", EventCategory.MEETING),
    ("ミートアップ", EventCategory.MEETING),
    ("ハンズオン", EventCategory.MEETING),
    ("発表", EventCategory.MEETING),
    ("登壇", EventCategory.MEETING),
    ("成果報告会", EventCategory.MEETING),
    ("カンファレンス", EventCategory.CONFERENCE),
    ("まつり", EventCategory.CONFERENCE),
    ("祭り", EventCategory.CONFERENCE),
    ("リリース", EventCategory.RELEASE),
    ("締切", EventCategory.DEADLINE),
    ("締め切り", EventCategory.DEADLINE),
    ("〆切", EventCategory.DEADLINE),
    ("障害", EventCategory.INCIDENT),
    ("メンテナンス", EventCategory.MAINTENANCE),
    ("開催", EventCategory.MEETING),
)
# Those of them that are verbal nouns ("to present", "to hold"): what stands before one
# is its object or a manner ("いくつかリリース", "オンライン開催"), not its name.
JA_VERBAL_EVENT_WORDS = frozenset({"発表", "登壇", "リリース", "開催"})

# Announcement phrasing: the author tells the channel about something.
ANNOUNCE_WORDS = WordSet.of(
    "reminder",
    "fyi",
    "psa",
    "rsvp",
    "agenda",
    "announcing",
    "announcement",
    "announce",
    "invite",
    "invited",
    "register",
    "registration",
    "join us",
    "heads up",
    "save the date",
    "we will",
    "we ll",
    "scheduled for",
    "scheduled on",
    "please join",
    "don t forget",
    "dont forget",
    "mark your calendar",
    "mark your calendars",
    "marked your calendar",
    "marked your calendars",
    "planned for",
    "will be",
    "will take place",
    "will happen",
    "will start",
    "will run",
    "is happening",
    "is scheduled",
    "come join",
    "come along",
    "sign up",
    "excited to announce",
    "happy to announce",
    "pleased to announce",
)
ANNOUNCE_MARKUP = (
    "@here",
    "@channel",
    "@everyone",
    ":mega:",
    ":loudspeaker:",
    ":calendar:",
    ":date:",
)

# A change of an event: cancelled, postponed, moved.
CANCEL_WORDS = WordSet.of(
    "cancelled",
    "canceled",
    "cancelling",
    "canceling",
    "called off",
    "not happening",
    "won t happen",
    "wont happen",
    "won t take place",
    "scrapped",
    "is off",
    "中止",
)
RESCHEDULE_WORDS = WordSet.of(
    "postponed",
    "postponing",
    "postpone",
    "rescheduled",
    "rescheduling",
    "reschedule",
    "delayed",
    "new date",
    "new time",
    "pushed back",
    "pushed out",
    "pushed to",
    "pushing to",
    "pushed by",
    "pushing back",
    "push it to",
    "push to",
    "moved by",
    "move it to",
    "moving it to",
    "moved it to",
    "bumped by",
    "bumped back",
    "moved back",
    "moved up",
    "moved out",
    "moved to",
    "moving to",
    "moved from",
    "bumped to",
    "shifted to",
    "slipped",
    "slipping",
    "now on",
    "now at",
    "instead",
    "now set for",
    "now scheduled for",
    "now planned for",
    "now looking like",
    "延期",
)

# Words that make what follows them hypothetical, not a report: "after the page is live",
# "is supposed to be rolling out", "once it is released".
HYPOTHETICAL = frozenset(
    "if when once after until before whether unless supposed should would could might "
    "hope hoping wait waiting plan planning going soon eventually expect expected until "
    "till whenever assuming".split()
)
# What opens for people to take part: an opening of one of these is an event of its
# own beside the event it is for ("Registration is now open", "we're opening a Call
# for Speakers").
OPENINGS = frozenset(
    "registration registrations rsvp rsvps tickets ticket signup signups sign-ups cfp "
    "cfps speakers papers proposals submissions applications voting enrollment".split()
)
# Words that put a "now" phrase ahead or make it an obligation: "will be released",
# "gonna be live", "needs to be updated".
FUTURE = frozenset("will ll gonna shall won need needs must".split())
# A report that something is over: "Done, out of read-only as of 1:55am".
COMPLETION = frozenset("done finished completed wrapped complete".split())
# Words that are no subject of a "now" phrase: "it is live", "this is out", "we are aware".
SUBJECTLESS = frozenset(
    "it this that these those which what who i we you they he she there here all everything "
    "something anything nothing so and but or just now also still already finally officially "
    "currently is are was were has have had be been a an the".split()
)
# Words that put a "now" phrase in the past: "the time we released X", "was rolled out in
# February", "we just recently released".
PAST_CONTEXT = frozenset("was were had recently ago since back earlier previously time".split())
# A job post is not an event ("contract work, fully remote, migration experience").
JOB_WORDS = frozenset(
    "hiring hire job jobs position positions salary resume cv recruiter recruiting "
    "freelance freelancer contractor contracted applicants candidate candidates opening "
    "openings vacancy employment".split()
)
# Words that open a question.
QUESTION_WORDS = frozenset(
    "what when where who why how is are does do did can could should will would anyone "
    "any has have was were which whats question q anybody".split()
)
# The past: a recap, a thank-you, something over ("was great", "thanks for joining").
PAST_WORDS = frozenset(
    "yesterday went happened attended recap recording postmortem ago finished completed "
    "wrapped recorded photos pics pictures".split()
)
PAST_PHRASES = WordSet.of(
    "last week",
    "last night",
    "last monday",
    "last tuesday",
    "last wednesday",
    "last thursday",
    "last friday",
    "last saturday",
    "last sunday",
    "last month",
    "last time",
    "last year",
    "thanks everyone",
    "thanks all",
    "thanks for all",
    "thank you all for",
    "thank you for all",
    "thanks to everyone",
    "post mortem",
    "went well",
    "went great",
    "was great",
    "was awesome",
    "was fun",
    "great talk",
    "great session",
    "great meetup",
    "great event",
    "great job",
    "for joining",
    "for coming",
    "for attending",
)
# Someone's own attendance, not an announcement: "sorry I can't make it to the data
# jam on Saturday", "if I'm to make the Meetup", "see you there".
ATTENDANCE = WordSet.of(
    "can t make it",
    "cannot make it",
    "can t make the",
    "won t make it",
    "couldn t make it",
    "not make it",
    "to make the",
    "make it to the",
    "make it tonight",
    "see you there",
    "see you all there",
    "wish i could",
    "going to miss",
    "will miss",
    "i ll miss",
    "sorry i can",
    "can t attend",
    "can t go",
    "not able to make",
    "able to attend",
    "follow from afar",
    "watch from afar",
    "child care",
    # Someone's anticipation: "eager to hear more about the meetup tonight".
    "eager to",
    "looking forward to",
    "look forward to",
)
# The same in Japanese, matched as substrings: someone attends ("授業を受けるのですが",
# "勉強会に参加します", "カンファレンスに行ってきます").
JA_ATTENDANCE: tuple[str, ...] = (
    "を受ける",
    "を受けます",
    "に参加します",
    "に参加する予定",
    "に行きます",
    "に行ってきます",
    "に行く予定",
)
# Words of trouble a question about an incident asks with ("Is HubSpot down?").
TROUBLE_WORDS = frozenset(
    "down outage outages broken errors error failing slow unavailable unreachable "
    "degraded incident issues downtime problems problem".split()
)
# Words a first-person plan is made of ("I'll deploy tonight", "I'm launching my site").
FIRST_PERSON = frozenset({"i", "im", "ive", "id", "my", "me"})
# Bots whose posts are continuous-integration noise.
CI_WORDS = frozenset(
    "build pipeline passed failed succeeded failing job commit merged pr ci workflow "
    "coverage lint tests nightly alert triggered firing".split()
)


# -- one pass over a message ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hits:
    """Every lexicon word and phrase a message holds, by what it signals.

    ``events`` and ``now`` pair each word with its category; ``past_words`` counts the
    single past words (two make a recap). Built once per message by :func:`scan`: one
    set intersection for words, one for the first two words of phrases.
    """

    events: tuple[tuple[str, EventCategory], ...] = ()
    now: tuple[tuple[str, EventCategory], ...] = ()
    announce: bool = False
    past_phrase: bool = False
    past_words: int = 0
    not_event: bool = False
    cancel: bool = False
    reschedule: bool = False
    attendance: bool = False


_EVENT, _NOW, _ANNOUNCE, _PAST, _NOT, _CANCEL, _RESCHEDULE, _ATTEND, _PAST_WORD = range(9)
_SOURCES: list[tuple[int, WordSet, EventCategory | None]] = [
    *((_EVENT, spec.words, spec.category) for spec in CATEGORIES),
    *((_NOW, words_, category) for category, words_ in NOW_BY_CATEGORY.items()),
    (_ANNOUNCE, ANNOUNCE_WORDS, None),
    (_PAST, PAST_PHRASES, None),
    (_NOT, NOT_EVENTS, None),
    (_CANCEL, CANCEL_WORDS, None),
    (_RESCHEDULE, RESCHEDULE_WORDS, None),
    (_ATTEND, ATTENDANCE, None),
    (_PAST_WORD, WordSet(PAST_WORDS), None),
]
_BY_WORD: dict[str, list[tuple[int, EventCategory | None]]] = {}
_BY_PAIR: dict[tuple[str, str], list[tuple[Phrase, int, EventCategory | None]]] = {}
for _kind, _set, _category in _SOURCES:
    for _word in _set.words:
        _BY_WORD.setdefault(_word, []).append((_kind, _category))
    for _phrase in _set.phrases:
        _BY_PAIR.setdefault((_phrase[0], _phrase[1]), []).append((_phrase, _kind, _category))
WORD_KEYS = frozenset(_BY_WORD)
PAIR_KEYS = frozenset(_BY_PAIR)
# What can make a message score, as bits: event, happening-now, announcement and change
# words. :func:`cues` reads them from a message's words and word pairs, a superset of
# what :func:`scan` finds; none means the scorer has nothing to count.
EVENT_CUE, NOW_CUE, ANNOUNCE_CUE, CHANGE_CUE = 1, 2, 4, 8
_CUE_OF = {_EVENT: EVENT_CUE, _NOW: NOW_CUE, _ANNOUNCE: ANNOUNCE_CUE}
_CUE_OF.update({_CANCEL: CHANGE_CUE, _RESCHEDULE: CHANGE_CUE})
_CUES_BY_WORD: dict[str, int] = {
    word: sum({_CUE_OF.get(kind, 0) for kind, _ in entries}) for word, entries in _BY_WORD.items()
}
_CUES_BY_PAIR: dict[tuple[str, str], int] = {
    pair: sum({_CUE_OF.get(kind, 0) for _, kind, _ in entries})
    for pair, entries in _BY_PAIR.items()
}
SCORING_WORDS = frozenset(word for word, found in _CUES_BY_WORD.items() if found)
SCORING_PAIRS = frozenset(pair for pair, found in _CUES_BY_PAIR.items() if found)


def cjk_cues(lower: str) -> int:
    """The cues of Japanese event and happening-now words in the text (substrings)."""
    found = EVENT_CUE if any(word in lower for word, _ in JA_EVENT_WORDS) else 0
    return found | (NOW_CUE if any(word in lower for word in NOW_SUBSTRINGS) else 0)


def cues(token_set: frozenset[str], pairs: frozenset[tuple[str, str]]) -> int:
    """The cues (bits) the words may hold: their scoring words, and the scoring phrases
    whose first two words they hold next to each other (two set intersections)."""
    found = 0
    for word in token_set & SCORING_WORDS:
        found |= _CUES_BY_WORD[word]
    for pair in pairs & SCORING_PAIRS:
        found |= _CUES_BY_PAIR[pair]
    return found


def scan(
    tokens: Sequence[str], token_set: frozenset[str], pairs: frozenset[tuple[str, str]]
) -> Hits:
    """What the tokens signal, in one pass (see :class:`Hits`)."""
    found: list[tuple[int, str, EventCategory | None]] = []
    for word in token_set & WORD_KEYS:
        found.extend((kind, word, category) for kind, category in _BY_WORD[word])
    for pair in pairs & PAIR_KEYS:
        for phrase, kind, category in _BY_PAIR[pair]:
            if len(phrase) == 2 or _contains(tokens, phrase):
                found.append((kind, " ".join(phrase), category))
    if not found:
        return NO_HITS
    kinds = {kind for kind, _, _ in found}
    return Hits(
        events=tuple((text, cat) for kind, text, cat in found if kind == _EVENT and cat),
        now=tuple((text, cat) for kind, text, cat in found if kind == _NOW and cat),
        announce=_ANNOUNCE in kinds,
        past_phrase=_PAST in kinds,
        past_words=sum(1 for kind, _, _ in found if kind == _PAST_WORD),
        not_event=_NOT in kinds,
        cancel=_CANCEL in kinds,
        reschedule=_RESCHEDULE in kinds,
        attendance=_ATTEND in kinds,
    )


NO_HITS = Hits()
