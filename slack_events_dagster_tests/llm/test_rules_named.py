"""The rule extractor on classes of real-chat phrasing: named things that begin on a day,
events said to be on today, an incident confirmed in answer to a question, attendance
talk inside an announcement, and generic titles completed by the name beside them.

The phrasings are written for these tests (not copied from a corpus): each stands for a
class of messages, so a fix must hold for the class."""

from __future__ import annotations

from datetime import date

import pytest

from slack_events_dagster.domain.models import DateSource, EventCategory
from slack_events_dagster.llm.rules import names, titles
from slack_events_dagster.llm.rules.reading import slug_title
from slack_events_dagster_tests.helpers.rules import drafts, one


@pytest.mark.parametrize(
    ("text", "day", "title"),
    [
        (
            "Reminder: PyData Berlin 2026 starts tomorrow! Grab a ticket",
            date(2026, 3, 6),
            "PyData Berlin 2026",
        ),
        ("Heads up, ElixirConf EU begins today, come say hi", date(2026, 3, 5), "ElixirConf EU"),
        (
            "*Scaling Postgres* with Ana Ruiz starts in 15 minutes.",
            date(2026, 3, 5),
            "Scaling Postgres",
        ),
    ],
)
def test_a_named_thing_that_begins_on_a_day_is_an_event(text: str, day: date, title: str) -> None:
    found = drafts(text, "2026-03-05T09:00:00")
    assert len(found) == 1
    assert found[0].start_date == day
    assert title.lower() in found[0].title.lower()


@pytest.mark.parametrize(
    "text",
    [
        "it starts tomorrow, I think",  # no name begins
        "the build starts failing tomorrow if we do nothing",
    ],
)
def test_beginning_without_a_name_is_no_event(text: str) -> None:
    assert drafts(text, "2026-03-05T09:00:00") == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("It's Developer Day 2026! Head over to the stream.", "Developer Day 2026"),
        ("Tonight is our Rust meetup at the Hub, doors at 6", "Rust meetup"),
    ],
)
def test_an_event_said_to_be_on_today_is_on_the_posting_day(text: str, name: str) -> None:
    found = drafts(text, "2026-03-05T09:00:00")
    assert [d.start_date for d in found] == [date(2026, 3, 5)]
    assert name.lower() in found[0].title.lower()


def test_is_it_today_asks_and_gives_no_event() -> None:
    assert drafts("Is it Developer Day already? Where is the stream?", "2026-03-05T09:00:00") == []


def test_attendance_talk_inside_an_announcement_keeps_it() -> None:
    text = "Tonight is our data meetup at 6pm! Everyone will be there, see you there :tada:"
    assert len(drafts(text, "2026-03-05T09:00:00")) == 1
    # Said alone, it is someone's attendance, not an announcement.
    assert drafts("see you there tonight at the meetup", "2026-03-05T09:00:00") == []


def test_an_incident_confirmed_in_answer_to_a_question_takes_the_question_name() -> None:
    found = drafts(
        "Normal service has resumed, thanks for waiting!",
        "2026-03-05T11:00:00",
        parent="Is Grafana Cloud down for anyone else?",
        parent_at="2026-03-05T10:00:00",
    )
    assert len(found) == 1
    assert found[0].category is EventCategory.INCIDENT
    assert found[0].date_source is DateSource.POSTED
    assert "grafana" in found[0].title.lower()


def test_a_resolution_under_a_status_page_incident_is_the_incident() -> None:
    found = drafts(
        "Update: this issue has been resolved.",
        "2026-03-05T11:00:00",
        parent="*Some page edits are failing.*\n<https://status.example.com/incidents/abc123>",
        parent_at="2026-03-05T10:00:00",
    )
    assert len(found) == 1
    assert found[0].category is EventCategory.INCIDENT
    assert found[0].start_date == date(2026, 3, 5)


@pytest.mark.parametrize(
    "parent",
    [
        "my Grafana dashboards aren't showing up in safari :scream:",  # a report, no question
        "This content can't be displayed.",  # Slack's placeholder for a removed message
    ],
)
def test_a_status_page_incident_linked_in_any_thread_is_an_incident(parent: str) -> None:
    found = drafts(
        "For status updates on this: <https://status.grafana.example/incidents/q81x>",
        "2026-03-05T11:00:00",
        parent=parent,
        parent_at="2026-03-05T10:00:00",
    )
    assert [(d.category, d.start_date) for d in found] == [
        (EventCategory.INCIDENT, date(2026, 3, 5))
    ]


def test_a_reply_under_chatter_still_gives_nothing() -> None:
    found = drafts(
        "all clear: dashboards are fast again",
        "2026-03-05T11:00:00",
        parent="anyone tried the new dashboards?",
        parent_at="2026-03-05T10:00:00",
    )
    assert found == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Public Beta: Orders Export API. We're excited to introduce it today",
            "Orders Export API",
        ),
        ("We just launched a beta for a new Meetings API, try it", "Meetings API"),
        (
            "Excited to introduce our new *Partner Feedback Portal*, live today",
            "Partner Feedback Portal",
        ),
    ],
)
def test_a_generic_title_takes_the_name_beside_it(text: str, expected: str) -> None:
    found = drafts(text, "2026-03-05T09:00:00")
    assert found, text
    assert expected.lower() in found[0].title.lower()


@pytest.mark.parametrize(
    ("text", "position_word"),
    [
        ("Hello Developer Community, the beta is now live", "beta"),  # an addressee
        ("training is live in KnowBe4 and due Friday", "training"),  # where, not what
        ("standup (it's Friday, keep it short)", "standup"),  # a day, not a name
        ("I'd say the beta is live", "beta"),  # a pronoun
    ],
)
def test_names_that_do_not_name_the_thing_are_not_taken(text: str, position_word: str) -> None:
    assert names.with_name(position_word.capitalize(), text, text.index(position_word)) is None


def test_generic_titles_are_told_from_named_ones() -> None:
    assert names.is_generic("Public Beta")
    assert names.is_generic("Launch")
    assert names.is_generic("LIVE NOW")
    assert not names.is_generic("Meetings API")
    assert not names.is_generic("4.13 release")
    assert not names.is_generic("Sprint 5 retro")


@pytest.mark.parametrize(
    "text",
    [
        "thanks! it will be released as a font at some point",
        "the new dashboard will be live soon-ish, no date yet",
    ],
)
def test_a_happening_said_in_the_future_without_a_date_is_no_event(text: str) -> None:
    assert drafts(text, "2026-03-05T09:00:00") == []


@pytest.mark.parametrize(
    "text",
    [
        "they have to finish some other items that are in beta and release them first",
        "yeah looks like it's back up",
    ],
)
def test_an_undated_report_without_a_name_is_no_event(text: str) -> None:
    assert drafts(text, "2026-03-05T09:00:00") == []


def test_a_generic_reply_takes_the_name_of_its_parent() -> None:
    found = drafts(
        "The recording is now available!",
        "2026-03-06T09:00:00",
        parent="Elm Europe webinar on Thursday March 5 at 4pm CET",
        parent_at="2026-03-01T09:00:00",
    )
    assert found
    assert "elm europe" in found[-1].title.lower()


