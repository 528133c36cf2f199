"""What the LLM path reads from real conversations: undated "happening now" events on
their posting day, several events per message, the links that identify an event, and
mentions quoted as names. End to end through the real ``openai`` client against the
local fake server, as in ``test_openai_extractor.py``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from slack_events_dagster.domain.lexicon import CATEGORIES
from slack_events_dagster.domain.models import (
    CandidateStatus,
    DateSource,
    EventCandidate,
    EventCategory,
    EventLink,
    LinkKind,
    SlackMessage,
    datetime_to_ts,
)
from slack_events_dagster.llm import answers, openai_extractor
from slack_events_dagster.llm.answers import message_links, read_answer, select_links
from slack_events_dagster.llm.base import ExtractionInput, ExtractionResult
from slack_events_dagster.llm.openai_extractor import OpenAIExtractor
from slack_events_dagster.llm.prompt import (
    MAX_EVENT_LINKS,
    PROMPT_VERSION,
    SYSTEM_PROMPT,
    CandidateAnswer,
    answer_json_schema,
    json_schema_response_format,
    parse_answer,
    quoted_items,
    system_prompt,
)
from slack_events_dagster.llm.quoting import candidate_id, prompt_item, with_names
from slack_events_dagster.settings import LLMSettings
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.fake_openai import (
    FakeOpenAIServer,
    OracleRequest,
    strict_schema_problems,
)

TZ = "Europe/Berlin"
# 09:00 UTC is 10:00 in Berlin, the same day.
POSTED = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


def make_item(
    text: str,
    *,
    posted: datetime = POSTED,
    names: dict[str, str] | None = None,
    parent: SlackMessage | None = None,
    user: str = "U1",
) -> ExtractionInput:
    ts = datetime_to_ts(posted)
    message = SlackMessage(
        channel_id="C1",
        ts=ts,
        thread_ts=parent.ts if parent is not None else None,
        user=user,
        text=text,
    )
    return ExtractionInput(
        candidate=EventCandidate(channel_id="C1", ts=ts, score=0.9),
        message=message,
        channel_name="releases",
        timezone=TZ,
        thread_parent=parent,
        names=names or {},
    )


def event(**fields: Any) -> dict[str, Any]:
    base = {
        "title": "Release",
        "category": "release",
        "start": "2024-03-10",
        "end": None,
        "all_day": True,
        "date_source": "written",
        "timezone": None,
        "location": None,
        "url": None,
        "links": [],
        "summary": None,
        "confidence": 0.8,
        "status": "scheduled",
    }
    base.update(fields)
    return base


def answering(events: Callable[[dict[str, Any]], list[dict[str, Any]]]) -> Any:
    """An oracle giving each quoted candidate the events ``events`` returns for it."""

    def oracle(request: OracleRequest) -> dict[str, Any]:
        return {
            "candidates": [
                {"candidate_id": item["id"], "events": events(item)} for item in request.candidates
            ]
        }

    return oracle


def settings_for(server: FakeOpenAIServer) -> LLMSettings:
    return LLMSettings(
        provider="openai",
        base_url=server.base_url,
        api_key=SecretStr("sk-test-llm-events-0123456789"),
        model="gpt-4o-mini",
        timeout_s=5.0,
        max_retries=1,
    )


def extract(
    repository: SqlRepository, items: list[ExtractionInput], oracle: Any = None
) -> tuple[ExtractionResult, FakeOpenAIServer]:
    with (
        FakeOpenAIServer(oracle=oracle) as server,
        OpenAIExtractor(settings_for(server), repository) as extractor,
    ):
        return extractor.extract(items), server


def key_of(item: ExtractionInput) -> tuple[str, str]:
    return (item.candidate.channel_id, item.candidate.ts)


@pytest.fixture
def anchors(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[EventLink]]:
    """A stand-in for ``domain/anchors.find_links`` as the extractor calls it: it answers
    the links registered for a text, built by hand, and records what it read (so the
    filtering is tested apart from the classification)."""
    links_by_text: dict[str, list[EventLink]] = {}

    def find_links(mrkdwn: str) -> list[EventLink]:
        links_by_text.setdefault("__read__", []).append(EventLink(kind=LinkKind.LINK, key=mrkdwn))
        return list(links_by_text.get(mrkdwn, []))

    monkeypatch.setattr(answers, "find_links", find_links)
    return links_by_text


# ---------------------------------------------------------------------------
# The prompt and the schema


def test_the_prompt_lists_every_category_with_its_lexicon_text() -> None:
    for describe_schema in (False, True):
        prompt = system_prompt(describe_schema=describe_schema)
        for spec in CATEGORIES:
            assert f'"{spec.category.value}": {spec.prompt}' in prompt, spec.category
    assert {spec.category for spec in CATEGORIES} == set(EventCategory)


def test_the_prompt_explains_undated_events_sources_links_and_noise() -> None:
    prompt = SYSTEM_PROMPT
    for phrase in (
        '"posted": no date at all',
        '"relative"',
        '"written"',
        "day of posted_at",
        "several events",
        "OLake Go v0.7.2",
        "questions",
        "stack traces",
        "timestamps inside logs or code are\n  never event dates",
        "Only\nlinks that occur in the message",
        "untrusted data",
    ):
        assert phrase in prompt, phrase


def test_the_schema_stays_strict_and_carries_date_source_and_links() -> None:
    schema = json_schema_response_format()["json_schema"]["schema"]
    assert strict_schema_problems(schema) == []
    answer_event = answer_json_schema()["$defs"]["AnswerEvent"]
    assert {"date_source", "links"} <= set(answer_event["required"])
    assert answer_event["properties"]["links"]["maxItems"] == MAX_EVENT_LINKS
    assert answer_event["properties"]["links"]["items"] == {"type": "string"}
    date_source = answer_json_schema()["$defs"]["DateSource"]
    assert sorted(date_source["enum"]) == sorted(source.value for source in DateSource)


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ({"date_source": "guessed"}, "date_source"),
        ({"links": "https://example.com/x"}, "links"),
        ({"links": [f"https://example.com/{i}" for i in range(MAX_EVENT_LINKS + 1)]}, "links"),
        ({"links": [42]}, "links"),
    ],
)
def test_answers_with_bad_new_fields_fail_their_candidate(bad: dict[str, Any], why: str) -> None:
    answer = {
        "candidates": [
            {"candidate_id": "a", "events": [event(**bad)]},
            {"candidate_id": "b", "events": [event()]},
        ]
    }
    parsed = parse_answer(json.dumps(answer), ["a", "b"])
    assert set(parsed.answers) == {"b"} and why in parsed.errors["a"]
    missing = {k: v for k, v in event().items() if k != "date_source"}
    parsed = parse_answer(
        json.dumps({"candidates": [{"candidate_id": "a", "events": [missing]}]}), ["a"]
    )
    assert "date_source" in parsed.errors["a"]


def test_the_prompt_hash_changes_with_the_version_and_the_prompt(
    sqlite_repository: SqlRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = [prompt_item(make_item("OLake Go v0.7.2 Released"))]
    with FakeOpenAIServer() as server:
        extractor = OpenAIExtractor(settings_for(server), sqlite_repository)
        current = extractor.prompt_hash(data)
        assert PROMPT_VERSION != "events-v1"
        monkeypatch.setattr(openai_extractor, "PROMPT_VERSION", "events-v1")
        older = extractor.prompt_hash(data)
        monkeypatch.undo()
        monkeypatch.setattr(openai_extractor, "_PROMPT_DIGEST", "another prompt text")
        reworded = extractor.prompt_hash(data)
        monkeypatch.undo()
        assert extractor.prompt_hash(data) == current
        extractor.close()
    assert len({current, older, reworded}) == 3


# ---------------------------------------------------------------------------
# Mentions quoted as names


def test_mentions_are_quoted_as_names_and_links_as_written() -> None:
    names = {"U1": "Ana", "U2": "Ben", "C9": "ops"}
    text = (
        "<@U2> and <@U3|carla> present at <#C9>, cc <#C8|general> <!subteam^S1|@oncall> "
        "<!here> <https://zoom.us/j/123|Zoom>"
    )
    assert with_names(text, names) == (
        "@Ben and @carla present at #ops, cc #general @oncall <!here> <https://zoom.us/j/123|Zoom>"
    )
    assert with_names("<@U404> says hi", names) == "@U404 says hi"
    parent = SlackMessage(channel_id="C1", ts="1709539200.000100", user="U2", text="<@U2> demo")
    item = make_item("moved, ask <@U2>", names=names, parent=parent)
    quoted = prompt_item(item)
    assert quoted["text"] == "moved, ask @Ben"
    assert quoted["thread_parent_text"] == "@Ben demo"
    assert quoted["author"] == "Ana"
    assert prompt_item(make_item("hi", user="U404"))["author"] is None


def test_the_model_receives_names_not_ids(sqlite_repository: SqlRepository) -> None:
    item = make_item("Office hours with <@U7> tomorrow at 3pm", names={"U7": "Dana"})
    result, server = extract(sqlite_repository, [item])
    (sent,) = quoted_items(server.requests[0]["messages"][1]["content"])
    assert sent["text"] == "Office hours with @Dana tomorrow at 3pm"
    (draft,) = result.drafts
    assert draft.date_source is DateSource.RELATIVE
    assert isinstance(draft.start, datetime)
    assert (draft.start.date(), draft.start.hour, draft.timezone) == (date(2024, 3, 5), 15, TZ)


# ---------------------------------------------------------------------------
# Undated events: the posting day


def test_an_undated_release_is_a_posted_event_on_the_posting_day(
    sqlite_repository: SqlRepository,
) -> None:
    items = [
        make_item("OLake Go v0.7.2 Released"),
        # 23:30 UTC is already the next day in Berlin: the posting day is the local one.
        make_item("Dashboard v2 is live!", posted=datetime(2024, 3, 4, 23, 30, tzinfo=UTC)),
        make_item("when is the release?", posted=POSTED + timedelta(minutes=5)),
    ]
    result, _ = extract(sqlite_repository, items)
    by_key = {(d.source.channel_id, d.source.ts): d for d in result.drafts}
    release, launch = by_key[key_of(items[0])], by_key[key_of(items[1])]
    assert release.start == date(2024, 3, 4) and release.all_day and release.end is None
    assert release.date_source is DateSource.POSTED
    assert release.category is EventCategory.RELEASE and release.timezone == TZ
    assert launch.start == date(2024, 3, 5) and launch.category is EventCategory.LAUNCH
    assert launch.date_source is DateSource.POSTED
    assert result.outcomes[key_of(items[2])].status is CandidateStatus.NO_EVENT


def test_dated_events_say_written(sqlite_repository: SqlRepository) -> None:
    item = make_item("Release v3 on 2024-03-10 14:30")
    result, _ = extract(sqlite_repository, [item])
    (draft,) = result.drafts
    assert draft.date_source is DateSource.WRITTEN and not draft.all_day


def test_a_posted_event_with_a_time_is_the_posting_day_all_day() -> None:
    item = make_item("Payments outage")
    answer = _answer(item, event(start="2024-03-04T10:00", all_day=False, date_source="posted"))
    (draft,) = read_answer(answer, item).drafts
    assert draft.start == date(2024, 3, 4) and draft.all_day and draft.timezone == TZ


def test_a_posted_answer_on_another_day_is_rejected_for_that_event(
    sqlite_repository: SqlRepository,
) -> None:
    wrong = event(title="Outage", category="incident", start="2024-03-05", date_source="posted")
    right = event(title="Postmortem", category="meeting", start="2024-03-08")
    alone = make_item("Outage!")
    mixed = make_item("Outage! Postmortem on March 8", posted=POSTED + timedelta(minutes=1))

    def events(item: dict[str, Any]) -> list[dict[str, Any]]:
        return [wrong] if item["id"] == candidate_id(alone) else [wrong, right]

    result, _ = extract(sqlite_repository, [alone, mixed], answering(events))

    failed = result.outcomes[key_of(alone)]
    assert failed.status is CandidateStatus.FAILED
    assert failed.error is not None
    assert "date_source is 'posted'" in failed.error
    assert "not the posting day 2024-03-04" in failed.error and "'Outage'" in failed.error
    assert failed.raw_answer and "2024-03-05" in failed.raw_answer

    # The message's other event stands; the rejected one is on record.
    kept = result.outcomes[key_of(mixed)]
    assert kept.status is CandidateStatus.EXTRACTED
    assert kept.error is not None and "1 of 2 events rejected" in kept.error
    assert "not the posting day" in kept.error
    (draft,) = result.drafts
    assert draft.title == "Postmortem" and draft.start == date(2024, 3, 8)


# ---------------------------------------------------------------------------
# Several events per message


def test_two_events_in_one_message_are_two_drafts(sqlite_repository: SqlRepository) -> None:
    item = make_item(
        "The review is Oct 16 and the launch Oct 20", posted=datetime(2024, 10, 1, 9, tzinfo=UTC)
    )

    def events(_: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            event(title="Design review", category="meeting", start="2024-10-16"),
            event(title="Launch", category="launch", start="2024-10-20"),
        ]

    result, _ = extract(sqlite_repository, [item], answering(events))
    assert result.outcomes[key_of(item)].status is CandidateStatus.EXTRACTED
    assert result.outcomes[key_of(item)].error is None
    assert [(d.title, d.start, d.category) for d in result.drafts] == [
        ("Design review", date(2024, 10, 16), EventCategory.MEETING),
        ("Launch", date(2024, 10, 20), EventCategory.LAUNCH),
    ]
    assert {(d.source.channel_id, d.source.ts) for d in result.drafts} == {key_of(item)}
    assert all(d.date_source is DateSource.WRITTEN for d in result.drafts)


# ---------------------------------------------------------------------------
# Links: selected from the message's, never added


PULL = EventLink(
    kind=LinkKind.GITHUB_PULL, key="acme/api#45", url="https://github.com/acme/api/pull/45"
)
TICKET = EventLink(kind=LinkKind.JIRA, key="OPS-142")
ZOOM = EventLink(kind=LinkKind.ZOOM, key="123", url="https://zoom.us/j/123?pwd=a&b=c")


def test_select_links_keeps_only_the_message_links_the_model_named() -> None:
    found = [PULL, TICKET, ZOOM]
    assert select_links([], found) == []
    assert select_links(["https://evil.example/x", "OPS-999", ""], found) == []
    # The message's order, whatever the model's.
    assert select_links(["OPS-142", "https://github.com/acme/api/pull/45"], found) == [
        PULL,
        TICKET,
    ]
    # Spellings of the same link: a Slack span copied whole, Slack's &amp;, a trailing
    # slash, the case of a key, the key instead of the URL.
    assert select_links(["<https://zoom.us/j/123?pwd=a&amp;b=c|Join>"], found) == [ZOOM]
    assert select_links(["https://github.com/acme/api/pull/45/", "ops-142"], found) == [
        PULL,
        TICKET,
    ]
    assert select_links(["acme/api#45"], found) == [PULL]
    assert select_links(["https://github.com/acme/api/pull/4"], found) == []


def test_links_the_message_does_not_hold_are_dropped(
    sqlite_repository: SqlRepository, anchors: dict[str, list[EventLink]]
) -> None:
    text = "Hotfix for <https://github.com/acme/api/pull/45|#45> ships today, OPS-142"
    anchors[text] = [PULL, TICKET]
    item = make_item(text)

    def events(_: dict[str, Any]) -> list[dict[str, Any]]:
        invented = ["https://evil.example/phish", "OPS-999", "javascript:alert(1)"]
        return [event(start="2024-03-04", date_source="relative", links=invented)]

    result, _ = extract(sqlite_repository, [item], answering(events))
    (draft,) = result.drafts
    assert draft.links == []
    assert result.outcomes[key_of(item)].status is CandidateStatus.EXTRACTED


def test_links_the_model_names_from_the_message_are_kept_and_classified(
    sqlite_repository: SqlRepository, anchors: dict[str, list[EventLink]]
) -> None:
    text = "<@U2> Hotfix for <https://github.com/acme/api/pull/45|#45> ships 2024-03-05, OPS-142"
    anchors[text] = [PULL, TICKET, ZOOM]
    item = make_item(text, names={"U2": "Ben"})

    def events(quoted: dict[str, Any]) -> list[dict[str, Any]]:
        named = ["OPS-142", "https://github.com/acme/api/pull/45", "https://evil.example/x"]
        return [event(title="Hotfix", start="2024-03-05", links=named)]

    result, _ = extract(sqlite_repository, [item], answering(events))
    (draft,) = result.drafts
    assert draft.links == [PULL, TICKET]
    assert [link.kind for link in draft.links] == [LinkKind.GITHUB_PULL, LinkKind.JIRA]
    # find_links read the message's own mrkdwn, not the text quoted with names.
    assert [link.key for link in anchors["__read__"]] == [text]


def test_the_message_is_read_for_links_only_when_the_model_named_some(
    anchors: dict[str, list[EventLink]],
) -> None:
    item = make_item("Release v3 on 2024-03-10")
    answer = _answer(item, event(), event(title="Other"))
    assert len(read_answer(answer, item).drafts) == 2
    assert "__read__" not in anchors
    answer = _answer(item, event(links=["x"]), event(links=["y"]))
    read_answer(answer, item)
    assert len(anchors["__read__"]) == 1  # once per message, not per event


def test_message_links_come_from_the_real_find_links() -> None:
    from slack_events_dagster.domain import anchors

    text = "Hotfix for <https://github.com/acme/api/pull/45|#45>, tracked in OPS-142"
    item = make_item(text)
    assert message_links(item) == anchors.find_links(text)
    answer = _answer(
        item,
        event(links=["https://github.com/acme/api/pull/45", "OPS-142", "https://evil.example/x"]),
    )
    (draft,) = read_answer(answer, item).drafts
    assert {(link.kind, link.key) for link in draft.links} == {
        (LinkKind.GITHUB_PULL, "acme/api#45"),
        (LinkKind.JIRA, "OPS-142"),
    }


def _answer(item: ExtractionInput, *events: dict[str, Any]) -> CandidateAnswer:
    return CandidateAnswer.model_validate_json(
        json.dumps({"candidate_id": candidate_id(item), "events": list(events)})
    )
