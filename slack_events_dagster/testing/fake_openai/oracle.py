"""Oracles: what the fake model answers. ``naive_oracle``, the default, reads candidates
the way a very literal model would, by rules of its own that share nothing with the
product's rule extractor or lexicon."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_events_dagster.testing.fake_openai.api import last_user_text


@dataclass(frozen=True)
class OracleRequest:
    """What an oracle sees: the request body and the candidates quoted in it."""

    body: dict[str, Any]
    # The data items of the last user message (empty when it quotes none).
    candidates: list[dict[str, Any]]
    # "json_schema", "json_object" or "text".
    response_mode: str

    @property
    def user_text(self) -> str:
        return last_user_text(self.body)


# Returns the answer object (serialised as JSON) or a string sent verbatim.
Oracle = Callable[[OracleRequest], Any]


_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})(?:[ T](\d{1,2}):(\d{2}))?\b")
_MONTHS = (
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
)
# "March 14", "Mar 14": a month name and a day of the month.
_MONTH_DAY = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+([0-3]?\d)(?![\d:])",
    re.IGNORECASE,
)
# "15:00" or "3pm" / "3:30 pm" anywhere in the text.
_CLOCK = re.compile(
    r"\b(1[0-2]|0?[1-9])(?::([0-5]\d))?\s*([ap])m\b|(?<![\d:])([01]?\d|2[0-3]):([0-5]\d)(?!\d)",
    re.IGNORECASE,
)
_URL = re.compile(r"https?://[^\s<>|\"]+")
# "tomorrow at 3pm", "in 3 days at 10:00": a day counted from the posting day, and a
# time of day right after it.
_RELATIVE = re.compile(
    r"\b(?:(tomorrow)|in (\d{1,2}) days?),?\s+(?:at\s+)?"
    r"(?=(?:1[0-2]|0?[1-9])(?::[0-5]\d)?\s*[ap]m\b|(?:[01]?\d|2[0-3]):[0-5]\d(?!\d))",
    re.IGNORECASE,
)
# Words of something happening as it is posted, and its category.
_NOW_WORDS: tuple[tuple[str, str], ...] = (
    ("released", "release"),
    ("is out", "release"),
    ("now available", "release"),
    ("is live", "launch"),
    ("now live", "launch"),
    ("launched", "launch"),
    ("outage", "incident"),
)
_MAX_LINKS = 10
_CHANGE_WORDS = ("moved", "postponed", "rescheduled", "pushed to")
_CATEGORY_WORDS: tuple[tuple[str, str], ...] = (
    ("incident", "incident"),
    ("outage", "incident"),
    ("maintenance", "maintenance"),
    ("release", "release"),
    ("deploy", "release"),
    ("launch", "launch"),
    ("deadline", "deadline"),
    ("due", "deadline"),
    ("conference", "conference"),
    ("meeting", "meeting"),
    ("sync", "meeting"),
    ("standup", "meeting"),
)


def _posted_day(candidate: Mapping[str, Any]) -> dt.date | None:
    try:
        return dt.datetime.fromisoformat(str(candidate.get("posted_at"))).date()
    except ValueError:
        return None


def _find_day(text: str, posted: dt.date | None) -> tuple[str, re.Match[str]] | None:
    """The first date in ``text`` as ISO, with its match: an ISO date, else "March 14"
    (the year that puts it no more than a few days before the posting day)."""
    iso = _DATE.search(text)
    if iso is not None:
        return iso.group(1), iso
    if posted is None:
        return None
    for match in _MONTH_DAY.finditer(text):
        month = _MONTHS.index(match.group(1).lower()) + 1
        for year in (posted.year, posted.year + 1):
            try:
                day = dt.date(year, month, int(match.group(2)))
            except ValueError:
                break
            if day >= posted - dt.timedelta(days=3):
                return day.isoformat(), match
    return None


def _find_relative(text: str, posted: dt.date | None) -> tuple[str, re.Match[str]] | None:
    """ "tomorrow at 3pm" or "in 3 days at 10:00" from the posting day, as ISO, with its
    match. Only with a time of day right after it: "I'll be back tomorrow" is an aside."""
    match = _RELATIVE.search(text) if posted is not None else None
    if match is None or posted is None:
        return None
    days = 1 if match.group(1) else int(match.group(2))
    return (posted + dt.timedelta(days=days)).isoformat(), match


def _links(text: str) -> list[str]:
    """The http(s) URLs of the text, as written (Slack's ``<url|label>`` read to its URL)."""
    found: list[str] = []
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;:)!?")
        if url not in found:
            found.append(url)
    return found[:_MAX_LINKS]


