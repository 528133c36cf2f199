"""Text safety, in one place: cleaning, escaping, safe URLs and secret redaction.

Titles, summaries, locations and links come from Slack messages (and from a model
that read them), so anyone who can post in a watched channel controls them. The
rules here are what every output uses:

- :func:`clean_text`: visible text without control characters (one line, or lines).
- :func:`escape_slack` and :func:`escape_markdown`: message text shown literally in
  Slack mrkdwn and in Markdown, never interpreted (no ping, no link, no HTML).
- :func:`find_unsafe_mentions`: the check on rendered Slack output (the digest-safety
  asset check runs it).
- :func:`safe_url`: only absolute http(s) URLs become links, made safe to embed.
- :func:`redact`: secrets out of every error text that is logged or stored.

Reading Slack markup as plain text is :mod:`~slack_events_dagster.domain.text`'s job.

Pure: standard library only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "MAX_URL_CHARS",
    "clean_text",
    "escape_markdown",
    "escape_slack",
    "find_unsafe_mentions",
    "redact",
    "safe_url",
]

# --------------------------------------------------------------------------- cleaning

# Kept by the multi-line form of clean_text: a summary's tabs and line breaks.
_KEPT_IN_LINES = frozenset("\t\n")


def clean_text(text: str | None, *, single_line: bool = True) -> str:
    """Visible text: control characters become spaces, the ends are stripped.

    One line (the default, for titles, locations, labels): line and paragraph
    separators too, and every run of whitespace becomes one space, because a newline
    would let a title start its own Markdown block or Slack quote. With
    ``single_line=False`` (a summary) tabs and line breaks stay.
    """
    if not text:
        return ""
    if single_line:
        visible = "".join(
            " " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in text
        )
        return " ".join(visible.split())
    return "".join(
        " " if char not in _KEPT_IN_LINES and unicodedata.category(char) == "Cc" else char
        for char in text
    ).strip()


# --------------------------------------------------------------------------- escaping

# Pings Slack triggers: special mentions, user groups and users. ``<!group>`` is the
# legacy spelling of ``<!channel>``.
_SLACK_MENTION = re.compile(
    r"<!(?:channel|here|everyone|group)(?:\|[^>]*)?>"
    r"|<!subteam\^[^>]*>"
    r"|<@[^>]*>",
    re.IGNORECASE,
)
# Plain words Slack turns into pings when a message is posted with link_names.
_BARE_MENTION = re.compile(r"@(?:channel|here|everyone)", re.IGNORECASE)
_WORD_JOINER = "\u2060"


def escape_slack(text: str) -> str:
    """Slack's three control characters as entities, and bare @here-style pings defused.

    So ``<!channel>`` or ``<@U123>`` in a title is shown, never triggered, and a bare
    ``@here`` gets an invisible word joiner (a poster that sets ``link_names`` would
    otherwise ping).
    """
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BARE_MENTION.sub(lambda match: "@" + _WORD_JOINER + match.group(0)[1:], escaped)


# Every ASCII punctuation character Markdown gives a meaning to; CommonMark allows a
# backslash before any of them, so escaping all is always correct.
_MARKDOWN_SPECIAL = set("\\`*_{}[]()#+-.!|~")
_HTML_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}


def escape_markdown(text: str) -> str:
    """HTML and Markdown syntax in message text shown literally, never interpreted."""
    out: list[str] = []
    for char in text:
        if char in _HTML_ENTITIES:
            out.append(_HTML_ENTITIES[char])
        elif char in _MARKDOWN_SPECIAL:
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def find_unsafe_mentions(rendered: str | Mapping[str, Any] | Sequence[Any]) -> list[str]:
    """Mentions that would notify people if this rendered Slack output were posted.

    Takes mrkdwn text or Block Kit blocks (every string inside is searched).
    Escaped forms (``&lt;!channel&gt;``) and neutralised ones (``@\u2060here``)
    are safe and not reported.
    """
    found: list[str] = []
    for text in _strings(rendered):
        found.extend(match.group(0) for match in _SLACK_MENTION.finditer(text))
        found.extend(match.group(0) for match in _BARE_MENTION.finditer(text))
    return found


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        for item in value:
            yield from _strings(item)


# --------------------------------------------------------------------------- URLs

# Longer URLs are dropped rather than cut (a cut URL points somewhere else).
MAX_URL_CHARS = 500
# Characters that would end or confuse a link in Slack (<url|label>) or Markdown
# ([label](url)) syntax; percent-encoding keeps the URL's meaning.
_URL_PERCENT_ENCODE = set(" \"'<>|()[]{}\\^`")


def safe_url(url: str | None, *, percent_encode: bool = True) -> str | None:
    """An absolute http(s) URL made safe to embed in link syntax, or None for anything else.

    ``javascript:``, ``data:``, ``slack:``, scheme-less and host-less values, and
    values with whitespace, control or format characters are dropped, not repaired:
    only permalinks, event links and anchors may become links. A URL longer than
    :data:`MAX_URL_CHARS` once encoded is dropped too.

    ``percent_encode=False`` checks the same but returns the URL as written (the LLM
    extractor stores what the model named; renderers encode it when they link it).
    """
    if not url:
        return None
    url = url.strip()
    if any(char.isspace() or unicodedata.category(char) in ("Cc", "Cf") for char in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    out: list[str] = []
    for char in url:
        if char in _URL_PERCENT_ENCODE or ord(char) > 126:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
        else:
            out.append(char)
    safe = "".join(out)
    if len(safe) > MAX_URL_CHARS:
        return None
    return safe if percent_encode else url


# --------------------------------------------------------------------------- secrets

_REDACTED = "***REDACTED***"
# Slack tokens: xoxb-, xoxp-, xoxa-, xoxe-, xoxs-, xapp- and refresh tokens (xoxe.xoxp-...).
_SLACK_TOKEN = re.compile(r"\b(?:xox[a-z](?:\.xox[a-z])?|xapp)-[A-Za-z0-9-]+")
# Key-shaped strings: OpenAI-style secret keys and bearer tokens. No word boundary
# before "sk-", so it also cuts hyphenated words ("risk-review"): see ``api_keys``.
_API_KEY = re.compile(r"sk-[A-Za-z0-9_\-]{6,}|(?i:bearer)\s+[A-Za-z0-9._~+/\-]{8,}=*")
# The password of a URL with credentials (``postgresql://user:secret@host/db``).
_PASSWORD_IN_URL = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")
# Shorter "secrets" (placeholders like "x") would shred ordinary text.
_MIN_SECRET_CHARS = 6


def redact(
    text: str,
    secrets: Sequence[str] = (),
    *,
    api_keys: bool = True,
    url_passwords: bool = False,
) -> str:
    """``text`` without secrets, for every error text that is logged or stored.

    Always: the given ``secrets`` (six characters or more) and Slack tokens
    (``xox?-<redacted>``). ``api_keys``: anything shaped like an API key or bearer token
    (the LLM path; Slack's errors turn it off, since the pattern would also cut channel
    names like ``#risk-review``). ``url_passwords``: the password of a URL with
    credentials, keeping the user, host and database readable (database errors and
    printed database URLs; model answers keep theirs, where the pattern could run
    across JSON to an e-mail address).
    """
    for secret in secrets:
        if secret and len(secret) >= _MIN_SECRET_CHARS:
            text = text.replace(secret, _REDACTED)
    if api_keys:
        text = _API_KEY.sub(_REDACTED, text)
    text = _SLACK_TOKEN.sub("xox?-<redacted>", text)
    if url_passwords:
        text = _PASSWORD_IN_URL.sub(r"\1***@", text)
    return text
