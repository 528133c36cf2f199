"""The fake OpenAI server, driven by the real ``openai`` client over HTTP."""

from __future__ import annotations

import ast
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, cast

import openai
import pytest
from openai import OpenAI

from slack_events_dagster.llm.prompt import (
    json_schema_response_format,
    parse_answer,
    system_prompt,
    user_message,
)
from slack_events_dagster.testing import fake_openai
from slack_events_dagster.testing.fake_openai import (
    FAULT_KINDS,
    FakeOpenAIServer,
    OracleRequest,
    naive_events,
    naive_oracle,
    running_fake_openai,
    strict_schema_problems,
)
from slack_events_dagster_tests.helpers.processes import stop_process

KEY = "sk-test-fake-0123456789abcdef"

ITEMS: list[dict[str, Any]] = [
    {
        "id": f"C1:170000000{i}.000100",
        "channel": "#releases",
        "posted_at": "2024-03-01T09:00:00+01:00",
        "timezone": "Europe/Berlin",
        "thread_parent_text": None,
        "text": f"Release v{i} on 2024-03-1{i} 14:30 https://example.com/r{i}",
    }
    for i in range(5)
] + [
    {
        "id": "C1:1700000009.000100",
        "channel": "#random",
        "posted_at": "2024-03-01T09:00:00+01:00",
        "timezone": "Europe/Berlin",
        "thread_parent_text": None,
        "text": "lunch anyone?",
    }
]


def _messages(describe_schema: bool = False) -> list[Any]:
    return [
        {"role": "system", "content": system_prompt(describe_schema=describe_schema)},
        {"role": "user", "content": user_message(ITEMS)},
    ]


def _client(server: FakeOpenAIServer, **options: Any) -> OpenAI:
    options.setdefault("timeout", 2.0)
    options.setdefault("max_retries", 0)
    return OpenAI(base_url=server.base_url, api_key=KEY, **options)


def _ask(client: OpenAI, **options: Any) -> Any:
    options.setdefault("response_format", json_schema_response_format())
    return client.chat.completions.create(model="gpt-4o-mini", messages=_messages(), **options)


IDS = [str(item["id"]) for item in ITEMS]


def test_models_endpoint_lists_the_model() -> None:
    with FakeOpenAIServer(model="local-llama") as server:
        models = _client(server).models.list()
        assert [model.id for model in models.data] == ["local-llama"]
        assert server.request_count == 1


def test_json_schema_answer_is_valid_and_reports_usage() -> None:
    with FakeOpenAIServer() as server:
        response = _ask(_client(server))
        content = response.choices[0].message.content
        parsed = parse_answer(content, IDS)
        assert parsed.error is None and not parsed.errors
        assert len(parsed.answers["C1:1700000001.000100"].events) == 1
        (release,) = parsed.answers["C1:1700000001.000100"].events
        assert release.date_source == "written" and release.links == ["https://example.com/r1"]
        assert parsed.answers["C1:1700000009.000100"].events == []
        assert response.usage is not None
        assert response.usage.prompt_tokens > 0 and response.usage.completion_tokens > 0
        assert server.completions_served == 1
        assert server.response_modes == {"json_schema": 1}


def test_default_oracle_shuffles_entries_but_keeps_ids() -> None:
    request = OracleRequest(body={}, candidates=ITEMS, response_mode="json_schema")
    answer = naive_oracle(request)
    ids = [entry["candidate_id"] for entry in answer["candidates"]]
    assert sorted(ids) == sorted(IDS)
    assert ids != IDS  # shuffled, so callers must map answers back by id
    assert naive_oracle(request) == answer  # and repeatably so


def _item(text: str, parent: str | None = None) -> dict[str, Any]:
    return {
        "id": "C1:1.0",
        "posted_at": "2024-12-28T09:00:00+00:00",
        "timezone": "Europe/Berlin",
        "thread_parent_text": parent,
        "text": text,
    }


