"""One channel's messages, day by day: top-level posts, replies grouped into threads the
way Slack threads grow, announcements and their changes, edits, reactions and files."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from slack_events_dagster.domain.models import ts_sort_key
from slack_events_dagster.testing.workspace_gen.phrases import (
    ANNOUNCEMENT_PROBABILITY,
    CHANGE_PROBABILITY,
    EMOJI_CODES,
)
from slack_events_dagster.testing.workspace_gen.texts import Announced, TextMaker

# threads average 1 / 0.2 = 5 replies, so 10 % replies over 120,000 messages are about
# 2,400 threads (not one thread per reply).
NEW_THREAD_PROBABILITY = 0.2
# New threads start on one of the most recent top-level messages: people reply to what
# they just read, not to something from hours ago.
_RECENT_PARENTS = 10
# A thread nobody replied to for this long has gone quiet: most replies come within hours.
_QUIET_AFTER_S = 6 * 3600


@dataclass
class OpenThread:
    parent: dict[str, Any]
    replies: int = 0
    # Seconds of the latest reply (or of the parent): when the thread was last active.
    active_at: int = 0


class ChannelDays:
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
        texts: TextMaker,
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
        self.open_threads: list[OpenThread] = []
        # Announcements that a later reply will move or cancel: (due second, parent, event).
        self.changes: list[tuple[int, dict[str, Any], Announced]] = []
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
            thread = OpenThread(parent)
            self.open_threads.append(thread)
            # A thread started here stands for one _thread_for would have started, so
            # threads keep their size (see NEW_THREAD_PROBABILITY).
            self.owed_joins += 1
        thread.replies += 1
        thread.active_at = second

    def _thread_for(self, ts: str, today_parents: list[dict[str, Any]]) -> OpenThread | None:
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
        thread = OpenThread(parent, active_at=ts_sort_key(parent["ts"])[0])
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
        announced: Announced | None = None
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
            message["reactions"] = [{"name": rng.choice(EMOJI_CODES), "users": [user], "count": 1}]
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
