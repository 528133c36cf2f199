"""Slack markup to plain text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from slack_events_dagster.domain.prose import read_prose
from slack_events_dagster.domain.text import (
    slack_links,
    slack_markup_to_text,
    squash_whitespace,
    strip_emoji,
)


def test_mentions_channels_links_and_entities_become_plain_text() -> None:
    text = (
        "<!here> <@U1|ana> and <@U2> see <#C1|general>: "
        "<https://x.example/a?b=1&amp;c=2|the doc> or <https://zoom.us/j/1> &lt;3 &amp; "
        "<!subteam^S1|@oncall> <!date^1392734382^{date}|Feb 18>"
    )
    assert slack_markup_to_text(text) == (
        "@here @ana and @U2 see #general: the doc or https://zoom.us/j/1 <3 & @oncall Feb 18"
    )
    assert slack_links(text) == ["https://x.example/a?b=1&c=2", "https://zoom.us/j/1"]
    assert slack_links("bare https://meet.google.com/abc-def. done") == [
        "https://meet.google.com/abc-def"
    ]


def test_emoji_shortcodes_go_but_times_stay() -> None:
    assert strip_emoji(":mega: Window 02:00-04:00 :tada::skin-tone-2: at 10:30am:") == (
        " Window 02:00-04:00  at 10:30am:"
    )
    assert squash_whitespace("  a   b \n\n\n c ") == "a b\nc"


@given(st.text(max_size=300))
def test_any_text_converts_without_error(text: str) -> None:
    assert isinstance(slack_markup_to_text(text), str)
    assert isinstance(strip_emoji(text), str)
    assert all(link.startswith(("http", "webcal")) for link in slack_links(text))


def test_inline_code_that_is_words_stays_prose_and_real_code_goes() -> None:
    assert read_prose("We've just launched our `new Developer Docs site` into beta!").text == (
        "We've just launched our new Developer Docs site into beta!"
    )
    assert read_prose("the `Edit Source` button moved").text == "the Edit Source button moved"
    # Code, or lowercase commands, are no prose.
    assert read_prose("run `npm install foo` then see `module_{id}.js` at 10:00").text == (
        "run then see at 10:00"
    )