def test_a_name_after_a_greeting_comma_is_a_name() -> None:
    found = drafts(
        "Ok folks, Priya's slides from her talk are available now.", "2026-03-05T09:00:00"
    )
    assert found and "priya" in found[0].title.lower()


def test_the_title_has_no_broadcast_mention_nor_joining_word() -> None:
    assert titles.finish("Also @here -- Developer Day 2026") == "Developer Day 2026"


def test_an_opening_beside_a_dated_event_is_an_event_of_its_own() -> None:
    found = drafts(
        "RustFest 2026 will be on September 29, 2026 in Lisbon. Registration is now open here: "
        "<https://example.org/rustfest>",
        "2026-06-07T09:00:00",
    )
    assert sorted((d.start_date, d.date_source) for d in found) == [
        (date(2026, 6, 7), DateSource.POSTED),
        (date(2026, 9, 29), DateSource.WRITTEN),
    ]
    opening = next(d for d in found if d.date_source is DateSource.POSTED)
    assert opening.title == "RustFest 2026 registration"


def test_something_live_with_its_deadline_is_one_event() -> None:
    found = drafts(
        "Annual security training is live in KnowBe4 and it's due by Friday March 13",
        "2026-03-02T09:00:00",
    )
    assert [d.start_date for d in found] == [date(2026, 3, 13)]


@pytest.mark.parametrize(
    ("text", "title"),
    [
        (
            "*Some exports are failing for CSV and XLSX files.*\n<https://status.example.com/incidents/x1>",
            "Exports failing",
        ),
        (
            "We are aware that parts of the app, including the inbox and billing pages, are not "
            "loading. <https://status.example.com/incidents/x2>",
            "Inbox and billing pages not loading",
        ),
    ],
)
def test_a_status_page_incident_is_titled_by_what_is_in_trouble(text: str, title: str) -> None:
    found = drafts(text, "2026-03-05T09:00:00")
    assert [d.title for d in found] == [title]


def test_a_talk_named_in_quotes_is_titled_by_its_name() -> None:
    found = drafts(
        "“Designing Calm Dashboards” by Ines Duarte is being presented right now, join!",
        "2026-03-05T09:00:00",
    )
    assert found and found[0].title.startswith("Designing Calm Dashboards")


def test_a_talk_at_a_named_meetup_is_the_meetup() -> None:
    found = drafts(
        'Speaking at the *Rust Lisbon meetup* on Thursday March 19 at 19:00: "Async without tears"',
        "2026-03-05T09:00:00",
    )
    assert found and "rust lisbon meetup" in found[0].title.lower()


def test_a_mention_before_the_event_word_does_not_hide_it() -> None:
    # Token positions are read with the mention blanked: an event word after a mention
    # is found where it is.
    from slack_events_dagster.domain.prose import read_prose
    from slack_events_dagster.llm.rules.reading import _heads

    prose = read_prose(
        "<@U1> will give a lightning talk at our meetup on Friday", {"U1": "Ana Ruiz"}
    )
    assert [head.text for head in _heads(prose)] == ["lightning talk", "meetup"]


def test_a_talk_given_by_someone_is_titled_by_the_speaker_and_topic() -> None:
    from dataclasses import replace

    from slack_events_dagster.llm.rules import RuleExtractor
    from slack_events_dagster_tests.helpers.rules import item

    talk = replace(
        item("<@U1> is starting her talk about D3", "2026-03-05T19:00:00"),
        names={"U1": "Amanda Shih"},
    )
    found = RuleExtractor().extract([talk]).drafts
    assert [d.title for d in found] == ["Amanda Shih talk on D3"]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        (
            "I'm pleased to announce the launch of the new Rust Forum for the community",
            "rust forum",
        ),
        ("The `hs` CLI is out of beta and available to all accounts!", "cli"),
        (
            "More big news! *Introducing Content Hub*, a place for all of your content",
            "content hub",
        ),
    ],
)
def test_an_undated_launch_announced_is_on_the_posting_day(text: str, name: str) -> None:
    found = drafts(text, "2026-03-05T09:00:00")
    assert [d.date_source for d in found] == [DateSource.POSTED]
    assert name in found[0].title.lower()


def test_a_launch_announced_for_later_is_not_now() -> None:
    assert (
        drafts("We're excited to announce we will launch the new forum soon", "2026-03-05T09:00:00")
        == []
    )


def test_organizers_saying_see_you_there_still_announce() -> None:
    found = drafts(
        "Tonight's Developer Party is sold out!! We can't wait to see you there!",
        "2026-03-05T09:00:00",
    )
    assert [d.start_date for d in found] == [date(2026, 3, 5)]


def test_a_nameless_title_takes_a_channel_named_after_the_thing() -> None:
    assert names.with_channel("BETA", "local-development") == "local development beta"
    assert names.with_channel("Beta", "mobile-chat-sdk-beta") == "mobile chat sdk beta"
    assert names.with_channel("Beta", "releases-and-updates") is None
    assert names.with_channel("Meetup", "events-and-meetups") is None
    assert names.with_channel("We're live", "local-development") is None


def test_one_more_user_seeing_an_incident_is_no_answer() -> None:
    found = drafts(
        "Over here it's not loading....",
        "2026-03-05T11:00:00",
        parent="Is Grafana Cloud down for anyone else?",
        parent_at="2026-03-05T10:00:00",
    )
    assert found == []


def test_adverbs_and_addressees_name_nothing() -> None:
    assert names.is_generic("Still release")
    assert names.is_addressee("HubSpot Devs")
    assert not names.is_addressee("Rust Lisbon meetup")


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Heads up: *2.4 goes out tomorrow at 2pm ET*. Branch is cut.", "2.4"),
        (
            "Cross-posting from <#C1|ops>: *Redis 7 upgrade this Saturday night, 11pm ET*.",
            "Redis 7 upgrade",
        ),
    ],
)
def test_titles_lose_trailing_verbs_and_a_cross_posts_channel(text: str, title: str) -> None:
    found = drafts(text, "2026-03-05T09:00:00", "America/New_York")
    assert [d.title for d in found] == [title]


def test_a_deadline_is_titled_by_what_is_due() -> None:
    found = drafts(
        "Hi all! March timesheets are due *EOD Friday* in Harvest.", "2026-03-02T09:00:00"
    )
    assert [d.title for d in found] == ["March timesheets due"]


def test_a_title_for_someone_is_no_addressee() -> None:
    assert not names.is_addressee("jQuery for CMS developers")


def test_open_source_is_no_opening() -> None:
    assert drafts("igraph is open source and free, check it out", "2026-03-05T09:00:00") == []


def test_a_file_comment_reads_as_the_comment_only() -> None:
    from slack_events_dagster.domain.prose import read_prose

    prose = read_prose(
        "<@U1|ana> commented on <@U1>'s file <https://x.slack.com/files/F1|03/01/2026 Meetup>: "
        "Here are my notes"
    )
    assert prose.text == "Here are my notes"


