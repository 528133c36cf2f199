"""The code location ``bench/pipeline.py`` backfills: the product's definitions, in process.

The settings come from the usual ``SLACK_EVENTS_*`` environment variables (set by the
benchmark before the code server starts, so the code server and the run process build
the same definitions from the same settings), the app database as
``SLACK_EVENTS_DATABASE__URL``.
"""

from __future__ import annotations

import dagster as dg

from slack_events_dagster.defs.definitions import build_definitions
from slack_events_dagster.settings import load_settings

# One process per run, steps one after another (as `slack-events run`), instead of
# Dagster's default of a child process per step.
defs = build_definitions(load_settings(), executor=dg.in_process_executor)
