"""The rule extractor: the embedded default that reads events without a model.

It implements :class:`~slack_events_dagster.llm.base.Extractor` (``name =
"rules"``). For each candidate it

1. turns Slack markup into plain text (:mod:`slack_events_dagster.domain.text`),
2. finds date expressions (ISO dates, "March 18", "18-20 March", weekdays,
   "next Tuesday", "tomorrow", "EOD Friday", "in two weeks") and times ("3pm",
   "15:00", "2-4pm", "9am PT", "14:00 CET", "16:00 UTC"), resolved relative to
   the message's posting time in the channel's time zone, with ``zoneinfo``
   taking care of month and year ends and DST changes,
3. decides whether the message announces something at all (a category
   keyword, announcement phrasing or a meeting link; not a question, not a
   retrospective) — a message without a resolvable date or without an
   announcement gives no draft and the outcome ``no_event``,
4. cuts a title from the announcement, picks a category by keywords, a
   location and a meeting URL, a status (cancelled / rescheduled / tentative)
   and a confidence from the evidence.

A thread reply that changes an event ("moved to Thursday", "cancelled",
"pushed to next week") is read against its parent: the draft takes the
parent's title and category, the new date (or the parent's, shifted), and
carries ``thread_ts`` so that deduplication applies it to the parent's event.

Conventions of the drafts: timed events have ``start``/``end`` in UTC and
``timezone`` set to the zone the time was written in (an explicit zone such as
"PT", else the channel's); all-day events have dates, and a multi-day event's
``end`` is its last day (inclusive).
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from slack_events_dagster.domain.models import (
    CandidateStatus,
    EventCategory,
    EventDraft,
    EventStatus,
    SlackMessage,
    SourceRef,
)
from slack_events_dagster.domain.text import slack_links, slack_markup_to_text, strip_emoji
from slack_events_dagster.llm.base import (
    CandidateOutcome,
    ExtractionInput,
    ExtractionResult,
    ExtractionResults,
)

TITLE_MAX_CHARS = 80
# A month-day without a year that lies at most this far in the past is read as
# this year's (an ongoing or just-finished event), anything earlier as next year's.
RECENT_PAST_DAYS = 3
# How long before its posting time a bare "at 14:05" may lie and still mean today.
TIME_ONLY_GRACE = timedelta(hours=2)

# -- time zones written in messages ------------------------------------------
# Abbreviations map to the region's zone, not to a fixed offset: people write
# "PST" or "CET" all year round and mean the local time of that region.
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
_ZONE_NAMES = "|".join(sorted(ZONE_ABBREVIATIONS, key=len, reverse=True))
_ZONE = (
    rf"(?:\(?\s*(?P<zone>{_ZONE_NAMES})"
    r"(?:\s*(?P<off>[+-]\d{1,2}(?::?[0-5]\d)?))?\b\)?(?:\s+time\b)?)"
)

# -- dates ---------------------------------------------------------------------
_MONTHS = {
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
_MONTH = "(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAYS = {
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
_WEEKDAY = "(?:" + "|".join(sorted(_WEEKDAYS, key=len, reverse=True)) + ")"
_ORD = r"(?:st|nd|rd|th)?"
_DASH = r"\s*(?:-|\u2013|—|to|through|thru|until|till)\s*"
# A day-of-month must not be the hour of "March 10:00" or part of "10am".
_DAY_END = r"(?!\d)(?!:\d)(?!\s*(?:am|pm|a\.m|p\.m)\b)"

_ISO_DATE = re.compile(
    r"(?<![\d-])(?P<y>20\d\d)-(?P<m>[01]\d)-(?P<d>[0-3]\d)(?![\d])"
    r"(?:" + _DASH + r"(?P<y2>20\d\d)-(?P<m2>[01]\d)-(?P<d2>[0-3]\d)(?![\d]))?"
)
_MONTH_DAY = re.compile(
    rf"\b(?P<mon>{_MONTH})\s+(?P<d>[0-3]?\d){_ORD}{_DAY_END}"
    rf"(?:{_DASH}(?:(?P<mon2>{_MONTH})\s+)?(?P<d2>[0-3]?\d){_ORD}{_DAY_END})?"
    r"(?:,?\s+(?P<y>20\d\d))?"
)
_DAY_MONTH = re.compile(
    rf"\b(?:the\s+)?(?P<d>[0-3]?\d){_ORD}"
    rf"(?:{_DASH}(?P<d2>[0-3]?\d){_ORD})?\s+(?:of\s+)?(?P<mon>{_MONTH})(?![a-z])"
    r"(?:,?\s+(?P<y>20\d\d))?"
)
_NUMERIC_DATE = re.compile(
    r"(?<![\d./:-])(?:(?P<m>[01]?\d)/(?P<d>[0-3]?\d)(?:/(?P<y>(?:20)?\d\d))?"
    r"|(?P<d_eu>[0-3]?\d)\.(?P<m_eu>[01]?\d)\.(?P<y_eu>20\d\d))(?![\d/])"
)
_DAY_OF_MONTH = re.compile(r"\bon\s+the\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)\b")
_RELATIVE_DAY = re.compile(
    r"\b(?P<word>day\s+after\s+tomorrow|tomorrow|tmrw|tmr|today|tonight"
    r"|this\s+(?:morning|afternoon|evening))\b"
)
_WEEKDAY_RE = re.compile(rf"\b(?:(?P<mod>next|this|coming|on)\s+)?(?P<wd>{_WEEKDAY})\b\.?")
_END_OF = re.compile(
    r"\b(?P<what>eod|cob|eow|end\s+of\s+(?:the\s+)?(?:business\s+)?(?:day|week|month))\b"
)
_NEXT_PERIOD = re.compile(r"\b(?:next|coming)\s+(?P<what>week|weekend)\b|\bthis\s+weekend\b")
_IN_PERIOD = re.compile(
    r"\bin\s+(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|\d{1,2})\s+"
    r"(?:days?|weeks?)\b|\b(?:one|two|three|four|\d{1,2})\s+(?:days?|weeks?)\s+from\s+now\b"
)
_SHIFT = re.compile(
    r"\b(?:pushed|pushing|moved|moving|bumped|shifted|delayed|postponed|slipped)\s+(?:back\s+|out\s+)?"
    r"(?:by\s+)?(?P<n>a|an|one|two|three|\d)\s+(?P<unit>days?|weeks?)\b"
    r"|\b(?P<next>(?:to|until|till)\s+next\s+week)\b"
    r"|\b(?P<n2>a|one|two|\d)\s+(?P<unit2>days?|weeks?)\s+later\b"
)
_PAST_DAY = re.compile(r"\b(?:yesterday|last\s+(?:night|week|" + _WEEKDAY + r"))\b")

_NUMBER_WORDS = {
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
}

# -- times ---------------------------------------------------------------------
_AMPM = r"(?:am|pm|a\.m\.?|p\.m\.?)"
_TIME_RANGE = re.compile(
    r"(?<![\d.:/-])(?P<h1>[01]?\d|2[0-3])(?::(?P<m1>[0-5]\d))?\s*(?P<ap1>" + _AMPM + r")?"
    r"\s*(?:-|\u2013|—|to|until|till)\s*"
    r"(?P<h2>[01]?\d|2[0-3])(?::(?P<m2>[0-5]\d))?\s*(?P<ap2>" + _AMPM + r")?(?![\d])"
    r"(?:\s*" + _ZONE + r")?"
)
_TIME_SINGLE = re.compile(
    r"(?<![\d.:/-])(?:(?P<h>[01]?\d|2[0-3])(?::(?P<m>[0-5]\d))?\s*(?P<ap>" + _AMPM + r")"
    r"|(?P<h24>[01]?\d|2[0-3]):(?P<m24>[0-5]\d)(?![\d])"
    r"|\b(?P<word>noon|midday|midnight)\b)"
    r"(?:\s*" + _ZONE + r")?"
)

# -- what the message is about ---------------------------------------------------
# Category keywords. Social gatherings (parties, happy hours, hackathons) are
# events without a category of their own: they count as event evidence and get
# ``other``; ``announcement`` is for notices such as office closures.
_STARS = r"[*_~]*"
_CATEGORY_PATTERNS: list[tuple[EventCategory, re.Pattern[str], int]] = [
    (
        EventCategory.DEADLINE,
        re.compile(
            r"\b(?:code|deploy|release|feature|merge|change|scope)\s+freeze\b|\bdeadlines?\b"
            rf"|\bdue\s+{_STARS}(?:on|by|date|in|today|tomorrow|this|next|eod|eow|cob|friday"
            r"|monday|tuesday|wednesday|thursday)\b|\bcut-?off\b|\bsubmissions?\b|\bsubmit\b"
            r"|\bno\s+later\s+than\b|\blast\s+day\s+to\b|\bexpires?\b|\beod\b|\beow\b|\bcob\b"
            r"|\bfreeze\b"
        ),
        2,
    ),
    (
        EventCategory.INCIDENT,
        re.compile(
            r"\boutages?\b|\bincidents?\b|\bdegrad(?:ed|ation)\b|\bsev-?[0-4]\b|\bp[01]\b"
            r"|\bis\s+down\b|\bpartial\s+outage\b|\bservice\s+disruption\b"
        ),
        1,
    ),
    (
        EventCategory.MAINTENANCE,
        re.compile(
            r"\bmaintenance\b|\bdowntime\b|\bmigrations?\b|\bupgrades?\b|\bcutover\b"
            r"|\bread-only\b|\bpatching\b|\bfailover\b|\bplanned\s+work\b|\bservice\s+window\b"
            r"|\bdrills?\b|\bswap(?:ping|ped)?\b|\breplac(?:ing|ement)\b|\brotation\b"
            r"|\bwill\s+be\s+(?:down|offline|unavailable)\b"
        ),
        1,
    ),
    (
        EventCategory.RELEASE,
        re.compile(
            r"(?<!post-)(?<!pre-)\breleas(?:e|es|ing)\b|\bdeploy(?:s|ing|ment|ments)?\b|\broll(?:ing)?\s*-?out\b"
            r"|\bhotfix\b|\bships?\b|\bshipping\b|\bv\d+(?:\.\d+)*\b"
            r"|\b(?:goes|going|go)\s+out\b"
            # A version number ("4.13", "2.8.1"), not a time or a decimal amount.
            r"|(?<![\d.:$\u20ac~])\b\d{1,2}\.\d{1,2}(?:\.\d{1,2})?\b(?![\d.:%]|\s*(?:am|pm|h\b))"
        ),
        1,
    ),
    (
        EventCategory.LAUNCH,
        re.compile(
            r"\blaunch(?:es|ing)?\b|\bgo(?:es)?[- ]live\b|\bgoing\s+live\b|\bbe\s+live\b"
            r"|\bgeneral\s+availability\b"
            r"|\bpublic\s+(?:beta|preview)\b|\bunveil(?:ing)?\b|\bproduct\s+hunt\b"
        ),
        1,
    ),
    (
        EventCategory.CONFERENCE,
        re.compile(
            r"\bconferences?\b|\bconf\b|\bsummit\b|\bmeetups?\b|\bworkshops?\b"
            r"|\bkeynote\b|\btech\s+talks?\b|\blightning\s+talks?\b|\bexpo\b"
            r"|\bbooth\b|\bcfp\b|\bspeak(?:s|ing)?\s+at\b"
            # One-word conference names: KubeCon, PyCon (not bacon, beacon, falcon...).
            r"|\b(?!(?:bacon|beacon|falcon|silicon|icon|recon|deacon|lexicon|rubicon)\b)"
            r"[a-z]{2,}con\b"
        ),
        1,
    ),
    (
        EventCategory.MEETING,
        re.compile(
            r"(?<!no-)(?<!no\s)\bmeetings?\b|\bstand-?ups?\b|\bsyncs?\b|\ball[- ]hands\b"
            r"|\btown\s*hall\b|\bretro(?:spective)?\b|\b1:1\b|\bkick-?off\b"
            r"|\b(?:q[1-4]|sprint|quarterly|release|roadmap|annual|team|capacity)\s+planning\b"
            r"|\bplanning\s+(?:meeting|session|kickoff|day|sync|poker)\b"
            r"|\boff-?site\b|\bbrainstorm(?:ing)?\b|\bama\b|\boffice\s+hours\b|\bdemo\s+day\b"
            r"|\bsprint\s+(?:review|demo)\b|\btraining\b|\bonboarding\s+session\b|\binterview\b"
            r"|\bcall\b|\bdemo\b|\breview\s+(?:session|meeting)\b|\bgrooming\b|\brefinement\b"
            r"|\b(?:design|sprint|quarterly|business|roadmap|architecture|security|performance"
            r"|budget|product|board|quarter|annual|weekly|monthly)\s+review\b|\bwebinars?\b"
            r"|\blunch\s*(?:&|and|&amp;)\s*learn\b|\bl&l\b"
        ),
        1,
    ),
    (
        EventCategory.ANNOUNCEMENT,
        re.compile(
            r"\boffice\s+(?:is\s+|will\s+be\s+)?(?:closed|closure)\b|\bholiday\b"
            r"|\bvolunteer(?:ing)?\b|\bopen\s+house\b"
        ),
        1,
    ),
]
_SOCIAL = re.compile(
    r"\bpart(?:y|ies)\b|\bcelebrat(?:e|es|ing|ion)\b|\bhappy\s+hour\b|\bhackathons?\b"
    r"|\bteam\s+(?:lunch|dinner|event|outing)\b|\bsocial\b|\bbirthday\b|\bfarewell\b"
    r"|\bpicnic\b|\bbbq\b|\bgame\s+night\b|\bpotluck\b"
)
_ANNOUNCE = re.compile(
    r"\bjoin\s+us\b|\bheads[- ]up\b|\breminder\b|\bsave\s+the\s+date\b|\bwe\s+will\b"
    r"|\bwe'll\b|\bscheduled\s+(?:for|on)\b|\bplease\s+join\b|\bdon'?t\s+forget\b"
    r"|\bmark\s+your\s+calendars?\b|\brsvp\b|\bannounc(?:e|ing|ement)\b|\bplanned\s+for\b"
    r"|\bwill\s+(?:be|take\s+place|happen|start|run|go)\b|\bis\s+(?:happening|scheduled)\b"
    r"|\bcome\s+(?:join|along)\b|\bagenda\b|\binvite\b|@here\b|@channel\b|@everyone\b"
    r"|\bit'?s\s+(?:happening|on|confirmed|official)\b|\bconfirmed\b|\blocked\s+in\b"
)
_MEETING_HOSTS = re.compile(
    r"zoom\.us/|meet\.google\.com/|teams\.microsoft\.com/|teams\.live\.com/|webex\.com/"
    r"|whereby\.com/|calendly\.com/"
)
_CALENDAR_LINK = re.compile(
    r"calendar\.google\.com/|outlook\.(?:office|live)\.com/|\.ics\b|^webcal://"
    r"|eventbrite\.|lu\.ma/|meetup\.com/"
)
_QUESTION_START = re.compile(
    r"^\W*(?:what|when|where|who|why|how|is|are|does|do|did|can|could|should|would|anyone"
    r"|any|has|have|was|were)\b"
)
_PAST = re.compile(
    r"\b(?:went|happened|attended|recap|recording|post-?mortem|retro\s+notes|shipped"
    r"|was\s+(?:great|awesome|fun|a\s+success|resolved)|is\s+(?:now\s+)?resolved"
    r"|has\s+been\s+(?:resolved|fixed|deployed|released|completed|mitigated)"
    r"|thanks?\s+(?:you\s+)?(?:to\s+)?(?:everyone|all)\s+(?:who|for)"
    r"|great\s+(?:retro|meeting|session|talk|demo|job|work|all-hands|event|turnout))\b"
)
_STRONG_PAST = re.compile(
    r"\bthanks?\s+(?:you\s+)?(?:all\s+|everyone\s+)?for\s+(?:a\s+great|joining|coming|attending)\b"
    r"|\bgreat\s+(?:retro|meeting|session|talk|demo|all-hands|event|turnout)\b|\brecap\b"
)
_FUTURE = re.compile(
    r"\b(?:will|tomorrow|upcoming|tonight|scheduled|planned|join|starts|starting|next)\b"
)
_CANCELLED = re.compile(
    r"(?<!not\s)(?<!n't\s)\b(?:cancell?ed|cancell?ing|called\s+off|not\s+happening"
    r"|won'?t\s+(?:happen|take\s+place)|scrapped|is\s+off)\b"
)
_RESCHEDULED = re.compile(
    r"\b(?:mov(?:e|ed|ing)|bump(?:ed|ing)?|shift(?:ed|ing)?|push(?:ed|ing)?|slip(?:s|ped|ping)?)"
    r"(?:\s+(?!to\b|by\b|from\b)[\w.-]+){0,3}?\s+(?:back\s+|out\s+)?"
    r"(?:to|by|until|till|from|a\s+(?:day|week)|one\s+(?:day|week)|\d+\s*(?:min|mins|minutes"
    r"|hours?|h)\b)\b"
    r"|\bnow\s+(?:looking\s+like|set\s+for|planned\s+for|scheduled\s+for|targeted\s+for)\b"
    r"|\bpostpon(?:ed|ing)\b|\bre-?schedul(?:ed|ing)\b|\bdelayed\b|\bnew\s+(?:date|time)\b"
    r"|\bnow\s+(?:on|at|happening)\b|\binstead\b"
)
_CHANGE_TARGET = re.compile(r"\b(?:to|until|till)\b|->|\u2192")
_RESCHEDULE_WORD = re.compile(
    r"\bpostpon(?:ed|ing)\b|\bre-?schedul(?:ed|ing)\b|\bdelayed\b|\bnew\s+(?:date|time)\b"
)
_TENTATIVE = re.compile(
    r"\btentative(?:ly)?\b|\btbc\b|\btbd\b|\bto\s+be\s+confirmed\b|\bpencil(?:l)?ed\s+in\b"
    r"|\bprovisional(?:ly)?\b|\bsubject\s+to\s+change\b"
)
_LOCATION = re.compile(
    r"(?:\b(?:location|where|venue|place|room)\s*[:\-]\s*|:round_pushpin:\s*|📍\s*)"
    r"(?P<loc>[^\n.;()]{2,60})"
    r"|\b(?:in|at)\s+(?P<room>(?:the\s+)?(?:(?:[A-Z][\w'&-]*|\d+\w*)\s+){0,3}"
    r"(?:office|HQ|room|Room|hall|Hall|auditorium|Auditorium|kitchen|cafeteria|lounge|Lounge"
    r"|building|Building|floor|campus|Campus|center|Center|centre|Centre|rooftop)"
    r"(?:\s+[A-Z0-9][\w-]*)?)\b"
    r"|\b(?P<numbered>(?:[Rr]oom|[Cc]onf(?:erence)?\s+[Rr]oom|[Bb]uilding|[Ff]loor)\s+"
    r"(?=[\w-]*\d)[\w-]+)"
)

_TITLE_PREFIX = re.compile(
    r"^(?:@\w[\w.-]*|friendly\s+reminder|just\s+a\s+reminder|quick\s+reminder"
    r"|reminder\s+that|reminder|yes|yep|ok|okay|sure"
    r"|heads[- ]up|fyi|psa|update|important|note|save\s+the\s+date|announcement|new"
    r"|(?:(?:hey|hi|hello)\s+)?(?:all|team|everyone|folks|y'all|people)(?=\s*[,:!])|hey|hi|hello"
    r"|reminder\s+that|tentatively|tentative|declaring|mark\s+your\s+calendars?"
    r"|we(?:'re|\s+are)\s+planning(?:\s+(?:a|an|the|our))?|thinking\s+about|shameless\s+plug"
    r"|cross-?posting(?:\s+the)?|t-?minus\s+\d+\s+(?:days?|hours?|weeks?)|we(?:'re|\s+are)\s+(?:excited|happy|thrilled)\s+to\s+announce"
    r"|join\s+us(?:\s+(?:for|at|on))?|please\s+join(?:\s+us)?(?:\s+(?:for|at|on))?"
    r"|don'?t\s+forget(?:\s+(?:about|that))?|there\s+will\s+be|we\s+will\s+(?:have|hold|host)"
    r"|we(?:'re|\s+are)\s+(?:having|hosting|holding)|announcing)\b[\s:,!.\-\u2013—]*",
    re.IGNORECASE,
)
_TITLE_EDGE_WORDS = re.compile(
    r"(?:^|\s)(?:on|at|from|by|is|are|will|be|for|scheduled|planned|happening|starts?"
    r"|starting|this|next|the|of|in|until|till|to|and|or|has|been|was|our|coming|up|due"
    r"|since|around|about|approx|effective|as\s+of|from|sharp|between|goes\s+out|going\s+out"
    r"|is\s+out|is\s+live|goes\s+live|ships|is\s+slipping|slipping|is\s+moving|moving"
    r"|takes?\s+place|kicks?\s+off|between|@|—|\u2013|-|,|:|\(|\))$",
    re.IGNORECASE,
)
_TITLE_LEAD_WORDS = re.compile(
    r"^(?:on|at|from|by|for|is|the\s+(?=\w+\s+\w)|and|:|,|-|\u2013|—)\s+", re.IGNORECASE
)
_SLACK_FORMATTING = re.compile(r"(?<!\w)[*_~`]+|[*_~`]+(?!\w)")
_BOLD_START = re.compile(r"^\s*\*(?P<bold>[^*\n]{2,120})\*")
_MENTION = re.compile(r"(?<!\w)@[\w.-]+")
_URL = re.compile(r"(?:https?|webcal)://\S+")
_HEADING_TAIL = re.compile(r"^\s*(?:[:|]|\s-|\u2013|\u2014)\s*(?P<rest>\S.*)$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z@:*])|\n")


@dataclass(frozen=True)
class _DateHit:
    start: date
    end: date | None
    begin: int
    finish: int
    # "explicit" (month-day, ISO, numeric), "day" (weekday, tomorrow), "vague" ("next week").
    kind: str
    # EOD / EOW: a deadline at the end of the working day.
    eod: bool = False


@dataclass(frozen=True)
class _TimeHit:
    start: time
    end: time | None
    zone: str | None
    begin: int
    finish: int


@dataclass(frozen=True)
class _When:
    """A resolved start (and end), in the zone it was written in."""

    start: date | datetime
    end: date | datetime | None
    timezone: str
    date_kind: str
    has_time: bool
    explicit_zone: bool
    # Where the chosen date and time are written.
    spans: tuple[tuple[int, int], ...]
    # Where every date and time of the message is written (titles leave them out).
    mentions: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class _Reading:
    """Everything the extractor read from one message, before deciding on a draft."""

    text: str
    lower: str
    when: _When | None
    category: EventCategory | None
    category_strength: int
    announces: bool
    meeting_url: str | None
    url: str | None
    location: str | None
    question: bool
    past: bool
    cancelled: bool
    rescheduled: bool
    tentative: bool
    shift_days: int | None
    title: str


# -- date resolution -----------------------------------------------------------


def _year_for(month: int, day: int, base: date) -> int | None:
    """The year of a month-day without one: this year unless clearly past (prefer future)."""
    for year in (base.year, base.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= base - timedelta(days=RECENT_PAST_DAYS):
            return year
    return None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _month_day(month: int, day: int, year: int | None, base: date) -> date | None:
    if year is None:
        year = _year_for(month, day, base)
        if year is None:
            return None
    return _safe_date(year, month, day)


def _weekday_date(base: date, weekday: int, modifier: str | None) -> date:
    ahead = (weekday - base.weekday()) % 7
    if modifier == "next":
        # "next Tuesday" is the Tuesday of next calendar week (weeks start on Monday).
        next_monday = base + timedelta(days=7 - base.weekday())
        return next_monday + timedelta(days=weekday)
    if modifier == "this":
        return base + timedelta(days=ahead)
    # A bare weekday named on that same weekday means next week's: today is "today".
    return base + timedelta(days=ahead or 7)


def _end_of_week(base: date) -> date:
    return base + timedelta(days=(4 - base.weekday()) % 7)


def _in_period(phrase: str, base: datetime) -> date | None:
    """ "in two weeks", "3 days from now": dateparser relative to the posting time."""
    import dateparser  # the import costs ~0.2 s; only relative phrases need it

    parsed = dateparser.parse(
        phrase,
        languages=["en"],
        settings={
            "RELATIVE_BASE": base.replace(tzinfo=None),
            "PREFER_DATES_FROM": "future",
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )
    return parsed.date() if parsed is not None else None


def _find_dates(lower: str, base: datetime) -> list[_DateHit]:
    today = base.date()
    hits: list[_DateHit] = []
    taken: list[tuple[int, int]] = []

    def free(begin: int, finish: int) -> bool:
        return all(finish <= b or begin >= f for b, f in taken)

    def add(hit: _DateHit) -> None:
        hits.append(hit)
        taken.append((hit.begin, hit.finish))

    for match in _ISO_DATE.finditer(lower):
        start = _safe_date(int(match["y"]), int(match["m"]), int(match["d"]))
        end = None
        if match["y2"]:
            end = _safe_date(int(match["y2"]), int(match["m2"]), int(match["d2"]))
        if start is not None:
            add(_DateHit(start, end if end and end > start else None, *match.span(), "explicit"))
    for pattern in (_MONTH_DAY, _DAY_MONTH):
        for match in pattern.finditer(lower):
            if not free(*match.span()):
                continue
            month = _MONTHS[match["mon"].rstrip(".")]
            year = int(match["y"]) if match["y"] else None
            start = _month_day(month, int(match["d"]), year, today)
            if start is None:
                continue
            end = None
            if match["d2"]:
                month2 = month
                if pattern is _MONTH_DAY and match["mon2"]:
                    month2 = _MONTHS[match["mon2"].rstrip(".")]
                year2 = start.year + (1 if month2 < month else 0)
                end = _safe_date(year2, month2, int(match["d2"]))
                if end is not None and not start < end <= start + timedelta(days=31):
                    end = None
            add(_DateHit(start, end, *match.span(), "explicit"))
    for match in _NUMERIC_DATE.finditer(lower):
        if not free(*match.span()):
            continue
        if match["m"]:
            month, day = int(match["m"]), int(match["d"])
            year = None
            if match["y"]:
                year = int(match["y"]) + (2000 if len(match["y"]) == 2 else 0)
        else:
            month, day, year = int(match["m_eu"]), int(match["d_eu"]), int(match["y_eu"])
        if not (1 <= month <= 12 and 1 <= day <= 31):
            continue
        start = _month_day(month, day, year, today)
        if start is not None:
            add(_DateHit(start, None, *match.span(), "explicit"))
    for match in _DAY_OF_MONTH.finditer(lower):
        if not free(*match.span()):
            continue
        day = int(match["d"])
        candidate = _safe_date(today.year, today.month, day)
        if candidate is None or candidate < today:
            month_after = today.replace(day=1) + timedelta(days=32)
            candidate = _safe_date(month_after.year, month_after.month, day)
        if candidate is not None:
            add(_DateHit(candidate, None, *match.span(), "explicit"))
    for match in _END_OF.finditer(lower):
        what = match["what"]
        if what in ("eod", "cob") or what.endswith("day"):
            # "EOD Friday" / "Friday EOD": the weekday (found below) gives the date.
            add(_DateHit(today, None, *match.span(), "day", eod=True))
        elif what == "eow" or what.endswith("week"):
            add(_DateHit(_end_of_week(today), None, *match.span(), "day", eod=True))
        else:
            last = calendar.monthrange(today.year, today.month)[1]
            add(_DateHit(today.replace(day=last), None, *match.span(), "day"))
    for match in _RELATIVE_DAY.finditer(lower):
        if not free(*match.span()):
            continue
        word = match["word"]
        if word.startswith("day after"):
            start = today + timedelta(days=2)
        elif word in ("tomorrow", "tmrw", "tmr"):
            start = today + timedelta(days=1)
        else:
            start = today
        add(_DateHit(start, None, *match.span(), "day"))
    for match in _WEEKDAY_RE.finditer(lower):
        if not free(*match.span()):
            continue
        if lower[: match.start()].rstrip().endswith(("it's", "it is", "happy")):
            continue  # "it's Friday": what today is, not when something happens
        word = match["wd"]
        if word in ("sat", "sun", "wed") and match["mod"] is None:
            continue  # also ordinary words; only with "next/this/on" in front
        modifier = match["mod"] if match["mod"] in ("next", "this") else None
        start = _weekday_date(today, _WEEKDAYS[word], modifier)
        add(_DateHit(start, None, *match.span(), "day"))
    for match in _NEXT_PERIOD.finditer(lower):
        if not free(*match.span()):
            continue
        next_monday = today + timedelta(days=7 - today.weekday())
        if match["what"] == "week":
            add(_DateHit(next_monday, None, *match.span(), "vague"))
        elif match["what"] == "weekend":
            add(_DateHit(next_monday + timedelta(days=5), None, *match.span(), "vague"))
        else:  # this weekend
            add(
                _DateHit(
                    today + timedelta(days=(5 - today.weekday()) % 7), None, *match.span(), "vague"
                )
            )
    for match in _IN_PERIOD.finditer(lower):
        if not free(*match.span()):
            continue
        start = _in_period(match.group(0), base)
        if start is not None:
            add(_DateHit(start, None, *match.span(), "vague"))
    hits.sort(key=lambda hit: hit.begin)
    return _merge_eod(hits, lower)


_GAP = re.compile(r"^[\s,]*(?:on|this|by|at)?[\s,]*$")


def _merge_eod(hits: list[_DateHit], lower: str) -> list[_DateHit]:
    """Fold neighbours into one reading: "EOD Friday", "Friday EOD", "Tuesday, March 10"."""
    merged: list[_DateHit] = []
    for hit in hits:
        if merged:
            previous = merged[-1]
            close = _GAP.match(lower[previous.finish : hit.begin]) is not None
            if close and previous.eod and not hit.eod and hit.kind != "vague":
                merged[-1] = replace(hit, begin=previous.begin, eod=True)
                continue
            if close and hit.eod and not previous.eod and previous.kind != "vague":
                merged[-1] = replace(previous, finish=hit.finish, eod=True)
                continue
            if close and previous.kind == "day" and hit.kind == "explicit":
                # "Tuesday, March 10": the explicit date is the more precise reading.
                merged[-1] = replace(hit, begin=previous.begin)
                continue
            if close and previous.kind == "explicit" and hit.kind == "day":
                merged[-1] = replace(previous, finish=hit.finish)
                continue
        merged.append(hit)
    return merged


# -- time resolution -----------------------------------------------------------


def _hour(hour: int, ampm: str | None) -> int:
    if ampm is None:
        return hour
    if ampm.startswith("p") and hour < 12:
        return hour + 12
    if ampm.startswith("a") and hour == 12:
        return 0
    return hour


def _zone_name(zone: str | None, offset: str | None) -> str | None:
    if zone is None:
        return None
    name = ZONE_ABBREVIATIONS[zone]
    if offset and name == "UTC":
        sign = offset[0]
        digits = offset[1:].replace(":", "")
        hours = int(digits[:-2] if len(digits) > 2 else digits)
        minutes = int(digits[-2:]) if len(digits) > 2 else 0
        if minutes == 0 and hours <= 14:
            # IANA's Etc zones have inverted signs: UTC+2 is Etc/GMT-2.
            return "UTC" if hours == 0 else f"Etc/GMT{'-' if sign == '+' else '+'}{hours}"
    return name


def _find_times(lower: str) -> list[_TimeHit]:
    hits: list[_TimeHit] = []
    taken: list[tuple[int, int]] = []
    for match in _TIME_RANGE.finditer(lower):
        ap1, ap2 = match["ap1"], match["ap2"]
        # "2-4" alone is not a time; a colon or am/pm says it is.
        if not (ap1 or ap2 or match["m1"] or match["m2"]):
            continue
        if (match["m1"] is None) != (match["m2"] is None) and not (ap1 or ap2):
            continue
        h1, h2 = int(match["h1"]), int(match["h2"])
        if ap1 is None and ap2 is not None:
            # "2-4pm": the first half shares the meridiem unless that would put it after the end.
            ap1 = ap2 if _hour(h1, ap2) <= _hour(h2, ap2) else ("am" if ap2[0] == "p" else "pm")
        start = time(_hour(h1, ap1), int(match["m1"] or 0))
        end_hour = _hour(h2, ap2 or ap1)
        if ap1 is None and ap2 is None and end_hour <= start.hour < end_hour + 12:
            # "12:30-1:30" is lunch time, not 12:30 to 01:30; "22:00-02:00" stays overnight.
            end_hour += 12
        end = time(end_hour, int(match["m2"] or 0))
        hits.append(_TimeHit(start, end, _zone_name(match["zone"], match["off"]), *match.span()))
        taken.append(match.span())
    for match in _TIME_SINGLE.finditer(lower):
        begin, finish = match.span()
        if any(not (finish <= b or begin >= f) for b, f in taken):
            continue
        if match["word"]:
            start = time(0, 0) if match["word"] == "midnight" else time(12, 0)
        elif match["h"] is not None:
            start = time(_hour(int(match["h"]), match["ap"]), int(match["m"] or 0))
        else:
            hour = int(match["h24"])
            if 1 <= hour <= 7 and not match["h24"].startswith("0") and match["zone"] is None:
                # "Doors 6:30": an unpadded hour before 8 without am/pm is the evening.
                hour += 12
            start = time(hour, int(match["m24"]))
        hits.append(_TimeHit(start, None, _zone_name(match["zone"], match["off"]), begin, finish))
    hits.sort(key=lambda hit: hit.begin)
    return hits


def _combine(day: date, moment: time, zone: tzinfo) -> datetime:
    # zoneinfo resolves DST: 09:00 on the day clocks change gets that day's offset.
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)


def _resolve(
    lower: str,
    base: datetime,
    default_zone: str,
    *,
    prefer_after: int | None,
) -> _When | None:
    dates = _find_dates(lower, base)
    times = _find_times(lower)
    if not dates and not times:
        return None
    chosen: _DateHit | None = None
    if dates:
        strong = [hit for hit in dates if hit.kind != "vague"] or dates
        if prefer_after is not None:
            # A change ("moved from Tuesday to Thursday"): the date after the change words.
            after = [hit for hit in strong if hit.begin >= prefer_after]
            chosen = after[0] if after else strong[-1]
        else:
            # "Pi Day is Saturday, so we celebrate Friday at 3:14pm": a day with a
            # time next to it is the event's day; otherwise the first day named.
            # Failing that, the day the author set in bold ("Freeze Friday, ship *March 24*").
            timed_days = [hit for hit in strong if any(_near(hit, time) for time in times)]
            bold = (
                [(m.start(), m.end()) for m in _BOLD_SPAN.finditer(lower)] if "*" in lower else []
            )
            bold_days = [hit for hit in strong if any(b <= hit.begin < e for b, e in bold)]
            chosen = (timed_days or bold_days or strong)[0]
    chosen_time: _TimeHit | None = None
    if times:
        if chosen is None:
            # Without a day: "since 07:00 UTC" names a start, then a time with a zone.
            chosen_time = next(
                (hit for hit in times if _after_since(lower, hit)),
                next((hit for hit in times if hit.zone is not None), times[0]),
            )
        else:
            # The time nearest the date, preferring one that follows it ("Friday at 3pm").
            def distance(hit: _TimeHit) -> int:
                assert chosen is not None
                if hit.begin >= chosen.finish:
                    return hit.begin - chosen.finish
                return (chosen.begin - hit.finish) * 2 + 1

            chosen_time = min(times, key=distance)
    zone_name = default_zone
    explicit_zone = False
    if chosen_time is not None and chosen_time.zone is not None:
        zone_name, explicit_zone = chosen_time.zone, True
    zone = ZoneInfo(zone_name)
    spans = tuple((hit.begin, hit.finish) for hit in (chosen, chosen_time) if hit is not None)
    mentions = tuple((hit.begin, hit.finish) for hit in dates) + tuple(
        (hit.begin, hit.finish) for hit in times
    )
    return replace(
        _resolve_chosen(lower, base, chosen, chosen_time, zone, zone_name, explicit_zone, spans),
        mentions=mentions,
    )


def _resolve_chosen(
    lower: str,
    base: datetime,
    chosen: _DateHit | None,
    chosen_time: _TimeHit | None,
    zone: tzinfo,
    zone_name: str,
    explicit_zone: bool,
    spans: tuple[tuple[int, int], ...],
) -> _When:
    if chosen is None:
        assert chosen_time is not None
        # A time without a day is today's, unless it was over well before the message
        # was posted ("standup at 9am" written at 5pm means tomorrow; "down since
        # 14:05" written at 14:10 means today).
        local_base = base.astimezone(zone)
        day = local_base.date()
        posted = datetime.combine(day, local_base.time())
        if _after_since(lower, chosen_time):
            # "down since 23:50" posted at 00:20: the latest such time before posting.
            if datetime.combine(day, chosen_time.start) > posted:
                day -= timedelta(days=1)
        elif datetime.combine(day, chosen_time.start) < posted - TIME_ONLY_GRACE:
            day += timedelta(days=1)
        return _timed(day, chosen_time, zone, zone_name, "time", explicit_zone, spans)
    if chosen_time is not None:
        return _timed(chosen.start, chosen_time, zone, zone_name, chosen.kind, explicit_zone, spans)
    # "EOD Friday" without an hour is Friday, all day: EOD has no agreed hour.
    return _When(chosen.start, chosen.end, zone_name, chosen.kind, False, False, spans)


_NEAR_CHARS = 30
_BOLD_SPAN = re.compile(r"\*[^*\n]+\*")


def _near(day: _DateHit, moment: _TimeHit) -> bool:
    if moment.begin >= day.finish:
        return moment.begin - day.finish <= _NEAR_CHARS
    return day.begin - moment.finish <= _NEAR_CHARS // 3


def _after_since(lower: str, moment: _TimeHit) -> bool:
    return lower[: moment.begin].rstrip(" *_~(").endswith(("since", "as of", "started at"))


def _timed(
    day: date,
    hit: _TimeHit,
    zone: tzinfo,
    zone_name: str,
    kind: str,
    explicit_zone: bool,
    spans: tuple[tuple[int, int], ...],
) -> _When:
    start = _combine(day, hit.start, zone)
    end = None
    if hit.end is not None:
        end_day = day + timedelta(days=1) if hit.end <= hit.start else day
        end = _combine(end_day, hit.end, zone)
    return _When(start, end, zone_name, kind, True, explicit_zone, spans)


# -- reading a message -----------------------------------------------------------


def _category(lower: str) -> tuple[EventCategory | None, int]:
    best: tuple[int, int, EventCategory] | None = None
    for category, pattern, weight in _CATEGORY_PATTERNS:
        matches = list(pattern.finditer(lower))
        if not matches:
            continue
        strength = weight * len(matches)
        # More hits win; on a tie the earlier mention (usually the subject) wins.
        key = (strength, -matches[0].start(), category)
        if best is None or key[:2] > best[:2]:
            best = key
    social = list(_SOCIAL.finditer(lower))
    if social:
        key = (2 * len(social), -social[0].start(), EventCategory.OTHER)
        if best is None or key[:2] > best[:2]:
            best = key
    if best is None:
        return None, 0
    return best[2], best[0]


def _location(text: str) -> str | None:
    match = _LOCATION.search(text)
    if match is None:
        return None
    value = (match["loc"] or match["room"] or match["numbered"] or "").strip(" :-,")
    return value or None


def _clean_title(raw: str, spans_removed: str) -> str:
    title = _symbols_stripped(spans_removed)
    title = _SLACK_FORMATTING.sub("", title)
    title = re.sub(r"\s+", " ", title).strip(" :,-\u2013—|")
    for _ in range(4):
        stripped = _TITLE_PREFIX.sub("", title).strip(" :,-\u2013—|")
        if stripped == title:
            break
        title = stripped
    for _ in range(8):
        previous = title
        title = _TITLE_EDGE_WORDS.sub("", title).strip(" :,-\u2013—|(")
        title = _TITLE_LEAD_WORDS.sub("", title).strip(" :,-\u2013—|)")
        if title == previous:
            break
    title = title.strip(" .!:,;-\u2013—")
    if title.count("(") != title.count(")"):
        title = title.replace("(", "").replace(")", "").strip()
    if len(title) > TITLE_MAX_CHARS:
        cut = title[: TITLE_MAX_CHARS - 1]
        cut = cut[: cut.rfind(" ")] if " " in cut else cut
        title = cut.rstrip(" ,;:-\u2013—") + "…"
    if title and title[0].islower():
        title = title[0].upper() + title[1:]
    return title if len(title) >= 3 else raw


def _cut_at_date(segment: str) -> str:
    """Text up to the first blanked date ("\x00"); if nothing precedes it, without the date."""
    if "\x00" not in segment:
        return segment
    head = segment[: segment.index("\x00")]
    tail = segment[segment.rindex("\x00") + 1 :]
    if len(_clean_title("", head)) >= 3:
        # "Webinar on Jan 5: scaling Postgres": a heading colon after the date
        # introduces the subject, which belongs in the title.
        heading = _HEADING_TAIL.match(tail)
        return head.rstrip() + (": " + heading["rest"] if heading else "")
    return segment.replace("\x00", " ")


def _title(text: str, when: _When | None) -> str:
    """A readable title: the bold heading, else the first sentence, up to its date."""
    # Blank out the date and time words so that "Release on Tuesday at 3pm" reads "Release".
    blanked = list(text)
    if when is not None:
        for begin, finish in when.mentions or when.spans:
            for index in range(begin, min(finish, len(blanked))):
                blanked[index] = "\x00"
    flat = "".join(blanked)
    bold = _BOLD_START.match(_symbols_stripped(flat))
    if bold is not None:
        candidate = _clean_title("", _cut_at_date(bold["bold"]).replace("\x00", " "))
        if len(candidate) >= 3 and candidate.lower() not in _WEAK_HEADINGS:
            return candidate
    sentences = [part for part in _SENTENCE_END.split(flat) if part.strip(" \x00:.,!-")]
    first = _cut_at_date(sentences[0] if sentences else flat).replace("\x00", " ")
    fallback = re.sub(r"\s+", " ", text.replace("\x00", " ")).strip()[:TITLE_MAX_CHARS]
    return _clean_title(fallback, first)


_WEAK_HEADINGS = frozenset({"reminder", "update", "heads up", "heads-up", "fyi", "psa", "note"})


def _symbols_stripped(text: str) -> str:
    """Text without pictographs (emoji, flags) and their joiners; keeps letters and digits."""
    return "".join(
        ch
        for ch in text
        if ch not in "\ufe0f\u200d" and not (ord(ch) > 0x2000 and unicodedata.category(ch) == "So")
    ).lstrip()


def _shift_days(lower: str) -> int | None:
    match = _SHIFT.search(lower)
    if match is None:
        return None
    if match["next"]:
        return 7
    number = match["n"] or match["n2"]
    unit = match["unit"] or match["unit2"]
    count = _NUMBER_WORDS.get(number) if not number.isdigit() else int(number)
    if count is None:
        return None
    return count * (7 if unit.startswith("week") else 1)


def _read(message: SlackMessage, timezone: str) -> _Reading:
    raw_links = slack_links(message.text)
    text = strip_emoji(slack_markup_to_text(message.text))
    text = _URL.sub(" ", text)
    text = _MENTION.sub(lambda m: m.group(0) if m.group(0) in _KEEP_MENTIONS else " ", text)
    text = re.sub(r"[ \t]+", " ", text).strip()
    lower = text.lower()
    base = message.posted_at.astimezone(ZoneInfo(timezone))

    change = _RESCHEDULED.search(lower)
    cancelled = _CANCELLED.search(lower) is not None
    prefer_after = None
    if change is not None:
        prefer_after = change.end()
        if change.group(0).endswith("from"):
            # "moved from Tuesday to Thursday": the new date follows "to".
            target = _CHANGE_TARGET.search(lower, prefer_after)
            prefer_after = target.end() if target else prefer_after
    when = _resolve(lower, base, timezone, prefer_after=prefer_after)
    shift_days = _shift_days(lower)
    # "Moved to the big room" moves nothing in time: a change needs a new date or
    # time after the change words, a shift ("by a week") or an explicit "postponed".
    rescheduled = change is not None and (
        _RESCHEDULE_WORD.search(lower) is not None
        or shift_days is not None
        or (when is not None and any(begin >= change.start() for begin, _ in when.spans))
    )
    # A date that is over before the message was posted ("yesterday") is no announcement.
    past_day = _PAST_DAY.search(lower) is not None
    category, strength = _category(lower)
    meeting_url = next((url for url in raw_links if _MEETING_HOSTS.search(url)), None)
    calendar_url = next((url for url in raw_links if _CALENDAR_LINK.search(url)), None)
    url = meeting_url or calendar_url or (raw_links[0] if raw_links else None)
    question = _is_question(lower) and not _ANNOUNCE.search(lower)
    past = _STRONG_PAST.search(lower) is not None or (
        (_PAST.search(lower) is not None or past_day) and _FUTURE.search(lower) is None
    )
    return _Reading(
        text=text,
        lower=lower,
        when=when,
        category=category,
        category_strength=strength,
        announces=_ANNOUNCE.search(lower) is not None or "@here" in message.text,
        meeting_url=meeting_url,
        url=url,
        location=_location(text),
        question=question,
        past=past,
        cancelled=cancelled,
        rescheduled=rescheduled,
        tentative=_TENTATIVE.search(lower) is not None,
        shift_days=shift_days,
        title=_title(text, when),
    )


def _is_question(lower: str) -> bool:
    """A message that asks: its first sentence is a question, or it is one question.

    "Who'd want to go?" closing an announcement does not make it a question.
    """
    if "?" not in lower:
        return False
    sentences = [part for part in _SENTENCE_SPLIT.split(lower.strip()) if part.strip()]
    if not sentences:
        return False
    first = sentences[0].rstrip(" )*_~")
    if first.endswith("?"):
        return True
    return len(sentences) == 1 and _QUESTION_START.search(lower) is not None


_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
_RESOLVED = re.compile(
    r"\bresolved\b|\bmitigated\b|\ball\s+clear\b|\bback\s+to\s+normal\b|\brecovered\b"
)
_KEEP_MENTIONS = frozenset({"@here", "@channel", "@everyone"})


def _confidence(reading: _Reading, when: _When, candidate_score: float) -> float:
    confidence = 0.35
    confidence += {"explicit": 0.25, "day": 0.2, "time": 0.1, "vague": 0.05}.get(
        when.date_kind, 0.0
    )
    if when.has_time:
        confidence += 0.1
    if when.explicit_zone:
        confidence += 0.05
    if reading.category is not None:
        confidence += 0.1 + min(0.05, 0.025 * reading.category_strength)
    if reading.announces:
        confidence += 0.05
    if reading.tentative:
        confidence -= 0.1
    confidence += 0.05 * candidate_score
    return round(min(0.95, max(0.05, confidence)), 3)


def _shifted(value: date | datetime | None, days: int) -> date | datetime | None:
    return None if value is None else value + timedelta(days=days)


class RuleExtractor:
    """Reads event drafts with date rules and keywords; no model, no network."""

    name = "rules"

    def extract(self, items: Sequence[ExtractionInput]) -> ExtractionResult:
        result = ExtractionResult()
        for item in items:
            key = (item.candidate.channel_id, item.candidate.ts)
            try:
                drafts = self.read_drafts(item)
            except Exception as exc:  # one unreadable message must not stop the batch
                result.outcomes[key] = CandidateOutcome(
                    CandidateStatus.FAILED, error=f"{type(exc).__name__}: {exc}"
                )
                continue
            result.drafts.extend(drafts)
            status = CandidateStatus.EXTRACTED if drafts else CandidateStatus.NO_EVENT
            result.outcomes[key] = CandidateOutcome(status)
        return result

    def extract_groups(self, groups: Sequence[Sequence[ExtractionInput]]) -> ExtractionResults:
        # Reading is pure and cheap: one group after the other, each when asked for.
        for items in groups:
            yield self.extract(items)

    def read_drafts(self, item: ExtractionInput) -> list[EventDraft]:
        """The drafts of one candidate (empty when it announces no dated event)."""
        message = item.message
        reading = _read(message, item.timezone)
        thread_ts = message.thread_ts if message.is_reply else None
        source = SourceRef(channel_id=message.channel_id, ts=message.ts)
        parent = None
        if thread_ts is not None and item.thread_parent is not None:
            parent = _read(item.thread_parent, item.timezone)
        if parent is not None and (reading.cancelled or reading.rescheduled):
            draft = self._change_draft(reading, parent, item, source, thread_ts)
            return [draft] if draft is not None else []
        if parent is not None and parent.category is EventCategory.INCIDENT:
            resolved = self._resolution_draft(reading, parent, item, source, thread_ts)
            if resolved is not None:
                return [resolved]
        when = reading.when
        if when is None or reading.question or reading.past:
            return []
        # Announcement phrasing alone ("reminder: read the doc before Thursday") is not
        # enough; with a time of day it is ("join us Thursday at 4pm").
        announces_something = (
            reading.category is not None
            or (reading.announces and when is not None and when.has_time)
            or reading.meeting_url is not None
            or reading.cancelled
            or reading.rescheduled
        )
        if thread_ts is not None and not (reading.announces or when.has_time):
            # A dated aside in a thread ("booking flights today") neither repeats nor
            # changes the event; only a reply that announces or gives a time does.
            announces_something = False
        if not announces_something:
            return []
        title, category = reading.title, reading.category
        if parent is not None and parent.when is not None and reading.category is None:
            # "Reminder: this is tomorrow!" in a thread: the parent names the event.
            title, category = parent.title, parent.category
        status = EventStatus.SCHEDULED
        if reading.cancelled:
            status = EventStatus.CANCELLED
        elif reading.rescheduled:
            status = EventStatus.RESCHEDULED
        elif reading.tentative:
            status = EventStatus.TENTATIVE
        return [
            EventDraft(
                title=title,
                category=category or EventCategory.OTHER,
                start=when.start,
                end=when.end,
                timezone=when.timezone,
                location=reading.location,
                url=reading.url,
                summary=_summary(reading.text),
                confidence=_confidence(reading, when, item.candidate.score),
                status=status,
                source=source,
                thread_ts=thread_ts,
            )
        ]

    def _resolution_draft(
        self,
        reading: _Reading,
        parent: _Reading,
        item: ExtractionInput,
        source: SourceRef,
        thread_ts: str | None,
    ) -> EventDraft | None:
        """ "Resolved at 11:35 ET" in an incident thread: the incident's end."""
        start = parent.when.start if parent.when is not None else None
        when = reading.when
        if (
            not isinstance(start, datetime)
            or when is None
            or not isinstance(when.start, datetime)
            or _RESOLVED.search(reading.lower) is None
        ):
            return None
        end = when.start
        if end < start:
            # A time-only reading lands on the next day when it lies in the past.
            end -= timedelta(days=1)
        if end < start or end - start > timedelta(days=3):
            return None
        assert parent.when is not None
        return EventDraft(
            title=parent.title,
            category=EventCategory.INCIDENT,
            start=start,
            end=end,
            timezone=parent.when.timezone,
            location=parent.location,
            url=parent.url,
            summary=_summary(reading.text),
            confidence=_confidence(parent, parent.when, item.candidate.score),
            status=EventStatus.SCHEDULED,
            source=source,
            thread_ts=thread_ts,
        )

    def _change_draft(
        self,
        reading: _Reading,
        parent: _Reading,
        item: ExtractionInput,
        source: SourceRef,
        thread_ts: str | None,
    ) -> EventDraft | None:
        """A reply that cancels or moves the parent's event."""
        if parent.when is None:
            return None
        when = parent.when
        status = EventStatus.CANCELLED if reading.cancelled else EventStatus.RESCHEDULED
        if status is EventStatus.RESCHEDULED:
            new = reading.when
            if reading.shift_days is not None and (new is None or new.date_kind == "vague"):
                # "pushed to next week" / "moved by two days": relative to the announced day.
                when = replace(
                    when,
                    start=when.start + timedelta(days=reading.shift_days),
                    end=_shifted(when.end, reading.shift_days),
                )
            elif new is not None and new.date_kind != "time":
                if not new.has_time and parent.when.has_time:
                    # "moved to Thursday": same time of day as announced, on the new day.
                    new = _keep_time_of_day(new, parent.when)
                when = new
            elif new is not None and new.date_kind == "time":
                when = _with_time_of(parent.when, new)
            else:
                # "postponed" without a new date: no longer sure it happens as announced.
                status = EventStatus.TENTATIVE
        return EventDraft(
            title=parent.title,
            category=parent.category or reading.category or EventCategory.OTHER,
            start=when.start,
            end=when.end,
            timezone=when.timezone,
            location=reading.location or parent.location,
            url=reading.url or parent.url,
            summary=_summary(reading.text),
            confidence=_confidence(parent, when, item.candidate.score),
            status=status,
            source=source,
            thread_ts=thread_ts,
        )


