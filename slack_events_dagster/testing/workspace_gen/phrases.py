"""What people write in a synthetic workspace, and how often: ordinary chatter, bot posts,
event announcements by kind, their reschedules, cancellations and cross-posts."""

from __future__ import annotations

from dataclasses import dataclass

# -- ordinary chatter ---------------------------------------------------------------
# What most of a workspace is: work talk, acknowledgements, questions and asides that
# announce nothing. Candidate scoring rightly rejects nearly all of it; a few fragments
# name an event word or a day without announcing anything (as real chatter does), so
# some long messages become the false candidates a real scorer lets through.
CHATTER = (
    "looks good to me",
    "thanks, merging now",
    "can you take a look at my PR when you have a minute?",
    "I think the flaky test is the one with the mocked clock",
    "the dashboard numbers look off after the last change",
    "lgtm :+1:",
    "nice catch",
    "on it",
    "I'll pair with Chen on this one",
    "the latency graph is back to normal",
    "we should probably add a retry around that call",
    "has anyone seen this error before?",
    "it's the cache again, invalidation is hard",
    "pushed a fix, CI is running",
    "I'm going to grab coffee, back in 10",
    "lunch?",
    "that PR is huge, can we split it up",
    "I left a few comments, nothing blocking",
    "agreed, let's keep it simple for now",
    "the customer confirmed the workaround helps",
    "ticket is in the backlog, I added the logs",
    "the config lives in the infra repo",
    "does anyone know who owns the billing worker?",
    "I'll write it up in the doc",
    "ok, that makes sense",
    "haha yes",
    "sounds good",
    "sorry, was in a call",
    "the staging box ran out of disk again",
    "I bumped the memory limit, let's see if it holds",
    "we need better alerting on the queue depth",
    "the import job is slow because of the N+1 query",
    "FWIW the old endpoint still gets traffic from the mobile app",
    "I'd rather not touch the schema right now",
    "let me check with the team and get back to you",
    "here is the trace from the failing request",
    "the metrics pipeline dropped some points overnight",
    "interesting, I did not know that",
    "could be a race between the two workers",
    "the docs are outdated on this, I'll fix them",
    "I'm out this afternoon, ping me on my phone if it's urgent",
    "back from my appointment",
    "the new laptop setup script works great",
    "we hit the API quota on the test account",
    "thanks for the quick review",
    "I'll take the on-call handover notes",
    "the feature flag is on for internal users only",
    "that was a fun bug to track down",
    "I added a dashboard for the error rate",
    "the rollback script needs a dry-run flag",
    "the deploy pipeline is green again",
    "the release branch has a merge conflict in the lockfile",
    "is the standup notes doc still the right place for this?",
    "the migration script needs a review from someone on data",
    "I'm fine either way, your call",
    "great job on the refactor, the code reads much better",
    "will be offline for a bit, my internet is flaky",
    "the planning doc has a section on this already",
    "can we move this discussion to a thread?",
    "enjoy the weekend everyone",
    "Danke, das hilft!",
    "merci, c'est corrigé",
    "obrigado, funcionou",
    "了解です、確認します",
    "спасибо, посмотрю",
    "café break ☕",
    "Zürich office wifi is slow again 😅",
    "our Kraków colleagues found the root cause",
    "naïve question: why do we cache this at all?",
)
# Asides that name a day: with an event word elsewhere in a long message they look like
# an announcement to the scorer, so they are drawn less often than the rest.
DAY_ASIDES = (
    "I'll be back tomorrow",
    "I'm off on Friday, Ben is covering",
    "happy Monday",
    "can we talk about it today?",
)
EMOJI_CODES = ("tada", "rocket", "eyes", "white_check_mark", "warning", "fire", "thumbsup")
EMOJI_CHARS = ("🎉", "🚀", "👀", "✅", "⚠️", "🔥", "👍", "🙏", "😅", "📅")
BOT_TEXTS = (
    "Deploy of {service} build #{n} to staging succeeded",
    "Build #{n} of {service} failed: 2 tests failing",
    "Nightly job {service}-backup finished in {m} minutes",
    "Alert resolved: {service} p95 latency back under threshold",
    "PR #{n} merged into main by the merge queue",
)
SERVICES = ("api-gateway", "billing-worker", "search", "web-app", "ingest", "notifier")

# -- event announcements and their changes ---------------------------------------------
# A few percent of top-level messages announce an event on a concrete day, written
# relative to the day they are posted (0 to 14 days ahead), in the forms people use
# ("Thursday, March 14 at 15:00 UTC", "Mar 14, 3pm UTC", "2024-03-14 15:00 UTC").
# Some announcements are later moved or cancelled in a thread reply.
ANNOUNCEMENT_PROBABILITY = 0.045
CHANGE_PROBABILITY = 0.3
CANCEL_SHARE = 0.35
# An announcement repeats one made in another channel the same or the previous day
# ("Cross-posting from #ops: ..."), so the same event has sources in two channels.
CROSS_POST_PROBABILITY = 0.15


@dataclass(frozen=True)
class EventKind:
    titles: tuple[str, ...]
    templates: tuple[str, ...]
    # Minutes the event lasts; 0: all-day (a deadline).
    minutes: int


EVENT_KINDS = (
    EventKind(
        titles=("Release v{a}.{b}", "{service} {a}.{b}"),
        templates=(
            ":rocket: {title} is scheduled for {when}. Notes: <https://example.com/r/{n}|draft>",
            "Heads up: {title} goes out {when}. Anything not merged by then rides the next one.",
            "{title} ships {when} :package:",
        ),
        minutes=60,
    ),
    EventKind(
        titles=("Postgres upgrade", "Redis failover drill", "{service} database maintenance"),
        templates=(
            ":hammer_and_wrench: Scheduled maintenance: {title} on {window}. "
            "The app is read-only during the window.",
            "Reminder: {title} {window}, expect a few seconds of errors",
        ),
        minutes=90,
    ),
    EventKind(
        titles=(
            "Sprint {n} planning",
            "Q{q} roadmap review",
            "Design review for {service}",
            "Incident review for INC-{n}",
        ),
        templates=(
            "Reminder: {title} is {when} in room Atlas, agenda in "
            "<https://example.com/agenda/{n}|the doc>",
            "{title} {when}, please join <https://zoom.us/j/{n}|on Zoom>",
            "<!here> {title} is happening {when}",
        ),
        minutes=45,
    ),
    EventKind(
        titles=("Q{q} planning drafts", "Security training", "Self reviews"),
        templates=(
            "Deadline for {title} is {day} EOD :pray:",
            "{title} are due on {day}, please don't leave it to the last minute",
        ),
        minutes=0,
    ),
    EventKind(
        titles=("Our KubeCon talk", "The {service} launch", "Team lunch"),
        templates=(
            "{title} is planned for {when} :tada:",
            "Save the date: {title}, {when}. RSVP in the thread",
        ),
        minutes=60,
    ),
)

RESCHEDULE_TEXTS = (
    "Update: this moved to {when}, same link",
    "Heads up, pushed to {when} (staging isn't ready)",
    "Rescheduled to {when}, sorry for the churn",
)
CROSS_POST_TEXTS = (
    "Cross-posting from <#{cid}|{name}>: {title} is {when}",
    "Reminder for everyone here: {title} is {when}, details in <#{cid}|{name}>",
)
CANCEL_TEXTS = (
    "Cancelled, sorry all. We'll find another slot.",
    "This is called off, too many people are out",
    "Update: cancelled for now, more soon",
)

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
