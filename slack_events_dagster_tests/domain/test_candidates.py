"""Candidate scoring: announcements pass, questions, retrospectives, joins and bot noise do not."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slack_events_dagster.domain.candidates import build_candidates, score_message
from slack_events_dagster.domain.models import SlackMessage

PARENT_TS = "1772704800.000100"


def message(text: str, **fields: Any) -> SlackMessage:
    values: dict[str, Any] = {"channel_id": "C1", "ts": "1772708400.000200", "text": text}
    values.update(fields)
    return SlackMessage(**values)


def score(text: str, **fields: Any) -> tuple[float, bool, list[str]]:
    result = score_message(message(text, **fields), channel_name="general")
    return result.score, result.is_candidate, result.reasons


@pytest.mark.parametrize(
    "text",
    [
        "Heads up: Payments API v2.3 release on Tuesday March 10 at 14:00 UTC :mega:",
        "Scheduled maintenance: database downtime Saturday 02:00-04:00 UTC",
        "Join us Thursday at 4pm for cake in the kitchen",
        "Reminder: all-hands tomorrow 3pm PT <https://zoom.us/j/123|Zoom>",
        "Design doc submissions due EOD Friday",
        "<!here> KubeCon Europe March 18-20, come find us at the booth",
        "Save the date: company offsite 2026-04-14 to 2026-04-16",
        "Q3 planning meeting in two weeks, invite to follow",
        # An event's own page with a day, asked rhetorically.
        "Have you marked your calendars? Ana has GraphQL topics this thursday "
        "<https://events.example.com/events/details/acme-presents-graphql-night/>",
    ],
)
def test_announcements_are_candidates(text: str) -> None:
    value, is_candidate, reasons = score(text)
    assert is_candidate, (value, reasons)
    assert value >= 0.5


@pytest.mark.parametrize(
    "text",
    [
        "What time is the all-hands tomorrow?",
        "Does anyone know when the release is on Tuesday?",
        "is the deploy today?",
    ],
)
def test_questions_are_not_candidates(text: str) -> None:
    value, is_candidate, reasons = score(text)
    assert not is_candidate, (value, reasons)
    assert "penalty:question" in reasons


@pytest.mark.parametrize(
    "text",
    [
        "The release went smoothly yesterday, thanks everyone!",
        "Thanks to everyone who attended the all-hands last week, recording is up",
        "Postmortem for last Tuesday's outage: root cause was a bad config push",
    ],
)
def test_retrospectives_are_not_candidates(text: str) -> None:
    value, is_candidate, reasons = score(text)
    assert not is_candidate, (value, reasons)
    assert "penalty:past" in reasons


def test_joins_and_deleted_messages_score_zero() -> None:
    join = message("<@U1|ana> has joined the channel", subtype="channel_join", is_content=False)
    assert score_message(join, channel_name="general").score == 0.0
    deleted = message("Release on Tuesday at 3pm", is_deleted=True)
    assert not score_message(deleted, channel_name="general").is_candidate


def test_ci_bot_noise_is_not_a_candidate_but_the_same_words_from_a_person_are() -> None:
    text = "Deploy pipeline for release v2.3 failed on staging, build #4512 (tomorrow's rollout)"
    bot = score(text, bot_id="B1", subtype="bot_message")
    assert not bot[1]
    assert "penalty:bot_noise" in bot[2]
    person = score("Release v2.3 rollout tomorrow at 10:00 UTC, staging first", user="U1")
    assert person[1]


def test_short_chatter_and_date_only_mentions_are_not_candidates() -> None:
    assert not score("ok!")[1]
    assert not score("lol tomorrow")[1]
    assert not score("I'm out of office Friday, back Monday")[1]


def test_reply_that_reschedules_is_a_candidate_linked_to_its_parent() -> None:
    parent = message(
        "Payments API v2.3 release on Tuesday at 14:00 UTC",
        ts=PARENT_TS,
        thread_ts=PARENT_TS,
        reply_count=2,
    )
    for text in ("moved to Thursday", "cancelled", "pushed to next week", "postponed :("):
        reply = message(text, thread_ts=PARENT_TS)
        result = score_message(reply, channel_name="general", thread_parent=parent)
        assert result.is_candidate, (text, result)
        assert result.parent_ts == PARENT_TS
        assert any(reason.startswith("reply:") for reason in result.reasons)
    # With an eventful parent the reply scores higher than without one.
    alone = score_message(message("moved to Thursday", thread_ts=PARENT_TS), channel_name="g")
    with_parent = score_message(
        message("moved to Thursday", thread_ts=PARENT_TS), channel_name="g", thread_parent=parent
    )
    assert with_parent.score > alone.score


def test_a_question_about_a_change_is_not_a_change() -> None:
    reply = message("was it moved to Thursday?", thread_ts=PARENT_TS)
    assert not score_message(reply, channel_name="general").is_candidate


def test_top_level_messages_have_no_parent_ts() -> None:
    top = message("Release on Tuesday at 3pm", ts=PARENT_TS, thread_ts=PARENT_TS, reply_count=3)
    assert score_message(top, channel_name="general").parent_ts is None


def test_channel_weights_by_name_or_id_and_threshold() -> None:
    text = "Heads up: design review Thursday"
    plain = score_message(message(text), channel_name="design").score
    by_name = score_message(message(text), channel_name="design", channel_weights={"design": 1.5})
    by_hash = score_message(message(text), channel_name="design", channel_weights={"#design": 1.5})
    by_id = score_message(message(text), channel_name="design", channel_weights={"C1": 0.3})
    assert by_name.score > plain
    assert by_hash.score == by_name.score
    assert by_id.score < plain
    assert not by_id.is_candidate
    strict = score_message(message(text), channel_name="design", threshold=0.99)
    assert not strict.is_candidate


def test_reactions_add_evidence() -> None:
    text = "Team lunch Friday"
    none = score(text)[0]
    many = score(text, reactions=[{"name": "tada", "count": 7, "users": []}])[0]
    assert many > none


def test_build_candidates_links_replies_to_parents_in_the_batch() -> None:
    parent = message(
        "Security training Wednesday 10am in Room 4B",
        ts=PARENT_TS,
        thread_ts=PARENT_TS,
        reply_count=1,
    )
    reply = message("moved to Thursday", ts="1772712000.000300", thread_ts=PARENT_TS)
    chatter = message("nice", ts="1772712001.000300")
    now = datetime(2026, 3, 5, tzinfo=UTC)
    candidates = build_candidates(
        [parent, reply, chatter], channel_names={"C1": "general"}, now=now
    )
    assert [c.ts for c in candidates] == [PARENT_TS, "1772712000.000300"]
    assert candidates[1].parent_ts == PARENT_TS
    assert candidates[0].updated_at == now
    assert all(0 <= c.score <= 1 and c.reasons for c in candidates)


def test_build_candidates_finds_parents_from_earlier_batches() -> None:
    parent = message("Webinar Thursday 5pm CET", ts=PARENT_TS, thread_ts=PARENT_TS)
    reply = message("cancelled", ts="1772712000.000300", thread_ts=PARENT_TS)
    candidates = build_candidates([reply], parents={("C1", PARENT_TS): parent})
    assert len(candidates) == 1
    assert candidates[0].parent_ts == PARENT_TS


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(max_size=600),
    reply=st.booleans(),
    bot=st.booleans(),
    weight=st.floats(min_value=0, max_value=10, allow_nan=False),
    reactions=st.integers(min_value=0, max_value=10_000),
)
def test_any_text_scores_in_unit_interval(
    text: str, reply: bool, bot: bool, weight: float, reactions: int
) -> None:
    msg = message(
        text,
        thread_ts=PARENT_TS if reply else None,
        bot_id="B1" if bot else None,
        reactions=[{"name": "x", "count": reactions}] if reactions else [],
    )
    result = score_message(msg, channel_name="general", channel_weights={"general": weight})
    assert 0.0 <= result.score <= 1.0
    assert result.is_candidate == (result.score >= 0.5)


@settings(max_examples=200, deadline=None)
@given(
    words=st.lists(
        st.sampled_from(
            [
                "release",
                "Tuesday",
                "tomorrow",
                "3pm",
                "14:00",
                "UTC",
                "?",
                "moved to",
                "cancelled",
                "<!here>",
                ":mega:",
                "https://zoom.us/j/1",
                "yesterday",
                "was",
                "March 10",
                "2026-03-10",
                "3/10",
                "&amp;",
                "<@U1|ana>",
            ]
        ),
        max_size=30,
    )
)
def test_keyword_soup_scores_in_unit_interval(words: list[str]) -> None:
    result = score_message(message(" ".join(words)), channel_name="general")
    assert 0.0 <= result.score <= 1.0
