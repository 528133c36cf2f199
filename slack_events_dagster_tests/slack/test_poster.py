"""The digest poster against the fake Slack: a post whose answer was lost (Slack stored
the message, the process never learnt its ts) is found again, not posted twice."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from slack_events_dagster.domain.models import Digest
from slack_events_dagster.slack.poster import DIGEST_EVENT_TYPE, PostingError, SlackPoster
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.fake_slack import ALL_SCOPES, DEFAULT_TOKEN, FakeSlack
from slack_events_dagster_tests.helpers.slack_api import slack_settings

DAY = date(2026, 3, 10)
GENERAL = "C0GENERAL1"


class AnswerLosingSlack(FakeSlack):
    """Stores the next ``chat.postMessage`` and then fails the call, as if the answer
    never reached the client (or, with ``drop_next_request``, fails it unstored)."""

    lose_next_answer = False
    drop_next_request = False

    def _api_chat_postMessage(
        self, params: dict[str, Any], scopes: frozenset[str]
    ) -> dict[str, Any]:
        if self.drop_next_request:
            self.drop_next_request = False
            raise ConnectionResetError("the request was lost")
        body = super()._api_chat_postMessage(params, scopes)
        if self.lose_next_answer:
            self.lose_next_answer = False
            raise ConnectionResetError("the answer was lost")
        return body


def _fake(scopes: frozenset[str] | tuple[str, ...] = ALL_SCOPES) -> AnswerLosingSlack:
    fake = AnswerLosingSlack(tokens={DEFAULT_TOKEN: scopes})
    fake.add_channel({"id": GENERAL, "name": "general", "created": 0, "members": []})
    return fake


def _digest(repository: SqlRepository) -> Digest:
    digest = Digest(
        day=DAY,
        markdown="# Digest",
        slack_text="Digest of the day",
        event_count=0,
        content_hash="h1",
        created_at=datetime.now(UTC),
    )
    repository.save_digest(digest)
    return digest


class _Died(BaseException):
    """The process dying (SIGKILL) right after a post's answer was lost."""


def _post_and_die(
    fake: FakeSlack, repository: SqlRepository, channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A post whose answer is lost, by a run that dies before it can look for it."""

    def die(*_: object) -> None:
        raise _Died

    with monkeypatch.context() as patch:
        patch.setattr(SlackPoster, "_find_lost_post", die)
        with pytest.raises(_Died):
            _post(fake, repository, channel)


def _post(fake: FakeSlack, repository: SqlRepository, channel: str, retries: int = 0) -> str:
    poster = SlackPoster(slack_settings(fake.base_url, max_retries=retries))
    stored = repository.get_digest(DAY)
    assert stored is not None
    return poster.post_digest(repository, stored, channel)


@pytest.mark.parametrize("channel", ["#general", GENERAL])
def test_a_post_whose_answer_was_lost_is_updated_not_posted_again(
    sqlite_repository: SqlRepository, channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _fake()
    _digest(sqlite_repository)
    with fake.serve():
        fake.lose_next_answer = True
        _post_and_die(fake, sqlite_repository, channel, monkeypatch)
        assert len(fake.posted) == 1, "Slack has the message"
        attempt = sqlite_repository.get_digest(DAY)
        assert attempt is not None and attempt.posted_ts is None
        assert attempt.channel_id == channel and attempt.posted_at is not None

        ts = _post(fake, sqlite_repository, channel)
    assert len(fake.posted) == 1, "the lost post is found, not posted again"
    assert ts == fake.posted[0]["ts"] and len(fake.updated) == 1
    assert fake.posted[0]["metadata"] == {
        "event_type": DIGEST_EVENT_TYPE,
        "event_payload": {"day": DAY.isoformat(), "attempt": attempt.posted_at.isoformat()},
    }
    stored = sqlite_repository.get_digest(DAY)
    assert stored is not None and (stored.channel_id, stored.posted_ts) == (GENERAL, ts)


def test_a_broken_post_is_looked_for_before_it_is_sent_again(
    sqlite_repository: SqlRepository,
) -> None:
    """With retries on, the client must not resend a post blindly (Slack may have it):
    the poster looks for it and adopts it, or posts again when Slack has none."""
    fake = _fake()
    _digest(sqlite_repository)
    with fake.serve():
        fake.lose_next_answer = True
        ts = _post(fake, sqlite_repository, GENERAL, retries=3)
        assert len(fake.posted) == 1 and ts == fake.posted[0]["ts"]
        assert fake.calls["chat.postMessage"] == 1 and fake.calls["conversations.history"] == 1

        sqlite_repository.save_digest(
            _digest(sqlite_repository).model_copy(update={"day": date(2026, 3, 11)})
        )
        fake.drop_next_request = True
        stored = sqlite_repository.get_digest(date(2026, 3, 11))
        assert stored is not None
        poster = SlackPoster(slack_settings(fake.base_url, max_retries=3))
        again = poster.post_digest(sqlite_repository, stored, GENERAL)
    assert len(fake.posted) == 2 and again == fake.posted[1]["ts"]
    assert fake.calls["chat.postMessage"] == 3
    stored = sqlite_repository.get_digest(date(2026, 3, 11))
    assert stored is not None and stored.posted_ts == again


def test_another_installations_digest_of_the_day_is_not_taken_for_ours(
    sqlite_repository: SqlRepository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _fake()
    _digest(sqlite_repository)
    with fake.serve(), SqlRepository.from_url(f"sqlite:///{tmp_path / 'other.db'}") as other:
        other.create_schema()
        _digest(other)
        fake.lose_next_answer = True
        _post_and_die(fake, sqlite_repository, GENERAL, monkeypatch)
        theirs = _post(fake, other, GENERAL)  # the same day, the same channel
        ours = _post(fake, sqlite_repository, GENERAL)
    assert ours == fake.posted[0]["ts"] != theirs
    assert len(fake.posted) == 2


def test_a_normal_post_reads_no_history(sqlite_repository: SqlRepository) -> None:
    fake = _fake()
    _digest(sqlite_repository)
    with fake.serve():
        ts = _post(fake, sqlite_repository, "#general")
        assert _post(fake, sqlite_repository, "#general") == ts
    assert fake.calls["conversations.history"] == 0 and fake.calls["conversations.list"] == 0
    assert len(fake.posted) == 1 and len(fake.updated) == 1


def test_without_history_access_it_posts_again(
    sqlite_repository: SqlRepository, caplog: pytest.LogCaptureFixture
) -> None:
    fake = _fake(scopes=("chat:write",))
    _digest(sqlite_repository)
    with fake.serve():
        fake.lose_next_answer = True
        with pytest.raises(PostingError):
            _post(fake, sqlite_repository, GENERAL)
        ts = _post(fake, sqlite_repository, GENERAL)
    assert len(fake.posted) == 2 and ts == fake.posted[1]["ts"]
    assert "may appear twice" in caplog.text


def test_history_returns_metadata_only_when_asked(sqlite_repository: SqlRepository) -> None:
    fake = _fake()
    _digest(sqlite_repository)
    with fake.serve():
        _post(fake, sqlite_repository, GENERAL)
        plain = fake.handle("conversations.history", {"channel": GENERAL}, DEFAULT_TOKEN)
        full = fake.handle(
            "conversations.history",
            {"channel": GENERAL, "include_all_metadata": "1"},
            DEFAULT_TOKEN,
        )
    assert b'"metadata"' not in plain[2]
    assert DIGEST_EVENT_TYPE.encode() in full[2]
