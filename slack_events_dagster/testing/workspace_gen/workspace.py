"""A generated workspace: users and channels, every channel's days of messages, written
as a Slack export, or streamed as domain messages for benchmarks."""

from __future__ import annotations

import json
import math
import random
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from slack_events_dagster.domain.models import SlackMessage
from slack_events_dagster.testing.workspace_gen.texts import TextMaker
from slack_events_dagster.testing.workspace_gen.threads import ChannelDays

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


def generate_workspace(
    *,
    channels: int = 3,
    days: int = 7,
    per_day: int = 50,
    thread_fraction: float = 0.1,
    users: int = 25,
    seed: int = 0,
    end: date = DEFAULT_END,
    counts: Sequence[Sequence[int]] | None = None,
) -> GeneratedWorkspace:
    """A workspace of ``channels x days x per_day`` messages ending on ``end`` (inclusive).

    ``counts[channel][day]``, when given, is how many messages each channel gets on each
    day instead of ``per_day`` (see :func:`sparse_counts`).
    """
    if counts is not None and (len(counts) != channels or any(len(row) != days for row in counts)):
        raise ValueError(f"counts must be {channels} rows of {days} days")
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
    texts = TextMaker(rng, user_ids, [(c["id"], c["name"]) for c in channel_dicts])
    workspace = GeneratedWorkspace(
        team={"id": "T00000001", "name": "Synthetic", "domain": "synthetic"},
        users=user_dicts,
        channels=channel_dicts,
    )
    gens = [ChannelDays(c["id"], rng, texts, user_ids, thread_fraction) for c in channel_dicts]
    workspace.messages = {gen.channel_id: [] for gen in gens}
    # Day by day across channels, as people post: a cross-post follows its original.
    for offset in range(days):
        for index, gen in enumerate(gens):
            count = per_day if counts is None else counts[index][offset]
            workspace.messages[gen.channel_id].extend(
                gen.day(start_day + timedelta(days=offset), count)
            )
    return workspace


# A sparse workspace's channels (see sparse_counts): (share of the channels, the mean
# messages on an active weekday, the chance a weekday is active). Weekends get a fifth.
SPARSE_TIERS = (
    (0.06, 85.0, 0.97),  # a few busy channels (#engineering, #incidents)
    (0.14, 15.0, 0.85),  # team channels
    (0.80, 2.5, 0.30),  # the many quiet ones: most days empty, the rest under 5
)


def sparse_counts(
    channels: int, days: int, *, seed: int = 0, end: date = DEFAULT_END
) -> list[list[int]]:
    """Messages per channel and day shaped like a real workspace: a few busy channels,
    some team channels, and many quiet ones where most days are empty (about 100,000
    messages at 50 channels x 365 days). Deterministic for a seed; its own random
    stream, so the messages drawn from the same seed do not depend on it."""
    rng = random.Random(f"sparse-{seed}")
    start_day = end - timedelta(days=days - 1)
    tiers: list[tuple[float, float]] = []
    for share, mean, active in SPARSE_TIERS:
        tiers += [(mean, active)] * max(1, round(share * channels))
    tiers = (tiers + [tiers[-1]] * channels)[:channels]
    rng.shuffle(tiers)
    counts: list[list[int]] = []
    for mean, active in tiers:
        row = []
        for offset in range(days):
            weekend = (start_day + timedelta(days=offset)).weekday() >= 5
            if rng.random() >= (active / 5 if weekend else active):
                row.append(0)
            elif mean < 5:
                row.append(rng.randint(1, 4))
            else:
                # Busy days vary a lot: a log-normal around the mean.
                row.append(max(1, round(rng.lognormvariate(math.log(mean) - 0.125, 0.5))))
        counts.append(row)
    return counts


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
    texts = TextMaker(rng, user_ids, [(c, c.lower()) for c in channel_ids])
    gens = [ChannelDays(cid, rng, texts, user_ids, 0.1) for cid in channel_ids]
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
