"""The one repository implementation, on SQLite or PostgreSQL through SQLAlchemy Core.

Writes are bulk and idempotent. Messages are compared with what is stored by a
content hash, so a re-run reads one batch of hashes and writes nothing; new rows
are inserted with ``ON CONFLICT DO NOTHING`` so concurrent writers of the same
messages cannot collide. The only dialect switch is ``RepositoryCore.dialect_insert``.

One module per aggregate, each a part of :class:`SqlRepository` implementing the port of
the same name in :mod:`slack_events_dagster.storage.base`.
"""

from __future__ import annotations

from slack_events_dagster.storage.repository.budget import BudgetTables
from slack_events_dagster.storage.repository.channels import ChannelTables
from slack_events_dagster.storage.repository.digests import DigestTables
from slack_events_dagster.storage.repository.events import EventTables
from slack_events_dagster.storage.repository.llm_calls import LlmCallTables
from slack_events_dagster.storage.repository.messages import MessageTables


class SqlRepository(
    MessageTables, ChannelTables, EventTables, LlmCallTables, DigestTables, BudgetTables
):
    """Every port (:class:`~slack_events_dagster.storage.base.Repository`) on one engine."""


__all__ = ["SqlRepository"]
