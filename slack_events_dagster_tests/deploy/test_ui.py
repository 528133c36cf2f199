"""`slack-events demo`, then `slack-events ui`, as a newcomer runs them: in a fresh folder,
no config file, no DAGSTER_HOME. Headless Chromium renders the asset graph, the `events`
asset and the automation page; the webserver's GraphQL API says what the pages draw from.
Then Ctrl-C stops the UI and everything it started.

The screenshots stay in the test's folder (printed; `pytest -s` shows the path):
asset-graph.png, events.png, events-partitions.png, automation.png.

Skips when Chromium is not installed, unless SLACK_EVENTS_REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from slack_events_dagster.ui import group_alive
from slack_events_dagster_tests.helpers.browser import find_chromium, render, screenshot
from slack_events_dagster_tests.helpers.deployment import free_port, graphql

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ui")]

VENV_BIN = Path(sys.executable).parent
# Bounded waits for a loaded two-core machine; never asserted as timings.
START_TIMEOUT_S = 240.0
SAMPLE_DAYS, SAMPLE_CHANNELS = 21, 8
ENGINEERING, ENGINEERING_DAY = "C0VLNVAD8VE", "2026-03-10"
ASSETS_BY_CHANNEL_DAY = ("raw_slack_messages", "event_candidates", "events")
ASSETS_BY_DAY = ("daily_digest", "events_calendar")
# What the `events` materialization shows of its events: the Markdown table of its
# range's events (defs/assets.events_table).
EVENTS_TABLE_KEY = "events"
EVENTS_TABLE_HEADER = "| day | time | title | category | status | channels | sources | links |"
COMMUNITY_DIALOG = "Join the Dagster community"
LOCATION = {"repositoryName": "__repository__", "repositoryLocationName": "slack_events_dagster"}


@dataclass
class RunningUi:
    root: Path
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    screenshots: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def group(self) -> int:
        """The process group of `dagster dev` (printed by `slack-events ui`)."""
        for line in self.output().splitlines():
            if "process group" in line:
                return int(line.split("process group ")[1].split(";")[0])
        raise AssertionError(f"no process group printed:\n{self.output()}")

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return graphql(self.url, query, variables)

    def wait_for(self, what: str, probe: Any, timeout: float = START_TIMEOUT_S) -> Any:
        deadline = time.monotonic() + timeout
        last: BaseException | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"slack-events ui exited while waiting for {what}:\n" + self.output()[-5000:]
                )
            try:
                result = probe()
            except (OSError, urllib.error.URLError, AssertionError, KeyError) as exc:
                last, result = exc, None
            if result:
                return result
            time.sleep(1.0)
        raise AssertionError(
            f"timed out waiting for {what} (last error {last!r}):\n{self.output()[-5000:]}"
        )


def group_members(group: int) -> list[str]:
    """The processes of a process group (state and command line), from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group:
                cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")
                members.append(f"{stat.parent.name} {fields[0]} {cmdline[:200].decode()}")
    return members


def newcomer_env() -> dict[str, str]:
    """The shell of someone who just installed: no product settings, no DAGSTER_HOME."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_EVENTS_", "DAGSTER_", "PYTEST_"))
    }
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture(scope="module")
def chromium() -> str:
    return find_chromium()


@pytest.fixture(scope="module")
def demo_ui(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningUi]:
    root = tmp_path_factory.mktemp("newcomer")
    env = newcomer_env()
    demo = subprocess.run(
        ["slack-events", "demo"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    port = free_port()
    log = root / "ui.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            ["slack-events", "ui", "--port", str(port)],
            cwd=root,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            # As a terminal would: Ctrl-C goes to `slack-events ui` only; it stops the rest.
            start_new_session=True,
        )
    screenshots = root / "screenshots"
    screenshots.mkdir()
    print(f"\nscreenshots of the UI test: {screenshots}")
    ui = RunningUi(root, f"http://127.0.0.1:{port}", process, log, screenshots)
    try:
        yield ui
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(AssertionError, ProcessLookupError, PermissionError):
            os.killpg(ui.group(), signal.SIGKILL)
        process.wait(timeout=30)


def _location_loaded(ui: RunningUi) -> bool:
    data = ui.graphql(
        """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
              locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
    )
    for entry in data["workspaceOrError"]["locationEntries"]:
        error = entry["locationOrLoadError"] or {}
        assert error.get("__typename") != "PythonError", error.get("message")
    return any(
        (e["locationOrLoadError"] or {}).get("__typename") == "RepositoryLocation"
        for e in data["workspaceOrError"]["locationEntries"]
    )


def _automation(ui: RunningUi) -> dict[str, dict[str, Any]]:
    """Each sensor's and schedule's status and recent ticks."""
    data = ui.graphql(
        """query($repo: RepositorySelector!) {
             sensorsOrError(repositorySelector: $repo) { ... on Sensors { results {
               name sensorState { status ticks(limit: 20) { status skipReason
                 error { message } } } } } }
             schedulesOrError(repositorySelector: $repo) { ... on Schedules { results {
               name scheduleState { status ticks(limit: 20) { status skipReason
                 error { message } } } } } } }""",
        {"repo": LOCATION},
    )
    states = {s["name"]: s["sensorState"] for s in data["sensorsOrError"]["results"]}
    states.update({s["name"]: s["scheduleState"] for s in data["schedulesOrError"]["results"]})
    return states


