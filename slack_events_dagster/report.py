"""What ``slack-events demo`` shows after its run, rendered for a terminal.

Three parts: a table of the events found, the digest of the sample's busiest day, and
the next steps (the UI, the calendar file, a real workspace). ``rich`` draws them: in a
terminal with colour, tables and links; written to a file or a pipe, as plain text
(no escape codes, no Markdown escapes). The events are read through the repository's
ports and listed by :mod:`slack_events_dagster.domain.listing`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Protocol

from rich import box
from rich.console import Console, Group, RenderableType
from rich.markdown import Markdown
from rich.padding import Padding
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from slack_events_dagster.domain.listing import EventRow, busiest_day, event_rows
from slack_events_dagster.settings import Settings
from slack_events_dagster.storage.base import ChannelStore, DigestStore, EventStore
from slack_events_dagster.storage.repository import SqlRepository

# Wide enough for the table's eight columns when the output is a file or a pipe (where
# rich cannot ask a terminal); $COLUMNS still wins.
PLAIN_WIDTH = 120
_STATUS_STYLE = {
    "scheduled": "green",
    "rescheduled": "yellow",
    "tentative": "cyan",
    "cancelled": "red strike",
}


class _ReportStore(EventStore, ChannelStore, DigestStore, Protocol):
    """The ports the report reads: events, channel names, stored digests."""


@dataclass(frozen=True)
class DemoReport:
    """What the demo shows, read from the database after the run."""

    timezone: str
    rows: list[EventRow]
    busiest_day: date | None
    # The stored Markdown digest of that day (None when the run made none).
    digest_markdown: str | None
    calendar_path: Path


def read_report(
    repository: _ReportStore, settings: Settings, first: date, last: date
) -> DemoReport:
    """Every event in the database, and the digest of the busiest day of ``first..last``."""
    zone = settings.digest.timezone
    events = repository.get_events()
    names = {c.id: c.name for c in repository.get_channels(include_archived=True)}
    day = busiest_day(events, timezone=zone, first=first, last=last)
    digest = repository.get_digest(day) if day is not None else None
    return DemoReport(
        timezone=zone,
        rows=event_rows(events, timezone=zone, channel_names=names),
        busiest_day=day,
        digest_markdown=digest.markdown if digest is not None else None,
        calendar_path=Path(settings.digest.calendar_path),
    )


def load_report(settings: Settings, first: date, last: date) -> DemoReport:
    with closing(SqlRepository.from_settings(settings.database)) as repository:
        return read_report(repository, settings, first, last)


def make_console(file: IO[str] | None = None) -> Console:
    """A console on ``file`` (stdout by default): styled in a terminal, plain elsewhere."""
    console = Console(file=file, highlight=False, emoji=False)
    if console.is_terminal or os.environ.get("COLUMNS"):
        return console
    return Console(file=file, highlight=False, emoji=False, width=PLAIN_WIDTH)


def events_table(rows: Sequence[EventRow], *, timezone: str) -> Table:
    """One line per event, the day written once per day."""
    table = Table(
        title=f"{len(rows)} events found (times in {timezone})",
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        header_style="bold",
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
    )
    table.add_column("day", no_wrap=True)
    table.add_column("time", no_wrap=True)
    table.add_column("title", ratio=1)
    table.add_column("category", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("channels", max_width=20, overflow="fold")
    table.add_column("sources", justify="right", no_wrap=True)
    table.add_column("links", max_width=16)
    previous: date | None = None
    for row in rows:
        table.add_row(
            f"{row.day:%a %d %b}" if row.day != previous else "",
            row.time,
            Text(row.title, style="bold"),
            row.category.value,
            Text(row.status.value, style=_STATUS_STYLE.get(row.status.value, "")),
            "\n".join(f"#{name}" for name in row.channels),
            str(row.sources),
            ", ".join(row.links),
        )
        previous = row.day
    return table


class _DigestMarkdown(Markdown):
    """The digest's Markdown with each line kept on its own line (a summary under its
    event), as the Slack message shows it, where CommonMark joins soft line breaks."""

    def __init__(self, markup: str) -> None:
        super().__init__(markup, hyperlinks=True)
        for token in self.parsed:
            for child in token.children or []:
                if child.type == "softbreak":
                    child.type = "hardbreak"


def digest_view(markdown: str) -> RenderableType:
    """A stored digest for the terminal: headings, bold titles, links as their labels
    (clickable in a terminal that supports it) and no Markdown escapes."""
    return _DigestMarkdown(markdown)


def next_steps(calendar_path: Path) -> RenderableType:
    steps = Table.grid(padding=(0, 2))
    steps.add_column(no_wrap=True, style="bold")
    steps.add_column()
    steps.add_row(
        "slack-events ui",
        "open the Dagster UI on these runs: the assets, the events table, the checks",
    )
    steps.add_row(str(calendar_path), "the calendar feed: import it or subscribe to it")
    steps.add_row(
        "config.yaml",
        "your own workspace: README.md, section Configuration (slack.source: api and "
        "SLACK_EVENTS_SLACK__TOKEN), then slack-events run --config config.yaml",
    )
    return steps


def render_demo(report: DemoReport) -> list[RenderableType]:
    parts: list[RenderableType] = [events_table(report.rows, timezone=report.timezone)]
    if report.busiest_day is not None and report.digest_markdown is not None:
        parts += [
            Rule(f"The digest of the busiest day, {report.busiest_day:%A %d %B %Y}"),
            Padding(digest_view(report.digest_markdown), (1, 0, 0, 0)),
        ]
    parts += [Rule("Next steps"), next_steps(report.calendar_path)]
    return parts


def print_demo(report: DemoReport, console: Console | None = None) -> None:
    out = console or make_console()
    shown = Group(*render_demo(report))
    if out.is_terminal:
        out.print(shown)
        return
    # Plain text: rich pads every line to the width; a file or a pipe gets none of it.
    with out.capture() as captured:
        out.print(shown)
    out.file.write("\n".join(line.rstrip() for line in captured.get().splitlines()) + "\n")
