"""LLM calls: the cache, the spend."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    func,
    select,
)

from slack_events_dagster.domain.models import (
    LLMCall,
    SourceRef,
)
from slack_events_dagster.storage.repository._core import RepositoryCore
from slack_events_dagster.storage.schema import (
    llm_calls,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

# pg_advisory_lock key of the events merge (any constant unique to this product).
_EVENTS_LOCK_KEY = 0x5EC7_E7E1

# Parameters per statement stay well below SQLite's and PostgreSQL's limits.
_KEY_CHUNK = 900


def _llm_call_from_row(row: Any) -> LLMCall:
    return LLMCall(
        prompt_hash=row.prompt_hash,
        model=row.model,
        prompt_version=row.prompt_version,
        candidate_keys=[SourceRef.model_validate(key) for key in row.candidate_keys or []],
        request=row.request or {},
        response_text=row.response_text,
        status=row.status,
        error=row.error,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        cost_usd=row.cost_usd,
        latency_ms=row.latency_ms,
        created_at=row.created_at,
    )


class LlmCallTables(RepositoryCore):
    # -- LLM calls ---------------------------------------------------------------
    def record_llm_call(self, call: LLMCall) -> None:
        row = call.model_dump(mode="json")
        row["created_at"] = call.created_at
        with self._transaction("record_llm_call") as conn:
            statement = self.dialect_insert(llm_calls).values(row)
            statement = statement.on_conflict_do_update(
                index_elements=["prompt_hash"],
                set_={k: statement.excluded[k] for k in row if k != "prompt_hash"},
            )
            conn.execute(statement)

    def get_llm_call(self, prompt_hash: str) -> LLMCall | None:
        query = select(llm_calls).where(llm_calls.c.prompt_hash == prompt_hash)
        with self._transaction("get_llm_call") as conn:
            row = conn.execute(query).first()
        return _llm_call_from_row(row) if row is not None else None

    def llm_spend_usd(self, start: datetime, end: datetime) -> float:
        c = llm_calls
        query = select(func.coalesce(func.sum(c.c.cost_usd), 0.0)).where(
            c.c.created_at >= start, c.c.created_at < end
        )
        with self._transaction("llm_spend_usd") as conn:
            return float(conn.execute(query).scalar_one())