def test_a_discount_is_no_cancellation() -> None:
    found = drafts(
        "that is 25% off of a console",
        "2026-03-05T11:00:00",
        parent="live in 88 minutes - Google Stadia conference",
        parent_at="2026-03-05T10:00:00",
    )
    assert found == []


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("<https://lists.example.org/msg1.html>\nGHC 9.12.1-rc1! :tada:", "GHC 9.12.1-rc1 release"),
        (
            "Zed Editor 0.180.2 (mostly fixes)\n<https://github.com/zed/zed/releases/tag/v0.180.2>",
            "Zed Editor 0.180.2 release",
        ),
        ("ghcupにGHC 9.6.7が降ってきたようです", None),
    ],
)
def test_a_version_cheered_or_tagged_is_a_release_today(text: str, title: str | None) -> None:
    from slack_events_dagster.domain.candidates import score_message
    from slack_events_dagster_tests.helpers.rules import item

    assert score_message(
        item(text, "2026-03-05T09:00:00").message, channel_name="random"
    ).is_candidate
    found = drafts(text, "2026-03-05T09:00:00")
    assert [(d.start_date, d.date_source) for d in found] == [(date(2026, 3, 5), DateSource.POSTED)]
    if title is not None:
        assert found[0].title == title
    else:
        assert "9.6.7" in found[0].title


def test_a_section_number_in_japanese_is_no_release() -> None:
    assert drafts("9.1を読み終わりました。終了の時間ですね", "2026-03-05T09:00:00") == []


def test_a_file_upload_reads_as_its_comment_only() -> None:
    from slack_events_dagster.domain.prose import read_prose

    upload = (
        "<@U1|ana> uploaded a file: <https://x.slack.com/files/F1/screen_shot_2018-02-09_at_1.14.34"
        "_pm.png|screen_shot_2018-02-09_at_1.14.34_pm.png>"
    )
    assert read_prose(upload).text == ""
    assert drafts(upload, "2026-03-05T09:00:00") == []
    commented = (
        "<@U1|ana> uploaded a file: <https://x/y.html|Related posts> and commented: Here it is"
    )
    assert read_prose(commented).text == "Here it is"


def test_a_version_required_is_no_release() -> None:
    text = "In your case the package needs to be updated to version 4.1.3 or higher to resolve it"
    assert drafts(text, "2026-03-05T09:00:00") == []


def test_a_japanese_release_is_titled_by_its_name_and_version() -> None:
    found = drafts(
        "GHC 9.4.1もリリースされました <https://discourse.haskell.org/t/x>", "2026-03-05T09:00:00"
    )
    assert [d.title for d in found] == ["GHC 9.4.1 release"]


def test_a_title_cut_inside_a_quote_has_no_half_quote() -> None:
    assert titles.finish('Customer webinar: "Meet Beacon') == "Customer webinar: Meet Beacon"
    assert titles.finish('Talk "Meet Beacon" today') == 'Talk "Meet Beacon" today'


def test_a_message_opening_with_a_name_then_will_is_no_question() -> None:
    from dataclasses import replace

    from slack_events_dagster.llm.rules import RuleExtractor
    from slack_events_dagster_tests.helpers.rules import item

    text = (
        "<@U1> will be presenting a lightning talk on a recent project using leaflet.js and "
        "mapbox for map data in our next meetup (August 10)"
    )
    talk = replace(item(text, "2026-07-20T09:00:00"), names={"U1": "Greg Smith"})
    found = RuleExtractor().extract([talk]).drafts
    assert [(d.start_date, d.title) for d in found] == [
        (
            date(2026, 8, 10),
            "Greg Smith lightning talk on recent project using leaflet.js and mapbox",
        )
    ]


def test_a_display_name_of_two_words_names_no_event() -> None:
    assert [t.text for t in titles.words_of("chat with @Mike Tandon about the meetup")] == [
        "chat",
        "with",
        "about",
        "the",
        "meetup",
    ]


@pytest.mark.parametrize(
    "title",
    ["It was a request that came", "Thanks for the screenshots Jon", "Because blogs release"],
)
def test_pieces_of_sentences_are_clauses(title: str) -> None:
    assert names.is_clause(title)
    assert not names.is_clause("IT maintenance window")


def test_a_channel_name_keeps_the_kind_not_the_manner() -> None:
    assert names.with_channel("Still release", "local-development") == "local development release"
    assert names.with_channel("Release", "gratitude") is None


@pytest.mark.parametrize(
    "text",
    [
        "We are an agency in London looking for a hands-on HS developer, ASAP. Starting next week",
        "At Acme we're hiring for our first CMS developer, launch of the new site in May",
    ],
)
def test_a_job_post_is_no_event(text: str) -> None:
    assert drafts(text, "2026-03-05T09:00:00") == []


def test_looking_for_feedback_is_no_job() -> None:
    text = (
        "We're moving the new editor into a private beta today. We're looking for feedback on "
        "the developer experience, fill out this form"
    )
    assert drafts(text, "2026-03-05T09:00:00")


@pytest.mark.parametrize(
    ("text", "title"),
    [
        (
            "I'll be in the virtual <https://ex.com/s/1|Scaling Elixir Services Office Hours"
            " Meetup> tomorrow, come say hi!",
            "Scaling Elixir Services Office Hours Meetup",
        ),
        (
            "We're also running a second <https://ex.com/r/2|Rust Tooling Topic Chat tomorrow"
            " 10:30 AM PST (1:30 EST)>, sign up if you can make it",
            "Rust Tooling Topic Chat",
        ),
        (
            "Quick reminder that you have until March 20th to submit to the"
            " <https://ex.devpost.com/|Grafana Plugin Builders contest>.",
            "Grafana Plugin Builders contest",
        ),
    ],
)
def test_a_link_label_holding_the_event_names_it(text: str, title: str) -> None:
    found = drafts(text, "2026-03-05T09:00:00")
    assert [d.title for d in found] == [title]


@pytest.mark.parametrize(
    "text",
    [
        "The Kotlin meetup is tomorrow at 6pm, <https://ex.com/e/3|join us here>",
        "The Kotlin meetup is tomorrow at 6pm: <https://ex.com/e/3|Apply to our new meetup>",
        "The Kotlin meetup is tomorrow at 6pm, <https://ex.com/e/3|it is listed here>",
    ],
)
def test_an_instruction_or_a_clause_in_a_link_label_names_nothing(text: str) -> None:
    found = drafts(text, "2026-03-05T09:00:00")
    assert len(found) == 1
    assert found[0].title.lower().removeprefix("the ") == "kotlin meetup"


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Additionally Ana will host the Kotlin meetup tomorrow at 6pm", "Kotlin meetup"),
        ("Calling all Developers! The Grafana hackathon kicks off tomorrow", "Grafana hackathon"),
    ],
)
def test_a_discourse_marker_names_nothing(text: str, title: str) -> None:
    found = drafts(text, "2026-03-05T09:00:00")
    assert len(found) == 1
    assert title.lower() in found[0].title.lower()
    assert not found[0].title.lower().startswith(("additionally", "calling"))