def _partition_stats(ui: RunningUi) -> dict[str, dict[str, int]]:
    data = ui.graphql(
        """{ assetNodes { assetKey { path }
               partitionStats { numMaterialized numPartitions numFailed } } }"""
    )
    return {"/".join(n["assetKey"]["path"]): n["partitionStats"] for n in data["assetNodes"]}


def _events_table(ui: RunningUi) -> str:
    """The events table of #engineering's materialization of one day, as stored."""
    data = ui.graphql(
        """query($partition: String!) { assetOrError(assetKey: {path: ["events"]}) {
             ... on Asset { assetMaterializations(partitions: [$partition], limit: 1) {
               metadataEntries { label ... on MarkdownMetadataEntry { mdStr } } } } } }""",
        {"partition": f"{ENGINEERING}|{ENGINEERING_DAY}"},
    )
    [materialization] = data["assetOrError"]["assetMaterializations"]
    tables = [
        e.get("mdStr") or ""
        for e in materialization["metadataEntries"]
        if e["label"] == EVENTS_TABLE_KEY
    ]
    assert tables, materialization
    return tables[0]


def test_demo_then_ui_in_a_browser(chromium: str, demo_ui: RunningUi) -> None:
    ui = demo_ui
    ui.wait_for("the webserver", lambda: "Dagster UI ready" in ui.output())
    ui.wait_for("the code location", lambda: _location_loaded(ui))
    # The daemon's first evaluation of every running sensor.
    running = ("channel_discovery_sensor", "alert_sensor")
    states = ui.wait_for(
        "a tick of each running sensor",
        lambda: (s := _automation(ui)) and all(s[n]["ticks"] for n in running) and s,
    )

    # The demo's instance: its runs are here (8 channels + the digest, all succeeded).
    runs = ui.graphql("{ runsOrError { ... on Runs { results { status jobName } } } }")
    results = runs["runsOrError"]["results"]
    assert sorted(r["jobName"] for r in results) == ["digest_job"] + ["ingest_job"] * 8
    assert {r["status"] for r in results} == {"SUCCESS"}

    # Every asset materialized for each of the sample's days (and channels), no more days.
    stats = _partition_stats(ui)
    for name in ASSETS_BY_CHANNEL_DAY:
        total = SAMPLE_DAYS * SAMPLE_CHANNELS
        assert stats[name] == {"numMaterialized": total, "numPartitions": total, "numFailed": 0}
    for name in ASSETS_BY_DAY:
        assert stats[name] == {
            "numMaterialized": SAMPLE_DAYS,
            "numPartitions": SAMPLE_DAYS,
            "numFailed": 0,
        }

    # The trial states: discovery and alerts run, the schedule and the watermark sensor
    # are stopped; no tick of anything failed.
    assert {name: state["status"] for name, state in states.items()} == {
        "channel_discovery_sensor": "RUNNING",
        "alert_sensor": "RUNNING",
        "watermark_sensor": "STOPPED",
        "daily_digest_schedule": "STOPPED",
    }
    ticks = [t for state in _automation(ui).values() for t in state["ticks"]]
    assert ticks and not [t for t in ticks if t["status"] == "FAILURE"], ticks
    assert {t["status"] for t in ticks} == {"SKIPPED"}, ticks

    # The events table the materialization carries (shown behind "Show Markdown").
    table = _events_table(ui)
    assert EVENTS_TABLE_HEADER in table, table
    assert len(table.splitlines()) > 2, table

    shots = ui.screenshots
    graph = render(chromium, shots, f"{ui.url}/asset-groups/slack_events", "asset-graph")
    for name in (*ASSETS_BY_CHANNEL_DAY, *ASSETS_BY_DAY):
        assert name in graph, graph[:3000]
    assert COMMUNITY_DIALOG not in graph

    events_page = (
        f"{ui.url}/assets/events?view=partitions&partition={ENGINEERING}%7C{ENGINEERING_DAY}"
    )
    events = render(chromium, shots, events_page, "events-partitions")
    total = SAMPLE_DAYS * SAMPLE_CHANNELS
    assert f"{total} Partitions" in events, events[:3000]
    assert f"Materialized ({total})" in events and "Missing (0)" in events, events[:3000]
    assert f"{ENGINEERING}|{ENGINEERING_DAY} Materialized" in events, events[:3000]
    assert f"{EVENTS_TABLE_KEY} [Show Markdown]" in events, events[-3000:]
    assert COMMUNITY_DIALOG not in events

    overview = render(chromium, shots, f"{ui.url}/assets/events", "events")
    assert "The product's output: events" in overview, overview[:3000]
    assert COMMUNITY_DIALOG not in overview

    automation = render(chromium, shots, f"{ui.url}/automation", "automation")
    for name in states:
        assert name in automation, automation[:3000]
    assert COMMUNITY_DIALOG not in automation

    for name, url, window in (
        ("asset-graph", f"{ui.url}/asset-groups/slack_events", "1400,900"),
        ("events", f"{ui.url}/assets/events", "1400,1600"),
        # Tall enough for the partition's metadata down to the events table.
        ("events-partitions", events_page, "1400,1600"),
        ("automation", f"{ui.url}/automation", "1400,900"),
    ):
        assert screenshot(chromium, shots, url, name, window).stat().st_size > 10_000

    # Ctrl-C: `slack-events ui` stops dagster dev, its webserver, daemon and code servers.
    group = ui.group()
    ui.process.send_signal(signal.SIGINT)
    assert ui.process.wait(timeout=120) == 0, ui.output()[-3000:]
    assert not group_alive(group), group_members(group)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{ui.url}/server_info", timeout=5)
