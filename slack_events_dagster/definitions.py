"""The Dagster code location: every asset, sensor, schedule and check of the product."""

import dagster as dg

defs = dg.Definitions()
