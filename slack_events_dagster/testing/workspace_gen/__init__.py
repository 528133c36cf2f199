"""A deterministic generator of realistic synthetic Slack workspaces.

Channels x days x messages per day, with a fraction of messages as thread replies,
grouped into threads the way Slack threads grow (see :class:`~.threads.ChannelDays`: about five
replies per thread on average, most threads short, a few long ones; replies reach back
at most one day), text lengths shaped like real Slack (log-normal, median about 80
characters, a long tail to 4,000), unicode and emoji, mentions, links, rich_text blocks,
bot posts with only attachments, edits, reactions, files, thread broadcasts and join
notices. The same seed gives the same workspace.

What people write is shaped like a real workspace, where events are rare: most
messages are ordinary chatter that candidate scoring rejects, and about 4 % of
top-level messages announce an event on a concrete day 1 to 14 days after they are
posted ("Release v4.12 is scheduled for Thursday, March 14 at 15:00 UTC"), in forms
both the rule extractor and the fake LLM's oracle read. Some announcements are
cross-posted to another channel, and some are moved or cancelled in a thread reply
within a day. About 6 % of messages become candidates (measured at 20 channels x 90
days x 200 messages: 6.1 %), a few of them chatter that only looks like an
announcement to the scorer.

Output is raw Slack payload dicts grouped per channel (what the Web API and exports
carry), which :func:`write_export` writes as a Slack export folder or ZIP. Benchmarks
use :func:`generate_messages` for a quick stream of domain messages.

The package: ``phrases`` (what people write, how often), ``texts`` (drawing a message's
text), ``threads`` (one channel day by day) and ``workspace`` (the workspace, its export,
the message stream).
"""

from slack_events_dagster.testing.workspace_gen.phrases import (
    ANNOUNCEMENT_PROBABILITY,
    CANCEL_SHARE,
    CHANGE_PROBABILITY,
    CROSS_POST_PROBABILITY,
)
from slack_events_dagster.testing.workspace_gen.threads import NEW_THREAD_PROBABILITY
from slack_events_dagster.testing.workspace_gen.workspace import (
    DEFAULT_END,
    GeneratedWorkspace,
    generate_messages,
    generate_workspace,
    sparse_counts,
    write_export,
)

__all__ = [
    "ANNOUNCEMENT_PROBABILITY",
    "CANCEL_SHARE",
    "CHANGE_PROBABILITY",
    "CROSS_POST_PROBABILITY",
    "DEFAULT_END",
    "NEW_THREAD_PROBABILITY",
    "GeneratedWorkspace",
    "generate_messages",
    "generate_workspace",
    "sparse_counts",
    "write_export",
]
