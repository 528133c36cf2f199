"""Headless Chromium for the UI tests: find it (skip, or fail under
SLACK_EVENTS_REQUIRE_BROWSER=1), render a page's DOM after its scripts ran, and take a
screenshot of it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
# Virtual time lets the app's requests and renders finish before the DOM is dumped.
VIRTUAL_TIME_MS = 15000
WINDOW_SIZE = "1400,900"


def find_chromium() -> str:
    """The Chromium binary; skips without one unless SLACK_EVENTS_REQUIRE_BROWSER=1."""
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    reason = "Chromium is not installed (apt-get install -y chromium); the UI test needs it"
    if os.environ.get("SLACK_EVENTS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"SLACK_EVENTS_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def _chromium(
    chromium: str, profile: Path, *args: str, window: str = WINDOW_SIZE
) -> subprocess.CompletedProcess[str]:
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
            f"--window-size={window}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def page_text(html: str) -> str:
    """The text a user sees: scripts, styles and tags removed, whitespace collapsed."""
    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


def render(chromium: str, folder: Path, url: str, name: str = "page") -> str:
    """The DOM after the page's scripts ran (kept as ``folder/<name>.html``), as text."""
    result = _chromium(chromium, folder / f"profile-dom-{name}", "--dump-dom", url)
    assert result.returncode == 0 and result.stdout, result.stderr[-3000:]
    (folder / f"{name}.html").write_text(result.stdout)
    return page_text(result.stdout)


def render_showing(
    chromium: str, folder: Path, url: str, expected: tuple[str, ...], attempts: int = 3
) -> str:
    """:func:`render`, again (up to ``attempts`` times) while the page does not show every
    ``expected`` text yet: on a loaded machine the app's first GraphQL answers can come
    after Chromium's virtual time ran out. Returns the last render's text."""
    text = ""
    for attempt in range(attempts):
        text = render(chromium, folder, url, name=f"page-{attempt}")
        if all(word in text for word in expected):
            break
    return text


def screenshot(
    chromium: str, folder: Path, url: str, name: str = "page", window: str = WINDOW_SIZE
) -> Path:
    """A PNG of the page in a window of ``window`` ("width,height") pixels."""
    path = folder / f"{name}.png"
    result = _chromium(
        chromium,
        folder / f"profile-shot-{name}",
        f"--screenshot={path}",
        "--hide-scrollbars",
        url,
        window=window,
    )
    assert result.returncode == 0 and path.is_file(), result.stderr[-3000:]
    return path
