"""The steps over the whole sample workspace, on SQLite and PostgreSQL: the same
event in several channels becomes one, reschedules move it, cancellations cancel it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bench.eval import load_sample_gold, pair_up
from slack_events_dagster import steps
from slack_events_dagster.domain.digest import build_digest, render_markdown
from slack_events_dagster.domain.models import EventStatus
from slack_events_dagster.llm.rules import RuleExtractor
from slack_events_dagster.settings import SAMPLE_WORKSPACE, load_settings
from slack_events_dagster.slack.export import ExportSource
from slack_events_dagster.storage.repository import SqlRepository

FIRST, LAST = date(2026, 3, 2), date(2026, 3, 22)
NOW = datetime(2026, 3, 23, 12, tzinfo=UTC)


def run_sample(repository: SqlRepository, tmp_path: Path) -> None:
    settings = load_settings(
        pipeline={"timezone": "America/New_York", "start_date": FIRST},
        digest={"output_dir": str(tmp_path), "calendar_path": str(tmp_path / "e.ics")},
    )
    source = ExportSource.from_settings(settings.slack)
    channels = steps.register_channels(source, repository)
    for channel in channels:
        steps.ingest_days(source, repository, settings, channel, FIRST, LAST, now=NOW)
        steps.score_days(repository, settings, channel, FIRST, LAST, now=NOW)
    extractor = RuleExtractor()
    for channel in channels:
        steps.extract_days(repository, extractor, settings, channel, FIRST, LAST, now=NOW)


@pytest.fixture
def sample_events(repository: SqlRepository, tmp_path: Path) -> SqlRepository:
    run_sample(repository, tmp_path)
    return repository


def test_duplicates_merge_and_changes_are_followed(sample_events: SqlRepository) -> None:
    channel_ids = {c.name: c.id for c in sample_events.get_channels(include_archived=True)}
    _, gold = load_sample_gold(SAMPLE_WORKSPACE.parent / "gold.yaml", channel_ids)
    events = sample_events.get_events()
    pairs = pair_up(events, gold)
    assert len(pairs) >= 0.7 * len(gold)

    # An event announced in several channels becomes one event with sources in several.
    event_of = {(src.channel_id, src.ts): e.event_id for e in events for src in e.sources}
    merged_across_channels = [
        item.id
        for item in gold
        if len({event_of[src] for src in item.sources if src in event_of}) == 1
        and len({channel for channel, ts in item.sources if (channel, ts) in event_of}) > 1
    ]
    split = [
        item.id
        for item in gold
        if len({event_of[src] for src in item.sources if src in event_of}) > 1
    ]
    assert len(merged_across_channels) >= 5
    # Regression guard at the level measured (was 6 of 37). Still split: the 4.12.1 hotfix
    # (a reply "going out tonight at 8pm" has no word in common with the announcement)
    # and the 4.14 code freeze, whose "scope is locked... Freeze Friday, ship target
    # Tuesday" message is a source of the 4.14 release too (one message, one event).
    assert len(split) <= 2, split

    for event, item in pairs:
        if item.status == "cancelled":
            assert event.status is EventStatus.CANCELLED, item.id
            assert event.sequence >= 1
        if item.status == "rescheduled":
            assert event.status is EventStatus.RESCHEDULED, item.id
            assert event.history, f"{item.id} keeps its old time"
    assert any(item.status == "cancelled" for _, item in pairs)
    assert any(item.status == "rescheduled" for _, item in pairs)

    duplicates, orphans = sample_events.event_integrity()
    assert (duplicates, orphans) == ([], [])


def test_rerunning_the_steps_changes_nothing(sample_events: SqlRepository, tmp_path: Path) -> None:
    def snapshot() -> list[dict[str, object]]:
        return [
            e.model_dump(exclude={"updated_at", "first_seen_at"})
            for e in sample_events.get_events()
        ]

    before = snapshot()
    run_sample(sample_events, tmp_path)
    assert snapshot() == before


def test_the_whole_sample_is_stored(repository: SqlRepository) -> None:
    source = ExportSource.from_settings(load_settings().slack)
    channels = steps.register_channels(source, repository)
    assert len(channels) == 8
    settings = load_settings(pipeline={"timezone": "America/New_York", "start_date": FIRST})
    for channel in channels:
        report = steps.ingest_days(source, repository, settings, channel, FIRST, LAST, now=NOW)
        assert report.error is None
    assert repository.count_messages() == 417


def test_a_range_of_digests_says_what_each_day_alone_says(
    repository: SqlRepository, tmp_path: Path
) -> None:
    """A backfill's digest run reads the events once for all its days; each day's digest
    must be the one built for that day alone. Events are extracted day by day, each day
    at its own end, so what was updated since a day's previous digest differs by day."""
    zone = "America/New_York"
    settings = load_settings(
        pipeline={"timezone": zone, "start_date": FIRST},
        digest={"output_dir": str(tmp_path), "calendar_path": str(tmp_path / "e.ics")},
    )
    settings = settings.model_copy(
        update={"digest": settings.digest.model_copy(update={"timezone": zone})}
    )
    source = ExportSource.from_settings(settings.slack)
    channels = steps.register_channels(source, repository)
    extractor = RuleExtractor()
    days = list(steps.days(FIRST, LAST))
    for day in days:
        end_of_day = steps.day_bounds(day, day, zone)[1]
        for channel in channels:
            steps.ingest_days(source, repository, settings, channel, day, day, now=end_of_day)
            steps.score_days(repository, settings, channel, day, day, now=end_of_day)
            steps.extract_days(repository, extractor, settings, channel, day, day, now=end_of_day)

    def alone(day: date) -> str:
        """The digest of one day from that day's own queries (as it was built before)."""
        moment = min(steps.digest_moment(day, settings), NOW)
        previous = moment - timedelta(days=1)
        lookahead = settings.digest.lookahead_days
        window = repository.get_events(
            start_date=day - timedelta(days=31), end_date=day + timedelta(days=lookahead)
        )
        updated = repository.get_events_updated_since(previous)
        chosen = list({e.event_id: e for e in [*window, *updated]}.values())
        content = build_digest(
            day,
            chosen,
            timezone=zone,
            lookahead_days=lookahead,
            previous_digest_at=previous,
            permalinks=steps.permalinks_for(repository, settings, chosen),
            channel_names={c.id: c.name for c in repository.get_channels(include_archived=True)},
            llm_cost_usd=None,
            now=moment,
        )
        return render_markdown(content)

    in_range = steps.build_daily_digests(repository, settings, days, now=NOW)
    assert [d.day for d in in_range] == days
    assert [d.markdown for d in in_range] == [alone(day) for day in days]
    # Not vacuous: days differ, and the changes and news of each day's updates show.
    assert len({d.markdown for d in in_range}) == len(days)
    assert sum("## 🆕 New" in d.markdown for d in in_range) > 10
