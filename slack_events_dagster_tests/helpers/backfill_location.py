"""A code location for backfill tests: the product's definitions with test resources.

The daemon's backfill loop and the GraphQL API load definitions from a code location
(a module, here), not from an object a test holds; the code server loads it in a
child process and the synchronous run launcher imports it again in the test process.
So the test passes what differs per test through environment variables, which both
processes inherit: the app database URL, the fake Slack server's base URL and an
output folder. Steps run in process (``dg.in_process_executor``) so a run is one
process, as ``slack-events run`` does.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from slack_events_dagster.defs.definitions import build_definitions
from slack_events_dagster.settings import load_settings
from slack_events_dagster.testing.fake_slack import DEFAULT_TOKEN

DATABASE_URL_VAR = "SLACK_EVENTS_TEST_BACKFILL_DATABASE_URL"
SLACK_URL_VAR = "SLACK_EVENTS_TEST_BACKFILL_SLACK_URL"
OUTPUT_DIR_VAR = "SLACK_EVENTS_TEST_BACKFILL_OUTPUT_DIR"


def _definitions() -> dg.Definitions:
    output = Path(os.environ.get(OUTPUT_DIR_VAR, "output/backfill-test"))
    database_url = os.environ.get(DATABASE_URL_VAR)
    settings = load_settings(
        database={"url": database_url} if database_url else {},
        slack={
            "source": "api",
            "base_url": os.environ.get(SLACK_URL_VAR, "http://127.0.0.1:9/api/"),
            "max_retries": 2,
            "token": DEFAULT_TOKEN,
        },
        # The sample workspace's days are New York days, for the partitions too: this
        # process and the code server build them from the same settings.
        pipeline={
            "timezone": "America/New_York",
            "candidate_threshold": 0.5,
            "start_date": "2026-03-01",
        },
        digest={
            "output_dir": str(output),
            "calendar_path": str(output / "events.ics"),
            "timezone": "America/New_York",
        },
    )
    return build_definitions(settings, executor=dg.in_process_executor)


defs = _definitions()