@pytest.mark.parametrize(
    ("text", "title"),
    [
        (
            "<https://github.com/ex/mobile-sdk/releases/tag/2.4.1|Mobile Chat SDK for Android"
            " has been updated to v2.4.1> with a fix for Gradle 8",
            "Mobile Chat SDK for Android v2.4.1 release",
        ),
        (
            "The Payments API client was bumped to v3.2.0, available now on PyPI",
            "Payments API client v3.2.0 release",
        ),
    ],
)
def test_what_moved_to_a_version_names_the_release(text: str, title: str) -> None:
    found = drafts(text, "2026-03-05T09:00:00")
    assert [d.title for d in found] == [title]


@pytest.mark.parametrize(
    ("text", "title"),
    [
        (
            "For those of you who missed PyCon Lisbon 2026, you can catch every talk here:"
            " <https://youtube.com/playlist?list=x>",
            "PyCon Lisbon 2026 recording",
        ),
        (
            "For anyone who couldn't make the Grafana Plugins Workshop (it ran before the"
            " keynote): <https://youtube.com/watch?v=y>",
            "Grafana Plugins Workshop recording",
        ),
    ],
)
def test_for_those_who_missed_it_publishes_the_recording_now(text: str, title: str) -> None:
    found = drafts(text, "2026-03-05T09:00:00")
    assert [(d.title, d.category, d.start_date, d.date_source) for d in found] == [
        (title, EventCategory.ANNOUNCEMENT, date(2026, 3, 5), DateSource.POSTED)
    ]


def test_a_promised_recording_is_not_published() -> None:
    text = "For those who missed the Grafana Plugins Workshop, we will post the recording soon"
    assert drafts(text, "2026-03-05T09:00:00") == []


@pytest.mark.parametrize(
    ("text", "version"),
    [
        (
            "*Release Notes | v2.14.0*\n- :new: `export` command\n- faster `sync` on large repos",
            "v2.14.0",
        ),
        ("Grafana CLI 0.9.3\nWhat's new?\n1. `login` reads the token from a file", "0.9.3"),
    ],
)
def test_a_changelog_heading_with_a_version_is_a_release_now(text: str, version: str) -> None:
    found = drafts(text, "2026-03-05T09:00:00")
    assert [(d.category, d.start_date) for d in found] == [
        (EventCategory.RELEASE, date(2026, 3, 5))
    ]
    assert version in found[0].title


@pytest.mark.parametrize(
    "text",
    [
        "The version 2.3 update broke my site\nanyone else?",
        "*my notes on the 2.3 update*: the cache is slower",
    ],
)
def test_a_version_in_a_first_line_alone_is_no_changelog(text: str) -> None:
    assert drafts(text, "2026-03-05T09:00:00") == []


@pytest.mark.parametrize(
    "text",
    [
        "eager to chat with folks and hear more about the Rust meetup tonight",
        "hey all! looking forward to PyCon Lisbon next week, bringing my whole team",
    ],
)
def test_someones_anticipation_is_attendance_not_an_announcement(text: str) -> None:
    assert drafts(text, "2026-03-05T09:00:00") == []


def test_organizers_looking_forward_still_announce() -> None:
    text = "We look forward to seeing you at our Rust meetup tonight at 6pm!"
    assert len(drafts(text, "2026-03-05T09:00:00")) == 1


@pytest.mark.parametrize(
    ("text", "name"),
    [
        (
            "Quick note: the Grafana Marketplace is now officially accepting plugin submissions!",
            "grafana",
        ),
        ("Registration for the Grafana contest is officially open!", "grafana"),
        ("Submissions for the Grafana contest are now open", "grafana"),
    ],
)
def test_an_opening_said_now_is_an_announcement_on_the_posting_day(text: str, name: str) -> None:
    found = drafts(text, "2026-03-05T09:00:00")
    assert [(d.category, d.start_date) for d in found] == [
        (EventCategory.ANNOUNCEMENT, date(2026, 3, 5))
    ]
    assert name in found[0].title.lower()


def test_a_launch_now_beside_a_dated_event_is_a_second_event() -> None:
    text = (
        "Two pieces of news.\n\n*First*, the Grafana Loki plugin is now out of beta."
        "\n\n*Second*, the Grafana plugin contest submissions close on March 10."
    )
    found = drafts(text, "2026-03-05T09:00:00")
    assert sorted((d.start_date, d.category, d.title) for d in found) == [
        (date(2026, 3, 5), EventCategory.LAUNCH, "Grafana Loki plugin out of beta"),
        (date(2026, 3, 10), EventCategory.DEADLINE, "Grafana plugin contest"),
    ]


def test_a_launch_in_the_dated_sentence_is_the_dated_event() -> None:
    found = drafts("The Grafana Loki beta is live until March 10", "2026-03-05T09:00:00")
    assert len(found) == 1


def test_what_is_due_is_the_subject_of_the_first_predicate() -> None:
    found = drafts(
        "Q2 peer reviews are open in Lattice and are *due in two weeks*.", "2026-03-05T09:00:00"
    )
    assert [(d.title, d.category) for d in found] == [
        ("Q2 peer reviews due", EventCategory.DEADLINE)
    ]


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Also happy Grafana v11.0 day, hope the upgrades go well", "Grafana v11.0 release"),
        ("Happy Rust 1.80 release day everyone", "Rust 1.80 release"),
    ],
)
def test_a_versions_day_celebrated_is_its_release(text: str, title: str) -> None:
    found = drafts(text, "2026-03-05T09:00:00")
    assert [(d.title, d.category, d.start_date) for d in found] == [
        (title, EventCategory.RELEASE, date(2026, 3, 5))
    ]


@pytest.mark.parametrize("text", ["happy friday all", "Happy Pi day! 3.14 of everything"])
def test_a_day_celebrated_without_a_version_named_is_no_release(text: str) -> None:
    assert all(d.category is not EventCategory.RELEASE for d in drafts(text, "2026-03-05T09:00:00"))


def test_a_pasted_event_cards_headline_names_it() -> None:
    text = (
        "Dana Okafor\nPrincipal Engineer at Grafana Labs\n"
        "Building Dashboards People Actually Read\nSave your webinar seat now: "
        "<https://ex.com/w/1>\n\nDate: Tuesday, March 10, 2026\nTime: 09:00 AM PST"
    )
    found = drafts(text, "2026-03-05T09:00:00")
    assert [d.title for d in found] == ["Building Dashboards People Actually Read"]


def test_a_headline_of_another_paragraph_names_nothing() -> None:
    text = (
        "Two links.\n\nOne: Grafana Plugins Weekly Update and Multiple Panels\n<https://ex.com/a>"
        "\n\nTwo: a functional programming seminar series, first session on March 10"
    )
    found = drafts(text, "2026-03-05T09:00:00")
    assert all("Weekly Update" not in d.title for d in found)


