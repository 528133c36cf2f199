"""Anchors: the links in a message that identify an event (tickets, PRs, tags, meetings, pages)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slack_events_dagster.domain.anchors import (
    MAX_LINKS,
    find_links,
    meeting_link,
    strong_keys,
    union_links,
)
from slack_events_dagster.domain.models import EventLink, LinkKind


def anchors(text: str) -> list[tuple[LinkKind, str]]:
    return [(link.kind, link.key) for link in find_links(text)]


def only(text: str) -> EventLink:
    (link,) = find_links(text)
    return link


# -------------------------------------------------------------------- each kind


@pytest.mark.parametrize(
    ("url", "kind", "key"),
    [
        # Jira: browse links, the new project URLs, boards with a selected issue, self-hosted.
        ("https://acme.atlassian.net/browse/OPS-142", LinkKind.JIRA, "OPS-142"),
        ("https://acme.atlassian.net/browse/ops-142?focused=1", LinkKind.JIRA, "OPS-142"),
        (
            "https://acme.atlassian.net/jira/software/c/projects/OPS/issues/OPS-12",
            LinkKind.JIRA,
            "OPS-12",
        ),
        (
            "https://acme.atlassian.net/jira/software/projects/OPS/boards/1?selectedIssue=OPS-7",
            LinkKind.JIRA,
            "OPS-7",
        ),
        ("https://jira.acme.com/browse/PAY-9", LinkKind.JIRA, "PAY-9"),
        # GitHub: owner/repo are case-insensitive, so keys are lower case; tags are not.
        ("https://github.com/Acme/API/issues/45", LinkKind.GITHUB_ISSUE, "acme/api#45"),
        ("https://github.com/acme/api/pull/45/files", LinkKind.GITHUB_PULL, "acme/api#45"),
        (
            "https://github.com/acme/api/releases/tag/v1.2.0",
            LinkKind.GITHUB_RELEASE,
            "acme/api@v1.2.0",
        ),
        (
            "https://github.com/acme/api/releases/tag/release/2026.03",
            LinkKind.GITHUB_RELEASE,
            "acme/api@release/2026.03",
        ),
        # GitLab: nested groups, issues, merge requests, releases and tags, self-hosted.
        (
            "https://gitlab.com/group/sub/proj/-/issues/3",
            LinkKind.GITLAB_ISSUE,
            "group/sub/proj#3",
        ),
        (
            "https://gitlab.com/group/sub/proj/-/merge_requests/12/diffs",
            LinkKind.GITLAB_MERGE_REQUEST,
            "group/sub/proj!12",
        ),
        ("https://gitlab.com/group/proj/-/releases/v1", LinkKind.GITLAB_RELEASE, "group/proj@v1"),
        ("https://gitlab.com/group/proj/-/tags/v1", LinkKind.GITLAB_RELEASE, "group/proj@v1"),
        (
            "https://gitlab.acme.io/infra/db/-/merge_requests/7",
            LinkKind.GITLAB_MERGE_REQUEST,
            "infra/db!7",
        ),
        # Meetings.
        ("https://acme.zoom.us/j/81234567890?pwd=abc", LinkKind.ZOOM, "81234567890"),
        ("https://zoom.us/j/81234567890", LinkKind.ZOOM, "81234567890"),
        ("https://us02web.zoom.us/w/99887766", LinkKind.ZOOM, "99887766"),
        ("https://acme.zoom.us/wc/join/81234567890", LinkKind.ZOOM, "81234567890"),
        ("https://acme.zoom.us/my/Ada.Lovelace", LinkKind.ZOOM, "my/ada.lovelace"),
        ("https://meet.google.com/abc-defg-hij", LinkKind.GOOGLE_MEET, "abc-defg-hij"),
        ("https://meet.google.com/ABC-DEFG-HIJ?authuser=1", LinkKind.GOOGLE_MEET, "abc-defg-hij"),
        (
            "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NjY2%40thread.v2/0"
            "?context=%7b%22Tid%22%3a%221%22%7d",
            LinkKind.TEAMS,
            "19:meeting_NjY2@thread.v2",
        ),
        ("https://teams.live.com/meet/9387654321", LinkKind.TEAMS, "9387654321"),
        ("https://acme.webex.com/meet/jdoe", LinkKind.WEBEX, "acme/meet/jdoe"),
        (
            "https://acme.webex.com/acme/j.php?MTID=m0123456789abcdef",
            LinkKind.WEBEX,
            "m0123456789abcdef",
        ),
        # Pages.
        (
            "https://acme.atlassian.net/wiki/spaces/ENG/pages/123456/Release+plan",
            LinkKind.CONFLUENCE,
            "123456",
        ),
        ("https://acme.atlassian.net/wiki/x/AbCdEf", LinkKind.CONFLUENCE, "AbCdEf"),
        (
            "https://acme.atlassian.net/wiki/display/ENG/Release+plan",
            LinkKind.CONFLUENCE,
            "ENG/Release+plan",
        ),
        (
            "https://confluence.acme.com/pages/viewpage.action?pageId=4242",
            LinkKind.CONFLUENCE,
            "4242",
        ),
        (
            "https://www.notion.so/acme/Launch-plan-0123456789abcdef0123456789abcdef",
            LinkKind.NOTION,
            "0123456789abcdef0123456789abcdef",
        ),
        (
            "https://acme.notion.site/0123456789ABCDEF0123456789ABCDEF",
            LinkKind.NOTION,
            "0123456789abcdef0123456789abcdef",
        ),
        (
            "https://www.notion.so/acme/db?p=0123456789abcdef0123456789abcdef&pm=s",
            LinkKind.NOTION,
            "0123456789abcdef0123456789abcdef",
        ),
        ("https://docs.google.com/document/d/1AbC_d-Ef/edit", LinkKind.GOOGLE_DOC, "1AbC_d-Ef"),
        ("https://docs.google.com/spreadsheets/d/1XyZ/edit#gid=0", LinkKind.GOOGLE_DOC, "1XyZ"),
        ("https://docs.google.com/presentation/u/1/d/1Pq/view", LinkKind.GOOGLE_DOC, "1Pq"),
        # Anything else, and pages of known hosts that name nothing in particular.
        (
            "https://status.example.com/incidents/42?x=1",
            LinkKind.LINK,
            "status.example.com/incidents/42",
        ),
        ("https://www.example.com/", LinkKind.LINK, "example.com"),
        ("https://github.com/acme/api", LinkKind.LINK, "github.com/acme/api"),
        ("https://zoom.us/pricing", LinkKind.LINK, "zoom.us/pricing"),
        (
            "https://acme.atlassian.net/jira/your-work",
            LinkKind.LINK,
            "acme.atlassian.net/jira/your-work",
        ),
        ("https://www.notion.so/acme/Plans", LinkKind.LINK, "notion.so/acme/Plans"),
        ("https://meet.google.com/landing", LinkKind.LINK, "meet.google.com/landing"),
    ],
)
def test_each_kind_is_recognised_linked_and_bare(url: str, kind: LinkKind, key: str) -> None:
    for text in (f"see <{url}|here> today", f"see <{url}>", f"see {url} today"):
        link = only(text)
        assert (link.kind, link.key) == (kind, key), text
        assert link.url == url


def test_kinds_say_what_they_are() -> None:
    assert LinkKind.ZOOM.is_meeting and not LinkKind.ZOOM.is_ticket
    assert LinkKind.GITLAB_MERGE_REQUEST.is_ticket
    assert LinkKind.GITHUB_RELEASE.is_release and not LinkKind.GITHUB_RELEASE.is_ticket
    assert not any(
        (LinkKind.NOTION.is_meeting, LinkKind.NOTION.is_ticket, LinkKind.NOTION.is_release)
    )


# -------------------------------------------------------------------- Slack markup


def test_entities_in_urls_are_decoded() -> None:
    link = only("<https://acme.zoom.us/j/123?pwd=a&amp;uname=b|Zoom>")
    assert link.url == "https://acme.zoom.us/j/123?pwd=a&uname=b"
    bare = only("https://example.com/a?b=1&amp;c=2 and more")
    assert bare.url == "https://example.com/a?b=1&c=2"


def test_a_bare_url_ends_before_entities_and_sentence_punctuation() -> None:
    assert only("at &lt;https://example.com/x&gt; ok").url == "https://example.com/x"
    assert only("(see https://example.com/x).").url == "https://example.com/x"
    assert only("read https://en.example.org/wiki/A_(b) now").url == (
        "https://en.example.org/wiki/A_(b)"
    )
    assert only("*https://example.com/bold*").url == "https://example.com/bold"


@pytest.mark.parametrize(
    "text",
    [
        "<mailto:ops@acme.com|ops@acme.com>",
        "<javascript:alert(1)|click>",
        "<data:text/html,hi|x>",
        "<@U123ABC>",
        "<@U123|ada>",
        "<#C123|general>",
        "<!here>",
        "<!channel>",
        "<!subteam^S1|@oncall>",
        "<!date^1392734382^{date}|Feb 18>",
        "<@U123|OPS-1>",
        "<#C123|REL-2026>",
        "<!subteam^S1|ONCALL-1>",
        "<slack://channel?id=C1|x>",
        "<ftp://files.acme.com/x>",
        "<https://|empty host>",
        "<https://ada:secret@example.com/x>",
        "javascript:alert(1) data:text/html,x",
        "https://[::1",
        "",
    ],
)
def test_unsafe_or_internal_targets_are_never_links(text: str) -> None:
    assert find_links(text) == []


def test_links_in_code_are_ignored() -> None:
    text = (
        "Deploy plan:\n```curl https://acme.zoom.us/j/111\nOPS-1 done```\n"
        "run `git push https://github.com/acme/api/pull/1` after OPS-2"
    )
    assert anchors(text) == [(LinkKind.JIRA, "OPS-2")]


# -------------------------------------------------------------------- bare keys


def test_bare_ticket_keys_in_text() -> None:
    (link,) = find_links("Fix for PAY-1234 ships tonight.")
    assert link == EventLink(kind=LinkKind.JIRA, key="PAY-1234", url=None)
    assert anchors("OPS-1, OPS-2 and B2B-7") == [
        (LinkKind.JIRA, "OPS-1"),
        (LinkKind.JIRA, "OPS-2"),
        (LinkKind.JIRA, "B2B-7"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "UTF-8",
        "ISO-8601 dates",
        "COVID-19 rules",
        "SHA-256 sums",
        "GPT-4 answers",
        "HTTP-2 push",
        "CVE-2024-1234",
        "RFC-2616",
        "A1-23",
        "X-1",
        "ops-12",
        "OPS-1234567",
        "OPS12-3a",
        "fooOPS-12",
        "path/OPS-12",
        "v1.OPS-12",
        "OPS-12-rc",
        "#OPS-12",
        "TOOLONGPROJ1-1",
    ],
)
def test_things_that_only_look_like_keys_are_not_tickets(text: str) -> None:
    assert find_links(text) == []


def test_a_key_written_and_linked_is_one_anchor_with_the_url() -> None:
    url = "https://acme.atlassian.net/browse/OPS-142"
    for text in (f"OPS-142 is done, see <{url}|the ticket>", f"<{url}|OPS-142> aka OPS-142"):
        assert find_links(text) == [EventLink(kind=LinkKind.JIRA, key="OPS-142", url=url)]


def test_a_key_in_a_link_label_counts_but_not_one_inside_a_url() -> None:
    assert anchors("<https://example.com/board|see OPS-7>") == [
        (LinkKind.LINK, "example.com/board"),
        (LinkKind.JIRA, "OPS-7"),
    ]
    assert anchors("https://example.com/OPS-7/x") == [(LinkKind.LINK, "example.com/OPS-7/x")]


# -------------------------------------------------------------------- order, duplicates, cap


def test_first_occurrence_order_and_duplicates_once() -> None:
    text = (
        "PR https://github.com/acme/api/pull/45 for OPS-9; "
        "join https://meet.google.com/abc-defg-hij "
        "again <https://github.com/acme/api/pull/45|#45> and OPS-9"
    )
    assert anchors(text) == [
        (LinkKind.GITHUB_PULL, "acme/api#45"),
        (LinkKind.JIRA, "OPS-9"),
        (LinkKind.GOOGLE_MEET, "abc-defg-hij"),
    ]


def test_at_most_twenty_links() -> None:
    text = " ".join(f"https://example.com/{index}" for index in range(50))
    found = find_links(text)
    assert len(found) == MAX_LINKS
    assert [link.key for link in found] == [f"example.com/{index}" for index in range(MAX_LINKS)]


def test_long_urls_and_keys_are_kept_within_the_model() -> None:
    assert find_links("https://example.com/" + "a" * 2100) == []
    (link,) = find_links("https://example.com/" + "b" * 500)
    assert len(link.key) <= 300


# -------------------------------------------------------------------- helpers


ZOOM = EventLink(kind=LinkKind.ZOOM, key="1", url="https://zoom.us/j/1")
TICKET = EventLink(kind=LinkKind.JIRA, key="OPS-9")
TICKET_LINKED = EventLink(
    kind=LinkKind.JIRA, key="OPS-9", url="https://a.atlassian.net/browse/OPS-9"
)
TAG = EventLink(
    kind=LinkKind.GITHUB_RELEASE, key="a/b@v1", url="https://github.com/a/b/releases/tag/v1"
)
DOC = EventLink(kind=LinkKind.GOOGLE_DOC, key="1x", url="https://docs.google.com/document/d/1x")
PLAIN = EventLink(kind=LinkKind.LINK, key="example.com", url="https://example.com")


def test_meeting_link_is_the_first_meeting_with_a_url() -> None:
    assert meeting_link([TICKET, ZOOM]) == ZOOM
    assert meeting_link([TICKET, DOC, PLAIN]) is None
    assert meeting_link([EventLink(kind=LinkKind.TEAMS, key="t"), ZOOM]) == ZOOM


def test_strong_keys_are_tickets_release_tags_and_meetings() -> None:
    assert strong_keys([PLAIN, DOC, TICKET, TAG, ZOOM, TICKET_LINKED]) == [
        (LinkKind.JIRA, "OPS-9"),
        (LinkKind.GITHUB_RELEASE, "a/b@v1"),
        (LinkKind.ZOOM, "1"),
    ]


def test_union_is_canonical_whatever_the_order() -> None:
    ten = EventLink(kind=LinkKind.JIRA, key="OPS-10")
    groups = [[PLAIN, TICKET], [DOC, ten, TAG], [ZOOM, TICKET_LINKED]]
    expected = [ZOOM, TICKET_LINKED, ten, TAG, DOC, PLAIN]
    assert union_links(*groups) == expected
    assert union_links(*reversed(groups)) == expected
    assert union_links([link for group in groups for link in reversed(group)]) == expected


def test_union_keeps_one_url_per_anchor_and_at_most_twenty() -> None:
    short = EventLink(kind=LinkKind.GITHUB_PULL, key="a/b#1", url="https://github.com/a/b/pull/1")
    longer = short.model_copy(update={"url": "https://github.com/a/b/pull/1/files"})
    assert union_links([longer], [short]) == [short] == union_links([short], [longer])
    many = [
        EventLink(kind=LinkKind.LINK, key=f"x.io/{i}", url=f"https://x.io/{i}") for i in range(30)
    ]
    kept = union_links(many, [ZOOM])
    assert len(kept) == MAX_LINKS and kept[0] == ZOOM
    # Capping is associative: capping the union of capped unions loses nothing more.
    assert union_links(union_links(many[:25]), many[25:], [ZOOM]) == kept


# -------------------------------------------------------------------- never raises

_pieces = st.sampled_from(
    [
        "<",
        ">",
        "|",
        "&amp;",
        "&lt;",
        "`",
        "```",
        "https://",
        "http://[",
        "<https://",
        "github.com/a/b/pull/",
        "gitlab.com/a/-/",
        "zoom.us/j/",
        ".atlassian.net/browse/",
        "/wiki/",
        "notion.so/",
        "docs.google.com/document/d/",
        "OPS-",
        "-",
        "@",
        "%",
        "%zz",
        "?p=",
        "\n",
        " ",
    ]
)
_messy = st.lists(st.one_of(st.text(max_size=15), _pieces), max_size=40).map("".join)


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(st.text(), _messy))
def test_find_links_never_raises_and_returns_valid_links(text: str) -> None:
    links = find_links(text)
    assert len(links) <= MAX_LINKS
    assert len({(link.kind, link.key) for link in links}) == len(links)
    for link in links:
        EventLink.model_validate(link.model_dump())
        if link.url is not None:
            assert link.url.lower().startswith(("http://", "https://"))
        else:
            assert link.kind is LinkKind.JIRA


@settings(max_examples=200, deadline=None)
@given(text=_messy)
def test_union_of_found_links_is_stable(text: str) -> None:
    links = find_links(text)
    assert union_links(links) == union_links(list(reversed(links)))
    assert union_links(union_links(links)) == union_links(links)
