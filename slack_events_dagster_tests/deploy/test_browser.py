"""The deployment's UI in a real browser: headless Chromium renders the Dagster webserver's
pages (a JavaScript app reading the GraphQL API) and we read the DOM it built.

Skips when Chromium is not installed, unless SLACK_EVENTS_REQUIRE_BROWSER=1 (set by
.ci/run, which installs it), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from slack_events_dagster_tests.helpers.deployment import DIGEST_DAY, Deployment, SubmittedRun

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("deployment")]

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
# Virtual time lets the app's requests and renders finish before the DOM is dumped.
VIRTUAL_TIME_MS = 15000


@pytest.fixture(scope="module")
def chromium() -> str:
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    reason = "Chromium is not installed (apt-get install -y chromium); the UI test needs it"
    if os.environ.get("SLACK_EVENTS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"SLACK_EVENTS_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def _chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={VIRTUAL_TIME_MS}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def render(chromium: str, tmp_path: Path, url: str) -> str:
    """The DOM after the page's scripts ran: the text a user sees, tags removed."""
    result = _chromium(chromium, tmp_path / "profile-dom", "--dump-dom", url)
    assert result.returncode == 0 and result.stdout, result.stderr[-3000:]
    (tmp_path / "page.html").write_text(result.stdout)
    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", result.stdout, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


def screenshot(chromium: str, tmp_path: Path, url: str) -> Path:
    path = tmp_path / "page.png"
    result = _chromium(
        chromium,
        tmp_path / "profile-shot",
        f"--screenshot={path}",
        "--window-size=1400,900",
        "--hide-scrollbars",
        url,
    )
    assert result.returncode == 0 and path.is_file(), result.stderr[-3000:]
    return path


def test_asset_graph_shows_every_asset(
    chromium: str, deployment: Deployment, tmp_path: Path
) -> None:
    text = render(chromium, tmp_path, f"{deployment.url}/asset-groups/slack_events")
    for name in (
        "raw_slack_messages",
        "event_candidates",
        "events",
        "daily_digest",
        "events_calendar",
    ):
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