@pytest.mark.parametrize(
    "text",
    [
        "明日はHaskell勉強会に行きます。楽しみ！",
        "久しぶりにもくもく会に参加します。今日はGHCのドキュメントを読みます",
    ],
)
def test_someone_attending_in_japanese_is_no_announcement(text: str) -> None:
    assert drafts(text, "2026-03-05T09:00:00", zone="Asia/Tokyo") == []


@pytest.mark.parametrize(
    ("text", "category", "name"),
    [
        ("surprise live broadcast of rust after hours!\n<https://ex.com/pod>", "meeting", "rust"),
        (
            "With an all-access pass you can watch the Grafana content on-demand now <https://ex.com/>",
            "announcement",
            "grafana",
        ),
    ],
)
def test_a_broadcast_or_a_publication_said_now_is_on_the_posting_day(
    text: str, category: str, name: str
) -> None:
    found = drafts(text, "2026-03-05T09:00:00")
    assert [(d.category.value, d.start_date) for d in found] == [(category, date(2026, 3, 5))]
    assert name in found[0].title.lower()


def test_a_label_introduced_names_the_launch() -> None:
    found = drafts(
        "We're excited to introduce our new *<https://ex.com/f|Plugin Feedback Portal>*, built"
        " to hear from plugin authors, and we'll share results in the first half of 2027.",
        "2026-03-05T09:00:00",
    )
    assert [d.title for d in found if d.start_date == date(2026, 3, 5)] == [
        "Plugin Feedback Portal launch"
    ]


def test_a_label_whose_sentence_says_what_it_is_about_is_only_its_kind() -> None:
    found = drafts(
        "Ana and I are giving a <https://ex.com/w|Rust live webinar> about the Tokio Console"
        " API this Thursday March 12th at 2pm EST.",
        "2026-03-05T09:00:00",
    )
    assert len(found) == 1
    assert "tokio console" in found[0].title.lower()


def test_a_status_page_under_a_question_takes_the_questions_trouble() -> None:
    found = drafts(
        "We do now have a <https://status.grafana.example/incidents/q81x| status page> up for"
        " this incident FYI",
        "2026-03-05T11:00:00",
        parent="Anyone else experiencing downtime on Loki query requests?",
        parent_at="2026-03-05T10:00:00",
    )
    assert len(found) == 1
    assert "loki query requests" in found[0].title.lower()


def test_a_named_things_trouble_titles_a_status_page() -> None:
    found = drafts(
        "For folks seeing Loki issues: <https://status.grafana.example/incidents/q81x>",
        "2026-03-05T11:00:00",
    )
    assert [d.title for d in found] == ["Loki issues"]


def test_who_is_having_the_event_names_it() -> None:
    found = drafts(
        "also, the Rust user’s group is having a talk tomorrow that may interest folks here",
        "2026-03-05T09:00:00",
    )
    assert [(d.start_date, d.title) for d in found] == [
        (date(2026, 3, 6), "Rust user's group talk")
    ]


@pytest.mark.parametrize(
    ("text", "banned", "kept"),
    [
        ("We're actively investigating an issue that delays published pages", "actively", None),
        ("Originally Lisbon meetup was planned for May, it's on today now", "originally", "lisbon"),
        ("The new editor features are gradually rolling out now", "gradually", "editor"),
    ],
)
def test_adverbs_are_no_part_of_a_title(text: str, banned: str, kept: str | None) -> None:
    found = drafts(text, "2026-03-05T09:00:00")
    assert len(found) == 1, text
    assert banned not in found[0].title.lower().split(), found[0].title
    assert kept is None or kept in found[0].title.lower(), found[0].title


def test_a_rollout_told_only_by_its_manner_names_nothing() -> None:
    # "yes, it's being rolled out slowly": nothing named, no event ("Slowly release").
    assert drafts("yes, it's being rolled out slowly to every account", "2026-03-05T09:00:00") == []


def test_a_name_with_a_linking_word_inside_keeps_it() -> None:
    found = drafts("Live broadcast of Devs After Dark starting now!", "2026-03-05T21:00:00")
    assert ["after dark" in d.title.lower() for d in found] == [True]


def test_an_invitation_to_submit_today_is_no_deadline() -> None:
    # The launch said first is the event; "submit it today!" invites, it sets no deadline.
    found = drafts(
        "Hi all! Our first batch of community plugins are now live on the registry! If you"
        " have a plugin of your own, submit it today!",
        "2026-03-05T09:00:00",
    )
    assert [(d.category, d.start_date) for d in found] == [(EventCategory.LAUNCH, date(2026, 3, 5))]
    assert "plugins" in found[0].title.lower()


def test_the_event_is_named_where_it_is_stated_not_where_it_is_pointed_at() -> None:
    # "speak at RustFest!" points at the event; the call's talks are what is due.
    found = drafts(
        "Hello folks. We want YOU to speak at RustFest! We've opened a call for submissions"
        " for lightning talks. You have until *May 19th* to submit your ideas.",
        "2026-03-05T09:00:00",
    )
    assert [(d.category, d.start_date) for d in found][:1] == [
        (EventCategory.DEADLINE, date(2026, 5, 19))
    ]
    assert "lightning talks" in found[0].title.lower()


@pytest.mark.parametrize(
    "text",
    [
        "We're kicking off the new mentoring program in the second 1/2 of 2026. Come to the AMA",
        "We host about 1/2 per month of these, come to the AMA if you want to help",
    ],
)
def test_a_fraction_is_no_date(text: str) -> None:
    assert all(d.date_source is DateSource.POSTED for d in drafts(text, "2026-03-05T09:00:00"))


@pytest.mark.parametrize(
    ("text", "parent"),
    [
        (
            "Status page is up: <https://status.grafana.example/incidents/k2x9>",
            "There is now an in-app banner that users can see, we are working on this",
        ),
        (
            "Status page has been updated, our teams are on it! <https://status.grafana.example/>",
            "But don't worry, All Systems are Operational :facepalm:",
        ),
    ],
)
def test_a_status_page_under_a_parent_that_names_nothing_is_titled_by_its_host(
    text: str, parent: str
) -> None:
    found = drafts(text, "2026-03-05T11:00:00", parent=parent, parent_at="2026-03-05T10:50:00")
    assert [(d.category, d.title) for d in found] == [(EventCategory.INCIDENT, "Grafana incident")]


def test_someones_question_is_no_title() -> None:
    found = drafts(
        "Anyone else having issues loading Loki dashboards? Looks like"
        " <https://status.grafana.example/incidents/k2x9|an incident>",
        "2026-03-05T11:00:00",
    )
    assert len(found) == 1
    assert "anyone" not in found[0].title.lower()


def test_an_introduction_earlier_in_the_paragraph_makes_the_launch_now() -> None:
    found = drafts(
        "Hello developers!\n\nWe are introducing *Blueprints* to Lumen, a set of starter"
        " projects that work together. To learn more, and to join the Blueprints beta, head"
        " to #blueprints.",
        "2026-03-05T09:00:00",
    )
    assert [(d.category, d.start_date, d.date_source) for d in found] == [
        (EventCategory.LAUNCH, date(2026, 3, 5), DateSource.POSTED)
    ]
    assert "blueprints" in found[0].title.lower()