def _keep_time_of_day(new: _When, old: _When) -> _When:
    """The new day at the old wall-clock time (in the old event's zone)."""
    assert isinstance(old.start, datetime)
    zone = ZoneInfo(old.timezone)
    new_day = new.start if not isinstance(new.start, datetime) else new.start.date()
    local_start = old.start.astimezone(zone)
    start = _combine(new_day, local_start.timetz().replace(tzinfo=None), zone)
    end = None
    if isinstance(old.end, datetime):
        end = start + (old.end - old.start)
    return replace(new, start=start, end=end, timezone=old.timezone, has_time=True)


def _with_time_of(old: _When, new: _When) -> _When:
    """The old day at the new time ("moved to 4pm")."""
    assert isinstance(new.start, datetime)
    zone_name = new.timezone if new.explicit_zone else old.timezone
    zone = ZoneInfo(zone_name)
    old_day = old.start.astimezone(zone).date() if isinstance(old.start, datetime) else old.start
    # The new wall-clock time as written; without its own zone it means the old event's zone.
    new_local = new.start.astimezone(ZoneInfo(new.timezone))
    start = _combine(old_day, new_local.time(), zone)
    end = None
    if isinstance(new.end, datetime):
        end = start + (new.end - new.start)
    return replace(new, start=start, end=end, timezone=zone_name)


def _summary(text: str) -> str | None:
    summary = re.sub(r"\s+", " ", _SLACK_FORMATTING.sub("", text)).strip()
    if not summary:
        return None
    return summary if len(summary) <= 280 else summary[:279].rstrip() + "…"
