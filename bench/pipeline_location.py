"""The code location ``bench/pipeline.py`` backfills: the product's definitions, in process.

The settings come from the usual ``SLACK_EVENTS_*`` environment variables (set by the
benchmark before the code server starts, so the code server and the run process
agree); only the app database URL has its own variable, as a full URL is simpler to
pass than the settings' database section.
"""

from __future__ import annotations

import os

import dagster as dg

from slack_events_dagster.defs.definitions import build_definitions

DATABASE_URL_VAR = "BENCH_PIPELINE_DATABASE_URL"

# One process per run, steps one after another (as `slack-events run`), instead of
# Dagster's default of a child process per step.
defs = build_definitions(
    executor=dg.in_process_executor, database_url=os.environ.get(DATABASE_URL_VAR)
)
