"""The Dagster code location: every asset, sensor, schedule and check of the product.

Its settings are the config file's (``--config`` of ``slack-events ui`` reaches it as
``SLACK_EVENTS_CONFIG``), or the sample's when ``slack-events ui`` opens the demo."""

import warnings

from slack_events_dagster.defs.definitions import build_definitions
from slack_events_dagster.ui import location_settings

# Backfill policies and partition mappings are beta in Dagster 1.13; we pin Dagster (as the
# CLI does), so the code server's log does not repeat it at every load.
warnings.filterwarnings("ignore", message=".*is currently in beta.*")

defs = build_definitions(location_settings())
