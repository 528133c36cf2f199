"""The rule extractor: dates and times relative to posting, zones, DST, titles, thread changes."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slack_events_dagster.domain.models import (
    CandidateStatus,
    EventCategory,
    EventStatus,
)
from slack_events_dagster.llm.base import Extractor
from slack_events_dagster.llm.rules import RuleExtractor
from slack_events_dagster_tests.helpers.rules import drafts, item, one, posted, utc


def test_rule_extractor_implements_the_protocol_and_reports_every_candidate() -> None:
    extractor: Extractor = RuleExtractor()
    assert extractor.name == "rules"
    items = [
        item("Payments API release Tuesday at 14:00 UTC", "2026-03-05T10:00"),
        item("lol that was fun", "2026-03-05T10:01"),
    ]
    result = extractor.extract(items)
    assert len(result.drafts) == 1
    statuses = {key[1]: outcome.status for key, outcome in result.outcomes.items()}
    assert statuses == {
        items[0].candidate.ts: CandidateStatus.EXTRACTED,
        items[1].candidate.ts: CandidateStatus.NO_EVENT,
    }
    assert result.llm_calls == 0 and result.cost_usd == 0
    draft = result.drafts[0]
    assert draft.source.ts == items[0].candidate.ts and draft.thread_ts is None


# -- dates and times -------------------------------------------------------------


def test_explicit_zones_override_the_channel_zone() -> None:
    at = "2026-03-05T10:00"  # a Thursday; Berlin is on CET (UTC+1)
    assert one("Release Friday 16:00 UTC", at, "Europe/Berlin").start == utc(2026, 3, 6, 16)
    cet = one("Release Friday 14:00 CET", at, "UTC")
    assert cet.start == utc(2026, 3, 6, 13) and cet.timezone == "Europe/Berlin"
    pt = one("All-hands Friday 9am PT", at, "Europe/Berlin")
    assert pt.start == utc(2026, 3, 6, 17)  # PST, UTC-8 until 8 March
    assert pt.timezone == "America/Los_Angeles"
    assert pt.start_date == date(2026, 3, 6)


def test_channel_zone_applies_without_an_explicit_one() -> None:
    draft = one("Design review tomorrow at 3pm", "2026-07-01T09:00", "Asia/Tokyo")
    assert draft.start == utc(2026, 7, 2, 6)
    assert draft.timezone == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("text", "at", "expected"),
    [
        # Wednesday 30 December: next Tuesday is in the new year.
        ("Team sync next Tuesday", "2026-12-30T10:00", date(2027, 1, 5)),
        ("Release tomorrow", "2026-12-31T10:00", date(2027, 1, 1)),
        ("Release tomorrow", "2026-01-31T10:00", date(2026, 2, 1)),
        ("Deploy on Monday", "2026-02-27T10:00", date(2026, 3, 2)),  # a Friday in February
        ("Offsite Jan 3", "2026-12-31T10:00", date(2027, 1, 3)),
        ("Hackathon on March 3", "2026-01-15T10:00", date(2026, 3, 3)),
        ("Launch 2027-02-01", "2026-12-31T10:00", date(2027, 2, 1)),
        ("Planning meeting the day after tomorrow", "2026-02-27T10:00", date(2026, 3, 1)),
        ("Quarterly planning meeting in two weeks", "2026-12-24T10:00", date(2027, 1, 7)),
        # The same weekday as today means next week's (today is "today").
        ("Retro on Thursday", "2026-03-05T10:00", date(2026, 3, 12)),
        ("Retro this Thursday", "2026-03-05T10:00", date(2026, 3, 5)),
    ],
)
def test_relative_dates_across_month_and_year_ends(text: str, at: str, expected: date) -> None:
    draft = one(text, at)
    assert draft.start_date == expected


def test_dst_spring_forward_in_new_york() -> None:
    draft = one("Standup moved earlier: tomorrow 9am", "2026-03-07T12:00", "America/New_York")
    assert draft.start == utc(2026, 3, 8, 13)  # 09:00 EDT on the day clocks change


def test_dst_in_berlin_and_fall_back_in_new_york() -> None:
    berlin = one("Maintenance tomorrow 10:00", "2026-03-28T12:00", "Europe/Berlin")
    assert berlin.start == utc(2026, 3, 29, 8)  # CEST from 29 March
    fall = one("Town hall Sunday 9am", "2026-10-30T12:00", "America/New_York")
    assert fall.start == utc(2026, 11, 1, 14)  # EST again on 1 November


def test_eod_friday_is_an_all_day_deadline_on_friday() -> None:
    # "EOD" has no agreed hour across a team spread over time zones: the day is the deadline.
    draft = one("Design doc submissions due EOD Friday", "2026-03-05T10:00", "Europe/Berlin")
    assert draft.category is EventCategory.DEADLINE
    assert draft.start == date(2026, 3, 6) and draft.all_day
    assert "EOD" not in draft.title and "Friday" not in draft.title
    eow = one("Expense reports due EOW", "2026-03-03T10:00")
    assert eow.start == date(2026, 3, 6)
    with_hour = one("Design doc submissions due Friday 5pm CET", "2026-03-05T10:00")
    assert with_hour.start == utc(2026, 3, 6, 16)


def test_all_day_and_multi_day_events_carry_dates() -> None:
    party = one("Company holiday party Friday!", "2026-12-16T10:00")
    assert party.start == date(2026, 12, 18) and party.end is None and party.all_day
    conf = one("KubeCon Europe March 18-20, our booth is in Hall 4", "2026-03-05T10:00")
    assert (conf.start, conf.end) == (date(2026, 3, 18), date(2026, 3, 20))
    assert conf.category is EventCategory.CONFERENCE
    assert conf.location == "Hall 4"
    across = one("Offsite Dec 30 - Jan 2 in Lisbon office", "2026-12-01T10:00")
    assert (across.start, across.end) == (date(2026, 12, 30), date(2027, 1, 2))


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("Workshop Friday 2\u20134pm", utc(2026, 3, 6, 14), utc(2026, 3, 6, 16)),
        ("Workshop Friday 11am-1pm", utc(2026, 3, 6, 11), utc(2026, 3, 6, 13)),
        ("Workshop Friday 10-11am", utc(2026, 3, 6, 10), utc(2026, 3, 6, 11)),
        ("Maintenance Friday 22:00-02:00 UTC", utc(2026, 3, 6, 22), utc(2026, 3, 7, 2)),
    ],
)
def test_time_ranges(text: str, start: datetime, end: datetime) -> None:
    draft = one(text, "2026-03-05T10:00")
    assert (draft.start, draft.end) == (start, end)


# -- what is and is not an event ---------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "I was born on March 3",
        "my flight lands Tuesday at 6pm",
        "What time is the all-hands tomorrow?",
        "The release went smoothly yesterday, thanks everyone!",
        "Let's do a release soon, no idea when",
        "Build 2026-03-10 is green",
    ],
)
def test_messages_that_mention_dates_but_announce_nothing_give_no_draft(text: str) -> None:
    result = RuleExtractor().extract([item(text, "2026-03-05T10:00")])
    assert result.drafts == []
    assert [outcome.status for outcome in result.outcomes.values()] == [CandidateStatus.NO_EVENT]


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Payments API v2.3 release Tuesday 14:00 UTC", EventCategory.RELEASE),
        ("Scheduled maintenance: database downtime Saturday 02:00 UTC", EventCategory.MAINTENANCE),
        ("All-hands meeting Thursday 5pm", EventCategory.MEETING),
        ("Webinar on scaling Postgres, Thursday 5pm", EventCategory.MEETING),
        ("DataOps Summit in Austin, April 14-15", EventCategory.CONFERENCE),
        ("Team happy hour Friday 6pm", EventCategory.OTHER),
        ("The office is closed Monday March 16", EventCategory.ANNOUNCEMENT),
        ("Mobile app launch on March 20", EventCategory.LAUNCH),
        ("Code freeze starts Friday 18:00", EventCategory.DEADLINE),
        ("Incident: checkout degraded since 09:40 UTC", EventCategory.INCIDENT),
    ],
)
def test_category_by_keywords(text: str, category: EventCategory) -> None:
    assert one(text, "2026-03-05T10:00").category is category


def test_titles_are_clean_and_short() -> None:
    text = (
        "<!here> :mega: Reminder: <@U123|ana> says the Payments API v2.3 release is "
        "on Tuesday March 10 at 14:00 UTC, see <https://status.example.com|the status page>"
    )
    draft = one(text, "2026-03-05T10:00")
    assert "Payments API v2.3 release" in draft.title
    for junk in ("<", ">", "@", ":mega:", "Reminder", "14:00", "Tuesday"):
        assert junk not in draft.title
    assert draft.url == "https://status.example.com"
    bold = one("*Q2 Roadmap Review* - Thursday 3pm, all welcome", "2026-03-05T10:00")
    assert bold.title == "Q2 Roadmap Review"
    long_text = "Release of " + " ".join(["the very important thing"] * 20) + " on Friday"
    assert len(one(long_text, "2026-03-05T10:00").title) <= 80


def test_location_and_meeting_url() -> None:
    text = (
        "Offsite kickoff Monday 9:30 in the Berlin office, dial-in "
        "<https://docs.example.com/agenda|agenda> <https://meet.google.com/abc-defg-hij|Meet>"
    )
    draft = one(text, "2026-03-05T10:00")
    assert draft.location == "the Berlin office"
    assert draft.url == "https://meet.google.com/abc-defg-hij"


def test_tentative_status_and_lower_confidence() -> None:
    tentative = one("Team offsite tentatively on April 14 (TBC)", "2026-03-05T10:00")
    firm = one("Team offsite on April 14", "2026-03-05T10:00")
    assert tentative.status is EventStatus.TENTATIVE
    assert firm.status is EventStatus.SCHEDULED
    assert tentative.confidence < firm.confidence


def test_confidence_follows_the_evidence() -> None:
    precise = one("Payments API release Tuesday March 10 at 14:00 UTC", "2026-03-05T10:00")
    vague = one("Release next week", "2026-03-05T10:00")
    assert precise.confidence > vague.confidence
    assert 0 <= vague.confidence <= precise.confidence <= 1


# -- thread replies ------------------------------------------------------------------

PARENT = "Payments API v2.3 release on Tuesday March 10 at 14:00 UTC"


def test_reply_moving_the_event_keeps_title_and_time_of_day() -> None:
    draft = one(
        "moved to Thursday", "2026-03-06T10:00", parent=PARENT, parent_at="2026-03-05T10:00"
    )
    assert draft.status is EventStatus.RESCHEDULED
    assert draft.title == "Payments API v2.3 release"
    assert draft.category is EventCategory.RELEASE
    assert draft.start == utc(2026, 3, 12, 14)
    assert draft.thread_ts == posted("2026-03-05T10:00", "UTC")


def test_reply_cancelling_the_event_carries_the_parent_time() -> None:
    draft = one(
        "Cancelled, sorry all", "2026-03-06T10:00", parent=PARENT, parent_at="2026-03-05T10:00"
    )
    assert draft.status is EventStatus.CANCELLED
    assert draft.start == utc(2026, 3, 10, 14)
    assert draft.thread_ts is not None


def test_reply_pushing_to_next_week_shifts_the_parent_date() -> None:
    draft = one(
        "pushed to next week",
        "2026-03-06T10:00",
        "America/New_York",
        parent="Security training Wednesday 10am",
        parent_at="2026-03-05T10:00",
    )
    # Wednesday 11 March 10:00 EDT moves to Wednesday 18 March 10:00 EDT.
    assert draft.start == utc(2026, 3, 18, 14)
    assert draft.status is EventStatus.RESCHEDULED


def test_reply_with_only_a_new_time_keeps_the_day_and_the_parent_zone() -> None:
    draft = one(
        "moved to 4pm",
        "2026-03-06T10:00",
        "Europe/Berlin",
        parent="Security training Wednesday 10am PT",
        parent_at="2026-03-05T10:00",
    )
    assert draft.start == utc(2026, 3, 11, 23)  # 16:00 PDT
    assert draft.timezone == "America/Los_Angeles"


def test_reply_postponed_without_a_date_is_tentative() -> None:
    draft = one(
        "postponed until further notice",
        "2026-03-06T10:00",
        parent=PARENT,
        parent_at="2026-03-05T10:00",
    )
    assert draft.status is EventStatus.TENTATIVE
    assert draft.start == utc(2026, 3, 10, 14)


def test_reminder_in_a_thread_takes_the_parent_title() -> None:
    draft = one(
        "Reminder: this is tomorrow at 14:00 UTC!",
        "2026-03-09T09:00",
        parent=PARENT,
        parent_at="2026-03-05T10:00",
    )
    assert draft.title == "Payments API v2.3 release"
    assert draft.status is EventStatus.SCHEDULED
    assert draft.start == utc(2026, 3, 10, 14)


def test_top_level_reschedule_takes_the_date_after_the_change_words() -> None:
    draft = one("The design review moved from Tuesday to Thursday 3pm", "2026-03-05T10:00")
    assert draft.status is EventStatus.RESCHEDULED
    assert draft.start == utc(2026, 3, 12, 15)


def test_moving_a_room_is_not_a_reschedule() -> None:
    draft = one("Standup tomorrow 9am, moved to the big room", "2026-03-05T10:00")
    assert draft.status is EventStatus.SCHEDULED


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(max_size=300)
    | st.lists(
        st.sampled_from(
            [
                "release",
                "meeting",
                "Tuesday",
                "next",
                "tomorrow",
                "3pm",
                "14:00",
                "-",
                "2\u20134pm",
                "UTC",
                "PT",
                "CET",
                "March",
                "18",
                "2026-02-30",
                "13/45",
                "31.02.2026",
                "EOD",
                "moved",
                "to",
                "cancelled",
                "?",
                "<!here>",
                ":mega:",
                "in",
                "two",
                "weeks",
                "12am",
                "0:00",
                "23:59",
                "Feb",
                "29",
            ]
        ),
        max_size=25,
    ).map(" ".join),
    zone=st.sampled_from(["UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata"]),
)
def test_any_text_gives_drafts_or_no_event_never_failed(text: str, zone: str) -> None:
    result = RuleExtractor().extract([item(text, "2026-03-07T23:30", zone)])
    outcome = next(iter(result.outcomes.values()))
    assert outcome.status in (CandidateStatus.EXTRACTED, CandidateStatus.NO_EVENT), outcome
    for draft in result.drafts:
        assert 1 <= len(draft.title) <= 81


def test_incident_start_since_a_zoned_time_and_end_from_the_resolution_reply() -> None:
    declared = (
        "Declaring *SEV3*: exports failing. Impact since 07:00 UTC, jobs between 02:00 and 03:00"
    )
    start = one(declared, "2026-03-08T10:35", "America/New_York")
    assert start.category is EventCategory.INCIDENT
    assert start.start == utc(2026, 3, 8, 7)
    assert "Declaring" not in start.title
    resolved = one(
        "\u2705 *Resolved 11:20 ET*: all exports re-ran",
        "2026-03-08T11:22",
        "America/New_York",
        parent=declared,
        parent_at="2026-03-08T10:35",
    )
    assert (resolved.start, resolved.end) == (utc(2026, 3, 8, 7), utc(2026, 3, 8, 15, 20))


def test_the_day_next_to_the_time_is_the_event_day() -> None:
    draft = one(
        "Pi Day is on Saturday this year, so we're celebrating *Friday at 3:14pm* in the kitchen",
        "2026-03-10T10:30",
    )
    assert draft.start == utc(2026, 3, 13, 15, 14)


def test_lunch_ranges_and_unpadded_evening_times() -> None:
    lunch = one("*Lunch & Learn this Thursday, 12:30\u20131:30*", "2026-03-09T10:00")
    assert (lunch.start, lunch.end) == (utc(2026, 3, 12, 12, 30), utc(2026, 3, 12, 13, 30))
    assert lunch.title == "Lunch & Learn"
    meetup = one("Meetup is *tomorrow*! Doors 6:30, talks at 7", "2026-03-17T10:00")
    assert meetup.start == utc(2026, 3, 18, 18, 30)
    early = one("Database maintenance tomorrow 05:00", "2026-03-17T10:00")
    assert early.start == utc(2026, 3, 18, 5)


def test_an_announcement_closing_with_a_question_is_still_an_announcement() -> None:
    draft = one(
        "Thinking about sending 2 people to *DataOps Summit* in Austin, April 14-15. "
        "Budget isn't approved yet, so consider this very tentative. Who'd want to go?",
        "2026-03-04T15:00",
    )
    assert draft.status is EventStatus.TENTATIVE
    assert (draft.start, draft.end) == (date(2026, 4, 14), date(2026, 4, 15))


def test_a_dated_aside_in_a_thread_gives_no_draft() -> None:
    result = RuleExtractor().extract(
        [
            item(
                "my first KubeCon, booking flights today",
                "2026-03-02T10:00",
                parent="*KubeCon Europe* is *March 23-26 in Amsterdam*",
                parent_at="2026-03-02T08:30",
            )
        ]
    )
    assert result.drafts == []


# -- classes of real-conversation mistakes (bench/gold) ------------------------------


@pytest.mark.parametrize(
    "text",
    [
        # a supposition or an example, not a report
        "True but if you launch something say 1pm, you'd still have both test and live data",
        "Example: new homepage page just launched. Has data from 12 days ago",
        # a judgement of an event, said after it or while it is on
        "great retro everyone. action items are in the doc with owners",
        "the meetup tonight looks great.  glad to see you on the schedule",
    ],
)
def test_suppositions_examples_and_judgements_are_no_events(text: str) -> None:
    assert drafts(text, "2026-03-05T10:00") == []


@pytest.mark.parametrize(
    ("text", "title"),
    [
        # "for everyone" after a "now" phrase still reports it
        ("Hi all, A/B Testing Website pages is now live for all Professional users!", "A/B"),
        # past words in an earlier clause do not make the report history
        (
            "since we've all talked about it here previously, we just released Accelerated "
            "Mobile Pages for the Blog to all customers.",
            "Accelerated Mobile Pages",
        ),
        # a status page's incident link alone is an incident, named after the page
        ("<https://status.Example.com/incidents/dz3ny23655qr?utm_source=slack>", "Example"),
        ("registration for openvis 2016 just opened <https://openvisconf.com/#tickets>", "openvis"),
    ],
)
def test_undated_reports_are_events_on_the_posting_day(text: str, title: str) -> None:
    draft = one(text, "2026-03-05T10:00")
    assert draft.start == date(2026, 3, 5)
    assert title in draft.title


def test_minutes_in_the_event_sentence_beat_a_time_in_another() -> None:
    text = "doors open for the meetup in 45 min! volunteers, meet by the elevators at 6:10"
    assert one(text, "2026-03-05T17:45", "America/New_York").start == utc(2026, 3, 5, 23, 30)


def test_a_duration_is_no_date() -> None:
    text = "the new pricing page is live 🎉 thanks for shipping it in a day"
    assert one(text, "2026-03-05T10:00").start == date(2026, 3, 5)


def test_conference_names_and_document_versions() -> None:
    kubecon = one(
        "*KubeCon + CloudNativeCon Europe* is *March 23–26 in Amsterdam*", "2026-03-05T10:00"
    )
    assert kubecon.category is EventCategory.CONFERENCE
    assert kubecon.title == "KubeCon + CloudNativeCon Europe"
    assert (
        drafts("Beacon PRD v3 is up: <https://www.notion.so/x|Beacon PRD>", "2026-03-05T10:00")
        == []
    )


def test_work_on_a_thing_is_titled_by_the_thing() -> None:
    text = "NYC office heads-up: our ISP is swapping the fiber line on Friday March 13 from 6pm"
    assert one(text, "2026-03-05T10:00").title == "ISP fiber line swap"
