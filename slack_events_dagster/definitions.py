"""The Dagster code location: every asset, sensor, schedule and check of the product."""

from slack_events_dagster.defs.definitions import build_definitions

defs = build_definitions()