def test_default_oracle_reads_month_names_and_times_like_people_write_them() -> None:
    (event,) = naive_events(_item("Release v4.12 is scheduled for Thu, Jan 2 at 3:30pm UTC"))
    # The year that puts "Jan 2" after a message posted on 28 December.
    assert event["start"] == "2025-01-02T15:30" and event["timezone"] == "UTC"
    assert event["title"] == "Release v4.12 is scheduled for Thu" and not event["all_day"]
    (iso,) = naive_events(_item("Maintenance 2024-12-30 22:00-23:30 UTC"))
    assert iso["start"] == "2024-12-30T22:00" and iso["category"] == "maintenance"
    (deadline,) = naive_events(_item("Deadline for Q1 drafts is Friday, January 3 EOD"))
    assert deadline["start"] == "2025-01-03" and deadline["all_day"]
    assert naive_events(_item("I'm out on Friday, back Monday")) == []


def test_default_oracle_reads_a_thread_change_against_its_parent() -> None:
    parent = "Release v4.12 is scheduled for Dec 30 at 15:00 UTC"
    (moved,) = naive_events(_item("Update: this moved to December 31 at 16:00 UTC", parent))
    assert moved["status"] == "rescheduled" and moved["start"] == "2024-12-31T16:00"
    assert moved["title"] == "Release v4.12 is scheduled for"
    (cancelled,) = naive_events(_item("Cancelled, sorry all.", parent))
    assert cancelled["status"] == "cancelled" and cancelled["start"] == "2024-12-30T15:00"
    # Without a parent there is nothing to cancel.
    assert naive_events(_item("Cancelled, sorry all.")) == []


def test_default_oracle_reads_undated_news_on_the_posting_day() -> None:
    text = "OLake Go v0.7.2 Released <https://github.com/datazip-inc/olake-go/releases/tag/v0.7.2>."
    (release,) = naive_events(_item(text))
    assert release["date_source"] == "posted" and release["category"] == "release"
    assert release["start"] == "2024-12-28" and release["all_day"] and release["end"] is None
    assert release["links"] == ["https://github.com/datazip-inc/olake-go/releases/tag/v0.7.2"]
    assert release["url"] == release["links"][0]
    (launch,) = naive_events(_item("Dashboard v2 is live!"))
    assert launch["category"] == "launch" and launch["date_source"] == "posted"
    (outage,) = naive_events(_item("Payments outage: card payments failing"))
    assert outage["category"] == "incident" and outage["start"] == "2024-12-28"
    # A question reports nothing; words only count whole ("this outage" is not "is out").
    assert naive_events(_item("is the new release out? when was it released?")) == []
    assert naive_events(_item("this outage hurts"))[0]["category"] == "incident"


def test_default_oracle_says_how_a_date_was_found_and_lists_the_urls() -> None:
    text = "Release v1 on 2024-12-30 <https://example.com/a|notes> and https://example.com/b."
    (written,) = naive_events(_item(text))
    assert written["date_source"] == "written" and written["start"] == "2024-12-30"
    assert written["links"] == ["https://example.com/a", "https://example.com/b"]
    (relative,) = naive_events(_item("Team sync tomorrow at 3pm, join <https://zoom.us/j/1|Zoom>"))
    assert relative["date_source"] == "relative" and relative["start"] == "2024-12-29T15:00"
    assert relative["links"] == ["https://zoom.us/j/1"]
    (later,) = naive_events(_item("Retro in 3 days at 10:00"))
    assert later["start"] == "2024-12-31T10:00" and later["date_source"] == "relative"
    # An aside without a time of day is not an announcement.
    assert naive_events(_item("I'll be back tomorrow")) == []
    assert naive_events(_item("Nothing to see")) == []
    many = " ".join(f"https://example.com/{i}" for i in range(15))
    (capped,) = naive_events(_item(f"Release on 2024-12-30 {many}"))
    assert len(capped["links"]) == 10


