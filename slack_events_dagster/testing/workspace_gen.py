"""A deterministic generator of realistic synthetic Slack workspaces.

Channels x days x messages per day, with a fraction of messages as thread replies,
grouped into threads the way Slack threads grow (see :class:`_ChannelDays`: about five
replies per thread on average, most threads short, a few long ones; replies reach back
at most one day), text lengths shaped like real Slack (log-normal, median about 80
characters, a long tail to 4,000), unicode and emoji, mentions, links, rich_text blocks,
bot posts with only attachments, edits, reactions, files, thread broadcasts and join
notices. The same seed gives the same workspace.

What people write is shaped like a real workspace, where events are rare: most
messages are ordinary chatter that candidate scoring rejects, and about 4 % of
top-level messages announce an event on a concrete day 1 to 14 days after they are
posted ("Release v4.12 is scheduled for Thursday, March 14 at 15:00 UTC"), in forms
both the rule extractor and the fake LLM's oracle read. Some announcements are
cross-posted to another channel, and some are moved or cancelled in a thread reply
within a day. About 6 % of messages become candidates (measured at 20 channels x 90
days x 200 messages: 6.1 %), a few of them chatter that only looks like an
announcement to the scorer.

Output is raw Slack payload dicts grouped per channel (what the Web API and exports
carry), which :func:`write_export` writes as a Slack export folder or ZIP. Benchmarks
use :func:`generate_messages` for a quick stream of domain messages.
"""

from __future__ import annotations

import json
import math
import random
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from slack_events_dagster.domain.models import SlackMessage, ts_sort_key

DEFAULT_END = date(2024, 3, 29)


@dataclass
class GeneratedWorkspace:
    """Raw Slack payloads of a synthetic workspace."""

    team: dict[str, str]
    users: list[dict[str, Any]]
    channels: list[dict[str, Any]]
    # channel id -> every message and reply, in ts order (raw Slack dicts)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def message_count(self) -> int:
        return sum(len(items) for items in self.messages.values())

    def channel_by_name(self, name: str) -> dict[str, Any]:
        return next(c for c in self.channels if c["name"] == name)


def _user(index: int, rng: random.Random) -> dict[str, Any]:
    first = rng.choice(("Ana", "Ben", "Chen", "Dara", "Eli", "Farah", "Gus", "Hana", "Ivo", "Jó"))
    last = rng.choice(("Silva", "Müller", "Kowalski", "Tanaka", "O'Neil", "Novák", "Ng", "Diaz"))
    name = f"{first.lower()}.{last.lower()}{index}"
    return {
        "id": f"U{index:08d}",
        "team_id": "T00000001",
        "name": name,
        "deleted": False,
        "real_name": f"{first} {last}",
        "tz": rng.choice(("Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC")),
        "is_bot": False,
        "profile": {"real_name": f"{first} {last}", "display_name": name.split(".")[0]},
    }


