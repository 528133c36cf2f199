"""The digest as Markdown: the whole digest (nothing is left out), for the Dagster UI
and the digest files."""

from __future__ import annotations

from slack_events_dagster.domain.digest.content import DigestContent, DigestLink
from slack_events_dagster.domain.digest.lines import (
    CHANNEL_CHARS,
    Syntax,
    footer,
    sections_of,
    subtitle,
)
from slack_events_dagster.domain.safety import escape_markdown


class _Markdown(Syntax):
    name = "markdown"

    def esc(self, text: str) -> str:
        return escape_markdown(text)

    def bold(self, text: str) -> str:
        return f"**{text}**"

    def strike(self, text: str) -> str:
        return f"~~{text}~~"

    def link(self, link: DigestLink) -> str:
        return f"[{self.clip(link.label, CHANNEL_CHARS)}]({link.url})"


def render_markdown(content: DigestContent) -> str:
    """The whole digest as Markdown (nothing is left out), for the UI and files."""
    syntax = _Markdown()
    out = [f"# {content.title}", "", f"_{subtitle(content)}_", ""]
    for section in sections_of(content, syntax):
        out.extend([f"## {section.heading}", ""])
        for line in section.lines:
            if line.heading is not None:
                out.extend(["", f"### {line.heading}", ""])
            elif line.events:
                out.append("- " + line.text.removeprefix("• "))
            else:
                out.append(line.text)
        out.append("")
    out.extend(["---", "", footer(content), ""])
    return _tidy_blank_lines(out)


def _tidy_blank_lines(lines: list[str]) -> str:
    tidy: list[str] = []
    for line in lines:
        if line == "" and (not tidy or tidy[-1] == ""):
            continue
        tidy.append(line)
    return "\n".join(tidy).rstrip("\n") + "\n"
