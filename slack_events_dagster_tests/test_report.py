"""`slack-events demo` shows the product: the events found, the digest of the busiest
day read as text (no Markdown escapes), the next steps; plain text when its output is a
file or a pipe, colour and tables in a terminal."""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

from slack_events_dagster.cli import main
from slack_events_dagster.dagster_storage import EVENT_BATCH_SIZE
from slack_events_dagster.domain.models import EventStatus
from slack_events_dagster.pipeline import SAMPLE_END, SAMPLE_START, demo_settings
from slack_events_dagster.report import DemoReport, load_report, print_demo
from slack_events_dagster.settings import load_settings
from slack_events_dagster.storage.repository import SqlRepository

ANSI = re.compile(r"\x1b[\[\]]")
# A backslash before a character Markdown would otherwise read ("KubeCon \+ CloudNativeCon",
# "4\.14", "\#general").
MARKDOWN_ESCAPE = re.compile(r"\\[\\`*_{}\[\]()#+\-.!|~]")


@dataclass
class Demo:
    output_dir: Path
    stdout: str
    exit_code: int


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`slack-events demo` once, its output a pipe (not a terminal), on a fresh folder."""
    output_dir = tmp_path_factory.mktemp("demo")
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as env:
        for name in ("DAGSTER_HOME", "SLACK_EVENTS_CONFIG", "FORCE_COLOR", "TTY_COMPATIBLE"):
            env.delenv(name, raising=False)
        env.delenv("COLUMNS", raising=False)
        # The command sets it for its process; the test's process gets its own value back.
        env.setenv("DAGSTER_EVENT_BATCH_SIZE", EVENT_BATCH_SIZE)
        env.chdir(output_dir)
        with redirect_stdout(out):
            code = main(["demo", "--output-dir", str(output_dir)])
    yield Demo(output_dir, out.getvalue(), code)


def test_the_demo_lists_the_events_then_the_busiest_digest_then_next_steps(demo: Demo) -> None:
    assert demo.exit_code == 0
    with SqlRepository.from_url(f"sqlite:///{demo.output_dir / 'slack_events.db'}") as repository:
        stored = repository.get_events()
    assert stored, "the sample has events"
    out = demo.stdout
    table = out.index(f"{len(stored)} events found (times in America/New_York)")
    digest = out.index("The digest of the busiest day, ")
    steps = out.index("Next steps")
    assert table < digest < steps
    for event in stored:
        first_word = event.title.split()[0]
        assert first_word in out[table:digest], event.title
    # The table's header and a row as a newcomer reads them.
    assert re.search(r"day\s+time\s+title\s+category\s+status\s+channels\s+sources\s+links", out)
    assert re.search(r"#releases", out[table:digest])
    # The digest is the stored one of that day, read as text.
    assert "Events digest · " in out[digest:steps]
    assert "Coming up" in out[digest:steps]
    # The next steps: the UI, the calendar file, a real workspace.
    after = out[steps:]
    assert "slack-events ui" in after
    assert str(demo.output_dir / "events.ics") in after
    assert "Configuration" in after and "slack.source: api" in after


def test_piped_output_is_plain_text(demo: Demo) -> None:
    assert not ANSI.search(demo.stdout)
    assert not MARKDOWN_ESCAPE.search(demo.stdout), MARKDOWN_ESCAPE.findall(demo.stdout)
    assert "**" not in demo.stdout and "](" not in demo.stdout  # no bold markers, no link syntax
    assert all(line == line.rstrip() for line in demo.stdout.splitlines())


def _report(demo: Demo) -> DemoReport:
    settings = demo_settings(load_settings(), output_dir=demo.output_dir)
    return load_report(settings, SAMPLE_START, SAMPLE_END)


def test_the_busiest_day_is_shown_with_its_own_digest(demo: Demo) -> None:
    report = _report(demo)
    assert report.busiest_day is not None
    assert SAMPLE_START <= report.busiest_day <= SAMPLE_END
    per_day = Counter(
        r.day
        for r in report.rows
        if r.status is not EventStatus.CANCELLED and SAMPLE_START <= r.day <= SAMPLE_END
    )
    assert per_day[report.busiest_day] == max(per_day.values())
    assert report.digest_markdown is not None
    assert f"{report.busiest_day:%A} {report.busiest_day.day} " in report.digest_markdown
    assert f"The digest of the busiest day, {report.busiest_day:%A %d %B %Y}" in demo.stdout


def test_a_terminal_gets_colour_and_still_no_markdown_escapes(demo: Demo) -> None:
    report = _report(demo)
    assert report.digest_markdown is not None
    assert MARKDOWN_ESCAPE.search(report.digest_markdown), "the stored digest is Markdown"
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, color_system="truecolor", width=120)
    print_demo(report, console)
    shown = screen.getvalue()
    assert "\x1b[" in shown  # styled
    assert "\x1b]8;" in shown  # links are clickable (OSC 8), not printed as Markdown
    text = re.sub(r"\x1b\]8;[^\x1b]*\x1b\\|\x1b\[[0-9;]*m", "", shown)
    assert not MARKDOWN_ESCAPE.search(text), MARKDOWN_ESCAPE.findall(text)
    assert f"{len(report.rows)} events found" in text
    assert "slack-events ui" in text