# -- ordinary chatter ---------------------------------------------------------------
# What most of a workspace is: work talk, acknowledgements, questions and asides that
# announce nothing. Candidate scoring rightly rejects nearly all of it; a few fragments
# name an event word or a day without announcing anything (as real chatter does), so
# some long messages become the false candidates a real scorer lets through.
_CHATTER = (
    "looks good to me",
    "thanks, merging now",
    "can you take a look at my PR when you have a minute?",
    "I think the flaky test is the one with the mocked clock",
    "the dashboard numbers look off after the last change",
    "lgtm :+1:",
    "nice catch",
    "on it",
    "I'll pair with Chen on this one",
    "the latency graph is back to normal",
    "we should probably add a retry around that call",
    "has anyone seen this error before?",
    "it's the cache again, invalidation is hard",
    "pushed a fix, CI is running",
    "I'm going to grab coffee, back in 10",
    "lunch?",
    "that PR is huge, can we split it up",
    "I left a few comments, nothing blocking",
    "agreed, let's keep it simple for now",
    "the customer confirmed the workaround helps",
    "ticket is in the backlog, I added the logs",
    "the config lives in the infra repo",
    "does anyone know who owns the billing worker?",
    "I'll write it up in the doc",
    "ok, that makes sense",
    "haha yes",
    "sounds good",
    "sorry, was in a call",
    "the staging box ran out of disk again",
    "I bumped the memory limit, let's see if it holds",
    "we need better alerting on the queue depth",
    "the import job is slow because of the N+1 query",
    "FWIW the old endpoint still gets traffic from the mobile app",
    "I'd rather not touch the schema right now",
    "let me check with the team and get back to you",
    "here is the trace from the failing request",
    "the metrics pipeline dropped some points overnight",
    "interesting, I did not know that",
    "could be a race between the two workers",
    "the docs are outdated on this, I'll fix them",
    "I'm out this afternoon, ping me on my phone if it's urgent",
    "back from my appointment",
    "the new laptop setup script works great",
    "we hit the API quota on the test account",
    "thanks for the quick review",
    "I'll take the on-call handover notes",
    "the feature flag is on for internal users only",
    "that was a fun bug to track down",
    "I added a dashboard for the error rate",
    "the rollback script needs a dry-run flag",
    "the deploy pipeline is green again",
    "the release branch has a merge conflict in the lockfile",
    "is the standup notes doc still the right place for this?",
    "the migration script needs a review from someone on data",
    "I'm fine either way, your call",
    "great job on the refactor, the code reads much better",
    "will be offline for a bit, my internet is flaky",
    "the planning doc has a section on this already",
    "can we move this discussion to a thread?",
    "enjoy the weekend everyone",
    "Danke, das hilft!",
    "merci, c'est corrigé",
    "obrigado, funcionou",
    "了解です、確認します",
    "спасибо, посмотрю",
    "café break ☕",
    "Zürich office wifi is slow again 😅",
    "our Kraków colleagues found the root cause",
    "naïve question: why do we cache this at all?",
)
# Asides that name a day: with an event word elsewhere in a long message they look like
# an announcement to the scorer, so they are drawn less often than the rest.
_DAY_ASIDES = (
    "I'll be back tomorrow",
    "I'm off on Friday, Ben is covering",
    "happy Monday",
    "can we talk about it today?",
)
_EMOJI_CODES = ("tada", "rocket", "eyes", "white_check_mark", "warning", "fire", "thumbsup")
_EMOJI_CHARS = ("🎉", "🚀", "👀", "✅", "⚠️", "🔥", "👍", "🙏", "😅", "📅")
_BOT_TEXTS = (
    "Deploy of {service} build #{n} to staging succeeded",
    "Build #{n} of {service} failed: 2 tests failing",
    "Nightly job {service}-backup finished in {m} minutes",
    "Alert resolved: {service} p95 latency back under threshold",
    "PR #{n} merged into main by the merge queue",
)
_SERVICES = ("api-gateway", "billing-worker", "search", "web-app", "ingest", "notifier")

# -- event announcements and their changes ---------------------------------------------
# A few percent of top-level messages announce an event on a concrete day, written
# relative to the day they are posted (0 to 14 days ahead), in the forms people use
# ("Thursday, March 14 at 15:00 UTC", "Mar 14, 3pm UTC", "2024-03-14 15:00 UTC").
# Some announcements are later moved or cancelled in a thread reply.
ANNOUNCEMENT_PROBABILITY = 0.045
CHANGE_PROBABILITY = 0.3
CANCEL_SHARE = 0.35
# An announcement repeats one made in another channel the same or the previous day
# ("Cross-posting from #ops: ..."), so the same event has sources in two channels.
CROSS_POST_PROBABILITY = 0.15


@dataclass(frozen=True)
class _EventKind:
    titles: tuple[str, ...]
    templates: tuple[str, ...]
    # Minutes the event lasts; 0: all-day (a deadline).
    minutes: int


_EVENT_KINDS = (
    _EventKind(
        titles=("Release v{a}.{b}", "{service} {a}.{b}"),
        templates=(
            ":rocket: {title} is scheduled for {when}. Notes: <https://example.com/r/{n}|draft>",
            "Heads up: {title} goes out {when}. Anything not merged by then rides the next one.",
            "{title} ships {when} :package:",
        ),
        minutes=60,
    ),
    _EventKind(
        titles=("Postgres upgrade", "Redis failover drill", "{service} database maintenance"),
        templates=(
            ":hammer_and_wrench: Scheduled maintenance: {title} on {window}. "
            "The app is read-only during the window.",
            "Reminder: {title} {window}, expect a few seconds of errors",
        ),
        minutes=90,
    ),
    _EventKind(
        titles=(
            "Sprint {n} planning",
            "Q{q} roadmap review",
            "Design review for {service}",
            "Incident review for INC-{n}",
        ),
        templates=(
            "Reminder: {title} is {when} in room Atlas, agenda in "
            "<https://example.com/agenda/{n}|the doc>",
            "{title} {when}, please join <https://zoom.us/j/{n}|on Zoom>",
            "<!here> {title} is happening {when}",
        ),
        minutes=45,
    ),
    _EventKind(
        titles=("Q{q} planning drafts", "Security training", "Self reviews"),
        templates=(
            "Deadline for {title} is {day} EOD :pray:",
            "{title} are due on {day}, please don't leave it to the last minute",
        ),
        minutes=0,
    ),
    _EventKind(
        titles=("Our KubeCon talk", "The {service} launch", "Team lunch"),
        templates=(
            "{title} is planned for {when} :tada:",
            "Save the date: {title}, {when}. RSVP in the thread",
        ),
        minutes=60,
    ),
)

