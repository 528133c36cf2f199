"""The daily digest: which events to tell people about, and how to say it safely.

:func:`build_digest` decides the content once (a :class:`DigestContent`); renderers
turn that one model into Markdown for the Dagster UI and files
(:func:`render_markdown`, here) and into a Slack message (Block Kit blocks and their
mrkdwn fallback, in the Slack adapter's ``slack/blocks.py``).

- ``content.py``: the content model and its hash;
- ``build.py``: which events, in which section, with which links;
- ``when.py``: how times are worded;
- ``lines.py``: the lines and sections every rendering shares, in any syntax;
- ``markdown.py``: the Markdown rendering.

Safety: titles, summaries and locations come from Slack messages, so anyone who
can post in a watched channel controls them. The content model keeps that text
raw; each renderer escapes it for its own target at the last moment. In Slack
output ``&``, ``<`` and ``>`` become entities (so ``<!channel>`` or ``<@U123>`` in
a title is shown, never triggered) and bare ``@here``-style words get an
invisible word joiner (a poster that sets ``link_names`` would otherwise ping).
The only links are source permalinks, event URLs and the event's anchors (a
meeting to join, tickets, release tags, pages), all with an http(s) scheme.
The rules (cleaning, escaping, safe URLs) are :mod:`~slack_events_dagster.domain.safety`'s.

Pure: standard library and pydantic only.
"""

from slack_events_dagster.domain.digest.build import CATEGORY_EMOJI, build_digest
from slack_events_dagster.domain.digest.content import (
    DigestAnchor,
    DigestChange,
    DigestContent,
    DigestDay,
    DigestItem,
    DigestLink,
    digest_content_hash,
)
from slack_events_dagster.domain.digest.markdown import render_markdown

__all__ = [
    "CATEGORY_EMOJI",
    "DigestAnchor",
    "DigestChange",
    "DigestContent",
    "DigestDay",
    "DigestItem",
    "DigestLink",
    "build_digest",
    "digest_content_hash",
    "render_markdown",
]