def test_an_introduction_in_another_paragraph_introduces_nothing_there() -> None:
    found = drafts(
        "We are introducing a new look for this channel.\n\nUnrelated: who here tried the"
        " Blueprints beta",
        "2026-03-05T09:00:00",
    )
    assert found == []


@pytest.mark.parametrize(
    "text",
    [
        "[Release] Included SCSS partials no longer need a rebuild of the parent theme. More"
        " on the blog",
        "*New:* dark mode for the Lumen dashboard is released for every workspace",
    ],
)
def test_a_news_tag_at_the_start_makes_a_release_of_the_posting_day(text: str) -> None:
    found = drafts(text, "2026-03-05T09:00:00")
    assert [(d.start_date, d.date_source) for d in found] == [(date(2026, 3, 5), DateSource.POSTED)]


def test_a_reminder_tag_makes_no_release_of_the_posting_day() -> None:
    assert drafts("[Reminder] release notes go in the wiki, not here", "2026-03-05T09:00:00") == []


@pytest.mark.parametrize(
    "text",
    [
        "My client is not happy. Now they are fixing to launch today and the forms break",
        "Register for conference by Monday: <https://example.org/r|example.org/r>",
        "in the starting of next week, we will have the demo and landing page ready",
    ],
)
def test_a_bare_kind_on_a_day_said_in_passing_is_no_event(text: str) -> None:
    assert drafts(text, "2026-03-05T09:00:00") == []


def test_a_bare_kind_with_a_time_is_still_an_event() -> None:
    found = drafts("Demo tomorrow at 3pm, everyone welcome", "2026-03-05T09:00:00")
    assert [d.start_date for d in found] == [date(2026, 3, 6)]


def test_of_course_is_no_course() -> None:
    found = drafts(
        "Heads up: we are out next week. Our support team will of course be available for"
        " emergencies, back on July 10th!",
        "2026-07-01T09:00:00",
    )
    assert all(d.category is not EventCategory.MEETING for d in found)


def test_a_range_from_a_relative_day_joined_by_a_hyphen() -> None:
    found = drafts(
        "Heads up, the Lumen office is closed from tomorrow-through January 6th",
        "2026-12-19T09:00:00",
    )
    assert [(d.start_date, d.end.date() if hasattr(d.end, "date") else d.end) for d in found] == [
        (date(2026, 12, 20), date(2027, 1, 6))
    ]


def test_an_incidents_words_about_no_trouble_report_no_release() -> None:
    text = (
        "For 3, we are actively investigating ways of giving developers more control over the"
        " editors. Stay tuned to our <https://example.org/changelog|developer changelog>."
    )
    parent = (
        "Hello. 1/ Is it possible to integrate Bitbucket? 2/ Is auto-deployment possible?"
        " 3/ Can we set limits in the text editors?"
    )
    found = drafts(text, "2026-03-05T11:00:00", parent=parent, parent_at="2026-03-05T10:00:00")
    assert found == []


def test_an_incidents_words_about_trouble_report_an_incident_whatever_it_hit() -> None:
    found = drafts(
        "The new beta editor is down for some users, we are investigating", "2026-03-05T09:00:00"
    )
    assert [(d.category, d.start_date) for d in found] == [
        (EventCategory.INCIDENT, date(2026, 3, 5))
    ]


def test_a_name_goes_on_to_the_event_word_that_ends_it() -> None:
    found = drafts(
        "Come attend the Berlin Rust User Group Embedded Systems Night event on June 20th,"
        " 6pm at the brewery",
        "2026-06-01T09:00:00",
    )
    assert [d.title for d in found] == ["Berlin Rust User Group Embedded Systems Night event"]


@pytest.mark.parametrize(
    "text",
    [
        "Ana and Li are hosting a workshop on query planning on *March 12th at 2 PM CET*. "
        "It's a great session for analysts and engineers alike, reserve a spot!",
        "The Rust meetup is on Thursday March 12 at 6pm; great talk lined up, come along",
    ],
)
def test_one_sign_of_the_past_does_not_outweigh_a_day_ahead(text: str) -> None:
    found = drafts(text, "2026-03-05T09:00:00")
    assert [d.start_date for d in found] == [date(2026, 3, 12)]


def test_two_signs_of_the_past_still_make_a_recap_whatever_the_day() -> None:
    text = "Thanks everyone for coming, it was a great session! Recording by March 12."
    assert drafts(text, "2026-03-05T09:00:00") == []


@pytest.mark.parametrize(
    "text",
    [
        # Slackbot's confirmation of a reminder whose text names no event: a to-do.
        " set up a reminder “Time to share what you did today! Post a short note” in this "
        "channel at 6PM Saturday, March 7th, Central European Time.",
        " set up a reminder “振り返りの時間です！やったことを共有しましょう” in this channel "
        "at 6PM Saturday, March 7th, Japan Standard Time.",
        " set up a reminder “@ana Add this channel to the log bot” in this channel at "
        "9AM Monday, March 9th, Central European Time.",
    ],
)
def test_a_reminder_set_up_for_a_to_do_is_no_event(text: str) -> None:
    assert drafts(text, "2026-03-05T23:10:00", "Europe/Berlin") == []


def test_a_reminder_set_up_for_an_event_is_the_event_at_its_time() -> None:
    text = (
        " set up a reminder “第12回Rustもくもく会の時間です！自己紹介を書き込みましょう” in this "
        "channel at 1PM Saturday, March 7th, Japan Standard Time."
    )
    found = one(text, "2026-03-05T23:10:00", "Asia/Tokyo")
    assert found.category is EventCategory.MEETING
    assert found.start is not None and found.start.isoformat() == "2026-03-07T04:00:00+00:00"
    assert "もくもく会" in found.title


@pytest.mark.parametrize(
    "text",
    [
        # "when you hold an event about Haskell, post its link here by March 7": a guide.
        "Haskellに関するイベントを開催するときは、3月7日までにこちらにリンクを張ってください",
        # "if you present at the meetup, tell me by Friday"
        "勉強会で発表する場合は金曜日までに教えてください",
    ],
)
def test_a_japanese_supposition_announces_no_event(text: str) -> None:
    assert drafts(text, "2026-03-05T10:00:00", "Asia/Tokyo") == []


def test_a_japanese_event_said_plainly_is_still_an_event() -> None:
    found = one("3月7日に第12回勉強会を開催します！", "2026-03-05T10:00:00", "Asia/Tokyo")
    assert found.start_date == date(2026, 3, 7)


@pytest.mark.parametrize(
    ("text", "title"),
    [
        (
            "We've fixed the issue that's caused report exports to be unavailable for some "
            "teams. <https://status.example.com/incidents/abc123>",
            "report exports unavailable",
        ),
        (
            "For updates on the issue with search indexing and page previews please see "
            "<https://status.example.com/incidents/abc123>",
            "search indexing and page previews issue",
        ),
        ("You can follow the billing sync outage at status.example.com", "billing sync outage"),
    ],
)
def test_an_issue_said_to_be_of_something_is_titled_by_it(text: str, title: str) -> None:
    assert names.issue_title(text) == title