_RESCHEDULE_TEXTS = (
    "Update: this moved to {when}, same link",
    "Heads up, pushed to {when} (staging isn't ready)",
    "Rescheduled to {when}, sorry for the churn",
)
_CROSS_POST_TEXTS = (
    "Cross-posting from <#{cid}|{name}>: {title} is {when}",
    "Reminder for everyone here: {title} is {when}, details in <#{cid}|{name}>",
)
_CANCEL_TEXTS = (
    "Cancelled, sorry all. We'll find another slot.",
    "This is called off, too many people are out",
    "Update: cancelled for now, more soon",
)

_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class _Announced:
    """What an announcement said, so a later reply can move or cancel it."""

    start: datetime
    minutes: int
    title: str
    channel_id: str


def _when(start: datetime, rng: random.Random) -> str:
    """A concrete day and time as people write it (every form names the date)."""
    weekday, month = _WEEKDAY_NAMES[start.weekday()], _MONTH_NAMES[start.month - 1]
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
    weekday, month = _WEEKDAY_NAMES[start.weekday()], _MONTH_NAMES[start.month - 1]
    if rng.random() < 0.5:
        return f"{weekday}, {month} {start.day}"
    return f"{start:%Y-%m-%d}"


class _TextMaker:
    def __init__(self, rng: random.Random, users: list[str], channels: list[tuple[str, str]]):
        self.rng = rng
        self.users = users
        self.channels = channels
        self.channel_names = dict(channels)
        # Announcements of the current and the previous day in every channel (for
        # cross-posts), by the day they were posted.
        self.announced: dict[date, list[_Announced]] = {}

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
                piece = f":{rng.choice(_EMOJI_CODES)}:"
            elif roll < 0.13:
                piece = rng.choice(_EMOJI_CHARS)
            elif roll < 0.14:
                piece = rng.choice(_DAY_ASIDES)
            else:
                piece = rng.choice(_CHATTER)
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
        return rng.choice(_BOT_TEXTS).format(
            service=rng.choice(_SERVICES), n=rng.randint(100, 9999), m=rng.randint(2, 40)
        )

    def announcement(self, channel_id: str, posted_at: int) -> tuple[str, _Announced]:
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
            text = rng.choice(_CROSS_POST_TEXTS).format(
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
        kind = rng.choice(_EVENT_KINDS)
        day = today + timedelta(days=rng.randint(1, 14))
        start = datetime(day.year, day.month, day.day, rng.randint(8, 18), 15 * rng.randrange(4))
        start = start.replace(tzinfo=UTC)
        fields = {"service": rng.choice(_SERVICES), "n": rng.randint(10, 999)}
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
        announced = _Announced(start, kind.minutes, title, channel_id)
        self.announced.setdefault(today, []).append(announced)
        return text, announced

    def change(self, announced: _Announced) -> str:
        """A thread reply that moves the announced event by a day or two, or cancels it."""
        rng = self.rng
        if rng.random() < CANCEL_SHARE:
            return rng.choice(_CANCEL_TEXTS)
        start = announced.start + timedelta(days=rng.randint(1, 3), hours=rng.choice((0, 1, 2)))
        when = _day(start, rng) if announced.minutes == 0 else _when(start, rng)
        return rng.choice(_RESCHEDULE_TEXTS).format(when=when)


# A reply starts a new thread with this probability and otherwise continues an open one:
# threads average 1 / 0.2 = 5 replies, so 10 % replies over 120,000 messages are about
# 2,400 threads (not one thread per reply).
NEW_THREAD_PROBABILITY = 0.2
# New threads start on one of the most recent top-level messages: people reply to what
# they just read, not to something from hours ago.
_RECENT_PARENTS = 10
# A thread nobody replied to for this long has gone quiet: most replies come within hours.
_QUIET_AFTER_S = 6 * 3600


@dataclass
class _OpenThread:
    parent: dict[str, Any]
    replies: int = 0
    # Seconds of the latest reply (or of the parent): when the thread was last active.
    active_at: int = 0


class _ChannelDays:
    """Generates one channel day by day; threads reach back one day.

    Each message is a reply with probability ``thread_fraction`` (so that fraction of all
    messages are replies). A reply starts a new thread on a recent top-level message with
    probability :data:`NEW_THREAD_PROBABILITY`, or when no thread is active (one had a
    reply or was started in the last six hours); otherwise it joins an active thread
    chosen in proportion to the replies it already has (1 + count).
    That preferential choice gives the heavy-tailed sizes real threads have (close to a
    Yule-Simon distribution with a mean of ``1 / NEW_THREAD_PROBABILITY``): at 10 %
    replies, 120,000 messages hold about 2,500 threads, most with one or two replies,
    one in ten with 15 or more, the longest with a few dozen. A thread stays open until the
    end of the day after its parent's day, so replies reach back at most one day.
    """

    def __init__(
        self,
        channel_id: str,
        rng: random.Random,
        texts: _TextMaker,
        users: list[str],
        thread_fraction: float,
    ) -> None:
        self.channel_id = channel_id
        self.rng = rng
        self.texts = texts
        self.users = users
        self.thread_fraction = thread_fraction
        # Thread candidates (plain user messages) of the previous day.
        self.recent_parents: list[dict[str, Any]] = []
        self.open_threads: list[_OpenThread] = []
        # Announcements that a later reply will move or cancel: (due second, parent, event).
        self.changes: list[tuple[int, dict[str, Any], _Announced]] = []
        # New threads that change replies started, owed back by joining open threads.
        self.owed_joins = 0

    def day(self, day: date, count: int) -> list[dict[str, Any]]:
        rng = self.rng
        start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
        seconds = sorted(rng.randrange(0, 86400) for _ in range(count))
        today_parents: list[dict[str, Any]] = []
        messages: list[dict[str, Any]] = []
        for index, second in enumerate(seconds):
            # The index keeps ts unique when two messages share a second.
            ts = f"{start + second}.{(index * 7919 + second) % 1_000_000:06d}"
            thread = None
            if rng.random() < self.thread_fraction:
                if self.changes and self.changes[0][0] <= start + second:
                    # The reply that moves or cancels an announcement (see _message).
                    _, parent, announced = self.changes.pop(0)
                    messages.append(self._reply(ts, parent, self.texts.change(announced)))
                    # Others may answer the change ("thanks for the heads-up").
                    self._join_thread(parent, start + second)
                    continue
                thread = self._thread_for(ts, today_parents)
            if thread is None:
                messages.append(self._message(ts, today_parents))
            else:
                thread.replies += 1
                thread.active_at = start + second
                messages.append(self._reply(ts, thread.parent))
        today = {id(parent) for parent in today_parents}
        self.open_threads = [t for t in self.open_threads if id(t.parent) in today]
        # A change not posted by the end of the day after its announcement is dropped:
        # replies reach back at most one day.
        self.changes = [c for c in self.changes if id(c[1]) in today]
        self.recent_parents = today_parents[-50:]
        # Two messages in one second may get fractions out of index order.
        messages.sort(key=lambda m: ts_sort_key(m["ts"]))
        return messages

    def _join_thread(self, parent: dict[str, Any], second: int) -> None:
        """Count a reply posted outside _thread_for in its (possibly new) open thread."""
        thread = next((t for t in self.open_threads if t.parent is parent), None)
        if thread is None:
            thread = _OpenThread(parent)
            self.open_threads.append(thread)
            # A thread started here stands for one _thread_for would have started, so
            # threads keep their size (see NEW_THREAD_PROBABILITY).
            self.owed_joins += 1
        thread.replies += 1
        thread.active_at = second

    def _thread_for(self, ts: str, today_parents: list[dict[str, Any]]) -> _OpenThread | None:
        """The thread a reply posted at ``ts`` goes to (new or open); None: no parent yet."""
        rng = self.rng
        key = ts_sort_key(ts)
        # Same second: a reply cannot come before its parent.
        open_threads = [
            t
            for t in self.open_threads
            if key[0] - t.active_at <= _QUIET_AFTER_S and ts_sort_key(t.parent["ts"]) < key
        ]
        join = rng.random() >= NEW_THREAD_PROBABILITY
        if open_threads and not join and self.owed_joins:
            self.owed_joins -= 1
            join = True
        if open_threads and join:
            weights = [1 + t.replies for t in open_threads]
            return rng.choices(open_threads, weights=weights)[0]
        candidates = [
            p
            for p in (self.recent_parents + today_parents)[-_RECENT_PARENTS * 3 :]
            if "reply_count" not in p and ts_sort_key(p["ts"]) < key
        ][-_RECENT_PARENTS:]
        if not candidates:
            return open_threads[-1] if open_threads else None
        parent = rng.choice(candidates)
        thread = _OpenThread(parent, active_at=ts_sort_key(parent["ts"])[0])
        self.open_threads.append(thread)
        return thread

    def _message(self, ts: str, today_parents: list[dict[str, Any]]) -> dict[str, Any]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.02:
            text = self.texts.bot_text()
            message: dict[str, Any] = {
                "type": "message",
                "subtype": "bot_message",
                "bot_id": "B00000001",
                "username": "deploybot",
                "text": "",
                "ts": ts,
                "attachments": [
                    {"fallback": text[:80], "pretext": "Deploy finished", "text": text, "id": 1}
                ],
            }
            return message
        if roll < 0.03:
            user = rng.choice(self.users)
            return {
                "type": "message",
                "subtype": "channel_join",
                "user": user,
                "text": f"<@{user}> has joined the channel",
                "ts": ts,
            }
        user = rng.choice(self.users)
        posted = int(ts.split(".")[0])
        announced: _Announced | None = None
        if rng.random() < ANNOUNCEMENT_PROBABILITY:
            text, announced = self.texts.announcement(self.channel_id, posted)
        else:
            text = self.texts.text()
        message = {"type": "message", "user": user, "text": text, "ts": ts}
        if rng.random() < 0.4:
            message["blocks"] = [
                {
                    "type": "rich_text",
                    "block_id": f"b{ts[-6:]}",
                    "elements": [
                        {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
                    ],
                }
            ]
        if rng.random() < 0.03:
            message["edited"] = {"user": user, "ts": f"{int(float(ts)) + 60}.000000"}
        if rng.random() < 0.1:
            message["reactions"] = [{"name": rng.choice(_EMOJI_CODES), "users": [user], "count": 1}]
        if rng.random() < 0.01 and announced is None:
            message["subtype"] = "file_share"
            message["files"] = [{"id": f"F{ts.replace('.', '')}", "name": "notes.pdf"}]
        if announced is not None and rng.random() < CHANGE_PROBABILITY:
            # Within the thread's life: from 20 minutes later to the end of the next day.
            last = posted - posted % 86400 + 2 * 86400 - 1
            due = min(last, posted + rng.randint(1200, 30 * 3600))
            self.changes.append((due, message, announced))
            self.changes.sort(key=lambda change: change[0])
        today_parents.append(message)
        return message

    def _reply(self, ts: str, parent: dict[str, Any], text: str | None = None) -> dict[str, Any]:
        user = self.rng.choice(self.users)
        reply: dict[str, Any] = {
            "type": "message",
            "user": user,
            "text": self.texts.text() if text is None else text,
            "ts": ts,
            "thread_ts": parent["ts"],
            "parent_user_id": parent.get("user"),
        }
        if self.rng.random() < 0.05:
            reply["subtype"] = "thread_broadcast"
        parent["thread_ts"] = parent["ts"]
        parent["reply_count"] = parent.get("reply_count", 0) + 1
        parent["latest_reply"] = ts
        reply_users = parent.setdefault("reply_users", [])
        if user not in reply_users:
            reply_users.append(user)
        parent["reply_users_count"] = len(reply_users)
        parent.setdefault("replies", []).append({"user": user, "ts": ts})
        return reply


def generate_workspace(
    *,
    channels: int = 3,
    days: int = 7,
    per_day: int = 50,
    thread_fraction: float = 0.1,
    users: int = 25,
    seed: int = 0,
    end: date = DEFAULT_END,
) -> GeneratedWorkspace:
    """A workspace of ``channels x days x per_day`` messages ending on ``end`` (inclusive)."""
    rng = random.Random(seed)
    user_dicts = [_user(index + 1, rng) for index in range(users)]
    user_ids = [u["id"] for u in user_dicts]
    start_day = end - timedelta(days=days - 1)
    created = int(datetime(start_day.year, start_day.month, start_day.day, tzinfo=UTC).timestamp())
    channel_dicts = [
        {
            "id": f"C{index + 1:08d}",
            "name": f"channel-{index + 1}",
            "created": created - 86400,
            "creator": user_ids[0],
            "is_archived": False,
            "is_general": index == 0,
            "members": user_ids,
            "topic": {"value": f"Topic of channel {index + 1}", "creator": "", "last_set": 0},
            "purpose": {"value": "Synthetic test channel", "creator": "", "last_set": 0},
        }
        for index in range(channels)
    ]
    texts = _TextMaker(rng, user_ids, [(c["id"], c["name"]) for c in channel_dicts])
    workspace = GeneratedWorkspace(
        team={"id": "T00000001", "name": "Synthetic", "domain": "synthetic"},
        users=user_dicts,
        channels=channel_dicts,
    )
    gens = [_ChannelDays(c["id"], rng, texts, user_ids, thread_fraction) for c in channel_dicts]
    workspace.messages = {gen.channel_id: [] for gen in gens}
    # Day by day across channels, as people post: a cross-post follows its original.
    for offset in range(days):
        for gen in gens:
            workspace.messages[gen.channel_id].extend(
                gen.day(start_day + timedelta(days=offset), per_day)
            )
    return workspace


def write_export(
    workspace: GeneratedWorkspace,
    path: Path,
    *,
    as_zip: bool = False,
    thread_metadata: bool = True,
) -> Path:
    """Write the workspace as a Slack export (folder, or ZIP when ``as_zip``).

    ``thread_metadata=False`` strips reply_count/latest_reply/reply_users from parents, as
    some exports (and older export tools) do, so readers must compute them.
    """
    files: dict[str, bytes] = {
        "channels.json": json.dumps(workspace.channels, ensure_ascii=False).encode(),
        "users.json": json.dumps(workspace.users, ensure_ascii=False).encode(),
    }
    names = {c["id"]: c["name"] for c in workspace.channels}
    for channel_id, messages in workspace.messages.items():
        by_day: dict[str, list[dict[str, Any]]] = {}
        for message in messages:
            day = datetime.fromtimestamp(float(message["ts"]), tz=UTC).date().isoformat()
            item = dict(message)
            if not thread_metadata:
                for key in ("reply_count", "latest_reply", "reply_users", "reply_users_count"):
                    item.pop(key, None)
                item.pop("replies", None)
            by_day.setdefault(day, []).append(item)
        for day, items in by_day.items():
            files[f"{names[channel_id]}/{day}.json"] = json.dumps(
                items, ensure_ascii=False, indent=1
            ).encode()
    if as_zip:
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                archive.writestr(name, data)
        return path
    for name, data in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return path


def generate_messages(
    n: int, seed: int = 0, *, channels: int = 10, per_day: int = 200, end: date = DEFAULT_END
) -> Iterator[SlackMessage]:
    """``n`` domain messages across ``channels`` channels, quickly and deterministically.

    Days are generated one at a time per channel (threads reach back one day, so a day's
    parents are complete once the next day is generated); memory stays flat.
    """
    from slack_events_dagster.slack.normalize import normalize_message

    rng = random.Random(seed)
    user_ids = [f"U{index:08d}" for index in range(1, 26)]
    channel_ids = [f"C{index:08d}" for index in range(1, channels + 1)]
    texts = _TextMaker(rng, user_ids, [(c, c.lower()) for c in channel_ids])
    gens = [_ChannelDays(cid, rng, texts, user_ids, 0.1) for cid in channel_ids]
    total_days = max(1, math.ceil(n / (per_day * channels)))
    start_day = end - timedelta(days=total_days - 1)
    produced = 0
    pending: list[tuple[str, list[dict[str, Any]]]] = []
    for offset in range(total_days + 1):
        ready, pending = pending, []
        if offset < total_days:
            for gen in gens:
                pending.append(
                    (gen.channel_id, gen.day(start_day + timedelta(days=offset), per_day))
                )
        for channel_id, items in ready:
            for raw in items:
                if produced >= n:
                    return
                yield normalize_message(raw, channel_id)
                produced += 1