def test_default_oracle_answers_validate_against_the_schema() -> None:
    items = [
        {**_item(text), "id": f"C1:{index}.0"}
        for index, text in enumerate(
            [
                "OLake Go v0.7.2 Released https://example.com/r",
                "Team sync tomorrow at 3pm",
                "Release v1 on 2024-12-30",
                "lunch anyone?",
            ]
        )
    ]
    request = OracleRequest(body={}, candidates=items, response_mode="json_schema")
    parsed = parse_answer(json.dumps(naive_oracle(request)), [str(i["id"]) for i in items])
    assert parsed.error is None and not parsed.errors
    sources = {cid: [e.date_source.value for e in a.events] for cid, a in parsed.answers.items()}
    assert sources == {
        "C1:0.0": ["posted"],
        "C1:1.0": ["relative"],
        "C1:2.0": ["written"],
        "C1:3.0": [],
    }


def test_the_fake_does_not_reuse_the_rule_extractor() -> None:
    # Directly or through imports: a fresh interpreter loads only the prompt's module
    # (for the quoted-data format) and what it stands on, never the rule extractor,
    # the candidate scorer or the date and prose readers.
    code = (
        "import sys, slack_events_dagster.testing.fake_openai\n"
        "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('slack_events_dagster'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.split()
    assert set(loaded) <= {
        "slack_events_dagster",
        "slack_events_dagster.domain",
        "slack_events_dagster.domain.lexicon",
        "slack_events_dagster.domain.models",
        "slack_events_dagster.llm",
        "slack_events_dagster.llm.prompt",
        "slack_events_dagster.testing",
        "slack_events_dagster.testing.fake_openai",
        # The fake's own modules (a package of them).
        "slack_events_dagster.testing.fake_openai.api",
        "slack_events_dagster.testing.fake_openai.faults",
        "slack_events_dagster.testing.fake_openai.handler",
        "slack_events_dagster.testing.fake_openai.oracle",
        "slack_events_dagster.testing.fake_openai.server",
    }, loaded
    # The lexicon is loaded for the prompt; the oracle's words are its own: the fake
    # imports nothing of the product but the prompt's quoted-data format.
    imported: set[str] = set()
    for path in Path(fake_openai.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        imported |= {
            node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        } | {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
    own = f"{fake_openai.__name__}."
    assert {
        name
        for name in imported
        if name.startswith("slack_events_dagster") and not name.startswith(own)
    } == {"slack_events_dagster.llm.prompt"}


def test_our_schema_passes_the_strict_mode_rules() -> None:
    assert strict_schema_problems(json_schema_response_format()["json_schema"]["schema"]) == []


def test_non_strict_schema_is_refused() -> None:
    bad = {
        "type": "json_schema",
        "json_schema": {
            "name": "x",
            "strict": True,
            "schema": {"type": "object", "properties": {"a": {"type": "string", "maxLength": 3}}},
        },
    }
    with FakeOpenAIServer() as server, pytest.raises(openai.BadRequestError) as caught:
        _ask(_client(server), response_format=bad)
    assert "additionalProperties" in str(caught.value)
    assert "maxLength" in str(caught.value)


def test_reject_json_schema_mode_answers_400_and_json_object_works() -> None:
    with FakeOpenAIServer(reject_json_schema=True) as server:
        client = _client(server)
        with pytest.raises(openai.BadRequestError) as caught:
            _ask(client)
        assert caught.value.param == "response_format"
        response = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=_messages(describe_schema=True),
            response_format={"type": "json_object"},
        )
        assert parse_answer(response.choices[0].message.content, IDS).error is None
        assert server.response_modes == {"json_object": 1}


def test_json_object_needs_the_word_json() -> None:
    with FakeOpenAIServer() as server, pytest.raises(openai.BadRequestError):
        _client(server).chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hello"}],
            response_format={"type": "json_object"},
        )


def test_wrong_key_is_refused() -> None:
    with FakeOpenAIServer(require_api_key="sk-the-right-key-123456") as server:
        with pytest.raises(openai.AuthenticationError):
            _ask(_client(server))
        assert server.completions_served == 0


def test_rate_limit_fault_sends_retry_after_and_the_client_retries() -> None:
    with FakeOpenAIServer(fault_schedule={1: "rate_limit"}, retry_after_s=0.01) as server:
        with pytest.raises(openai.RateLimitError) as caught:
            _ask(_client(server))
        assert caught.value.response.headers["retry-after-ms"] == "10"
        assert caught.value.response.headers["retry-after"] == "1"
    with FakeOpenAIServer(fault_schedule={1: "rate_limit"}, retry_after_s=0.01) as server:
        response = _ask(_client(server, max_retries=2))
        assert response.choices[0].message.content
        assert server.completion_requests == 2
        assert server.faults_injected == {"rate_limit": 1}


def test_server_error_fault() -> None:
    with (
        FakeOpenAIServer(fault_schedule={1: "server_error"}) as server,
        pytest.raises(openai.InternalServerError),
    ):
        _ask(_client(server))


def test_hang_fault_outlives_the_client_timeout() -> None:
    with (
        FakeOpenAIServer(fault_schedule={1: "hang"}, hang_s=10) as server,
        pytest.raises(openai.APITimeoutError),
    ):
        _ask(_client(server, timeout=0.2))
        # The server's handler is still "hanging"; stopping the server releases it.


@pytest.mark.parametrize(
    ("fault", "expectation"),
    [
        ("invalid_json", "not valid JSON"),
        ("empty_answer", "empty"),
        ("schema_violation", "breaks the schema"),
        ("wrong_ids", "no entry for this candidate"),
    ],
)
def test_content_faults_break_the_answer(fault: str, expectation: str) -> None:
    with FakeOpenAIServer(fault_schedule={1: fault}) as server:
        content = _ask(_client(server)).choices[0].message.content
        parsed = parse_answer(content, IDS)
        assert parsed.errors and not parsed.answers
        assert all(expectation in error for error in parsed.errors.values())


def test_bad_dates_fault_writes_impossible_dates() -> None:
    with FakeOpenAIServer(fault_schedule={1: "bad_dates"}) as server:
        content = _ask(_client(server)).choices[0].message.content
    answer = json.loads(content)
    starts = [e["start"] for entry in answer["candidates"] for e in entry["events"]]
    assert starts and set(starts) == {"2024-02-30T25:61"}


def test_broken_body_fault_is_not_json() -> None:
    with (
        FakeOpenAIServer(fault_schedule={1: "broken_body"}) as server,
        pytest.raises(ValueError),
    ):
        _ask(_client(server))


def test_seeded_fault_rate_is_repeatable() -> None:
    def run() -> list[str]:
        with FakeOpenAIServer(
            fault_rate=0.5,
            seed=7,
            faults=["rate_limit", "invalid_json", "server_error"],
        ) as server:
            client = _client(server)
            outcomes = []
            for _ in range(12):
                try:
                    _ask(client)
                    outcomes.append("ok")
                except openai.APIStatusError as exc:
                    outcomes.append(str(exc.status_code))
            assert server.completion_requests == 12
            return outcomes

    first = run()
    assert first == run()
    assert "ok" in first and len(set(first)) > 1


def test_unknown_fault_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        FakeOpenAIServer(faults=["meteor"])
    assert "hang" in FAULT_KINDS


def test_latency_and_concurrency_are_observed() -> None:
    from concurrent.futures import ThreadPoolExecutor

    with FakeOpenAIServer(latency_s=0.1) as server:
        client = _client(server)
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda _: _ask(client), range(4)))
        assert server.completions_served == 4
        assert server.max_in_flight > 1


def test_running_fake_openai_yields_the_base_url() -> None:
    with running_fake_openai(model="m") as base_url:
        client = OpenAI(base_url=base_url, api_key=KEY, max_retries=0)
        assert [model.id for model in client.models.list().data] == ["m"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_command_line_server_answers() -> None:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "slack_events_dagster.testing.fake_openai",
            "--port",
            str(port),
            "--latency-ms",
            "10",
            "--fault-rate",
            "0",
            "--seed",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert f"127.0.0.1:{port}/v1" in banner
        client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, max_retries=0)
        deadline = time.monotonic() + 10
        while True:
            try:
                response = client.chat.completions.create(
                    model="gpt-4o-mini",
                    messages=_messages(),
                    response_format=cast(Any, json_schema_response_format()),
                )
                break
            except openai.APIConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert parse_answer(response.choices[0].message.content, IDS).error is None
    finally:
        stop_process(process)
