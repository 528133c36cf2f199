"""The content of a digest: what it says, decided once, before any rendering.

Text fields are raw message text (cleaned to one line); each renderer escapes them for
its own target at the last moment. URLs have passed
:func:`~slack_events_dagster.domain.safety.safe_url`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from slack_events_dagster.domain.models import EventCategory, EventStatus, LinkKind

ChangeKind = Literal["rescheduled", "cancelled", "updated"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DigestLink(_Model):
    """A link whose URL already passed :func:`safe_url`; the label is raw text."""

    url: str
    label: str


class DigestAnchor(_Model):
    """A link that identifies the event: a meeting ("Join"), a ticket or pull request (its
    key), a release (its tag), a page ("doc"). The URL passed :func:`safe_url`; the label
    is raw text."""

    kind: LinkKind
    label: str
    url: str | None = None


class DigestItem(_Model):
    """One event as the digest shows it. Text fields are raw (escaped when rendered)."""

    event_id: str
    title: str
    category: EventCategory
    emoji: str
    status: EventStatus
    # Our own wording of the time: "09:00-10:00", "all day", "Mon 9 Mar - Wed 11 Mar".
    when: str
    # The same time in the event's own zone when that reads differently ("09:00 EST").
    local_when: str | None = None
    location: str | None = None
    summary: str | None = None
    link: DigestLink | None = None
    anchors: list[DigestAnchor] = []
    source: DigestLink | None = None
    # Label for the source when there is no permalink (the channel name, unlinked).
    source_label: str | None = None
    more_sources: int = 0


class DigestDay(_Model):
    day: date
    label: str
    items: list[DigestItem]


class DigestChange(_Model):
    kind: ChangeKind
    item: DigestItem
    old_when: str
    new_when: str
    old_status: EventStatus
    changed_at: datetime


class DigestContent(_Model):
    """Everything a digest says, decided once and rendered three ways."""

    day: date
    timezone: str
    lookahead_days: int
    title: str
    changes_since: datetime
    coming_up: list[DigestDay]
    changed: list[DigestChange]
    new: list[DigestItem]
    llm_cost_usd: float | None = None

    @property
    def upcoming_count(self) -> int:
        return sum(len(group.items) for group in self.coming_up)

    @property
    def cancelled_count(self) -> int:
        return sum(1 for change in self.changed if change.kind == "cancelled")

    @property
    def event_count(self) -> int:
        """Distinct events the digest mentions (an event can be in two sections)."""
        ids = {item.event_id for group in self.coming_up for item in group.items}
        ids.update(change.item.event_id for change in self.changed)
        ids.update(item.event_id for item in self.new)
        return len(ids)


def digest_content_hash(content: DigestContent) -> str:
    """A stable hash of what the digest says, to post or update only when it changed.

    The LLM cost is left out: a rerun that spends a cent more must not re-post
    an otherwise identical digest.
    """
    payload = content.model_dump(mode="json", exclude={"llm_cost_usd"})
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
