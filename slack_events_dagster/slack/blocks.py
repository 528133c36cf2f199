"""The digest as a Slack message: Block Kit blocks and their mrkdwn fallback text.

The blocks are built with ``slack_sdk.models.blocks``, which checks Slack's limits on
each block (a section's 3,000 characters, a header's 150) when it serialises; the
packing keeps within them and within the message's 50 blocks, and says how many
events did not fit ("… and N more events"). Changed and New are packed first (capped
at a few blocks each), so a flood of upcoming events never pushes the changes out.

Message text is escaped for mrkdwn by
:func:`~slack_events_dagster.domain.safety.escape_slack`; every section is
``verbatim``, so Slack does not auto-link channel names, URLs or mentions in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from slack_events_dagster.domain.digest.content import DigestContent, DigestLink
from slack_events_dagster.domain.digest.lines import (
    CHANNEL_CHARS,
    Line,
    Section,
    Syntax,
    footer,
    sections_of,
    subtitle,
)
from slack_events_dagster.domain.safety import MAX_URL_CHARS, escape_slack

__all__ = [
    "SLACK_MAX_BLOCKS",
    "SLACK_MAX_CONTEXT_CHARS",
    "SLACK_MAX_HEADER_CHARS",
    "SLACK_MAX_SECTION_CHARS",
    "SLACK_MAX_TEXT_CHARS",
    "render_slack_blocks",
    "render_slack_text",
]

# Slack's limits (https://api.slack.com/reference/block-kit/blocks): per block as the
# SDK validates them; blocks per message and a context's text as Slack documents them.
SLACK_MAX_SECTION_CHARS: int = SectionBlock.text_max_length
SLACK_MAX_HEADER_CHARS: int = HeaderBlock.text_max_length
SLACK_MAX_BLOCKS = 50
SLACK_MAX_CONTEXT_CHARS = 2000
# chat.postMessage truncates ``text`` beyond 40,000 characters.
SLACK_MAX_TEXT_CHARS = 40_000

# The Changed and New sections stay visible however long "Coming up" gets.
_MAX_BLOCKS_PER_SIDE_SECTION = 8
# The SDK writes keys in alphabetical order; Slack documents (and we always posted)
# "type" first, then the text, then its flags.
_KEY_ORDER = {key: index for index, key in enumerate(("type", "text", "elements"))}


class _Mrkdwn(Syntax):
    name = "slack"

    def esc(self, text: str) -> str:
        return escape_slack(text)

    def bold(self, text: str) -> str:
        return f"*{text}*"

    def strike(self, text: str) -> str:
        return f"~{text}~"

    def link(self, link: DigestLink) -> str:
        # Inside <url|label> Slack reads entities in both parts; the URL already has
        # no < > | so only & needs its entity.
        url = link.url.replace("&", "&amp;")
        label = self.clip(link.label, CHANNEL_CHARS)
        # An ampersand-heavy URL grows fivefold; past this it would crowd the section.
        return f"<{url}|{label}>" if len(url) <= 2 * MAX_URL_CHARS else label


def render_slack_blocks(content: DigestContent) -> list[dict[str, Any]]:
    """Block Kit blocks within Slack's limits, summarising what does not fit."""
    header = content.title
    if len(header) > SLACK_MAX_HEADER_CHARS:
        header = header[: SLACK_MAX_HEADER_CHARS - 1] + "…"
    head: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=header, emoji=True)),
        _context(subtitle(content)),
    ]
    tail: list[Block] = [DividerBlock(), _context(footer(content))]
    syntax = _Mrkdwn()
    sections = sections_of(content, syntax)
    dividers = len(sections) - 1
    packed = _pack_sections(
        sections,
        syntax,
        chunks=SLACK_MAX_BLOCKS - len(head) - len(tail) - dividers,
        chunk_chars=SLACK_MAX_SECTION_CHARS,
        side_chunks=_MAX_BLOCKS_PER_SIDE_SECTION,
    )
    body: list[Block] = []
    for index, texts in enumerate(packed):
        if index:
            body.append(DividerBlock())
        # verbatim: Slack must not auto-link channel names, URLs or mentions in our text.
        body.extend(
            SectionBlock(text=MarkdownTextObject(text=text, verbatim=True)) for text in texts
        )
    return [_in_slack_order(block.to_dict()) for block in [*head, *body, *tail]]


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text, verbatim=True))


