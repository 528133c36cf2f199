"""The text-safety rules (domain/safety.py): cleaning, escaping, safe URLs, the mention
check and secret redaction. How the digest and the calendar apply them is tested with
them (test_digest_safety, test_calendar, reliability/test_hostile_input)."""

from __future__ import annotations

import pytest

from slack_events_dagster.domain.safety import (
    clean_text,
    escape_markdown,
    escape_slack,
    find_unsafe_mentions,
    redact,
    safe_url,
)
from slack_events_dagster_tests.helpers.hostile_text import HOSTILE_TEXTS, UNSAFE_URLS
from slack_events_dagster_tests.helpers.llm_extraction import API_KEY


def test_find_unsafe_mentions_finds_pings_in_raw_text() -> None:
    found = find_unsafe_mentions(" ".join(HOSTILE_TEXTS))
    assert "<!channel>" in found
    assert "<!here>" in found
    assert "<!everyone>" in found
    assert "<!subteam^S1|team>" in found
    assert "<@U123>" in found
    assert "<@W456|bob>" in found
    assert "@here" in found
    # Blocks are searched too.
    assert find_unsafe_mentions([{"type": "section", "text": {"text": "hi <!here>"}}]) == [
        "<!here>"
    ]
    assert find_unsafe_mentions("&lt;!channel&gt; and @\u2060here") == []


@pytest.mark.parametrize("url", UNSAFE_URLS)
def test_safe_url_drops_anything_but_http(url: str) -> None:
    assert safe_url(url) is None


def test_safe_url_keeps_http_and_encodes_link_syntax() -> None:
    assert safe_url("https://example.com/a?b=1&c=2") == "https://example.com/a?b=1&c=2"
    assert safe_url("HTTP://Example.com/x") == "HTTP://Example.com/x"
    assert safe_url("https://example.com/a|b>c)d") == "https://example.com/a%7Cb%3Ec%29d"
    assert safe_url("https://example.com/ü") == "https://example.com/%C3%BC"
    assert safe_url("https://example.com/" + "a" * 600) is None


def test_escapers() -> None:
    assert escape_slack("a & <b> <!here>") == "a &amp; &lt;b&gt; &lt;!here&gt;"
    assert escape_slack("@channel") == "@\u2060channel"
    assert escape_markdown("<b>[x](y)</b> *_`") == ("&lt;b&gt;\\[x\\]\\(y\\)&lt;/b&gt; \\*\\_\\`")


def test_redact_removes_configured_and_key_shaped_secrets() -> None:
    text = f"bad key {API_KEY}, also sk-abcdef123456 and Bearer abc.def.ghi-123"
    cleaned = redact(text, [API_KEY])
    assert API_KEY not in cleaned and "sk-abcdef123456" not in cleaned
    assert "abc.def.ghi-123" not in cleaned
    assert redact("skipping sk- nothing", [""]) == "skipping sk- nothing"


def test_redact_hides_slack_tokens_everywhere_and_url_passwords_when_asked() -> None:
    text = "token xoxb-123-456-abcDEF refused by postgresql://events:s3cret@db:5432/events"
    assert redact(text, api_keys=False) == (
        "token xox?-<redacted> refused by postgresql://events:s3cret@db:5432/events"
    )
    assert redact(text, api_keys=False, url_passwords=True) == (
        "token xox?-<redacted> refused by postgresql://events:***@db:5432/events"
    )
    # Without the key shapes, hyphenated words stay whole.
    assert redact("channel risk-review skipped", api_keys=False) == "channel risk-review skipped"


def test_clean_text_makes_one_line_or_keeps_lines() -> None:
    assert clean_text(None) == "" and clean_text("") == ""
    assert clean_text(" a\x00b\n\u2028c\t\td\x85 ") == "a b c d"
    assert clean_text(" a\x00b\r\n\tc\x9f \n", single_line=False) == "a b \n\tc"