@pytest.mark.parametrize(
    "text",
    [
        "we are looking into the same issue as yesterday",
        "The official issue if you want to follow along",
        "the ongoing incident is over",
    ],
)
def test_an_issue_said_to_be_the_same_or_ongoing_names_nothing(text: str) -> None:
    assert names.issue_title(text) is None


def test_a_reply_naming_what_is_in_trouble_titles_the_incident_over_its_thread() -> None:
    found = one(
        "We've addressed the issue that's caused report exports to be unavailable for some "
        "users. <https://status.example.com/incidents/abc123>",
        "2026-03-05T10:30:00",
        parent="Anyone else seeing problems loading the dashboard?",
        parent_at="2026-03-05T10:00:00",
    )
    assert found.category is EventCategory.INCIDENT
    assert found.title == "Report exports unavailable"


@pytest.mark.parametrize(
    ("text", "day", "title"),
    [
        (
            "Hey folks! How's everybody doing?\nQuick reminder: <https://example.com/e/1|The "
            "next DHUG> will be on the *19th of March!*",
            date(2026, 3, 19),
            "DHUG",
        ),
        ("Our next Elm Berlin is on Thursday, March 12", date(2026, 3, 12), "Elm Berlin"),
    ],
)
def test_the_next_one_of_a_named_series_is_an_event(text: str, day: date, title: str) -> None:
    found = one(text, "2026-03-05T09:00:00")
    assert found.start_date == day
    assert found.title == title


def test_the_next_of_something_unnamed_is_no_event() -> None:
    assert drafts("the next step is on Thursday, March 12", "2026-03-05T09:00:00") == []


@pytest.mark.parametrize(
    "text",
    [
        "i don't think the app is out yet",
        "wouldn't hurt to check your pages to make sure nothing is down",
        "I got randomly kicked off a couple times with no way to log back in",
        "My laziness in figuring out how to get that all up and running outweighs it",
        "seems like the weekend is starting early",
        "Yes, maybe http2 is happening right now for your site.",
        "All the posts with the blog tag in the url are not loading. For example this one",
    ],
)
def test_a_weak_now_phrase_of_no_named_thing_is_no_event(text: str) -> None:
    assert drafts(text, "2026-03-05T09:00:00") == []


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("CDN is down: we are on it", EventCategory.INCIDENT),
        ("I think GitLab is down for everyone", EventCategory.INCIDENT),
        ("The Rust Berlin Lightning Session is starting, come on in", EventCategory.MEETING),
        (
            "The long awaited Elixir Certification is up and running. Give it a look",
            EventCategory.LAUNCH,
        ),
    ],
)
def test_a_weak_now_phrase_of_a_named_thing_is_an_event_on_the_posting_day(
    text: str, category: EventCategory
) -> None:
    found = one(text, "2026-03-05T09:00:00")
    assert found.category is category
    assert found.date_source is DateSource.POSTED


@pytest.mark.parametrize(
    "text",
    [
        "I just started on this project so nothing is live yet",
        "We're working on a workspace-wide setting, but it's not rolled out quite yet.",
        "the fix hasn't been released in a new version",
        "Here's every template type that is not in beta",
    ],
)
def test_a_denied_now_phrase_reports_nothing(text: str) -> None:
    assert drafts(text, "2026-03-05T09:00:00") == []


@pytest.mark.parametrize(
    "text",
    [
        "Hi all! We just launched our new site and Chrome gives us a redirect loop error. "
        "Safari works fine. Any ideas?",
        "Anyone else seeing a bug when they merge contacts? The newest value is released "
        "to the record now",
        "Hello, the vendor has released the new secondary domain feature. Unfortunately it "
        "only takes subdomains. Is there a way to use another domain?",
        "Hello all i am facing some issue in the mobile menu, all the submenus are opening",
    ],
)
def test_a_request_for_help_announces_nothing(text: str) -> None:
    assert drafts(text, "2026-03-05T09:00:00") == []


@pytest.mark.parametrize(
    "text",
    [
        "If anyone uses the forms tool, we've just released a beta where forms map to "
        "existing CRM properties",
        "The Forms API v3 is now live! Let me know if anyone has any questions",
    ],
)
def test_an_announcement_inviting_questions_is_still_an_announcement(text: str) -> None:
    assert len(drafts(text, "2026-03-05T09:00:00")) == 1


@pytest.mark.parametrize(
    ("text", "title"),
    [
        (
            "Posting a final update: this should now be resolved and CMS sites should now be "
            "loading",
            "CMS sites outage",
        ),
        ("Workflows are available again, thanks for your patience", "Workflows outage"),
        ("The editor is back up now", "editor outage"),
    ],
)
def test_what_is_said_to_recover_titles_the_incident(text: str, title: str) -> None:
    assert names.recovered_title(text) == title


@pytest.mark.parametrize(
    "text",
    ["everything is back online", "it is working again", "the new module is available here"],
)
def test_a_recovery_of_nothing_named_titles_nothing(text: str) -> None:
    assert names.recovered_title(text) is None


def test_a_status_page_update_of_a_recovery_is_titled_by_what_recovered() -> None:
    found = one(
        "Final update: this should now be resolved and CMS sites should now be loading "
        "<https://status.example.com/incidents/0jh5j1cxktrz>",
        "2026-03-05T10:30:00",
    )
    assert (found.category, found.title) == (EventCategory.INCIDENT, "CMS sites outage")


@pytest.mark.parametrize(
    "text",
    [
        "Tomorrow we're adding social sharing icons to the CMS theme",
        "Don't forget to follow us on social media tomorrow for the recap",
    ],
)
def test_social_as_an_adjective_is_no_party(text: str) -> None:
    assert drafts(text, "2026-03-05T09:00:00") == []


def test_a_social_is_still_a_party() -> None:
    found = one("Reminder: the summer social is on Friday at 5pm!", "2026-03-05T09:00:00")
    assert found.category is EventCategory.OTHER


def test_a_name_before_crew_or_team_is_whose_event_it_is() -> None:
    found = one(
        "Pretty awesome live stream that is about to start from the Elm Berlin crew. "
        "<https://www.youtube.com/watch?v=abc>",
        "2026-03-05T09:00:00",
    )
    assert found.title == "Elm Berlin live stream"


@pytest.mark.parametrize(
    ("text", "title"),
    [
        (
            "Hi Ace, GitLab is presently experiencing a major outage across all tools which may "
            "be the reason for this.",
            "GitLab outage",
        ),
        (
            "FYI Heroku is currently experiencing degraded performance",
            "Heroku degraded performance",
        ),
    ],
)
def test_a_named_thing_experiencing_trouble_titles_the_incident(text: str, title: str) -> None:
    found = one(text, "2026-03-05T09:00:00")
    assert (found.category, found.title) == (EventCategory.INCIDENT, title)


