"""Live ingestion under Slack's limits for an unlisted app: a simulated day of 20 channels.

Slack gives an app distributed outside the Marketplace 1 ``conversations.history`` and
1 ``conversations.replies`` call a minute, each returning at most 15 objects. This
benchmark posts a day of realistic activity into the fake Slack server (2 busy channels,
5 medium, 13 quiet; most messages in working hours; a fifth of them thread replies)
and measures what the product stores and when:

- API calls made per method and calls refused (429) by the fake, which enforces the
  unlisted limits (``FakeSlack(rate_limits=True, object_cap=15)``);
- the delay from a message being posted to its row being stored: median and 95th
  percentile, and the messages not stored by the end;
- with ``--mode poll`` (polling only; the day before is stored at the start): the
  watermark sensor's flow, each tick planned by ``defs.polling`` / ``domain.polling``
  (the same code as the sensor), probing the chosen channels with one history call
  each (``newest_ts``) and ingesting a channel with news as its run would
  (``slack.ingest.ingest_channel``), every call drawn from the shared budget in a real
  SQLite database;
- with ``--mode push`` (the day before stored too): the Socket Mode listener
  (``slack.listener.SocketModeListener``, slack_sdk's client) connected to the fake's
  Socket Mode endpoint, filling each channel's gap on ``hello`` from the shared budget
  and storing every pushed message as it arrives; history calls are only those fills.

Polling's time is simulated: a virtual clock drives the budget (``CallBudget(clock=,
sleep=)``), the fake's rate-limit windows (``FakeSlack(clock=)``) and the posting of
messages, so a day runs in a minute or two of wall time. A wait for the budget advances
the clock; the product's own work (HTTP, normalizing, SQLite writes) takes no simulated
time, which is a few milliseconds per call against the minute each call waits.

Push measures real seconds: a pushed message is stored when it arrives, so its delay is
the product's own work. The day's posts are made on a compressed schedule (by default
its 24 hours over 60 s of wall time, ``--push-wall-s``: 1440 times denser than a real
day) while the listener runs; only the budget (and the fake's windows) stay on a virtual
clock, so the 20 gap fills at connect, paced at 1 call a minute, take 20 simulated
minutes (before the day starts) rather than 20 real ones.

    .venv/bin/python -m bench.live                 # the poll row and the push row
    .venv/bin/python -m bench.live --mode poll --horizon-hours 24 --tick-s 300 --json

The defaults are docs/operations.md's advice for an unlisted app: a 60 s sensor tick,
no lookback, thread parents of the last 3 hours re-read for new replies.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from slack_events_dagster.defs.polling import channel_activity, mark_polled
from slack_events_dagster.domain.models import (
    SlackChannel,
    SlackMessage,
    datetime_to_ts,
    ts_sort_key,
)
from slack_events_dagster.domain.polling import plan_polls
from slack_events_dagster.settings import SlackSettings
from slack_events_dagster.slack.budget import CallBudget
from slack_events_dagster.slack.ingest import ingest_channel
from slack_events_dagster.slack.listener import SocketModeListener
from slack_events_dagster.slack.webapi import WebApiSource
from slack_events_dagster.storage.base import UpsertCounts
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.fake_slack import DEFAULT_APP_TOKEN, DEFAULT_TOKEN, FakeSlack
from slack_events_dagster.testing.fake_slack.protocol import (
    UNLISTED_METHODS,
    UNLISTED_OBJECT_CAP,
)

DAY_START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday, UTC
# Messages a day per channel: 2 busy, 5 medium, 13 quiet (about 560 in all).
ACTIVITY = [150] * 2 + [40] * 5 + [5] * 13
REPLY_FRACTION = 0.2
_PACED = ("conversations.history", "conversations.replies")


@dataclass(order=True)
class Post:
    at: datetime
    channel_id: str = field(compare=False)
    reply_to: int | None = field(default=None, compare=False)  # index of the parent post
    ts: str | None = field(default=None, compare=False)


def day_of_posts(seed: int, start: datetime = DAY_START) -> list[Post]:
    """Posts of a working day: 85% between 08:00 and 18:00 UTC, the rest at any time;
    a reply answers a top-level post of its channel from the previous two hours."""
    rng = random.Random(seed)
    posts: list[Post] = []
    for index, per_day in enumerate(ACTIVITY):
        channel_id = f"C{index + 1:08d}"
        for _ in range(per_day):
            if rng.random() < 0.85:
                second = rng.uniform(8 * 3600, 18 * 3600)
            else:
                second = rng.uniform(0, 24 * 3600)
            posts.append(Post(start + timedelta(seconds=second), channel_id))
    posts.sort()
    for i, post in enumerate(posts):
        if rng.random() >= REPLY_FRACTION:
            continue
        parents = [
            j
            for j in range(i - 1, -1, -1)
            if posts[j].channel_id == post.channel_id
            and posts[j].reply_to is None
            and post.at - posts[j].at <= timedelta(hours=2)
        ]
        if parents:
            post.reply_to = rng.choice(parents[:10])
    return posts


class VirtualDay:
    """The simulated clock, and the posts that appear in the fake as it advances."""

    def __init__(self, fake: FakeSlack, posts: list[Post], start: datetime = DAY_START) -> None:
        self.now = start
        self.fake = fake
        self.posts = posts
        self._next = 0

    def clock(self) -> datetime:
        return self.now

    def seconds(self) -> float:
        return self.now.timestamp()

    def sleep(self, seconds: float) -> None:
        self.advance(self.now + timedelta(seconds=seconds))

    def advance(self, moment: datetime) -> None:
        self.now = max(self.now, moment)
        while self._next < len(self.posts) and self.posts[self._next].at <= self.now:
            post = self.posts[self._next]
            parent = None if post.reply_to is None else self.posts[post.reply_to].ts
            post.ts = self.fake.add_message(
                post.channel_id,
                f"update {self._next}: deploy window moved to 15:00",
                ts=datetime_to_ts(post.at),
                thread_ts=parent,
            )
            self._next += 1


@dataclass
class Figures:
    mode: str
    calls: dict[str, int]
    refused: dict[str, int]
    budget_wait_min: dict[str, float]
    probes: int
    runs: int
    posted: int
    stored: int
    replies_missed: int
    median_delay_s: float | None
    p95_delay_s: float | None
    wall_s: float
    # Push only: the history and replies calls of the fills at connect, the listener's
    # events by kind, and how many times faster than real time the day was posted.
    gap_fill_calls: dict[str, int] | None = None
    events: dict[str, int] | None = None
    wall_compression: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _unlisted_settings(base_url: str, **more: Any) -> SlackSettings:
    """The fake's Web API under the unlisted app profile (both halves read through it)."""
    return SlackSettings(
        source="api",
        token=DEFAULT_TOKEN,
        base_url=base_url,
        app_profile="unlisted",
        workspace_url="https://fake-workspace.slack.com/",
        **more,
    )


