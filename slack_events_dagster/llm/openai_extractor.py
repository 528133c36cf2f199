"""The LLM extractor: candidate messages to event drafts through any OpenAI-compatible API.

Works against OpenAI, Azure OpenAI, vLLM, Ollama and LM Studio through the
official ``openai`` client, whose own retries (with backoff, honouring
``retry-after``) absorb 429s, 5xx and timeouts.

Per run:

1. candidates are sorted, de-duplicated and cut into batches of
   ``llm.batch_size``; each batch is one request whose answer names every
   candidate by id;
2. each batch's prompt hash (model, ``PROMPT_VERSION``, temperature and the exact
   quoted inputs) is looked up in ``llm_calls``: a stored good answer is parsed
   again instead of paying for a second call (across runs and processes), a
   stored failure is tried again;
3. the remaining batches go to the model with ``llm.concurrency`` calls in
   flight, gated by the daily budget;
4. every answer is validated (:func:`~slack_events_dagster.llm.prompt.parse_answer`),
   every call is recorded with tokens, cost, latency and status, and every
   candidate ends ``extracted``, ``no_event``, ``failed`` (with the reason and the
   raw answer) or ``deferred`` (budget). A bad answer never stops the run.

How a candidate is quoted is :mod:`~slack_events_dagster.llm.quoting`'s job; each
event of an answer is read on its own by :mod:`~slack_events_dagster.llm.answers`;
the daily budget across concurrent calls is :mod:`~slack_events_dagster.llm.budget`'s.

Structured outputs first (``response_format`` ``json_schema``, strict); a server
that rejects it gets ``json_object`` with the schema described in the prompt,
then plain text; the downgrade is remembered by the extractor instance.

The API key goes to the client and nowhere else: every error text that is
stored or logged passes through :func:`~slack_events_dagster.domain.safety.redact`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import openai
from openai import OpenAI

from slack_events_dagster.domain.models import (
    CandidateStatus,
    LLMCall,
    LLMCallStatus,
    SourceRef,
    ts_sort_key,
)
from slack_events_dagster.domain.safety import redact
from slack_events_dagster.llm.answers import apply_answer
from slack_events_dagster.llm.base import (
    CandidateOutcome,
    ExtractionInput,
    ExtractionResult,
    ExtractionResults,
)
from slack_events_dagster.llm.budget import BudgetGate
from slack_events_dagster.llm.prompt import (
    PROMPT_VERSION,
    ParsedAnswer,
    json_schema_response_format,
    parse_answer,
    prompt_fingerprint,
    system_prompt,
    user_message,
)
from slack_events_dagster.llm.quoting import candidate_id, prompt_item
from slack_events_dagster.settings import ConfigError, LLMSettings
from slack_events_dagster.storage.base import LlmCallStore

ResponseMode = Literal["json_schema", "json_object", "text"]
_MODE_ORDER: tuple[ResponseMode, ...] = ("json_schema", "json_object", "text")

# Words in a 400/422 that show the server refused the response_format rather
# than the request as a whole (OpenAI, vLLM, LM Studio and Ollama phrasings).
_FORMAT_REJECTION_WORDS = ("response_format", "json_schema", "structured output", "guided")

# Completion tokens reserved per candidate when estimating a call's cost for the
# budget (a generous answer is ~100 tokens per event).
_ESTIMATED_COMPLETION_TOKENS_PER_CANDIDATE = 300
_ESTIMATED_COMPLETION_TOKENS_BASE = 50


# ---------------------------------------------------------------------------
# The extractor


@dataclass(frozen=True)
class _Batch:
    items: tuple[ExtractionInput, ...]
    ids: tuple[str, ...]
    data: list[dict[str, Any]]
    prompt_hash: str
    # A stored failed call for the same prompt, which this batch's call replaces.
    superseded: LLMCall | None = None


@dataclass
class _CallResult:
    batch: _Batch
    deferred: bool = False
    text: str | None = None
    error: str | None = None
    mode: ResponseMode | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: int = 0
    notes: list[str] = field(default_factory=list)


def _in_candidate_order(result: ExtractionResult) -> ExtractionResult:
    """``result`` with its drafts in candidate order, not in the order calls ended:
    merging is order-sensitive, and a re-run must merge as the first run did."""
    # Stable: several drafts of one candidate keep the answer's order.
    result.drafts.sort(key=lambda d: (d.source.channel_id, ts_sort_key(d.source.ts)))
    return result


# The system prompt and schema, hashed once: part of every prompt hash.
_PROMPT_DIGEST = hashlib.sha256(prompt_fingerprint().encode("utf-8")).hexdigest()


def _utc_now() -> datetime:
    return datetime.now(UTC)


class OpenAIExtractor:
    """The :class:`~slack_events_dagster.llm.base.Extractor` over an OpenAI-compatible API."""

    name = "openai"

    def __init__(
        self,
        settings: LLMSettings,
        repository: LlmCallStore,
        logger: logging.Logger | None = None,
        *,
        client: OpenAI | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.settings = settings
        self.repository = repository
        self.log = logger or logging.getLogger(__name__)
        self._clock = clock
        self._api_key = settings.api_key.get_secret_value()
        if client is None:
            if not self._api_key and settings.base_url is None:
                raise ConfigError(
                    "llm.api_key is empty but llm.base_url is the OpenAI API; set "
                    "SLACK_EVENTS_LLM__API_KEY, or set llm.base_url to a local server"
                )
            client = OpenAI(
                base_url=settings.base_url,
                # Local servers (Ollama, vLLM, LM Studio) take no key, but the client
                # insists on one.
                api_key=self._api_key or "no-key-required",
                timeout=settings.timeout_s,
                max_retries=settings.max_retries,
            )
            self._owns_client = True
        else:
            self._owns_client = False
        self._client = client
        self._mode: ResponseMode = "json_schema"
        self._mode_lock = threading.Lock()
        price = settings.prices.get(settings.model)
        if price is None:
            self.log.warning(
                "no price configured for model %r (llm.prices); its calls are counted as "
                "costing $0 and the daily budget cannot limit them",
                settings.model,
            )
        self._price = price

    # -- public --------------------------------------------------------------
    @property
    def response_mode(self) -> ResponseMode:
        """The response format this extractor currently asks for."""
        return self._mode

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> OpenAIExtractor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"OpenAIExtractor(model={self.settings.model!r}, base_url={self.settings.base_url!r})"
        )

    def extract(self, items: Sequence[ExtractionInput]) -> ExtractionResult:
        (result,) = self.extract_groups([items])
        return result

    def extract_groups(self, groups: Sequence[Sequence[ExtractionInput]]) -> ExtractionResults:
        """Each group's result, in order; the calls of all groups share one pool and budget.

        Batches are formed per group exactly as :meth:`extract` forms them, so prompt
        hashes (and cached answers) do not depend on how groups are put together. A
        group's result is yielded once its calls, and those of every group before it,
        are recorded; calls of later groups keep running meanwhile.
        """
        results = [ExtractionResult() for _ in groups]
        # Calls not yet recorded, per group.
        waiting = [0] * len(groups)
        pending: list[tuple[int, _Batch]] = []
        for index, items in enumerate(groups):
            for batch in self._batches(items):
                cached = self.repository.get_llm_call(batch.prompt_hash)
                if cached is not None and self._use_cached(cached, batch, results[index]):
                    continue
                pending.append((index, replace(batch, superseded=cached)))
                waiting[index] += 1
        if not pending:
            yield from map(_in_candidate_order, results)
            return

        gate = self._budget_gate()
        workers = max(1, min(self.settings.concurrency, len(pending)))
        yielded = 0

        def ready() -> Iterator[ExtractionResult]:
            """The next groups in order whose calls are all recorded."""
            nonlocal yielded
            while yielded < len(groups) and waiting[yielded] == 0:
                yielded += 1
                yield _in_candidate_order(results[yielded - 1])

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm") as pool:
            # Submitted in group order: under a budget, earlier groups are served first.
            futures: dict[Future[_CallResult], int] = {
                pool.submit(self._run_batch, batch, gate): index for index, batch in pending
            }
            recorded: set[Future[_CallResult]] = set()
            try:
                # Groups answered from the cache alone can be merged while calls run.
                yield from ready()
                for future in as_completed(futures):
                    index = futures[future]
                    # Results are recorded on this thread only: the repository is not
                    # required to be shared across threads.
                    self._record(future.result(), results[index], gate)
                    recorded.add(future)
                    waiting[index] -= 1
                    yield from ready()
            except BaseException:
                # The database failed, the caller stopped early (closing this generator)
                # or we were interrupted: calls not started yet would be paid for and
                # never recorded, so they are cancelled; calls already made are recorded
                # (cached) if the database lets us, so a re-run does not pay again.
                for future in futures:
                    future.cancel()
                self._record_made_calls(futures, recorded, results, gate)
                raise

    def _budget_gate(self) -> BudgetGate:
        now = self._clock().astimezone(UTC)
        day_start = datetime(now.year, now.month, now.day, tzinfo=UTC)
        spent_today = self.repository.llm_spend_usd(day_start, day_start + timedelta(days=1))
        return BudgetGate(self.settings.daily_budget_usd, spent_today)

    def _record_made_calls(
        self,
        futures: dict[Future[_CallResult], int],
        recorded: set[Future[_CallResult]],
        results: Sequence[ExtractionResult],
        gate: BudgetGate,
    ) -> None:
        for future, index in futures.items():
            if future in recorded or future.cancelled():
                continue
            try:
                call = future.result()
                if not call.deferred:
                    self._record(call, results[index], gate)
            except Exception as exc:
                self.log.warning(
                    "could not record the LLM calls already made (%s); a re-run makes them again",
                    self._redact(f"{type(exc).__name__}: {exc}")[:300],
                )
                return

    # -- batching and caching ----------------------------------------------------
    def _batches(self, items: Sequence[ExtractionInput]) -> list[_Batch]:
        unique: dict[tuple[str, str], ExtractionInput] = {}
        for item in items:
            unique.setdefault((item.candidate.channel_id, item.candidate.ts), item)
        # A stable order makes the same candidates form the same batches (and
        # prompt hashes) in every run.
        ordered = sorted(
            unique.values(), key=lambda i: (i.candidate.channel_id, ts_sort_key(i.candidate.ts))
        )
        size = self.settings.batch_size
        batches = []
        for start in range(0, len(ordered), size):
            chunk = tuple(ordered[start : start + size])
            data = [prompt_item(item) for item in chunk]
            batches.append(
                _Batch(
                    items=chunk,
                    ids=tuple(candidate_id(item) for item in chunk),
                    data=data,
                    prompt_hash=self.prompt_hash(data),
                )
            )
        return batches

    def prompt_hash(self, data: Sequence[dict[str, Any]]) -> str:
        """sha256 of everything that shapes the answer: model, prompt version, inputs."""
        material = {
            "model": self.settings.model,
            "prompt_version": PROMPT_VERSION,
            "prompt": _PROMPT_DIGEST,
            "temperature": self.settings.temperature,
            "items": list(data),
        }
        encoded = json.dumps(material, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(encoded.encode("utf-8")).hexdigest()

    def _use_cached(self, cached: LLMCall, batch: _Batch, result: ExtractionResult) -> bool:
        if cached.status != LLMCallStatus.OK or cached.response_text is None:
            return False
        parsed = parse_answer(cached.response_text, batch.ids)
        if parsed.error is not None:
            return False
        result.cache_hits += 1
        apply_answer(batch.ids, batch.items, parsed, cached.response_text, result, self._redact)
        return True

    # -- calling ---------------------------------------------------------------
    def _estimate_cost(self, batch: _Batch) -> float:
        prompt_chars = len(system_prompt(describe_schema=True)) + len(user_message(batch.data))
        # Three characters per token over-estimates the usual four: a reservation
        # should not be smaller than the call.
        prompt_tokens = math.ceil(prompt_chars / 3)
        completion_tokens = (
            _ESTIMATED_COMPLETION_TOKENS_BASE
            + _ESTIMATED_COMPLETION_TOKENS_PER_CANDIDATE * len(batch.items)
        )
        return self._cost(prompt_tokens, completion_tokens)

    def _cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        if self._price is None:
            return 0.0
        return (
            prompt_tokens * self._price.input_per_million
            + completion_tokens * self._price.output_per_million
        ) / 1_000_000

    def _run_batch(self, batch: _Batch, gate: BudgetGate) -> _CallResult:
        ticket = gate.reserve(self._estimate_cost(batch))
        if ticket is None:
            return _CallResult(batch=batch, deferred=True)
        call = _CallResult(batch=batch)
        try:
            self._call(batch, call)
        finally:
            gate.settle(ticket, call.cost_usd)
        return call

    def _messages(self, batch: _Batch, mode: ResponseMode) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": system_prompt(describe_schema=mode != "json_schema")},
            {"role": "user", "content": user_message(batch.data)},
        ]

    def _call(self, batch: _Batch, call: _CallResult) -> None:
        """One model call for a batch; fills ``call``, never raises."""
        started = time.perf_counter()
        mode = self._mode
        try:
            while True:
                call.mode = mode
                extra: dict[str, Any] = {}
                if mode == "json_schema":
                    extra["response_format"] = json_schema_response_format()
                elif mode == "json_object":
                    extra["response_format"] = {"type": "json_object"}
                try:
                    response = self._client.chat.completions.create(
                        model=self.settings.model,
                        messages=self._messages(batch, mode),  # type: ignore[arg-type]
                        temperature=self.settings.temperature,
                        **extra,
                    )
                    break
                except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                    fallback = self._fallback_after(mode, exc)
                    if fallback is None:
                        raise
                    mode = fallback
            choice = response.choices[0] if response.choices else None
            message = choice.message if choice is not None else None
            call.text = message.content if message is not None else None
            refusal = getattr(message, "refusal", None)
            if refusal:
                call.notes.append(f"the model refused: {refusal}")
            if choice is not None and choice.finish_reason == "length":
                call.notes.append("the answer was cut off at the token limit")
            usage = response.usage
            if usage is not None:
                call.prompt_tokens = usage.prompt_tokens
                call.completion_tokens = usage.completion_tokens
            else:
                # Some local servers report no usage; an estimate keeps the budget honest.
                call.prompt_tokens = math.ceil(
                    sum(len(m["content"]) for m in self._messages(batch, mode)) / 4
                )
                call.completion_tokens = math.ceil(len(call.text or "") / 4)
                call.notes.append("the server reported no token usage; tokens are estimated")
            call.cost_usd = self._cost(call.prompt_tokens, call.completion_tokens)
        except Exception as exc:
            # Anything the client raises after its own retries (timeouts, 4xx/5xx,
            # a body that is not JSON) fails this batch, not the run.
            call.error = self._redact(f"{type(exc).__name__}: {exc}")
        finally:
            call.latency_ms = round((time.perf_counter() - started) * 1000)

    def _fallback_after(
        self, mode: ResponseMode, exc: openai.APIStatusError
    ) -> ResponseMode | None:
        """The next response mode if ``exc`` says the server refused ``mode``'s format."""
        if mode == "text":
            return None
        detail = f"{exc} {exc.body}".lower()
        if not any(word in detail for word in _FORMAT_REJECTION_WORDS):
            return None
        next_mode = _MODE_ORDER[_MODE_ORDER.index(mode) + 1]
        with self._mode_lock:
            if _MODE_ORDER.index(self._mode) < _MODE_ORDER.index(next_mode):
                self._mode = next_mode
                self.log.warning(
                    "the LLM server refused response_format %s (%s); using %s from now on",
                    mode,
                    self._redact(str(exc))[:300],
                    next_mode,
                )
        return next_mode

    # -- results -----------------------------------------------------------------
    def _redact(self, text: str) -> str:
        return redact(text, [self._api_key])

    def _record(self, call: _CallResult, result: ExtractionResult, gate: BudgetGate) -> None:
        batch = call.batch
        if call.deferred:
            result.budget_reached = True
            reason = (
                f"daily LLM budget of ${self.settings.daily_budget_usd:.4f} reached "
                f"(${gate.spent_usd:.4f} spent today); deferred to a later run"
            )
            for item in batch.items:
                result.outcomes[(item.candidate.channel_id, item.candidate.ts)] = CandidateOutcome(
                    status=CandidateStatus.DEFERRED, error=reason
                )
            return

        result.llm_calls += 1
        result.prompt_tokens += call.prompt_tokens
        result.completion_tokens += call.completion_tokens
        result.cost_usd += call.cost_usd
        text = self._redact(call.text) if call.text is not None else None
        if call.error is not None:
            parsed = ParsedAnswer(error=call.error, errors=dict.fromkeys(batch.ids, call.error))
        else:
            parsed = parse_answer(text, batch.ids)
            if parsed.error is not None and call.notes:
                parsed.error = f"{parsed.error} ({'; '.join(call.notes)})"
                parsed.errors = dict.fromkeys(batch.ids, parsed.error)
        apply_answer(batch.ids, batch.items, parsed, text, result, self._redact)

        failed = [
            cid
            for cid in batch.ids
            if result.outcomes[self._key(cid, batch)].status == CandidateStatus.FAILED
        ]
        error: str | None
        if parsed.error is not None:
            status, error = LLMCallStatus.FAILED, parsed.error
        else:
            status = LLMCallStatus.OK
            error = (
                f"{len(failed)} of {len(batch.ids)} candidates unusable: "
                f"{result.outcomes[self._key(failed[0], batch)].error}"
                if failed
                else None
            )
        if batch.superseded is not None:
            self._archive(batch.superseded)
        self.repository.record_llm_call(
            LLMCall(
                prompt_hash=batch.prompt_hash,
                model=self.settings.model,
                prompt_version=PROMPT_VERSION,
                candidate_keys=[
                    SourceRef(channel_id=i.candidate.channel_id, ts=i.candidate.ts)
                    for i in batch.items
                ],
                request=self._request_record(batch, call.mode),
                response_text=text,
                status=status,
                error=self._redact(error)[:2000] if error else None,
                prompt_tokens=call.prompt_tokens,
                completion_tokens=call.completion_tokens,
                cost_usd=call.cost_usd,
                latency_ms=call.latency_ms,
                created_at=self._clock(),
            )
        )
        log = self.log.warning if status == LLMCallStatus.FAILED or failed else self.log.info
        log(
            "LLM call %s: %d candidates, %d failed, %d+%d tokens, $%.6f, %d ms%s",
            batch.prompt_hash[:12],
            len(batch.ids),
            len(failed),
            call.prompt_tokens,
            call.completion_tokens,
            call.cost_usd,
            call.latency_ms,
            f": {self._redact(error)[:300]}" if error else "",
        )

    def _archive(self, previous: LLMCall) -> None:
        """Keep a failed call that a retry is about to replace, under a key of its own.

        The retry is stored under the prompt hash (so the cache sees the newest
        answer); without this, the earlier attempt's cost would vanish from the
        day's spend, and a prompt failing in every run would never meet the budget.
        """
        material = f"superseded:{previous.prompt_hash}:{previous.created_at.isoformat()}"
        archived_hash = hashlib.sha256(material.encode("utf-8")).hexdigest()
        self.repository.record_llm_call(previous.model_copy(update={"prompt_hash": archived_hash}))

    @staticmethod
    def _key(cid: str, batch: _Batch) -> tuple[str, str]:
        item = batch.items[batch.ids.index(cid)]
        return (item.candidate.channel_id, item.candidate.ts)

    def _request_record(self, batch: _Batch, mode: ResponseMode | None) -> dict[str, Any]:
        """What was asked, for the call record: inputs and options, never credentials."""
        record = {
            "model": self.settings.model,
            "prompt_version": PROMPT_VERSION,
            "temperature": self.settings.temperature,
            "response_mode": mode,
            "items": batch.data,
        }
        encoded = json.dumps(record, ensure_ascii=False)
        redacted = self._redact(encoded)
        if redacted == encoded:
            return record
        restored: dict[str, Any] = json.loads(redacted)
        return restored
