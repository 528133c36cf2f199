"""Anchors: the links in a message that identify an event, and how events share them.

A release is "acme/api@v2.1.0", an incident "OPS-142", a weekly sync its Zoom
room. :func:`find_links` reads them from a Slack message's mrkdwn text: links
(``<https://url|label>``, ``<https://url>``, bare URLs) classified by what they
point to, and Jira-style keys written in the text. Code (```` ``` ```` blocks and
inline backticks) is quoted material, not an announcement: nothing in it counts.

Deduplication treats a shared ticket, release tag or meeting as strong evidence
of one event (:func:`strong_keys`); the digest and the calendar show them
(:func:`meeting_link`, :data:`LINK_LABELS`). An event's links are the union of
its messages' links in one canonical order (:func:`union_links`), so that they do
not depend on the order its messages were read in.

Pure: standard library only. Only http(s) URLs with a host become links.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from urllib.parse import parse_qs, unquote, urlsplit

from slack_events_dagster.domain.models import EventLink, LinkKind

__all__ = [
    "LINK_LABELS",
    "MAX_LINKS",
    "find_links",
    "link_order",
    "meeting_link",
    "strong_keys",
    "union_links",
]

# A message (and an event) keeps at most this many anchors: a pasted list of fifty
# links says nothing more about which event it is.
MAX_LINKS = 20
_MAX_KEY = 300
_MAX_URL = 2000
# A plain link's key (host and path) is cut here: it names the link, it is no address.
_MAX_PLAIN_KEY = 200

# What a person calls each kind (the calendar's description, the digest's labels).
LINK_LABELS: dict[LinkKind, str] = {
    LinkKind.JIRA: "Jira",
    LinkKind.GITHUB_ISSUE: "GitHub issue",
    LinkKind.GITHUB_PULL: "GitHub pull request",
    LinkKind.GITHUB_RELEASE: "GitHub release",
    LinkKind.GITLAB_ISSUE: "GitLab issue",
    LinkKind.GITLAB_MERGE_REQUEST: "GitLab merge request",
    LinkKind.GITLAB_RELEASE: "GitLab release",
    LinkKind.ZOOM: "Zoom",
    LinkKind.GOOGLE_MEET: "Google Meet",
    LinkKind.TEAMS: "Microsoft Teams",
    LinkKind.WEBEX: "Webex",
    LinkKind.CONFLUENCE: "Confluence",
    LinkKind.NOTION: "Notion",
    LinkKind.GOOGLE_DOC: "Google Docs",
    LinkKind.LINK: "Link",
}

_CODE_BLOCK = re.compile(r"```.*?```", re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]+`")
# A ticket key: a project of 2-10 letters and digits (starting with a letter), a
# number. Not glued to a word, a path or another dash ("CVE-2024-1234" is no key).
_KEY_TEXT = r"[A-Z][A-Z0-9]{1,9}-\d{1,6}"
_KEY = re.compile(_KEY_TEXT)
# One pass, left to right: a Slack span, a bare URL, a bare key. A span or a URL
# consumes its text, so a key inside a URL is never read on its own.
_TOKEN = re.compile(
    r"<(?P<span>[^<>]*)>"
    r"|(?P<url>(?i:https?)://(?:(?!&[lg]t;)[^\s<>|`\"])+)"
    rf"|(?P<key>{_KEY_TEXT})"
)
# Uppercase words with a number that are not tickets.
_NOT_PROJECTS = frozenset(
    {"AES", "COVID", "CVE", "FY", "GPT", "HTTP", "HTTPS", "IPV", "ISO", "MP", "PEP"}
    | {"RFC", "RSA", "SHA", "SSL", "TLS", "UTF", "WCAG"}
)
# Punctuation that ends a sentence, not a URL ("see https://x.io/a.").
_TRAILING = ".,;:!?'\"*_~"
_GOOGLE_MEET_CODE = re.compile(r"[a-z]{3}-[a-z]{4}-[a-z]{3}", re.IGNORECASE)
_NOTION_ID = re.compile(r"([0-9a-f]{32})$", re.IGNORECASE)
_DASHED_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_DIGITS = re.compile(r"\d+")
_GOOGLE_DOC_TYPES = frozenset({"document", "spreadsheets", "presentation"})

# (kind, key) or None: how one URL reads.
_Anchor = tuple[LinkKind, str]


def find_links(mrkdwn: str) -> list[EventLink]:
    """The anchors of a Slack message text, in the order they first appear.

    Each (kind, key) is listed once; a key written bare and also linked gets the
    link's URL. At most :data:`MAX_LINKS`.
    """
    text = _INLINE_CODE.sub(" ", _CODE_BLOCK.sub(" ", mrkdwn or ""))
    found: dict[_Anchor, EventLink] = {}
    for match in _TOKEN.finditer(text):
        if match.group("span") is not None:
            target, _, label = match.group("span").partition("|")
            _add(found, _link_for_url(html.unescape(target)))
            if target.startswith(("@", "#", "!")):
                continue  # a mention's label is a name (<@U1|ada>, <#C1|ops-42>)
            # A link's label is text a person wrote: a ticket key in it counts.
            for key in _KEY.finditer(label):
                _add(found, _bare_key(label, key))
        elif match.group("url") is not None:
            _add(found, _link_for_url(html.unescape(_trim(match.group("url")))))
        else:
            _add(found, _bare_key(text, match))
    return list(found.values())[:MAX_LINKS]


def _add(found: dict[_Anchor, EventLink], link: EventLink | None) -> None:
    if link is None:
        return
    anchor = (link.kind, link.key)
    known = found.get(anchor)
    if known is None:
        found[anchor] = link
    elif known.url is None and link.url is not None:
        found[anchor] = known.model_copy(update={"url": link.url})


def _bare_key(text: str, match: re.Match[str]) -> EventLink | None:
    key = match.group(0)
    project = key.partition("-")[0]
    start, end = match.span()
    if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "/.#@&=?-_"):
        return None
    if end < len(text) and (text[end].isalnum() or text[end] in "-_"):
        return None
    if project in _NOT_PROJECTS or sum(char.isalpha() for char in project) < 2:
        return None
    return EventLink(kind=LinkKind.JIRA, key=key)


def _trim(url: str) -> str:
    url = url.rstrip(_TRAILING)
    # "(see https://x.io/a)": a closing bracket the URL did not open is the sentence's.
    for opening, closing in ("()", "[]", "{}"):
        while url.endswith(closing) and url.count(closing) > url.count(opening):
            url = url[:-1].rstrip(_TRAILING)
    return url


def _link_for_url(url: str) -> EventLink | None:
    """The anchor an http(s) URL is, or None for anything that may not be a link."""
    url = url.strip()
    if not url or len(url) > _MAX_URL or any(c.isspace() or ord(c) < 32 for c in url):
        return None
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return None
    # Credentials in a link are a leak to refuse, not an anchor to keep.
    if parts.scheme.lower() not in ("http", "https") or not host or "@" in parts.netloc:
        return None
    host = host.removeprefix("www.")
    segments = [unquote(segment) for segment in parts.path.split("/") if segment]
    try:
        anchor = _classify(host, segments, parse_qs(parts.query))
    except (IndexError, ValueError):
        anchor = None
    if anchor is None:
        path = "/".join(segments)
        anchor = (LinkKind.LINK, f"{host}/{path}"[:_MAX_PLAIN_KEY] if path else host)
    kind, key = anchor
    key = key.strip()[:_MAX_KEY]
    return EventLink(kind=kind, key=key, url=url) if key else None


def _classify(host: str, path: list[str], query: dict[str, list[str]]) -> _Anchor | None:
    """(kind, key) for the services we know; None for any other page."""
    if host == "github.com":
        return _github(path)
    if host == "gitlab.com" or host.startswith("gitlab."):
        return _gitlab(path)
    if host.endswith(".atlassian.net") or host.startswith(("jira.", "confluence.")):
        return _atlassian(host, path, query)
    if host == "zoom.us" or host.endswith(".zoom.us"):
        return _zoom(path)
    if host == "meet.google.com" and path and _GOOGLE_MEET_CODE.fullmatch(path[0]):
        return LinkKind.GOOGLE_MEET, path[0].lower()
    if host in ("teams.microsoft.com", "teams.live.com"):
        return _teams(path)
    if host == "webex.com" or host.endswith(".webex.com"):
        return _webex(host, path, query)
    if host in ("notion.so", "notion.com") or host.endswith((".notion.site", ".notion.so")):
        return _notion(path, query)
    if host == "docs.google.com":
        return _google_doc(path)
    return None


def _github(path: list[str]) -> _Anchor | None:
    if len(path) < 4:
        return None
    repo = f"{path[0]}/{path[1]}".lower()
    if path[2] == "issues" and path[3].isdigit():
        return LinkKind.GITHUB_ISSUE, f"{repo}#{path[3]}"
    if path[2] == "pull" and path[3].isdigit():
        return LinkKind.GITHUB_PULL, f"{repo}#{path[3]}"
    if path[2:4] == ["releases", "tag"] and len(path) > 4:
        return LinkKind.GITHUB_RELEASE, f"{repo}@{'/'.join(path[4:])}"
    return None


def _gitlab(path: list[str]) -> _Anchor | None:
    # group/sub/project/-/issues/3: the project is everything before the "-".
    if "-" not in path:
        return None
    dash = path.index("-")
    project, rest = "/".join(path[:dash]).lower(), path[dash + 1 :]
    if not project or len(rest) < 2:
        return None
    if rest[0] in ("issues", "work_items") and rest[1].isdigit():
        return LinkKind.GITLAB_ISSUE, f"{project}#{rest[1]}"
    if rest[0] == "merge_requests" and rest[1].isdigit():
        return LinkKind.GITLAB_MERGE_REQUEST, f"{project}!{rest[1]}"
    if rest[0] in ("releases", "tags"):
        return LinkKind.GITLAB_RELEASE, f"{project}@{'/'.join(rest[1:])}"
    return None


def _atlassian(host: str, path: list[str], query: dict[str, list[str]]) -> _Anchor | None:
    if path[:1] == ["wiki"] or host.startswith("confluence."):
        return _confluence(path[1:] if path[:1] == ["wiki"] else path, query)
    if path[:1] == ["browse"] and len(path) > 1 and _KEY.fullmatch(path[1].upper()):
        return LinkKind.JIRA, path[1].upper()
    if path[:1] == ["jira"] or host.startswith("jira."):
        # /jira/software/c/projects/OPS/issues/OPS-12, or ?selectedIssue=OPS-12 on a board.
        for candidate in [*query.get("selectedIssue", []), *reversed(path)]:
            if _KEY.fullmatch(candidate.upper()):
                return LinkKind.JIRA, candidate.upper()
    return None


def _confluence(path: list[str], query: dict[str, list[str]]) -> _Anchor | None:
    page_ids = query.get("pageId", [])
    if page_ids and page_ids[0].isdigit():
        return LinkKind.CONFLUENCE, page_ids[0]
    # spaces/ENG/pages/123456/Title, or the short link x/AbCd.
    if "pages" in path:
        after = path[path.index("pages") + 1 :]
        if after and after[0].isdigit():
            return LinkKind.CONFLUENCE, after[0]
    if path[:1] == ["x"] and len(path) > 1:
        return LinkKind.CONFLUENCE, path[1]
    if path[:1] == ["display"] and len(path) > 2:
        return LinkKind.CONFLUENCE, f"{path[1]}/{path[2]}"
    return None


def _zoom(path: list[str]) -> _Anchor | None:
    # /j/123 (join), /w/123 (webinar), /s/123 (start), /wc/join/123 (web client),
    # /my/name (a personal link).
    if path[:2] == ["wc", "join"] and len(path) > 2:
        path = ["j", path[2]]
    if len(path) >= 2 and path[0] in ("j", "w", "s") and path[1].isdigit():
        return LinkKind.ZOOM, path[1]
    if len(path) >= 2 and path[0] == "my":
        return LinkKind.ZOOM, f"my/{path[1].lower()}"
    return None


def _teams(path: list[str]) -> _Anchor | None:
    if path[:2] == ["l", "meetup-join"] and len(path) > 2:
        return LinkKind.TEAMS, path[2]
    if path[:1] == ["meet"] and len(path) > 1:
        return LinkKind.TEAMS, path[1]
    return None


def _webex(host: str, path: list[str], query: dict[str, list[str]]) -> _Anchor | None:
    meeting = query.get("MTID") or query.get("mtid")
    if meeting:
        return LinkKind.WEBEX, meeting[0]
    # site.webex.com/meet/name (a personal room), /join/name, /site/j.php?...
    if path:
        return LinkKind.WEBEX, f"{host.removesuffix('.webex.com')}/{'/'.join(path)}"
    return None


def _notion(path: list[str], query: dict[str, list[str]]) -> _Anchor | None:
    for candidate in [*query.get("p", []), *reversed(path)]:
        found = _NOTION_ID.search(candidate) or _DASHED_UUID.fullmatch(candidate)
        if found:
            return LinkKind.NOTION, found.group(0).replace("-", "").lower()
    return None


def _google_doc(path: list[str]) -> _Anchor | None:
    # document/d/ID/edit, and document/u/1/d/ID when signed into several accounts.
    if path[:1] and path[0] in _GOOGLE_DOC_TYPES and "d" in path:
        after = path[path.index("d") + 1 :]
        if after:
            return LinkKind.GOOGLE_DOC, after[0]
    return None


# -------------------------------------------------------------------------- using them


def meeting_link(links: Iterable[EventLink]) -> EventLink | None:
    """The first meeting (Zoom, Meet, Teams, Webex) with a URL: where to join."""
    return next((link for link in links if link.kind.is_meeting and link.url), None)


def strong_keys(links: Iterable[EventLink]) -> list[tuple[LinkKind, str]]:
    """The (kind, key) of the tickets, release tags and meetings among ``links``: what
    two messages must share to be strong evidence of one event."""
    keys = (
        (link.kind, link.key)
        for link in links
        if link.kind.is_ticket or link.kind.is_release or link.kind.is_meeting
    )
    return list(dict.fromkeys(keys))


_KIND_ORDER = {kind: index for index, kind in enumerate(LinkKind)}


def link_order(link: EventLink) -> tuple[object, ...]:
    """The canonical order of anchors: meetings, tickets, release tags, pages, other
    links; by kind, then by key (numbers as numbers)."""
    kind = link.kind
    group = 0 if kind.is_meeting else 1 if kind.is_ticket else 2 if kind.is_release else 3
    if kind is LinkKind.LINK:
        group = 4
    # "OPS-9" before "OPS-10": numbers compare as numbers (even places are text).
    pieces = _DIGITS.split(link.key)
    numbers = [int(n) for n in _DIGITS.findall(link.key)]
    natural = tuple(p for pair in zip(pieces, [*numbers, -1], strict=True) for p in pair)
    return group, _KIND_ORDER[kind], natural, link.key


def union_links(*groups: Iterable[EventLink]) -> list[EventLink]:
    """The links of several messages as one event's: each (kind, key) once, meetings
    first, then tickets, release tags, pages and other links, at most :data:`MAX_LINKS`.

    The order is canonical, not the order the messages were read in, so an event's
    links do not depend on it; of two URLs for one anchor the shorter (then the
    smaller) is kept, for the same reason.
    """
    chosen: dict[_Anchor, EventLink] = {}
    for group in groups:
        for link in group:
            anchor = (link.kind, link.key)
            known = chosen.get(anchor)
            if known is None or _url_rank(link.url) < _url_rank(known.url):
                chosen[anchor] = link
    return sorted(chosen.values(), key=link_order)[:MAX_LINKS]


def _url_rank(url: str | None) -> tuple[bool, int, str]:
    return url is None, len(url or ""), url or ""
