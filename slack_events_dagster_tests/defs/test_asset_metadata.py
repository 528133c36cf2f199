"""What the Dagster UI shows: the events of a materialization's channels and days as a
table, the rendered digest, a link to the calendar file; descriptions, owners and kinds
on every asset and a meaning and a remedy on every check.

Materializations run in-process on the bundled sample (an export: no network), a real
SQLite file and an ephemeral Dagster instance; the metadata is read back from the run.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg

from slack_events_dagster import steps
from slack_events_dagster.defs.assets import EVENTS_TABLE_ROWS, events_table
from slack_events_dagster.defs.definitions import build_definitions
from slack_events_dagster.defs.resources import message_source
from slack_events_dagster.domain.models import SlackChannel
from slack_events_dagster.settings import Settings, load_settings
from slack_events_dagster.storage.migrate import upgrade
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster_tests.helpers.records import make_event

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
ENGINEERING, RELEASES = "C0VLNVAD8VE", "C0Q3BGHK7PB"
FIRST, LAST = date(2026, 3, 2), date(2026, 3, 22)
ZONE = "America/New_York"
ASSETS = ["raw_slack_messages", "event_candidates", "events", "daily_digest", "events_calendar"]


def sample_settings(tmp_path: Path, **sections: Any) -> Settings:
    return load_settings(
        database={"type": "sqlite", "path": str(tmp_path / "app.db")},
        pipeline={"start_date": FIRST.isoformat(), "timezone": ZONE},
        digest={
            "output_dir": str(tmp_path / "out"),
            "calendar_path": str(tmp_path / "out" / "events.ics"),
            "timezone": ZONE,
        },
        **sections,
    )


def materialized(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    """The metadata of ``asset``'s materializations in the run (a ranged run records one
    per partition, all with the same metadata)."""
    found = [
        dict(e.materialization.metadata)
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey(asset)
    ]
    assert found and all(metadata == found[0] for metadata in found), asset
    return found[0]


def test_the_ui_shows_events_digest_and_calendar(tmp_path: Path) -> None:
    settings = sample_settings(tmp_path)
    upgrade(f"sqlite:///{tmp_path / 'app.db'}")
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("channels", [RELEASES, ENGINEERING])
    with SqlRepository.from_settings(settings.database) as repository:
        steps.register_channels(message_source(settings.slack), repository)
        ingest = defs.resolve_job_def("ingest_job")
        runs = {
            channel: ingest.execute_in_process(
                instance=instance,
                tags={RANGE_START: f"{channel}|{FIRST}", RANGE_END: f"{channel}|{LAST}"},
            )
            for channel in (RELEASES, ENGINEERING)
        }
        day = date(2026, 3, 11)
        digest_run = defs.resolve_job_def("digest_job").execute_in_process(
            instance=instance, tags={RANGE_START: day.isoformat(), RANGE_END: day.isoformat()}
        )
        stored = repository.get_events()
        digest = repository.get_digest(day)

    # The events of #engineering's run: every event with a message there, merged ones too.
    table = materialized(runs[ENGINEERING], "events")["events"]
    assert isinstance(table, dg.MarkdownMetadataValue)
    mine = [e for e in stored if any(s.channel_id == ENGINEERING for s in e.sources)]
    assert 0 < len(mine) < len(stored), "both channels have events of their own"
    assert table.md_str.startswith(f"**{len(mine)} events** (times in {ZONE})")
    assert "| day | time | title | category | status | channels | sources | links |" in table.md_str
    for event in mine:
        assert event.title in table.md_str
    others = [e for e in stored if e not in mine]
    assert not any(f"| {e.title} |" in table.md_str for e in others)
    count = materialized(runs[ENGINEERING], "events")["events_in_range"]
    assert count == dg.IntMetadataValue(len(mine))

    shown = materialized(digest_run, "daily_digest")
    assert digest is not None
    assert shown["digest"] == dg.MetadataValue.md(digest.markdown)
    assert shown["file"] == dg.MetadataValue.path(tmp_path / "out" / f"digest-{day}.md")
    calendar = materialized(digest_run, "events_calendar")
    assert calendar["path"] == dg.MetadataValue.path(tmp_path / "out" / "events.ics")
    assert Path(calendar["path"].value).read_bytes().startswith(b"BEGIN:VCALENDAR")


def test_the_events_table_is_capped_and_says_how_many_there_are() -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo(ZONE))
    many = [
        make_event(f"e{i:03}", title=f"Release {i:03}", start=start + timedelta(days=i), end=None)
        for i in range(EVENTS_TABLE_ROWS + 10)
    ]
    channels = {"C1": SlackChannel(id="C1", name="releases")}
    text = events_table(many, timezone=ZONE, channels=channels)
    assert text.startswith(f"**{EVENTS_TABLE_ROWS + 10} events** (times in {ZONE}; ")
    assert f"the first {EVENTS_TABLE_ROWS} shown" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "Release" in line]
    assert len(rows) == EVENTS_TABLE_ROWS
    assert "| Release 000 |" in text and "| Release 059 |" not in text
    assert "#releases" in rows[0]
    assert events_table([], timezone=ZONE, channels=channels).startswith("_no events")


def _assets(defs: dg.Definitions) -> list[dg.AssetsDefinition]:
    return [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]


def _specs(defs: dg.Definitions) -> dict[str, dg.AssetSpec]:
    return {spec.key.to_user_string(): spec for a in _assets(defs) for spec in a.specs}


def test_every_asset_says_what_it_is_who_owns_it_and_what_it_runs_on(tmp_path: Path) -> None:
    specs = _specs(build_definitions(sample_settings(tmp_path)))
    assert sorted(specs) == sorted(ASSETS)
    for name, spec in specs.items():
        assert spec.owners == ["team:slack-events"], name
        assert spec.description and len(spec.description) > 120, name
        assert "\n" not in spec.description  # one paragraph, no Markdown code block
        assert "sqlite" in spec.kinds and "postgres" not in spec.kinds, name
        assert "openai" not in spec.kinds, name
    assert "slack" in specs["raw_slack_messages"].kinds
    assert "slack" not in specs["daily_digest"].kinds  # a dry run posts nothing

    deployed = build_definitions(
        sample_settings(
            tmp_path,
            llm={"provider": "openai", "api_key": "sk-test"},
        ).model_copy(
            update={
                "database": load_settings(
                    database={"type": "postgres", "postgres": {"host": "db.invalid"}}
                ).database
            }
        )
    )
    specs = _specs(deployed)
    for name, spec in specs.items():
        assert "postgres" in spec.kinds and "sqlite" not in spec.kinds, name
    assert "openai" in specs["events"].kinds
    assert all("openai" not in specs[name].kinds for name in ASSETS if name != "events")


def test_every_check_says_what_a_failure_means_and_what_to_do(tmp_path: Path) -> None:
    defs = build_definitions(sample_settings(tmp_path))
    checks = [spec for a in _assets(defs) for spec in a.check_specs]
    assert len(checks) == 7
    for spec in checks:
        assert spec.description and len(spec.description) > 100, spec.name
