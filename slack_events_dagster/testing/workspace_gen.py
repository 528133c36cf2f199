"""A deterministic generator of realistic synthetic Slack workspaces.

Channels x days x messages per day, with a fraction of messages as thread replies,
grouped into threads the way Slack threads grow (see :class:`_ChannelDays`: about five
replies per thread on average, most threads short, a few long ones; replies reach back
at most one day), text lengths shaped like real Slack (log-normal, median about 80
characters, a long tail to 4,000), unicode and emoji, mentions, links, rich_text blocks,
bot posts with only attachments, edits, reactions, files, thread broadcasts and join
notices. The same seed gives the same workspace.

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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from slack_events_dagster.domain.models import SlackMessage, ts_sort_key

DEFAULT_END = date(2024, 3, 29)

_WORD_TEXT = (
    "the a we our team release deploy on at for to and is will be in of with please "
    "meeting sync standup review launch incident postmortem maintenance window database "
    "migration api service customer dashboard metrics tomorrow today next week Monday "
    "Tuesday Wednesday Thursday Friday morning afternoon call room agenda notes update "
    "fixed bug ticket PR merged staging production rollback outage latency alert on-call "
    "planning roadmap quarter OKR demo conference talk workshop deadline submit draft "
    "budget hiring interview offsite lunch coffee thanks everyone great job looks good "
    "café naïve Zürich São Paulo München Kraków 東京 会議 Привет команда délai réunion"
)
_WORDS = tuple(_WORD_TEXT.split())

_EMOJI_CODES = ("tada", "rocket", "eyes", "white_check_mark", "warning", "fire", "thumbsup")
_EMOJI_CHARS = ("🎉", "🚀", "👀", "✅", "⚠️", "🔥", "👍", "🙏", "😅", "📅")

_EVENT_TEMPLATES = (
    "Release {v} is scheduled for {day} at {hour}:00 UTC :rocket:",
    "Reminder: maintenance window on {day} from {hour}:00 to {hour2}:00 UTC, db failover",
    "Team offsite moved to {day}, agenda in <https://example.com/offsite|the doc>",
    "Incident review meeting {day} {hour}:30 in room Atlas, please join <!here>",
    "Deadline for the Q{q} planning drafts is {day} EOD",
    "We will present at the conference on {day}; talk at {hour}:15 :tada:",
    "Update: the launch is postponed to {day} &amp; the demo is cancelled",
)

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "next Monday", "tomorrow")


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


class _TextMaker:
    def __init__(self, rng: random.Random, users: list[str], channels: list[tuple[str, str]]):
        self.rng = rng
        self.users = users
        self.channels = channels

    def length(self) -> int:
        # log-normal with median 80 characters; the tail reaches Slack's 4,000 limit.
        return max(1, min(4000, round(math.exp(self.rng.gauss(math.log(80), 1.0)))))

    def text(self) -> str:
        rng = self.rng
        if rng.random() < 0.06:
            return rng.choice(_EVENT_TEMPLATES).format(
                v=f"v{rng.randint(1, 9)}.{rng.randint(0, 20)}",
                day=rng.choice(_DAYS),
                hour=rng.randint(8, 18),
                hour2=rng.randint(19, 23),
                q=rng.randint(1, 4),
            )
        target = self.length()
        parts: list[str] = []
        size = 0
        while size < target:
            roll = rng.random()
            if roll < 0.02:
                piece = f"<@{rng.choice(self.users)}>"
            elif roll < 0.03:
                cid, name = rng.choice(self.channels)
                piece = f"<#{cid}|{name}>"
            elif roll < 0.04:
                piece = f"<https://example.com/{rng.randint(1, 9999)}|link>"
            elif roll < 0.06:
                piece = f":{rng.choice(_EMOJI_CODES)}:"
            elif roll < 0.07:
                piece = rng.choice(_EMOJI_CHARS)
            else:
                piece = rng.choice(_WORDS)
            parts.append(piece)
            size += len(piece) + 1
        return " ".join(parts)[:4000]


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
                thread = self._thread_for(ts, today_parents)
            if thread is None:
                messages.append(self._message(ts, today_parents))
            else:
                thread.replies += 1
                thread.active_at = start + second
                messages.append(self._reply(ts, thread.parent))
        today = {id(parent) for parent in today_parents}
        self.open_threads = [t for t in self.open_threads if id(t.parent) in today]
        self.recent_parents = today_parents[-50:]
        # Two messages in one second may get fractions out of index order.
        messages.sort(key=lambda m: ts_sort_key(m["ts"]))
        return messages

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
        if open_threads and rng.random() >= NEW_THREAD_PROBABILITY:
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
            text = self.texts.text()
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
        if rng.random() < 0.01:
            message["subtype"] = "file_share"
            message["files"] = [{"id": f"F{ts.replace('.', '')}", "name": "notes.pdf"}]
        today_parents.append(message)
        return message

    def _reply(self, ts: str, parent: dict[str, Any]) -> dict[str, Any]:
        user = self.rng.choice(self.users)
        reply: dict[str, Any] = {
            "type": "message",
            "user": user,
            "text": self.texts.text(),
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
    for channel in channel_dicts:
        gen = _ChannelDays(channel["id"], rng, texts, user_ids, thread_fraction)
        items: list[dict[str, Any]] = []
        for offset in range(days):
            items.extend(gen.day(start_day + timedelta(days=offset), per_day))
        workspace.messages[channel["id"]] = items
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
