"""A protocol-faithful local Slack Web API server for tests, benchmarks and demos.

The real ``slack_sdk.WebClient`` talks to it over HTTP (``base_url=fake.base_url``).
It follows the Web API where our code depends on it:

- form, multipart, query-string or JSON bodies; the token from ``Authorization: Bearer``
  (or a ``token`` parameter); per-token scopes, answering ``missing_scope`` with
  ``needed``/``provided``; ``not_authed`` / ``invalid_auth`` / ``token_revoked``;
- ``ok``/``error`` bodies, cursor pagination (``response_metadata.next_cursor``,
  ``has_more``), default page size 100 and history/replies capped at 1000;
- ``oldest``/``latest`` exclusive unless ``inclusive`` is true, history newest first and
  without thread replies (except ``thread_broadcast``), replies oldest first with the
  parent first, parents carrying ``reply_count``/``latest_reply``/``reply_users``;
  message ``metadata`` given to ``chat.postMessage`` comes back from history only with
  ``include_all_metadata``;
- per-method rate limits by Slack tier (429 + ``Retry-After``), switchable off;
- seeded fault injection: 429 with Retry-After, 500/502/503, a hang past the client
  timeout, ``ok:false error:ratelimited``; forced ``invalid_auth``; ``not_in_channel``
  for chosen channels.

Tests change the workspace between calls (add, edit, delete messages, add replies) under
one lock; every call is counted per method; posted and updated messages are kept for
digest and alert tests.

Command line: ``python -m slack_events_dagster.testing.fake_slack --export PATH --port N``
or ``--generate --channels 5 --days 30 --per-day 100``.

Socket Mode (``socket_mode``): ``apps.connections.open`` with an app-level token
(``DEFAULT_APP_TOKEN``) opens a WebSocket on the same port that pushes every change to
the workspace as ``events_api`` envelopes and sends unacknowledged ones again.

The package: ``protocol`` (the Web API's conventions), ``state`` (the workspace),
``methods`` (what each method answers), ``socket_mode`` (Socket Mode's connection and
events), ``server`` (HTTP, dispatch, faults, rate limits) and ``__main__`` (the command
line).
"""

from slack_events_dagster.testing.fake_slack.protocol import (
    ALL_SCOPES,
    DEFAULT_TOKEN,
    TIER_LIMITS,
)
from slack_events_dagster.testing.fake_slack.server import FakeSlack, FaultPlan
from slack_events_dagster.testing.fake_slack.socket_mode import APP_SCOPES, DEFAULT_APP_TOKEN

__all__ = [
    "ALL_SCOPES",
    "APP_SCOPES",
    "DEFAULT_APP_TOKEN",
    "DEFAULT_TOKEN",
    "TIER_LIMITS",
    "FakeSlack",
    "FaultPlan",
]
