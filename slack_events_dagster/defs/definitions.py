"""The composition root: one ``Settings`` object in, the code location out.

Everything that depends on settings is built here and only here: the partitions (start
date and zone), the assets over them, the jobs, the digest schedule (time and zone), the
sensors (polling interval) and the resources (which source, extractor and poster).
``definitions.py`` calls it with :func:`~slack_events_dagster.settings.load_settings`;
``slack-events run`` with the settings it already holds; tests with their own.
"""

from __future__ import annotations

import dagster as dg

from slack_events_dagster.defs.assets import build_assets
from slack_events_dagster.defs.automation import build_automation, build_jobs
from slack_events_dagster.defs.partitions import Partitions
from slack_events_dagster.defs.resources import build_resources
from slack_events_dagster.settings import Settings


def build_definitions(
    settings: Settings, *, executor: dg.ExecutorDefinition | None = None
) -> dg.Definitions:
    """The code location for ``settings``. ``executor`` is for tests and benchmarks,
    which run backfills with ``dg.in_process_executor`` (Dagster's default starts a
    process per step)."""
    schedules, sensors = build_automation(settings)
    return dg.Definitions(
        assets=build_assets(Partitions.from_settings(settings), settings),
        jobs=build_jobs(settings),
        schedules=schedules,
        sensors=sensors,
        resources=build_resources(settings),
        executor=executor,
    )
