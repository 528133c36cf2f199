"""Slack markup to plain text, for reading messages the way a person sees them.

Pure and dependency-free so that candidate scoring and the rule extractor can
use it; the Slack adapters have their own normalizer, which the domain layer
may not import.

Slack escapes exactly three characters (``&``, ``<``, ``>``) and writes links,
mentions and special commands as ``<...>`` spans; see
https://api.slack.com/reference/surfaces/formatting.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

# One <...> span: what comes before an optional "|label".
_SPAN = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
# A shortcode has a letter in it and does not follow a digit, so "02:00-04:00" stays.
# (The colon comes first and the look back after it: the regex engine then jumps from
# colon to colon instead of trying every position, five times faster.)
_EMOJI = re.compile(
    r":(?<![0-9]:)(?=[a-z0-9_+'-]*[a-z_])[a-z0-9_+'-]+:(?::skin-tone-\d:)?", re.IGNORECASE
)
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
# URLs as they appear in text that was already plain (pasted without Slack markup).
_BARE_URL = re.compile(r"https?://[^\s<>|]+", re.IGNORECASE)


class Guarded:
    """A pattern behind a cheap test: every match holds one of ``needles`` (lowercase
    substrings of lowercase text), so a text without any is answered without running
    it. A pattern that opens with a word boundary and an alternation makes the regex
    engine try every position of the text, 10-20 µs through a long message; ``in`` finds
    a substring in a fraction of that."""

    __slots__ = ("needles", "pattern")

    def __init__(self, pattern: str, needles: tuple[str, ...], flags: int = 0) -> None:
        self.pattern = re.compile(pattern, flags)
        self.needles = needles

    def could_match(self, text: str) -> bool:
        return any(needle in text for needle in self.needles)

    def search(self, text: str, pos: int = 0) -> re.Match[str] | None:
        return self.pattern.search(text, pos) if self.could_match(text) else None

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return self.pattern.finditer(text) if self.could_match(text) else iter(())


def _render_span(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if target.startswith("@"):
        return "@" + (label or target[1:])
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!"):
        command = target[1:]
        if label:
            # <!subteam^S1|@team> and <!date^...|Feb 18> carry their readable form.
            return label
        # <!here>, <!channel>, <!everyone>: keep them, they are a sign of an announcement.
        return "@" + command.split("^", 1)[0]
    if label:
        return label
    if target.startswith("mailto:"):
        return target[len("mailto:") :]
    return target


def slack_markup_to_text(text: str) -> str:
    """Plain text of a Slack ``text`` field.

    ``<@U1|ana>`` becomes ``@ana``, ``<#C1|general>`` becomes ``#general``,
    ``<https://x|the doc>`` becomes ``the doc`` and ``&lt; &gt; &amp;`` become
    ``< > &``. Emoji shortcodes are kept (see :func:`strip_emoji`).
    """
    if not text:
        return ""
    if "<" in text:
        text = _SPAN.sub(_render_span, text)
    if "&" in text:
        text = html.unescape(text)
    return text


def slack_links(text: str) -> list[str]:
    """Every URL in a Slack ``text`` field, in order, without duplicates.

    Reads ``<url>`` and ``<url|label>`` spans (the markup Slack sends) and bare
    ``http(s)://`` URLs (pasted text, exports of edited messages).
    """
    found: list[str] = []
    for match in _SPAN.finditer(text):
        target = match.group(1)
        if target.startswith(("http://", "https://", "webcal://")) and target not in found:
            found.append(html.unescape(target))
    stripped = _SPAN.sub(" ", text)
    for match in _BARE_URL.finditer(stripped):
        url = html.unescape(match.group(0).rstrip(".,;:)!?"))
        if url not in found:
            found.append(url)
    return found


def strip_emoji(text: str) -> str:
    """Text without ``:shortcode:`` emoji (``:mega:``, ``:tada::skin-tone-2:``)."""
    if ":" not in text:
        return text
    return _EMOJI.sub("", text)


def squash_whitespace(text: str) -> str:
    """Runs of spaces become one space; blank-line runs become one newline."""
    text = _SPACES.sub(" ", text)
    text = _BLANK_LINES.sub("\n", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()
