"""The repository contract for events: round trips, sources, links and the queries by
id, date and update time; every case runs on a SQLite file and on real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from slack_events_dagster.domain.models import (
    DateSource,
    EventChange,
    EventLink,
    EventStatus,
    LinkKind,
    SourceRef,
)
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.storage.schema import event_links
from slack_events_dagster_tests.helpers.records import make_event
from slack_events_dagster_tests.helpers.stores import (
    delete_events,
    get_event,
    get_event_by_dedup_key,
    upsert_events,
)


def test_event_upsert_round_trip_and_idempotence(repository: SqlRepository) -> None:
    event = make_event(
        sources=[
            SourceRef(channel_id="C1", ts="1772467260.000001"),
            SourceRef(channel_id="C2", ts="1772467999.000002"),
        ],
        history=[
            EventChange(
                changed_at=datetime(2026, 3, 3, tzinfo=UTC),
                status=EventStatus.SCHEDULED,
                start=datetime(2026, 3, 9, 15, 0, tzinfo=UTC),
            )
        ],
        sequence=1,
        status=EventStatus.RESCHEDULED,
        location="Zoom",
        url="https://zoom.us/j/1",
    )
    assert upsert_events(repository, [event]).inserted == 1
    assert upsert_events(repository, [event]).unchanged == 1

    stored = get_event(repository, "e1")
    assert stored is not None
    assert stored.model_dump(exclude={"first_seen_at", "updated_at"}) == event.model_dump(
        exclude={"first_seen_at", "updated_at"}
    )
    # Timezone round trip: the same instant comes back, as aware UTC.
    assert stored.start == datetime(2026, 3, 10, 19, 0, tzinfo=UTC)
    assert isinstance(stored.start, datetime) and stored.start.utcoffset() == timedelta(0)
    assert get_event_by_dedup_key(repository, "key-e1") == stored


def test_event_sources_are_replaced_and_queryable(repository: SqlRepository) -> None:
    event = make_event()
    upsert_events(repository, [event])
    extra = SourceRef(channel_id="C9", ts="1772468000.000003")
    merged = event.model_copy(update={"sources": [*event.sources, extra, extra]})
    assert upsert_events(repository, [merged]).updated == 1
    stored = get_event(repository, "e1")
    assert stored is not None and stored.sources == [*event.sources, extra]
    assert [e.event_id for e in repository.get_events_for_sources([extra])] == ["e1"]
    assert repository.get_events_for_sources([SourceRef(channel_id="C0", ts="1.0")]) == []


TICKET = EventLink(
    kind=LinkKind.JIRA, key="OPS-142", url="https://acme.atlassian.net/browse/OPS-142"
)
ZOOM = EventLink(kind=LinkKind.ZOOM, key="81234567890", url="https://acme.zoom.us/j/81234567890")
TAG = EventLink(
    kind=LinkKind.GITHUB_RELEASE,
    key="acme/api@v2.1.0",
    url="https://github.com/acme/api/releases/tag/v2.1.0",
)
BARE = EventLink(kind=LinkKind.JIRA, key="PAY-7")


def stored_links(repository: SqlRepository) -> list[tuple[str, str, str, int]]:
    t = event_links
    query = select(t.c.event_id, t.c.kind, t.c.key, t.c.position).order_by(
        t.c.event_id, t.c.position
    )
    with repository.engine.connect() as conn:
        return [(row.event_id, row.kind, row.key, row.position) for row in conn.execute(query)]


def test_event_links_and_date_source_round_trip(repository: SqlRepository) -> None:
    # Unicode, a bare key without URL, a URL with & and a key at the model's 300 characters.
    long_key = "x" * 300
    page = EventLink(kind=LinkKind.LINK, key=long_key, url="https://example.com/a?b=1&c=ü")
    event = make_event(date_source=DateSource.RELATIVE, links=[ZOOM, TICKET, BARE, TAG, page])
    assert upsert_events(repository, [event]).inserted == 1
    stored = get_event(repository, "e1")
    assert stored is not None
    assert stored.links == [ZOOM, TICKET, BARE, TAG, page]
    assert stored.date_source is DateSource.RELATIVE
    assert upsert_events(repository, [event]).unchanged == 1
    # Every query that reads events brings their links.
    assert repository.get_events()[0].links == event.links
    assert repository.get_events_by_ids(["e1"])[0].links == event.links
    assert repository.get_events_for_sources(event.sources)[0].links == event.links
    assert get_event_by_dedup_key(repository, "key-e1") == stored
    assert repository.get_events_updated_since(datetime(2020, 1, 1, tzinfo=UTC))[0] == stored
    # An event without links reads back without links, and "written" by default.
    upsert_events(repository, [make_event("e2", dedup_key="k2")])
    plain = get_event(repository, "e2")
    assert plain is not None and plain.links == [] and plain.date_source is DateSource.WRITTEN


def test_event_links_are_replaced_when_the_event_changes(repository: SqlRepository) -> None:
    event = make_event(links=[TICKET, ZOOM])
    upsert_events(repository, [event])
    # A change of links alone is a change: rewritten, old rows gone, new order kept.
    relinked = event.model_copy(update={"links": [TAG, TICKET, TAG]})
    assert upsert_events(repository, [relinked]).updated == 1
    assert stored_links(repository) == [
        ("e1", "github_release", "acme/api@v2.1.0", 0),
        ("e1", "jira", "OPS-142", 1),
    ]
    # A URL found later for a bare key is a change too.
    bare = event.model_copy(update={"links": [BARE]})
    upsert_events(repository, [bare])
    linked = bare.model_copy(
        update={
            "links": [BARE.model_copy(update={"url": "https://acme.atlassian.net/browse/PAY-7"})]
        }
    )
    assert upsert_events(repository, [linked]).updated == 1
    stored = get_event(repository, "e1")
    assert stored is not None and stored.links == linked.links
    # So is the date source alone.
    posted = linked.model_copy(update={"date_source": DateSource.POSTED})
    assert upsert_events(repository, [posted]).updated == 1
    stored = get_event(repository, "e1")
    assert stored is not None and stored.date_source is DateSource.POSTED
    assert upsert_events(repository, [posted]).unchanged == 1
    # Dropping every link leaves no row behind.
    assert upsert_events(repository, [posted.model_copy(update={"links": []})]).updated == 1
    assert stored_links(repository) == []


def test_events_for_links_find_a_ticket_or_tag_wherever_its_date(
    repository: SqlRepository,
) -> None:
    near = make_event("e1", links=[TICKET, ZOOM])
    far = make_event(
        "e2",
        dedup_key="k2",
        start=datetime(2026, 6, 1, 9, tzinfo=UTC),
        end=None,
        links=[TAG, TICKET],
        sources=[SourceRef(channel_id="C2", ts="1772467999.000002")],
    )
    other = make_event(
        "e3",
        dedup_key="k3",
        links=[BARE],
        sources=[SourceRef(channel_id="C3", ts="1772467999.000003")],
    )
    upsert_events(repository, [near, far, other])
    found = repository.get_events_for_links([(LinkKind.JIRA, "OPS-142")])
    assert [e.event_id for e in found] == ["e1", "e2"]
    assert found[1].links == [TAG, TICKET]
    assert [e.event_id for e in repository.get_events_for_links([("github_release", TAG.key)])] == [
        "e2"
    ]
    # The kind is part of the anchor: the same key of another kind is another thing.
    assert repository.get_events_for_links([("github_issue", "OPS-142")]) == []
    assert repository.get_events_for_links([]) == []
    # Many keys (more than one statement's worth), some repeated, of several kinds.
    keys = [("jira", f"NOPE-{n}") for n in range(1500)] + [("jira", "PAY-7")] * 2
    keys.append(("zoom", ZOOM.key))
    assert [e.event_id for e in repository.get_events_for_links(keys)] == ["e1", "e3"]


def test_deleted_and_folded_events_take_their_links(repository: SqlRepository) -> None:
    upsert_events(
        repository,
        [
            make_event("e1", links=[TICKET]),
            make_event(
                "e2",
                dedup_key="k2",
                links=[TICKET, TAG],
                sources=[SourceRef(channel_id="C2", ts="1772467999.000002")],
            ),
        ],
    )
    assert delete_events(repository, ["e1"]) == 1
    assert [row[0] for row in stored_links(repository)] == ["e2", "e2"]
    repository.save_extraction([], ["e2"], [])
    assert stored_links(repository) == []
    assert repository.get_events_for_links([("jira", "OPS-142")]) == []


def test_events_by_ids_in_start_order_across_chunks(repository: SqlRepository) -> None:
    day = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
    stored = [
        make_event(
            f"e{n:04d}",
            start=day - timedelta(days=n % 7),
            end=None,
            sources=[SourceRef(channel_id="C1", ts=f"17724{n:05d}.000001")],
        )
        for n in range(1000)  # more than one chunk of keys
    ]
    upsert_events(repository, stored)
    wanted = [e.event_id for e in stored[::3]] + ["missing", stored[0].event_id]
    found = repository.get_events_by_ids(wanted)
    assert [e.event_id for e in found] == [
        e.event_id for e in sorted(stored[::3], key=lambda e: (e.start_date, e.event_id))
    ]
    assert found[0] == get_event(repository, found[0].event_id)
    assert repository.get_events_by_ids([]) == []


def test_events_by_date_range_and_updated_since(repository: SqlRepository) -> None:
    all_day = make_event(
        "e2", dedup_key="k2", start=date(2026, 3, 12), end=date(2026, 3, 13), title="Offsite"
    )
    # 23:30 in New York on the 10th is the 11th in UTC: the local date counts.
    late = make_event(
        "e3", dedup_key="k3", start=datetime(2026, 3, 11, 3, 30, tzinfo=UTC), end=None
    )
    upsert_events(repository, [make_event(), all_day, late])

    window = repository.get_events(start_date=date(2026, 3, 10), end_date=date(2026, 3, 10))
    assert [e.event_id for e in window] == ["e1", "e3"]
    stored_all_day = get_event(repository, "e2")
    assert stored_all_day is not None
    assert (stored_all_day.start, stored_all_day.end, stored_all_day.all_day) == (
        date(2026, 3, 12),
        date(2026, 3, 13),
        True,
    )
    assert len(repository.get_events()) == 3
    assert repository.count_events() == 3
    future = datetime.now(UTC) + timedelta(hours=1)
    assert repository.get_events_updated_since(future) == []
    assert len(repository.get_events_updated_since(datetime.now(UTC) - timedelta(hours=1))) == 3