def _posted_event(candidate: Mapping[str, Any], text: str) -> dict[str, Any] | None:
    """An undated message reporting something happening now: an event on its posting day.
    A question ("is the API out?") reports nothing."""
    posted = _posted_day(candidate)
    lowered = text.lower()
    if posted is None or lowered.rstrip().endswith("?"):
        return None
    category = next((cat for word, cat in _NOW_WORDS if re.search(rf"\b{word}\b", lowered)), None)
    if category is None:
        return None
    links = _links(text)
    return {
        "title": _title(text, None)[:80],
        "category": category,
        "start": posted.isoformat(),
        "end": None,
        "all_day": True,
        "date_source": "posted",
        "timezone": None,
        "location": None,
        "url": links[0] if links else None,
        "links": links,
        "summary": None,
        "confidence": 0.6,
        "status": "scheduled",
    }


def _find_clock(text: str, date_match: re.Match[str]) -> tuple[int, int] | None:
    """The time of day: right after an ISO date ("2024-03-14 15:00"), else the first in the text."""
    if date_match.re is _DATE and date_match.group(2):
        return int(date_match.group(2)), int(date_match.group(3))
    # A relative day's time comes right after it ("tomorrow at 3pm").
    match = _CLOCK.search(text, date_match.end() if date_match.re is _RELATIVE else 0)
    if match is None:
        return None
    if match.group(4) is not None:
        return int(match.group(4)), int(match.group(5))
    hour = int(match.group(1)) % 12 + (12 if match.group(3).lower() == "p" else 0)
    return hour, int(match.group(2) or 0)


def _title(text: str, cut: re.Match[str] | None) -> str:
    first_line = text.strip().splitlines()[0] if text.strip() else "Event"
    if cut is not None and cut.string == text and cut.start() < len(first_line):
        # What is announced comes before its date: "Release v4.12 is scheduled for ...".
        first_line = first_line[: cut.start()] or first_line
    title = " ".join(_URL.sub("", _DATE.sub("", first_line)).split()).strip(" :-,.")
    return title or "Event"


def naive_events(candidate: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Events a very literal reader finds: the first date in the text (ISO or "March 14",
    else "tomorrow" or "in N days") with the time of day if one is given; a reply that
    moves or cancels without a date of its own takes its thread parent's; an undated
    report of a release, a launch or an outage is an event on the posting day."""
    text = str(candidate.get("text") or "")
    parent_text = str(candidate.get("thread_parent_text") or "")
    lowered = text.lower()
    if "cancel" in lowered or "called off" in lowered:
        status = "cancelled"
    elif any(word in lowered for word in _CHANGE_WORDS):
        status = "rescheduled"
    else:
        status = "scheduled"
    posted = _posted_day(candidate)
    changes_parent = bool(parent_text) and status != "scheduled"
    found = _find_day(text, posted)
    date_source = "written"
    source = text
    if found is None and changes_parent:
        found, source = _find_day(parent_text, posted), parent_text
    if found is None and not parent_text:
        # Only at the top of a thread: a reply's "tomorrow" may be its parent's new day,
        # which this reader does not try to tell from an aside.
        found, source, date_source = _find_relative(text, posted), text, "relative"
    if found is None:
        event = _posted_event(candidate, text) if not changes_parent else None
        return [event] if event is not None else []
    day, match = found
    clock = _find_clock(source, match)
    subject = parent_text if changes_parent else text
    category = next((cat for word, cat in _CATEGORY_WORDS if word in subject.lower()), "other")
    title = _title(subject, match if subject is source else _find_cut(subject, posted))
    url = _URL.search(text)
    timezone = "UTC" if "UTC" in source else candidate.get("timezone") or None
    return [
        {
            "title": title[:80],
            "category": category,
            "start": f"{day}T{clock[0]:02d}:{clock[1]:02d}" if clock else day,
            "end": None,
            "all_day": clock is None,
            "date_source": date_source,
            "timezone": timezone,
            "location": None,
            "url": url.group(0) if url else None,
            "links": _links(text),
            "summary": None,
            "confidence": 0.7,
            "status": status,
        }
    ]


def _find_cut(text: str, posted: dt.date | None) -> re.Match[str] | None:
    found = _find_day(text, posted)
    return found[1] if found is not None else None


def naive_oracle(request: OracleRequest) -> dict[str, Any]:
    """The default oracle: naive events, entries in a shuffled (but repeatable) order."""
    ids = [str(item.get("id")) for item in request.candidates]
    entries = [
        {"candidate_id": cid, "events": naive_events(item)}
        for cid, item in zip(ids, request.candidates, strict=True)
    ]
    seed = int.from_bytes(hashlib.sha256("|".join(ids).encode()).digest()[:8], "big")
    random.Random(seed).shuffle(entries)
    return {"candidates": entries}
