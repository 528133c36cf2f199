"""The Dagster code location: every asset, sensor, schedule and check of the product."""

from slack_events_dagster.defs.definitions import build_definitions
from slack_events_dagster.settings import load_settings

defs = build_definitions(load_settings())