def _fake(seed: int) -> FakeSlack:
    fake = FakeSlack(
        rate_limits=False,
        rate_limit_overrides=dict.fromkeys(UNLISTED_METHODS, 1),
        object_cap=UNLISTED_OBJECT_CAP,
    )
    fake.users["U00000001"] = {"id": "U00000001", "name": "ana", "real_name": "Ana"}
    for index in range(len(ACTIVITY)):
        channel_id = f"C{index + 1:08d}"
        fake.add_channel({"id": channel_id, "name": f"channel-{index + 1}", "created": 0})
    return fake


def run_poll(args: argparse.Namespace, workdir: Path) -> Figures:
    """Polling only: the sensor's plan each tick, a probe per chosen channel, a run for
    each channel with news; every history and replies call from the shared budget."""
    posts = day_of_posts(args.seed)
    fake = _fake(args.seed)
    repository = SqlRepository.from_url(f"sqlite:///{workdir / 'live.db'}")
    repository.create_schema()
    wall = time.perf_counter()
    with fake.serve() as base_url:
        settings = _unlisted_settings(base_url)
        channels = _previous_day_stored(fake, repository, settings, args)
        day = VirtualDay(fake, posts)
        fake.clock = day.seconds
        fake.rate_limits = True
        fake.reset_counts()
        budget = CallBudget.from_settings(repository, settings, clock=day.clock, sleep=day.sleep)
        source = WebApiSource(settings, budget=budget)
        calls_per_minute = settings.method_limit("history").calls_per_minute
        tick = timedelta(seconds=args.tick_s)
        cursor: dict[str, Any] = {}
        stored_at: dict[tuple[str, str], datetime] = {}
        probes = runs = 0
        end = DAY_START + timedelta(days=1, hours=args.drain_hours)
        while day.now < end:
            tick_start = day.now
            day.advance(tick_start)
            plan = plan_polls(
                channel_activity(repository, channels, cursor, day.now),
                day.now,
                tick=tick,
                calls_per_minute=calls_per_minute,
            )
            for channel_id in plan.poll:
                probes += 1
                newest = source.newest_ts(channels[channel_id])
                seen = cursor.get(channel_id) or repository.get_watermark(channel_id)
                if newest is None or (seen and ts_sort_key(newest) <= ts_sort_key(seen)):
                    continue
                cursor[channel_id] = newest
                runs += 1
                _ingest(source, repository, channels[channel_id], day, args, stored_at)
            mark_polled(cursor, plan.poll, tick_start)
            day.advance(max(day.now, tick_start + tick))
    wall_s = time.perf_counter() - wall
    repository.close()
    assert budget is not None
    delays = {
        key: (stored_at[key] - p.at).total_seconds()
        for p in posts
        if p.ts is not None and (key := (p.channel_id, p.ts)) in stored_at
    }
    return _figures("poll", fake, budget, posts, delays, probes=probes, runs=runs, wall_s=wall_s)


