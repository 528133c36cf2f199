"""Whose message it is: someone's own plan ("I'll deploy tonight", "I'm launching my
client's site"), or a job or gig post ("looking for a hands-on HS developer"), which no
community calendar carries whatever their dates.
"""

from __future__ import annotations

import re

from slack_events_dagster.domain.models import EventCategory
from slack_events_dagster.domain.prose import Prose
from slack_events_dagster.llm.rules.happening import INTRODUCING, Head


def is_personal(prose: Prose, head: Head | None) -> bool:
    """ "I'm launching my client's site tomorrow", "I'll deploy tonight": a person's own
    work, not the community's event. The event word's clause has "I" or "my" as its
    subject, and the message speaks for nobody else ("we", "our"); talks and meetups
    someone gives ("I'm speaking at ...") are events all the same."""
    if head is None:
        return False
    tokens = prose.token_set
    if not tokens.isdisjoint({"we", "our", "us", "team"}):
        return False
    if prose.text.startswith("@") and not tokens.isdisjoint({"i", "my", "me"}):
        return True  # a reply to one person about their own plans ("@ana I scheduled ...")
    if head.category in (EventCategory.MEETING, EventCategory.CONFERENCE):
        return False
    before = prose.lower[max(0, head.begin - 40) : head.begin]
    if INTRODUCING.search(before) is not None:
        return False  # "I'm pleased to announce the launch of ...": news for everyone
    return _FIRST_PERSON_SUBJECT.search(before) is not None


_FIRST_PERSON_SUBJECT = re.compile(r"\b(?:i|i'm|i’m|im|i'll|i’ll|i've|i’ve|my)\b(?!.*[.!?]\s)")


# "We're looking for a contracted developer", "looking for a HubSpot developer": a job.
_LOOKING_FOR = re.compile(
    r"\b(?:looking|searching)\s+for\s+(?:an?\s+)?"
    r"(?:(?!(?:on|about|from|with|of|in|to|the|your|our)\b)[\w-]+\s+){0,3}"
    r"(?:developers?|designers?|engineers?|freelancers?|contractors?|agency|agencies|devs?)\b"
)


# The job words that say nothing else ("opening", "position", "candidate" also name
# events and their parts).
_JOB_ONLY = frozenset("hiring recruiter salary vacancy applicants freelancer freelance".split())


def job_post(prose: Prose) -> bool:
    """A job or gig post: no community event, whatever its dates ("starting next week")."""
    if not prose.token_set.isdisjoint(_JOB_ONLY):
        return True
    lower = prose.lower
    return ("looking" in lower or "searching" in lower) and _LOOKING_FOR.search(lower) is not None


# Asking the channel for help: a support request, whatever it mentions launching, adding
# or being down ("We just launched our new site and Chrome gives us a redirect loop
# error. Any ideas?", "Anyone else seeing a bug when they merge contacts?").
_ASKS_FOR_HELP = re.compile(
    r"(?<!\bif )(?<!\bin case )\b(?:any\s?one|anybody|someone|somebody)\s+(?:else\s+)?"
    r"(?:know|knows|seen|seeing|having|experiencing|noticed|run\s+into|ran\s+into|familiar)\b"
    r"|\bany\s+(?:ideas?|advice|pointers|help)\b"
    r"|\bhow\s+(?:do|can|could|would|should)\s+i\b"
    r"|\bis\s+there\s+(?:a|any)\s+way\b"
    r"|\b(?:can|could)\s+(?:someone|anyone|somebody|anybody)\s+(?:help|tell|point|explain|dm)\b"
    r"|\bhelp\s+me\b|\blooking\s+for\s+(?:your\s+|some\s+)?help\b"
    r"|\bi\s*(?:'m|’m|\s+am)\s+(?:facing|having\s+(?:an?\s+|some\s+)?(?:issue|problem|trouble)"
    r"|stuck|struggling)\b"
    r"|\bi\s+have\s+a\s+question\b"
    r"|\b(?:got|getting|gives?\s+(?:us|me))\s+(?:an?|the|this)\s+(?:[\w-]+\s+){0,2}error\b"
    r"|\bdoes\s+any(?:one|body)\b"
)


def asks_for_help(prose: Prose) -> bool:
    """The message asks the channel for help with its author's own problem."""
    if prose.token_set.isdisjoint(_HELP_WORDS):
        return False  # most messages: no word any request for help needs
    return _ASKS_FOR_HELP.search(prose.lower) is not None


# A word each branch of _ASKS_FOR_HELP holds.
_HELP_WORDS = frozenset(
    "anyone anybody someone somebody any how way help question error facing stuck "
    "struggling having".split()
)