def test_looking_for_help_is_a_request_for_help() -> None:
    text = (
        "Hi everyone! looking for your help. Our integration between the CRM and ACC 2.4.6 "
        "is experiencing frequent downtime"
    )
    assert drafts(text, "2026-03-05T09:00:00") == []


def test_someone_giving_a_talk_is_a_talk_on_the_posting_day() -> None:
    found = one(
        "Ana Ruiz is giving a talk on “Scaling your docs site” "
        "<https://conf.example.com/session/ana-ruiz-docs>",
        "2026-03-05T09:00:00",
    )
    assert found.date_source is DateSource.POSTED
    assert found.title == "Scaling your docs site talk"


@pytest.mark.parametrize(
    ("url", "title"),
    [
        (
            "https://www.eventbrite.com/e/introductory-data-exploration-with-python-2-day-course"
            "-tickets-25675106936",
            "introductory data exploration with python 2 day course",
        ),
        (
            "https://events.Example.com/events/details/acme-developer-presents-graphql-query-"
            "your-heart-out/?code=slack",
            "graphql query your heart out",
        ),
        ("https://connpass.com/event/92617/", None),
        ("https://example.com/blog/how-we-ship-every-day", None),  # no event page
    ],
)
def test_an_event_pages_address_names_the_event(url: str, title: str | None) -> None:
    assert slug_title(url) == title


def test_a_dated_event_page_is_an_event_titled_by_its_address() -> None:
    found = one(
        "Hey folks - have you marked your calendars?\nAna is gonna have amazing GraphQL "
        "topics this thursday...\n<https://events.example.com/events/details/acme-developer-"
        "presents-graphql-query-your-heart-out/>",
        "2026-03-05T09:00:00",
    )
    assert found.start_date == date(2026, 3, 5)
    assert found.title == "Graphql query your heart out"


@pytest.mark.parametrize(
    "text",
    [
        "I think the billing API 2.0 is now live for everyone",  # an opinion
        "yep, it seems like Acme Cloud has been released",
        "I feel like Acme should be checking how many of those landing pages are live",
        "the more people contribute, the faster new features can be released.",
        "Sounds like a case for open sourcing it and allowing pull requests",
    ],
)
def test_a_hedged_now_phrase_reports_nothing(text: str) -> None:
    assert drafts(text, "2026-03-05T09:00:00") == []


@pytest.mark.parametrize(
    "text",
    [
        "We are working on rolling out template annotations for coded emails",
        "In terms of launching a headless solution for Acme CMS, no timeline yet",
        "Thanks for kicking off the discussion about Acme CMS themes",
    ],
)
def test_a_now_phrase_as_a_gerund_after_a_preposition_reports_nothing(text: str) -> None:
    assert drafts(text, "2026-03-05T09:00:00") == []


def test_where_someone_currently_lives_is_no_launch() -> None:
    text = "Hi all! I am a developer from Vietnam, currently live in Lisbon. Looking for gigs."
    assert drafts(text, "2026-03-05T09:00:00") == []


def test_a_report_beside_a_hedge_in_another_clause_stands() -> None:
    found = one("We think you'll love it: the Acme CLI 2.0 is now live", "2026-03-05T09:00:00")
    assert found.start_date == date(2026, 3, 5)
    assert "Acme CLI 2.0" in found.title


@pytest.mark.parametrize(
    ("text", "title"),
    [
        # A tag before a Japanese line: the line runs on past the name.
        (
            "Reminder: 第12回Elm-jpもくもく会の時間です！自己紹介と今日やることを書いてください",
            "第12回Elm-jpもくもく会",
        ),
        # The brackets around the event word name it.
        ("Reminder: 「第3回 Rust-jp もくもく会」のお時間です！", "第3回 Rust-jp もくもく会"),
        ("FYI: 「型システムまつり2026」のタイムテーブルが公開されました", "型システムまつり2026"),
    ],
)
def test_a_japanese_title_is_the_name_not_the_line(text: str, title: str) -> None:
    assert one(text, "2026-03-07T04:00:00", "Asia/Tokyo").title == title


def test_a_number_written_onto_a_japanese_event_word_belongs_to_it() -> None:
    assert titles.cjk_phrase("関数型まつり2025の発表準備", 3, "まつり") == "関数型まつり2025"


@pytest.mark.parametrize(
    ("text", "title"),
    [
        # Without a tag, a noun event word's name stands before it or right after it.
        ("第7回Elm-jpもくもく会の時間です！今日やることを書きましょう", "第7回Elm-jpもくもく会"),
        ("明日は型理論勉強会です。資料はこちら", "型理論勉強会"),
        ("今日は型システムまつり 2026 2日目です！15:30より発表があります", "型システムまつり 2026"),
    ],
)
def test_a_japanese_event_noun_is_titled_by_its_name(text: str, title: str) -> None:
    assert one(text, "2026-03-07T09:00:00", "Asia/Tokyo").title == title


@pytest.mark.parametrize(
    ("text", "head"),
    [
        # A verbal noun's object or manner is not its name.
        ("パッケージをいくつかリリースしました", "リリース"),
        ("今年もオンライン開催です", "開催"),
        # Nor is an adverb in kana before a noun.
        ("いつもどおり型システムまつりの準備をします", "まつり"),
    ],
)
def test_what_stands_before_a_japanese_event_word_is_not_always_its_name(
    text: str, head: str
) -> None:
    assert titles.cjk_name(text, text.index(head), head) is None


def test_each_paragraph_with_its_own_event_and_day_gives_its_own_event() -> None:
    # The second paragraph moves a removal (a deadline word): its day is not the launch's.
    found = drafts(
        "We have decided to launch the partner storefront for templates on March 25. "
        "We'll check in with you before then.\n\n"
        "Some of you were told about the cleanup of unused modules, which did not happen on "
        "March 1. We are rescheduling the removal of unused modules to 4/8.",
        at="2021-03-05T10:00",
        zone="Europe/Berlin",
    )
    assert [(d.start, d.category, d.title) for d in found] == [
        (date(2021, 3, 25), EventCategory.LAUNCH, "Partner storefront for templates launch"),
        (date(2021, 4, 8), EventCategory.DEADLINE, "Unused modules removal"),
    ]


@pytest.mark.parametrize(
    ("text", "title"),
    [
        # "to launch" / "will release": the noun is a verb, what it acts on names it,
        # and a preposition ends the name.
        (
            "Next Tuesday we will release the drag and drop editor alongside the classic one.",
            "Drag and drop editor release",
        ),
        # The first mention is the word alone; a later one says what it is of.
        (
            "Heads up about the sunset: the sunset of the v1 contacts endpoints is on May 3.",
            "V1 contacts endpoints sunset",
        ),
    ],
)
def test_an_event_word_is_titled_by_what_it_acts_on_or_is_of(text: str, title: str) -> None:
    assert one(text, at="2021-03-05T10:00", zone="Europe/Berlin").title == title
