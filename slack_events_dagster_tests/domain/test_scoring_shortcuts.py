"""The scorer's shortcuts give the same answers as the long way round.

Scoring must stay fast (``bench/extract.py``), so the scorer skips, tokenises and
matches in cheaper ways than the obvious ones: an upper bound of each message's score
(``evidence_bound``) lets ``build_candidates`` skip most chatter, words are split with a
byte table instead of a regular expression, slow patterns are tried only where a
needle or an anchor word is, and two patterns were reordered. Every shortcut is held
here to the plain computation, on the sample workspace, a generated workspace and the
date phrasings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from bench.eval import load_workspace
from slack_events_dagster.domain import candidates, lexicon, text
from slack_events_dagster.domain.dates import finding, patterns, resolving, signals
from slack_events_dagster.domain.models import SlackMessage
from slack_events_dagster.domain.prose import _NAMED, read_prose
from slack_events_dagster.llm.rules import reading
from slack_events_dagster.settings import SAMPLE_WORKSPACE
from slack_events_dagster.testing.workspace_gen import generate_messages
from slack_events_dagster_tests.helpers.date_phrasings import CASES


def _corpus() -> tuple[list[SlackMessage], dict[str, str]]:
    channels, sample = load_workspace(SAMPLE_WORKSPACE)
    generated = list(generate_messages(6000, seed=11))
    phrasings = [
        SlackMessage(channel_id="C1", ts=f"1772708400.{index:06d}", text=case.text)
        for index, case in enumerate(CASES.values())
    ]
    return [*sample, *generated, *phrasings], channels


MESSAGES, CHANNELS = _corpus()
TEXTS = [m.text for m in MESSAGES] + [
    "Q&amp;A at 3 :clock3: pm",
    "café ☕ naïve &#39;quoted&#39; \ud83d lone surrogate",
    "Release 1.2.3 <https://x.example/y|notes> @here :mega:",
    "12024-03-07 and 2026年3月4日 and 3rd of March",
]


def _by_key() -> dict[tuple[str, str], SlackMessage]:
    return {(m.channel_id, m.ts): m for m in MESSAGES}


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.7])
def test_build_candidates_skips_no_message_the_scorer_would_keep(threshold: float) -> None:
    by_key = _by_key()
    expected = []
    for message in MESSAGES:
        parent = (
            by_key.get((message.channel_id, message.thread_ts or "")) if message.is_reply else None
        )
        result = candidates.score_message(
            message,
            channel_name=CHANNELS.get(message.channel_id, message.channel_id),
            thread_parent=parent,
            threshold=threshold,
        )
        if result.is_candidate:
            expected.append((message.channel_id, message.ts, result.score, result.reasons))
    found = candidates.build_candidates(MESSAGES, channel_names=CHANNELS, threshold=threshold)
    assert [(c.channel_id, c.ts, c.score, c.reasons) for c in found] == expected
    assert len(expected) > 50  # the corpus has candidates to lose


def test_the_bound_is_never_below_the_score() -> None:
    for message in MESSAGES:
        prose = read_prose(message.text)
        bound = candidates.evidence_bound(message, prose, bot=candidates.is_bot(message))
        result = candidates.score_message(message, channel_name="general")
        assert result.score <= bound + 1e-4 or bound == candidates._ANY, message.text


def test_most_chatter_is_skipped_by_the_bound() -> None:
    chatter = [m for m in MESSAGES if not candidates.score_message(m, channel_name="x").score]
    bounded = sum(
        candidates.evidence_bound(m, read_prose(m.text), floor=0.4999) < 0.4999 for m in chatter
    )
    assert bounded / len(chatter) > 0.8


def test_words_splits_like_the_regular_expression() -> None:
    pattern = re.compile(r"[a-z]+")
    for value in TEXTS:
        lower = value.lower()
        assert lexicon.words(lower) == pattern.findall(lower)


def test_reordered_patterns_match_like_their_originals() -> None:
    emoji = re.compile(
        r"(?<![0-9]):(?=[a-z0-9_+'-]*[a-z_])[a-z0-9_+'-]+:(?::skin-tone-\d:)?", re.IGNORECASE
    )
    named = re.compile(r"(?<![\w&])[#@](?!(?:here|channel|everyone)\b)[\w.-]+")
    for value in TEXTS:
        assert text._EMOJI.sub("", value) == emoji.sub("", value)
        assert _NAMED.sub(" ", value.lower()) == named.sub(" ", value.lower())


def _guarded() -> Iterator[tuple[str, text.Guarded]]:
    for module in (patterns, signals, finding, resolving, reading):
        for name, value in vars(module).items():
            if isinstance(value, text.Guarded):
                yield f"{module.__name__}.{name}", value


@pytest.mark.parametrize(("name", "guarded"), list(_guarded()))
def test_a_guarded_pattern_finds_what_the_pattern_finds(name: str, guarded: text.Guarded) -> None:
    for value in TEXTS:
        lower = read_prose(value).lower
        assert [m.span() for m in guarded.finditer(lower)] == [
            m.span() for m in guarded.pattern.finditer(lower)
        ], (name, lower)


ANCHORED = [
    (signals._MONTH_FIRST, signals._MONTH_WORDS, False),
    (signals._DAY_FIRST, None, True),
    (signals._NUMERIC_SIGNAL, None, True),
    (signals._SHORT_WEEKDAY, signals._BEFORE_DAY, False),
    (signals._IN_MINUTES, signals._IN_WORDS, True),
    (signals._NEXT_PERIOD.pattern, signals._NEXT_WORDS, False),
    (signals._IN_PERIOD.pattern, signals._IN_PERIOD_WORDS, True),
    (signals._END_OF.pattern, signals._END_WORDS, False),
]


@pytest.mark.parametrize(("pattern", "words", "digits"), ANCHORED)
def test_anchored_matching_finds_what_a_search_finds(
    pattern: re.Pattern[str], words: frozenset[str] | None, digits: bool
) -> None:
    for value in TEXTS:
        prose = read_prose(value)
        lower = prose.lower
        anchors = signals._Anchors(lower, prose.token_set)
        found = (words is not None and anchors.at_words(pattern, words)) or (
            digits and anchors.at_digits(pattern)
        )
        expected = pattern.search(lower)
        if expected is not None and "ja" in pattern.groupindex and expected["ja"]:
            continue  # date_signal looks for the Japanese words as substrings
        assert found == (expected is not None), (pattern.pattern[:40], lower)
