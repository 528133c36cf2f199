"""Anchors through the steps, on SQLite and PostgreSQL: messages carrying every kind of
link are extracted, merged (a shared ticket joins two titles; a move posted ten days
later in another channel finds its event by the ticket alone), stored, read back, shown
in the digest and written to the calendar feed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import icalendar

from slack_events_dagster import steps
from slack_events_dagster.domain.anchors import find_links
from slack_events_dagster.domain.models import (
    DateSource,
    EventCandidate,
    EventCategory,
    EventDraft,
    EventStatus,
    LinkKind,
    SlackChannel,
    SlackMessage,
)
from slack_events_dagster.llm.base import ExtractionInput, ExtractionResult, ExtractionResults
from slack_events_dagster.settings import Settings, load_settings
from slack_events_dagster.storage.repository import SqlRepository

CUTOVER_AT = datetime(2026, 3, 10, 22, tzinfo=UTC)
ZOOM_URL = "https://acme.zoom.us/j/81234567890?pwd=abc"
TEAMS_URL = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0"
NOTION_ID = "0123456789abcdef0123456789abcdef"


@dataclass(frozen=True)
class Said:
    """A message and the event a reader takes from it (its links come from the text)."""

    channel: str
    posted: datetime
    text: str
    title: str
    category: EventCategory
    start: datetime | date
    fields: tuple[tuple[str, Any], ...] = ()


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


MESSAGES = [
    Said(
        "C_OPS",
        at(2, 9),
        "Payments cutover Tue 22:00 UTC, tracked in "
        "<https://acme.atlassian.net/browse/OPS-142|OPS-142>, runbook "
        "<https://acme.atlassian.net/wiki/spaces/OPS/pages/98765/Runbook|here>",
        "Payments cutover",
        EventCategory.MAINTENANCE,
        CUTOVER_AT,
    ),
    Said(
        "C_ENG",
        at(2, 10),
        "DB failover window for OPS-142: MR "
        "<https://gitlab.com/infra/db/-/merge_requests/12|!12>, notes "
        f"https://www.notion.so/acme/Failover-notes-{NOTION_ID}",
        "DB failover window",
        EventCategory.MAINTENANCE,
        CUTOVER_AT,
    ),
    Said(
        "C_GEN",
        at(2, 11),
        f"Platform sync Tuesday 15:00 <{ZOOM_URL.replace('&', '&amp;')}|Zoom>",
        "Platform sync",
        EventCategory.MEETING,
        at(10, 15),
    ),
    Said(
        "C_GEN",
        at(2, 12),
        f"Design review on the 17th, same bridge {ZOOM_URL}",
        "Design review",
        EventCategory.MEETING,
        at(17, 15),
    ),
    Said(
        "C_REL",
        at(2, 13),
        "API 2.1 on Wednesday: <https://github.com/acme/api/issues/44|#44>, "
        "<https://github.com/acme/api/pull/45|PR 45>, "
        "<https://github.com/acme/api/releases/tag/v2.1.0>, plan "
        "<https://docs.google.com/document/d/1AbC/edit|doc>",
        "API 2.1 release",
        EventCategory.RELEASE,
        date(2026, 3, 11),
    ),
    Said(
        "C_ENG",
        at(2, 14),
        "Platform 3.0 go/no-go Wed 10:00: <https://gitlab.com/g/p/-/issues/3>, "
        "<https://gitlab.com/g/p/-/tags/v3.0>, https://meet.google.com/abc-defg-hij",
        "Platform 3.0 go/no-go",
        EventCategory.MEETING,
        at(11, 10),
    ),
    Said(
        "C_OPS",
        at(2, 15),
        f"Vendor call Thursday 16:00 <{TEAMS_URL}|Teams>, backup "
        "<https://acme.webex.com/meet/ada>, status https://status.example.com/vendor",
        "Vendor call",
        EventCategory.MEETING,
        at(12, 16),
    ),
    # Ten days after the announcement, in another channel, named differently: the ticket.
    Said(
        "C_REL",
        at(12, 9),
        "Change window for OPS-142 slips to next Friday 22:00",
        "Change window slips",
        EventCategory.MAINTENANCE,
        at(20, 22),
        (("status", EventStatus.RESCHEDULED), ("date_source", DateSource.RELATIVE)),
    ),
]


def ts_of(said: Said) -> str:
    return f"{int(said.posted.timestamp())}.000100"


class ScriptedExtractor:
    """Reads each message as :data:`MESSAGES` says, its links with ``find_links``: what
    the rule extractor is to do, without depending on its wording of dates."""

    name = "scripted"

    def extract(self, items: Sequence[ExtractionInput]) -> ExtractionResult:
        by_key = {(said.channel, ts_of(said)): said for said in MESSAGES}
        result = ExtractionResult()
        for item in items:
            said = by_key[(item.key.channel_id, item.key.ts)]
            result.drafts.append(
                EventDraft(
                    title=said.title,
                    category=said.category,
                    start=said.start,
                    links=find_links(item.message.text),
                    source=item.key,
                    **dict(said.fields),
                )
            )
        return result

    def extract_groups(self, groups: Sequence[Sequence[ExtractionInput]]) -> ExtractionResults:
        for group in groups:
            yield self.extract(group)


def settings_for(tmp_path: Path) -> Settings:
    return load_settings(
        pipeline={"timezone": "UTC", "start_date": date(2026, 3, 1)},
        slack={"workspace_url": "https://acme.slack.com"},
        digest={
            "output_dir": str(tmp_path),
            "calendar_path": str(tmp_path / "events.ics"),
            "lookahead_days": 14,
        },
    )


def test_every_anchor_kind_is_merged_stored_shown_and_in_the_feed(
    repository: SqlRepository, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path)
    channels = [
        SlackChannel(id=c, name=c[2:].lower()) for c in ("C_OPS", "C_ENG", "C_GEN", "C_REL")
    ]
    repository.upsert_channels(channels)
    repository.upsert_messages(
        [SlackMessage(channel_id=s.channel, ts=ts_of(s), user="U1", text=s.text) for s in MESSAGES]
    )
    repository.upsert_candidates(
        [
            EventCandidate(channel_id=s.channel, ts=ts_of(s), score=0.9, reasons=["test"])
            for s in MESSAGES
        ]
    )
    extractor = ScriptedExtractor()
    now = at(13, 12)
    for channel in channels:
        # Each day alone: the move of 12 March merges with only its own days loaded.
        for day in steps.days(date(2026, 3, 2), date(2026, 3, 12)):
            steps.extract_days(repository, extractor, settings, channel, day, day, now=now)

    events = {event.title: event for event in repository.get_events()}
    assert set(events) == {
        "Payments cutover",
        "Platform sync",
        "Design review",
        "API 2.1 release",
        "Platform 3.0 go/no-go",
        "Vendor call",
    }
    # Every kind was extracted and stored, and read back with its event.
    assert {link.kind for event in events.values() for link in event.links} == set(LinkKind)
    cutover = events["Payments cutover"]
    assert {s.channel_id for s in cutover.sources} == {"C_OPS", "C_ENG", "C_REL"}
    assert cutover.start == at(20, 22) and cutover.status is EventStatus.RESCHEDULED
    assert cutover.date_source is DateSource.RELATIVE and len(cutover.history) == 1
    assert [(link.kind, link.key) for link in cutover.links] == [
        (LinkKind.JIRA, "OPS-142"),
        (LinkKind.GITLAB_MERGE_REQUEST, "infra/db!12"),
        (LinkKind.CONFLUENCE, "98765"),
        (LinkKind.NOTION, NOTION_ID),
    ]
    assert cutover.links[0].url == "https://acme.atlassian.net/browse/OPS-142"
    # The weekly bridge is two events; the Zoom link's "&amp;" is decoded.
    assert events["Platform sync"].links == events["Design review"].links
    assert events["Platform sync"].links[0].url == ZOOM_URL
    assert [e.event_id for e in repository.get_events_for_links([("jira", "OPS-142")])] == [
        cutover.event_id
    ]
    # A re-run reads the same messages again and changes nothing.
    before = repository.get_events()
    for channel in channels:
        steps.extract_days(
            repository, extractor, settings, channel, date(2026, 3, 2), date(2026, 3, 12), now=now
        )
    assert repository.get_events() == before

    (digest,) = steps.build_daily_digests(repository, settings, [date(2026, 3, 9)], now=now)
    markdown = digest.markdown
    assert markdown == (tmp_path / "digest-2026-03-09.md").read_text(encoding="utf-8")
    for shown in (
        "[OPS\\-142](https://acme.atlassian.net/browse/OPS-142)",
        "[infra/db\\!12](https://gitlab.com/infra/db/-/merge_requests/12)",
        "[Confluence](https://acme.atlassian.net/wiki/spaces/OPS/pages/98765/Runbook)",
        f"[Notion](https://www.notion.so/acme/Failover-notes-{NOTION_ID})",
        f"📹 [Join]({ZOOM_URL})",
        "[acme/api\\#44](https://github.com/acme/api/issues/44)",
        "[acme/api\\#45](https://github.com/acme/api/pull/45)",
        "[v2\\.1\\.0](https://github.com/acme/api/releases/tag/v2.1.0)",
        "[doc](https://docs.google.com/document/d/1AbC/edit)",
        "📹 [Join](https://meet.google.com/abc-defg-hij)",
        "[g/p\\#3](https://gitlab.com/g/p/-/issues/3)",
        "[v3\\.0](https://gitlab.com/g/p/-/tags/v3.0)",
        f"📹 [Join]({TEAMS_URL})",
    ):
        assert shown in markdown, shown
    assert markdown.count(f"📹 [Join]({ZOOM_URL})") == 2
    # One meeting to join a line (Webex is the Teams call's backup); plain links unlisted.
    assert "webex" not in markdown and "status.example.com" not in markdown
    assert "<https://acme.atlassian.net/browse/OPS-142|OPS-142>" in digest.slack_text

    path, count = steps.write_calendar_feed(repository, settings)
    assert count == 6
    feed = {
        str(component["SUMMARY"]): component
        for component in icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")
    }
    sync = feed["Platform sync"]
    assert str(sync["URL"]) == str(sync["LOCATION"]) == ZOOM_URL
    vendor = feed["Vendor call"]
    assert str(vendor["URL"]) == str(vendor["LOCATION"]) == TEAMS_URL
    vendor_lines = str(vendor["DESCRIPTION"]).splitlines()
    assert "Webex acme/meet/ada: https://acme.webex.com/meet/ada" in vendor_lines
    assert "Link status.example.com/vendor: https://status.example.com/vendor" in vendor_lines
    cutover_lines = str(feed["Payments cutover"]["DESCRIPTION"]).splitlines()
    assert "Jira OPS-142: https://acme.atlassian.net/browse/OPS-142" in cutover_lines
    assert "GitLab merge request infra/db!12: https://gitlab.com/infra/db/-/merge_requests/12" in (
        cutover_lines
    )
    assert feed["Payments cutover"].decoded("DTSTART") == at(20, 22)
    # Without a meeting the URL is the announcement's permalink.
    assert str(feed["Payments cutover"]["URL"]).startswith("https://acme.slack.com/archives/C_OPS/")
    release_lines = str(feed["API 2.1 release"]["DESCRIPTION"]).splitlines()
    for line in (
        "GitHub issue acme/api#44: https://github.com/acme/api/issues/44",
        "GitHub pull request acme/api#45: https://github.com/acme/api/pull/45",
        "GitHub release acme/api@v2.1.0: https://github.com/acme/api/releases/tag/v2.1.0",
        "Google Docs 1AbC: https://docs.google.com/document/d/1AbC/edit",
    ):
        assert line in release_lines
    go_lines = str(feed["Platform 3.0 go/no-go"]["DESCRIPTION"]).splitlines()
    assert "GitLab issue g/p#3: https://gitlab.com/g/p/-/issues/3" in go_lines
    assert "GitLab release g/p@v3.0: https://gitlab.com/g/p/-/tags/v3.0" in go_lines
    assert str(feed["Platform 3.0 go/no-go"]["LOCATION"]) == "https://meet.google.com/abc-defg-hij"
