"""Message texts drawn from the phrases: chatter of a realistic length, bot posts,
announcements of an event on a concrete day, and the replies that move or cancel them."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from slack_events_dagster.testing.workspace_gen.phrases import (
    BOT_TEXTS,
    CANCEL_SHARE,
    CANCEL_TEXTS,
    CHATTER,
    CROSS_POST_PROBABILITY,
    CROSS_POST_TEXTS,
    DAY_ASIDES,
    EMOJI_CHARS,
    EMOJI_CODES,
    EVENT_KINDS,
    MONTH_NAMES,
    RESCHEDULE_TEXTS,
    SERVICES,
    WEEKDAY_NAMES,
)


@dataclass(frozen=True)
class Announced:
    """What an announcement said, so a later reply can move or cancel it."""

    start: datetime
    minutes: int
    title: str
    channel_id: str


def _when(start: datetime, rng: random.Random) -> str:
    """A concrete day and time as people write it (every form names the date)."""
    weekday, month = WEEKDAY_NAMES[start.weekday()], MONTH_NAMES[start.month - 1]
    clock = f"{start:%H:%M} UTC"
    form = rng.randrange(4)
    if form == 0:
        return f"{weekday}, {month} {start.day} at {clock}"
    if form == 1:
        return f"{weekday[:3]}, {month[:3]} {start.day}, {clock}"
    if form == 2:
        hour = start.hour % 12 or 12
        minutes = f":{start.minute:02d}" if start.minute else ""
        return f"{month} {start.day} at {hour}{minutes}{'am' if start.hour < 12 else 'pm'} UTC"
    return f"{start:%Y-%m-%d %H:%M} UTC"


def _day(start: datetime, rng: random.Random) -> str:
    weekday, month = WEEKDAY_NAMES[start.weekday()], MONTH_NAMES[start.month - 1]
    if rng.random() < 0.5:
        return f"{weekday}, {month} {start.day}"
    return f"{start:%Y-%m-%d}"


class TextMaker:
    def __init__(self, rng: random.Random, users: list[str], channels: list[tuple[str, str]]):
        self.rng = rng
        self.users = users
        self.channels = channels
        self.channel_names = dict(channels)
        # Announcements of the current and the previous day in every channel (for
        # cross-posts), by the day they were posted.
        self.announced: dict[date, list[Announced]] = {}

    def length(self) -> int:
        # log-normal with median 80 characters; the tail reaches Slack's 4,000 limit.
        return max(1, min(4000, round(math.exp(self.rng.gauss(math.log(80), 1.0)))))

    def text(self) -> str:
        """Ordinary chatter: sentences, mentions, links and emoji up to a drawn length."""
        rng = self.rng
        target = self.length()
        parts: list[str] = []
        size = 0
        while size < target:
            roll = rng.random()
            if roll < 0.04:
                piece = f"<@{rng.choice(self.users)}>"
            elif roll < 0.06:
                cid, name = rng.choice(self.channels)
                piece = f"<#{cid}|{name}>"
            elif roll < 0.08:
                piece = f"<https://example.com/{rng.randint(1, 9999)}|link>"
            elif roll < 0.11:
                piece = f":{rng.choice(EMOJI_CODES)}:"
            elif roll < 0.13:
                piece = rng.choice(EMOJI_CHARS)
            elif roll < 0.14:
                piece = rng.choice(DAY_ASIDES)
            else:
                piece = rng.choice(CHATTER)
                if parts and rng.random() < 0.6:
                    piece = piece[0].upper() + piece[1:]
                    parts[-1] += "."
            parts.append(piece)
            size += len(piece) + 1
        text = " ".join(parts)
        # A short target still gets a whole sentence, cut only where Slack would.
        return text[:4000]

    def bot_text(self) -> str:
        rng = self.rng
        return rng.choice(BOT_TEXTS).format(
            service=rng.choice(SERVICES), n=rng.randint(100, 9999), m=rng.randint(2, 40)
        )

    def announcement(self, channel_id: str, posted_at: int) -> tuple[str, Announced]:
        """An event announcement posted at ``posted_at`` (epoch seconds) and what it says."""
        rng = self.rng
        posted = datetime.fromtimestamp(posted_at, tz=UTC)
        today = posted.date()
        for old in [d for d in self.announced if d < today - timedelta(days=1)]:
            del self.announced[old]
        elsewhere = [
            a
            for day in (today - timedelta(days=1), today)
            for a in self.announced.get(day, ())
            if a.channel_id != channel_id and a.start > posted
        ]
        if elsewhere and rng.random() < CROSS_POST_PROBABILITY:
            original = rng.choice(elsewhere)
            text = rng.choice(CROSS_POST_TEXTS).format(
                cid=original.channel_id,
                name=self.channel_names.get(original.channel_id, original.channel_id),
                title=f"the deadline for {original.title}"
                if original.minutes == 0
                else original.title,
                when=_day(original.start, rng)
                if original.minutes == 0
                else _when(original.start, rng),
            )
            return text, replace(original, channel_id=channel_id)
        kind = rng.choice(EVENT_KINDS)
        day = today + timedelta(days=rng.randint(1, 14))
        start = datetime(day.year, day.month, day.day, rng.randint(8, 18), 15 * rng.randrange(4))
        start = start.replace(tzinfo=UTC)
        fields = {"service": rng.choice(SERVICES), "n": rng.randint(10, 999)}
        title = rng.choice(kind.titles).format(
            a=rng.randint(1, 9), b=rng.randint(0, 30), q=rng.randint(1, 4), **fields
        )
        end = start + timedelta(minutes=kind.minutes)
        text = rng.choice(kind.templates).format(
            title=title,
            when=_when(start, rng),
            day=_day(start, rng),
            window=f"{_day(start, rng)}, {start:%H:%M}-{end:%H:%M} UTC",
            **fields,
        )
        announced = Announced(start, kind.minutes, title, channel_id)
        self.announced.setdefault(today, []).append(announced)
        return text, announced

    def change(self, announced: Announced) -> str:
        """A thread reply that moves the announced event by a day or two, or cancels it."""
        rng = self.rng
        if rng.random() < CANCEL_SHARE:
            return rng.choice(CANCEL_TEXTS)
        start = announced.start + timedelta(days=rng.randint(1, 3), hours=rng.choice((0, 1, 2)))
        when = _day(start, rng) if announced.minutes == 0 else _when(start, rng)
        return rng.choice(RESCHEDULE_TEXTS).format(when=when)
