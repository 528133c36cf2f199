"""The bulk message writer's shortcuts agree with the plain, slow ways they replace."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slack_events_dagster.domain.models import SlackMessage, ts_to_datetime
from slack_events_dagster.storage.bulk import (
    _ALWAYS_SET,
    _NULLABLE,
    MESSAGE_COLUMNS,
    DialectFormat,
    dumps_json,
    message_content_hash,
    message_parts,
)
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster_tests.helpers.records import make_message

SQLITE = DialectFormat("sqlite", "qmark")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_dumps_json_writes_what_the_standard_library_writes(value: object) -> None:
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False) if value else None
    assert dumps_json(value) == expected


@given(
    st.integers(min_value=0, max_value=2**33),
    st.text(alphabet="0123456789", max_size=9),
)
def test_sqlite_posted_at_is_the_instant_of_the_ts(seconds: int, fraction: str) -> None:
    ts = f"{seconds}.{fraction}" if fraction else str(seconds)
    expected = ts_to_datetime(ts).astimezone(UTC).replace(tzinfo=None)
    assert SQLITE.posted_at(ts) == expected.isoformat(" ", "microseconds")


def test_content_hash_tells_none_from_empty_and_sees_every_field() -> None:
    base = make_message(1, thread_ts=None, edited_ts=None)
    variants = [
        base.model_copy(update={"thread_ts": ""}),
        base.model_copy(update={"text": base.text + " "}),
        base.model_copy(update={"reactions": []}),
        base.model_copy(update={"reply_count": 1}),
        base.model_copy(update={"is_deleted": True}),
        base.model_copy(update={"edited_ts": "1772467260.000001"}),
    ]
    hashes = {message_content_hash(m) for m in [base, *variants]}
    assert len(hashes) == len(variants) + 1
    assert message_content_hash(base) == message_content_hash(base.model_copy())


def test_one_batch_of_many_null_patterns_round_trips(repository: SqlRepository) -> None:
    """Rows are written grouped by which columns are NULL; each must land whole."""
    messages = _varied_messages()[:6]
    counts = repository.upsert_messages(messages)
    assert (counts.inserted, counts.updated, counts.unchanged) == (6, 0, 0)
    assert sorted(repository.get_messages("C1"), key=lambda m: m.ts) == messages
    again = repository.upsert_messages(messages)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 6)


def _varied_messages() -> list[SlackMessage]:
    return [
        make_message(0),
        make_message(1, thread_ts=make_message(0).ts, reactions=[], blocks=[]),
        make_message(2, user=None, bot_id="B1", username="deploy-bot", subtype="bot_message"),
        make_message(3, edited_ts="1772467500.000001", files=[{"id": "F1", "name": "a.pdf"}]),
        make_message(4, text="", permalink="https://x.slack.com/archives/C1/p1", reply_count=2),
        make_message(5, attachments=[{"fallback": "café ☕"}], latest_reply="1772467600.000002"),
        make_message(6, ts="7.5", thread_ts="", is_deleted=True, is_content=False),
    ]


def test_content_hashes_stay_what_the_database_holds() -> None:
    """Stored rows keep the hash they were written with: a new encoding would make
    every stored message look edited."""
    messages = _varied_messages()
    assert message_content_hash(messages[0]) == "9bb4332cf2f37e579a8aa4507e7c4a9e42e31323"
    assert message_content_hash(messages[6]) == "f70caf0ee519cc7c4839a9d779b2d94e0c77acad"


@pytest.mark.parametrize("message", _varied_messages(), ids=lambda m: m.ts)
def test_sqlite_insert_row_holds_the_message_values(message: SlackMessage) -> None:
    """The SQLite insert row (NULL pattern, always-set values, non-NULL nullable values)
    puts every value under the column its INSERT names, as ``message_values`` does."""
    row = SQLITE.insert_row(message_parts(message), "2026-01-01 00:00:00.000000")
    nulls, values = row[0], row[1:]
    columns = [*_ALWAYS_SET, *(c for c, null in zip(_NULLABLE, nulls, strict=True) if not null)]
    written = dict(zip(columns, values, strict=True))
    written.update((c, None) for c, null in zip(_NULLABLE, nulls, strict=True) if null)
    expected = SQLITE.message_values(message, "2026-01-01 00:00:00.000000")
    assert written == dict(zip(MESSAGE_COLUMNS, expected, strict=True))
    assert message_parts(message)[-1] == message_content_hash(message)
    postgres = DialectFormat("postgresql", "pyformat")
    now = datetime.now(UTC)
    assert postgres.insert_row(message_parts(message), now) == postgres.message_values(message, now)


@pytest.mark.parametrize("older", [True, False])
def test_messages_below_the_newest_stored_ts_are_still_compared(
    repository: SqlRepository, older: bool
) -> None:
    """The writer skips the stored-hash lookup for keys above a channel's greatest ts;
    a late reply or an edit of an old message lies below it and must be looked up."""
    repository.upsert_messages([make_message(i) for i in (1, 5, 9)])
    target = 5 if older else 9
    edited = make_message(target, text="moved to Friday", edited_ts="1772469999.000001")
    late = make_message(3)  # new, older than the newest stored message
    counts = repository.upsert_messages([edited, late])
    assert (counts.inserted, counts.updated, counts.unchanged) == (1, 1, 0)
    stored = {m.ts: m for m in repository.get_messages("C1")}
    assert stored[edited.ts].text == "moved to Friday"
    assert len(stored) == 4


def test_ts_with_other_digit_counts_are_looked_up(repository: SqlRepository) -> None:
    """'9.5' sorts after '10.5' as text: the shortcut must compare as the column does."""
    first = SlackMessage(channel_id="C9", ts="9.500000", text="a")
    repository.upsert_messages([first, SlackMessage(channel_id="C9", ts="10.500000", text="b")])
    counts = repository.upsert_messages([first.model_copy(update={"text": "a, edited"})])
    assert (counts.inserted, counts.updated) == (0, 1)
    assert datetime.fromtimestamp(9.5, UTC) == repository.get_messages("C9")[0].posted_at


def test_a_batch_over_many_channels_finds_its_stored_messages(repository: SqlRepository) -> None:
    """Every channel of a batch has its greatest stored ts and its keys looked up."""
    messages = [make_message(i, channel=f"C{i:04d}") for i in range(1100)]
    repository.upsert_messages(messages)
    edited = [m.model_copy(update={"text": "edited"}) for m in messages[::100]]
    counts = repository.upsert_messages([*messages[1::100], *edited])
    assert (counts.inserted, counts.updated, counts.unchanged) == (0, len(edited), 11)
