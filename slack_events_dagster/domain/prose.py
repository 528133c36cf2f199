"""What a person reads in a message: its prose, without the noise around it.

Both the candidate scorer and the rule extractor read messages through
:func:`read_prose`, so that noise never makes an event in either: text inside code
blocks and inline code, quoted lines (``>``), pasted logs and stack traces (lines
that start with a timestamp or a log level, ``at com.x.Y(...)``, ``Traceback``), and
the URLs themselves (a link's label stays; its address is for anchors, and the digits
in ``/2015/06/`` are not a date). Mentions read as names (``<@U123>`` -> ``@Ana``),
Slack's formatted dates as their fallback text, emoji shortcodes are dropped.

Fast path: a message without backticks, ``>``, ``<`` or log-like lines (most of
them) costs a few substring tests.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping

from slack_events_dagster.domain.lexicon import Hits, scan, word_pairs, words
from slack_events_dagster.domain.text import strip_emoji

_CODE_BLOCK = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_FILE_COMMENT = re.compile(
    r"^\s*<@[^>]+>\s+(?:commented on\s+(?:<@[^>]+>|[^<:\n]{1,40})['’]s\s+file\s+<[^>]*>:"
    r"|(?:uploaded|shared|posted)\s+an?\s+(?:file|image|snippet|post):\s+<[^>]*>"
    r"(?:\s+and\s+commented:)?)\s*"
)
_SPAN = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_BARE_URL = re.compile(r"\b(?:https?|webcal)://[^\s<>|]+", re.IGNORECASE)
# A line of machine output: a leading timestamp or log level, a stack frame, a
# traceback or a package manager's warning.
_LOG_LINE = re.compile(
    r"^\s*(?:\[?\d{4}[-/]\d\d[-/]\d\d[T ]\d\d:\d\d:\d\d|\[?\d\d:\d\d:\d\d\b|\d{10,13}\b"
    r"|\[?(?:ERROR|WARN|WARNING|INFO|DEBUG|TRACE|FATAL|CRITICAL)\b\]?"
    r"|at\s+[\w$.<>]+\(|Traceback\b|File\s+\"[^\"]+\",\s+line\s+\d+|npm\s+(?:WARN|ERR)"
    r"|Caused\s+by:|[\w.]+(?:Exception|Error):\s|\{\s*\"|\"[\w-]+\"\s*:)"
)
_SPACES = re.compile(r"[ \t\u00a0]+")
_NAMED = re.compile(r"[#@](?<![\w&][#@])(?!(?:here|channel|everyone)\b)[\w.-]+")


class Prose:
    """The readable text of a message and its lowercase tokens (read-only by convention:
    a plain slotted class, built for every message scored, so construction stays cheap)."""

    __slots__ = ("_hits", "had_noise", "lower", "masked", "pairs", "text", "token_set", "tokens")

    def __init__(
        self,
        text: str,
        lower: str,
        tokens: list[str],
        token_set: frozenset[str],
        pairs: frozenset[tuple[str, str]] = frozenset(),
        had_noise: bool = False,
        masked: str | None = None,
    ) -> None:
        self.text = text
        self.lower = lower
        # ``lower`` with user and channel names blanked (same length): what ``tokens``
        # are read from, so a token's position is found in it, not in ``lower``.
        self.masked = lower if masked is None else masked
        self.tokens = tokens
        self.token_set = token_set
        # Neighbouring word pairs, for the lexicon's phrases.
        self.pairs = pairs
        # Some code, quote or log text was removed (the message had more than prose).
        self.had_noise = had_noise
        self._hits: Hits | None = None

    def __repr__(self) -> str:
        return f"Prose({self.text!r})"

    @property
    def empty(self) -> bool:
        """No words at all (Japanese has no Latin tokens, but it has letters)."""
        return not self.tokens and not any(ch.isalnum() for ch in self.text)

    @property
    def hits(self) -> Hits:
        """The lexicon's words and phrases in the message, by what they signal (read
        once, when first asked: the scorer settles most chatter without them)."""
        if self._hits is None:
            self._hits = scan(self.tokens, self.token_set, self.pairs)
        return self._hits


def _render_span(names: Mapping[str, str]) -> Callable[[re.Match[str]], str]:
    def render(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):
            name = label or names.get(target[1:]) or target[1:]
            return "@" + name.lstrip("@")
        if target.startswith("#"):
            return "#" + (label or names.get(target[1:]) or target[1:])
        if target.startswith("!"):
            if label:
                # <!subteam^S1|@team> and <!date^...|Feb 18> carry their readable form.
                return label
            return "@" + target[1:].split("^", 1)[0]
        if target.startswith(("http://", "https://", "webcal://", "mailto:")):
            # The label reads as text; an address alone is for anchors, not prose.
            return label if label and not label.startswith(("http", "www.")) else " "
        return label or target

    return render


def _drop_noise_lines(text: str) -> tuple[str, bool]:
    kept: list[str] = []
    dropped = False
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith((">", "&gt;")) or _LOG_LINE.match(line) is not None:
            dropped = True
            continue
        kept.append(line)
    return "\n".join(kept), dropped


# Inline code that is words, as people use backticks for emphasis ("we've just launched our
# `new Developer Documentation site`"): two to eight words of letters, one capitalized.
_CODE_AS_WORDS = re.compile(r"`((?:[A-Za-z][a-z]*|[A-Z]+)(?: (?:[A-Za-z][a-z]*|[A-Z]+)){1,7})`")


def _inline_code(match: re.Match[str]) -> str:
    words = _CODE_AS_WORDS.fullmatch(match.group(0))
    if words is not None and any(ch.isupper() for ch in words.group(1)):
        return " " + words.group(1) + " "
    return " "


def read_prose(mrkdwn: str, names: Mapping[str, str] | None = None) -> Prose:
    """The prose of a Slack ``text`` field (mrkdwn), noise removed."""
    text = mrkdwn or ""
    had_noise = False
    if "`" in text:
        before = text
        text = _CODE_BLOCK.sub("\n", text)
        text = _INLINE_CODE.sub(_inline_code, text)
        had_noise = text != before
    if "\n" in text:
        text, dropped = _drop_noise_lines(text)
        had_noise = had_noise or dropped
    elif text.lstrip().startswith((">", "&gt;")) or _LOG_LINE.match(text) is not None:
        text, had_noise = "", True
    if " file" in text:
        # Slack's own words around a file ("<@U1> commented on <@U1>'s file <link|01/11/2016
        # Meetup>: ...", "<@U1> uploaded a file: <link|screen_shot_2018-02-09_at_1.14.34
        # .png> and commented: ..."): a file's name is no text anyone wrote.
        text = _FILE_COMMENT.sub("", text, count=1)
    if "<" in text:
        text = _SPAN.sub(_render_span(names or {}), text)
    if "://" in text:
        text = _BARE_URL.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    if ":" in text:
        text = strip_emoji(text)
    if "  " in text or "\t" in text or "\u00a0" in text:
        text = _SPACES.sub(" ", text)
    text = text.strip()
    lower = text.lower()
    # Channel and user names are no words of the message ("updates in #incidents").
    masked = _NAMED.sub(_blank, lower) if ("#" in lower or "@" in lower) else lower
    tokens = words(masked)
    return Prose(text, lower, tokens, frozenset(tokens), word_pairs(tokens), had_noise, masked)


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group(0))