def _previous_day_stored(
    fake: FakeSlack, repository: SqlRepository, settings: SlackSettings, args: argparse.Namespace
) -> dict[str, SlackChannel]:
    """The day before, posted and stored unpaced and unmeasured: the product starts the
    day caught up, with each channel's watermark and its recent activity known."""
    before = DAY_START - timedelta(days=1)
    previous = VirtualDay(fake, day_of_posts(args.seed + 1, before), before)
    previous.advance(DAY_START)
    fake.rate_limits = False
    source = WebApiSource(settings)
    channels = {c.id: c for c in source.list_channels()}
    repository.upsert_channels(channels.values())
    for channel in channels.values():
        ingest_channel(source, repository, channel, now=DAY_START)
    return channels


def _ingest(
    source: WebApiSource,
    repository: SqlRepository,
    channel: SlackChannel,
    day: VirtualDay,
    args: argparse.Namespace,
    stored_at: dict[tuple[str, str], datetime],
) -> None:
    ingest_channel(
        source,
        repository,
        channel,
        now=day.now,
        lookback_days=args.lookback_hours / 24,
        thread_horizon_days=args.horizon_hours / 24,
    )
    # A run stores page by page; every row it wrote counts as stored when it ends.
    for message in repository.get_messages(channel.id, DAY_START, DAY_START + timedelta(days=2)):
        stored_at.setdefault((channel.id, message.ts), day.now)


def _figures(
    mode: str,
    fake: FakeSlack,
    budget: CallBudget,
    posts: list[Post],
    delay_of: dict[tuple[str, str], float],
    **extra: Any,
) -> Figures:
    """The figures of a run; ``delay_of`` is the seconds from posting to storing of each
    post stored, by (channel, ts)."""
    delays = sorted(delay_of.values())
    p95 = statistics.quantiles(delays, n=20)[-1] if len(delays) >= 20 else None
    return Figures(
        mode=mode,
        calls={m: fake.calls[m] for m in _PACED},
        refused=dict(fake.refused),
        budget_wait_min={m: round(s / 60, 1) for m, s in budget.waited.items()},
        posted=len(posts),
        stored=len(delays),
        replies_missed=sum(
            1 for p in posts if p.reply_to is not None and (p.channel_id, p.ts) not in delay_of
        ),
        median_delay_s=statistics.median(delays) if delays else None,
        p95_delay_s=p95,
        **extra,
    )


class _Recording(SqlRepository):
    """The repository, noting when each message's row was first committed (monotonic s)."""

    stored_at: dict[tuple[str, str], float]

    def upsert_messages(
        self, messages: Iterable[SlackMessage], *, watermarks: dict[str, str] | None = None
    ) -> UpsertCounts:
        batch = list(messages)
        counts = super().upsert_messages(batch, watermarks=watermarks)
        now = time.monotonic()
        for message in batch:
            self.stored_at.setdefault((message.channel_id, message.ts), now)
        return counts