def _context(text: str) -> ContextBlock:
    return ContextBlock(
        elements=[MarkdownTextObject(text=text[:SLACK_MAX_CONTEXT_CHARS], verbatim=True)]
    )


def _in_slack_order(value: Any) -> Any:
    if isinstance(value, dict):
        keys = sorted(value, key=lambda key: _KEY_ORDER.get(key, len(_KEY_ORDER)))
        return {key: _in_slack_order(value[key]) for key in keys}
    if isinstance(value, list):
        return [_in_slack_order(item) for item in value]
    return value


def render_slack_text(content: DigestContent) -> str:
    """The mrkdwn fallback shown in notifications, at most 40,000 characters."""
    head = f"*{content.title}*\n{subtitle(content)}"
    foot = footer(content)
    syntax = _Mrkdwn()
    sections = sections_of(content, syntax)
    separators = 2 * (len(sections) + 1)
    room = SLACK_MAX_TEXT_CHARS - len(head) - len(foot) - separators
    # One "chunk" per section of a third of the room each, then Coming up takes what
    # Changed and New left: the same priorities as the blocks.
    first, *others = sections
    packed_others = [
        _pack(syntax.bold(other.heading), other.lines, max_chars=room // 3, max_chunks=1)[0]
        for other in others
    ]
    packed_first = _pack(
        syntax.bold(first.heading),
        first.lines,
        max_chars=room - sum(len(text) for text in packed_others),
        max_chunks=1,
    )[0]
    return "\n\n".join([head, packed_first, *packed_others, foot])


def _more(count: int) -> str:
    return f"… and {count} more event{'' if count == 1 else 's'}"


def _pack(heading: str, lines: Sequence[Line], *, max_chars: int, max_chunks: int) -> list[str]:
    """Lines into at most ``max_chunks`` texts of at most ``max_chars`` characters.

    The heading starts the first text. Lines are never split; when they do not all
    fit, the last text ends with "… and N more events".
    """
    # Room kept at the end of every chunk for the "… and N more events" line.
    reserve = len(_more(10**9)) + 1
    chunks: list[list[str]] = [[heading]]
    sizes = [len(heading)]
    shown = 0
    for index, line in enumerate(lines):
        limit = max_chars if index == len(lines) - 1 else max_chars - reserve
        if sizes[-1] + 1 + len(line.text) <= limit:
            chunks[-1].append(line.text)
            sizes[-1] += 1 + len(line.text)
        elif len(chunks) < max_chunks and len(line.text) <= limit:
            chunks.append([line.text])
            sizes.append(len(line.text))
        else:
            break
        shown = index + 1
    omitted = sum(line.events for line in lines[shown:])
    if omitted:
        chunks[-1].append(_more(omitted))
    return ["\n".join(chunk) for chunk in chunks]


def _pack_sections(
    sections: Sequence[Section],
    syntax: Syntax,
    *,
    chunks: int,
    chunk_chars: int,
    side_chunks: int,
) -> list[list[str]]:
    """Every section packed; Changed and New first (capped), Coming up gets the rest.

    So a flood of upcoming events never pushes the changes out of the message.
    """
    first, *others = sections
    packed_others = [
        _pack(
            syntax.bold(other.heading), other.lines, max_chars=chunk_chars, max_chunks=side_chunks
        )
        for other in others
    ]
    left = max(1, chunks - sum(len(texts) for texts in packed_others))
    packed_first = _pack(
        syntax.bold(first.heading), first.lines, max_chars=chunk_chars, max_chunks=left
    )
    return [packed_first, *packed_others]
