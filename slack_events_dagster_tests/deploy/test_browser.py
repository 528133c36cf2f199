"""The deployment's UI in a real browser: headless Chromium renders the Dagster webserver's
pages (a JavaScript app reading the GraphQL API) and we read the DOM it built.

Skips when Chromium is not installed, unless SLACK_EVENTS_REQUIRE_BROWSER=1 (set by
.ci/run, which installs it), which turns the skip into a failure.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from slack_events_dagster_tests.helpers.browser import (
    find_chromium,
    render,
    render_showing,
    screenshot,
)
from slack_events_dagster_tests.helpers.deployment import DIGEST_DAY, Deployment, SubmittedRun

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("deployment")]


@pytest.fixture(scope="module")
def chromium() -> str:
    return find_chromium()


def test_asset_graph_shows_every_asset(
    chromium: str, deployment: Deployment, tmp_path: Path
) -> None:
    names = ("raw_slack_messages", "event_candidates", "events", "daily_digest", "events_calendar")
    text = render_showing(chromium, tmp_path, f"{deployment.url}/asset-groups/slack_events", names)
    for name in names:
        assert name in text, f"{name} not on the asset graph page: {text[:2000]}"


def test_daily_digest_materialization_page_shows_the_digest(
    chromium: str, deployment: Deployment, digest_run: SubmittedRun, tmp_path: Path
) -> None:
    assert digest_run.status == "SUCCESS", deployment.logs()
    url = f"{deployment.url}/assets/daily_digest?view=events&partition={DIGEST_DAY}"
    text = render(chromium, tmp_path, url)
    assert "daily_digest" in text
    # The materialization the digest run made, with its metadata as a person sees it.
    assert f"Partition {DIGEST_DAY} materialized in run {digest_run.run_id[:8]}" in text, text
    assert re.search(r"\bevents \d+\b", text), text
    assert "dry run (digest.post is false)" in text, text
    assert "Show Markdown" in text, text
    assert f"digest-{DIGEST_DAY}.md" in text, text
    # deploy/dagster.yaml turns the onboarding dialog off: nothing covers the page.
    assert "Join the Dagster community" not in text
    shot = screenshot(chromium, tmp_path, url)
    assert shot.stat().st_size > 10_000