class _FillClock:
    """The budget's clock while the listener fills the gaps: a wait advances it at once
    (as the poll half's virtual clock does), so 20 fills paced at 1 call a minute take
    20 simulated minutes and no wall time."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self._lock = threading.Lock()

    def clock(self) -> datetime:
        with self._lock:
            return self.now

    def seconds(self) -> float:
        return self.clock().timestamp()

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += timedelta(seconds=seconds)


def run_push(args: argparse.Namespace, workdir: Path) -> Figures:
    """Socket Mode events, history calls only as gap fills.

    The day before is stored first (unmeasured), as for polling. The listener (slack_sdk's
    SocketModeClient) then connects to the fake's Socket Mode endpoint; on ``hello`` it
    fills each channel from its watermark (``ingest_channel``, one history call each),
    every call from the shared budget. The budget and the fake's rate-limit windows run
    on a virtual clock during the fills (:class:`_FillClock`): at 1 call a minute the 20
    fills take 20 simulated minutes (before the day starts, 23:40) and no wall time. The
    fills' thread horizon counts from the listener's own clock (``datetime.now``), months
    after the simulated day, so they re-read no thread: connecting at a real midnight,
    each thread of the last ``--horizon-hours`` with replies would cost a replies call.

    The day's posts are then made in real time, compressed ``86400 / args.push_wall_s``
    times (the whole day over ``--push-wall-s`` seconds): a pushed message is stored as
    soon as it arrives, so its delay is real seconds (post -> envelope -> normalize ->
    commit), measured from just before the fake posts it to the end of the transaction
    that first stored its row. Compression only makes the bursts denser than a real day.
    """
    posts = day_of_posts(args.seed)
    fake = _fake(args.seed)
    repository = _Recording.from_url(f"sqlite:///{workdir / 'live.db'}")
    repository.stored_at = {}
    repository.create_schema()
    wall = time.perf_counter()
    with fake.serve() as base_url:
        settings = _unlisted_settings(
            base_url,
            app_token=DEFAULT_APP_TOKEN,
            lookback_days=args.lookback_hours / 24,
            thread_horizon_days=args.horizon_hours / 24,
        )
        _previous_day_stored(fake, repository, settings, args)
        fills = _FillClock(DAY_START - timedelta(minutes=len(ACTIVITY)))
        fake.clock = fills.seconds
        fake.rate_limits = True
        fake.reset_counts()
        budget = CallBudget.from_settings(
            repository, settings, clock=fills.clock, sleep=fills.sleep
        )
        assert budget is not None
        source = WebApiSource(settings, budget=budget)
        listener = SocketModeListener(settings, repository, source=source)
        stop, ready = threading.Event(), threading.Event()
        failures: list[BaseException] = []

        def listen() -> None:
            try:
                listener.run(stop, on_ready=ready.set)
            except BaseException as exc:  # re-raised on the benchmark's thread
                failures.append(exc)
                ready.set()

        thread = threading.Thread(target=listen, name="bench-listener", daemon=True)
        thread.start()
        try:
            _wait(lambda: bool(failures) or len(listener.contiguous_channels()) == len(ACTIVITY))
            if failures:
                raise failures[0]
            gap_fill_calls = dict(fake.calls)
            posted_at = _post_in_real_time(fake, posts, args.push_wall_s)
            _wait(lambda: bool(failures) or fake.unacked == 0, timeout_s=120)
            if failures:
                raise failures[0]
        finally:
            stop.set()
            thread.join(30)
    wall_s = time.perf_counter() - wall
    repository.close()
    delays = {
        key: at - posted_at[key] for key, at in repository.stored_at.items() if key in posted_at
    }
    return _figures(
        "push",
        fake,
        budget,
        posts,
        delays,
        probes=0,
        runs=listener.counts.fills,
        wall_s=wall_s,
        gap_fill_calls={m: gap_fill_calls.get(m, 0) for m in _PACED},
        events=dict(listener.counts.events),
        wall_compression=round(86400 / args.push_wall_s),
    )


def _post_in_real_time(
    fake: FakeSlack, posts: list[Post], wall_s: float
) -> dict[tuple[str, str], float]:
    """Post the day into the fake, ``wall_s`` seconds of wall time for its 24 hours; the
    monotonic time just before each post, by (channel, ts)."""
    scale = wall_s / 86400
    posted_at: dict[tuple[str, str], float] = {}
    start = time.monotonic()
    for index, post in enumerate(posts):
        due = start + (post.at - DAY_START).total_seconds() * scale
        if (ahead := due - time.monotonic()) > 0:
            time.sleep(ahead)
        parent = None if post.reply_to is None else posts[post.reply_to].ts
        before = time.monotonic()
        post.ts = fake.add_message(
            post.channel_id,
            f"update {index}: deploy window moved to 15:00",
            ts=datetime_to_ts(post.at),
            thread_ts=parent,
        )
        posted_at[(post.channel_id, post.ts)] = before
    return posted_at


def _wait(condition: Callable[[], bool], timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the push benchmark timed out waiting for the listener")
        time.sleep(0.02)


def _delay(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.2f} s" if seconds < 60 else f"{seconds / 60:.1f} min"


def report(figures: Figures, args: argparse.Namespace) -> None:
    calls = figures.calls
    print(
        f"{figures.mode:<5} history calls {calls['conversations.history']:>5}  "
        f"replies calls {calls['conversations.replies']:>5}  "
        f"refused (429) {sum(figures.refused.values()):>3}  "
        f"probes {figures.probes:>5}  runs {figures.runs:>4}"
    )
    print(
        f"      stored {figures.stored}/{figures.posted} messages by the end "
        f"({figures.replies_missed} replies missed); delay posted -> "
        f"stored: median {_delay(figures.median_delay_s)}, "
        f"p95 {_delay(figures.p95_delay_s)}"
    )
    waited = ", ".join(f"{m} {v} min" for m, v in figures.budget_wait_min.items()) or "none"
    print(f"      waited for the budget: {waited}; wall time {figures.wall_s:.1f} s")
    if figures.gap_fill_calls is not None:
        fills = figures.gap_fill_calls
        events = ", ".join(f"{k} {v}" for k, v in sorted((figures.events or {}).items()))
        print(
            f"      gap fills at connect: {figures.runs} channels, history "
            f"{fills['conversations.history']}, replies {fills['conversations.replies']} "
            "(budget on the virtual clock: 1 call a simulated minute, no wall time); "
            f"events: {events}"
        )
        print(
            f"      the day posted {figures.wall_compression}x faster than real time "
            f"({args.push_wall_s:g} s of wall time); delays are real seconds"
        )


def main_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mode", choices=("poll", "push", "both"), default="both")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tick-s", type=float, default=60, help="sensor interval (simulated)")
    parser.add_argument(
        "--lookback-hours", type=float, default=0, help="re-read before the watermark"
    )
    parser.add_argument(
        "--horizon-hours",
        type=float,
        default=3,
        help="thread parents re-read for new replies (each 15 messages cost a call)",
    )
    parser.add_argument("--drain-hours", type=float, default=2, help="simulated after midnight")
    parser.add_argument(
        "--push-wall-s",
        type=float,
        default=60,
        help="push: wall seconds over which the day's 24 hours of posts are made",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = main_parser().parse_args(argv)

    modes: dict[str, Callable[[argparse.Namespace, Path], Figures]] = {
        "poll": run_poll,
        "push": run_push,
    }
    chosen = list(modes) if args.mode == "both" else [args.mode]
    posts = day_of_posts(args.seed)
    print(
        f"a simulated day: {len(ACTIVITY)} channels, {len(posts)} messages "
        f"({sum(p.reply_to is not None for p in posts)} replies), unlisted app "
        f"(1 call a minute per method, {UNLISTED_OBJECT_CAP} objects a call); "
        f"sensor tick {args.tick_s:g} s, lookback {args.lookback_hours:g} h, thread horizon "
        f"{args.horizon_hours:g} h, {args.drain_hours:g} h after midnight to drain"
    )
    print(
        "poll: time is simulated (virtual clock); push: the budget is on the virtual clock, "
        "the delays are real seconds; wall time is what the run took\n"
    )
    results = []
    for mode in chosen:
        with tempfile.TemporaryDirectory(prefix=f"bench-live-{mode}-") as tmp:
            figures = modes[mode](args, Path(tmp))
        report(figures, args)
        results.append(figures.as_dict())
    if args.json:
        print(json.dumps({"benchmark": "live", "results": results}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
