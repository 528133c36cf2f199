"""LLM extraction benchmark: the OpenAI extractor against the local fake server.

Measures, over ``--n`` candidate messages with the fake answering after
``--latency-ms`` (100 ms by default, a fast hosted model):

* LLM calls per candidate (batching must make it at most 1 call per 5 candidates),
* prompt and completion tokens, and cost at the configured model price,
* wall time with ``--concurrency`` calls in flight versus one at a time,
* calls made by a second run over the same candidates (the cache must make it 0),
* drafts by how their date was found (written, relative, posted: undated news on the
  posting day) and the links they kept (anchors of the message the model named).

Each timed run gets a fresh SQLite database and a fresh server, so neither the
cache nor the server's state carries over between them. ``llm_section`` is the
reusable part (``bench/extract.py`` may add it to its sections).

    python bench/extract_llm.py [--n 400] [--batch-size 8] [--concurrency 4] \\
        [--latency-ms 100] [--seed 0] [--json]

With ``--json`` the last line is one JSON object with every figure. The exit
status is 1 when a target (calls per candidate, second-run calls) is missed.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from slack_events_dagster.domain.models import (
    CandidateStatus,
    EventCandidate,
    SlackMessage,
    datetime_to_ts,
)
from slack_events_dagster.llm.base import ExtractionInput, ExtractionResult
from slack_events_dagster.llm.openai_extractor import OpenAIExtractor
from slack_events_dagster.settings import LLMSettings
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.fake_openai import FakeOpenAIServer

Figures = dict[str, Any]

MAX_CALLS_PER_CANDIDATE = 0.2

_ANNOUNCEMENTS = (
    "Release {v} goes out on {day} {hh}:{mm}, notes at https://example.com/releases/{v}",
    "Maintenance window for the primary database: {day} {hh}:00",
    "Reminder: quarterly planning meeting {day} {hh}:{mm} in the big room",
    "Deadline for the conference talk proposals is {day}",
    "Incident review for last week's outage on {day} {hh}:30",
    "Launch of the new dashboard planned for {day}",
    "Team sync tomorrow at {hh}:{mm}, join <https://zoom.us/j/9{hh}{mm}|on Zoom>",
)
# Undated news: an event on the day it is posted.
_NEWS = (
    "OLake Go {v} Released <https://github.com/acme/olake-go/releases/tag/{v}|{v}>",
    "The new dashboard is live! Feedback in OPS-{n} please",
    "Payments outage: card payments failing, updates in <https://status.example.com/{n}>",
)
_CHATTER = (
    "Thanks everyone, great job on the rollout!",
    "Does anyone know where the staging credentials doc lives?",
    "Lunch at noon? The usual place.",
    "PR merged, looks good to me",
)
_CHANNELS = (("C01RELEASES", "releases"), ("C02OPS", "ops"), ("C03GENERAL", "general"))


def make_candidates(n: int, seed: int) -> list[ExtractionInput]:
    """``n`` candidate messages: about seven in ten announce a dated event, one in ten
    reports undated news (an event on its posting day)."""
    rng = random.Random(seed)
    start = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    items = []
    for index in range(n):
        channel_id, channel_name = _CHANNELS[index % len(_CHANNELS)]
        posted = start + timedelta(minutes=7 * index)
        draw = rng.random()
        if draw < 0.8:
            day = date(2024, 3, 1) + timedelta(days=rng.randint(1, 60))
            templates = _ANNOUNCEMENTS if draw < 0.7 else _NEWS
            text = rng.choice(templates).format(
                v=f"v{index // 10}.{index % 10}",
                n=index,
                day=day.isoformat(),
                hh=f"{rng.randint(8, 18):02d}",
                mm=rng.choice(("00", "15", "30", "45")),
            )
        else:
            text = rng.choice(_CHATTER)
        ts = datetime_to_ts(posted)
        items.append(
            ExtractionInput(
                candidate=EventCandidate(channel_id=channel_id, ts=ts, score=0.8),
                message=SlackMessage(channel_id=channel_id, ts=ts, user="U1", text=text),
                channel_name=channel_name,
                timezone="Europe/Berlin",
            )
        )
    return items


def _settings(base_url: str, *, batch_size: int, concurrency: int) -> LLMSettings:
    return LLMSettings(
        provider="openai",
        base_url=base_url,
        api_key=SecretStr("sk-bench-not-a-real-key"),
        model="gpt-4o-mini",
        batch_size=batch_size,
        concurrency=concurrency,
        timeout_s=10,
        max_retries=2,
        daily_budget_usd=1_000,
    )


def _timed_run(
    items: list[ExtractionInput],
    workdir: Path,
    *,
    name: str,
    batch_size: int,
    concurrency: int,
    latency_ms: float,
    second_run: bool = False,
) -> Figures:
    repository = SqlRepository.from_url(f"sqlite:///{workdir / name}.db")
    repository.create_schema()
    try:
        with FakeOpenAIServer(latency_s=latency_ms / 1000) as server:
            settings = _settings(server.base_url, batch_size=batch_size, concurrency=concurrency)
            with OpenAIExtractor(settings, repository) as extractor:
                started = time.perf_counter()
                result = extractor.extract(items)
                wall_s = time.perf_counter() - started
                figures = _result_figures(result, len(items))
                figures.update(
                    wall_s=round(wall_s, 3),
                    http_requests=server.completion_requests,
                    max_in_flight=server.max_in_flight,
                )
                if second_run:
                    before = server.completion_requests
                    again = extractor.extract(items)
                    figures.update(
                        second_run_calls=again.llm_calls,
                        second_run_http_requests=server.completion_requests - before,
                        second_run_cache_hits=again.cache_hits,
                        second_run_same_drafts=sorted(d.model_dump_json() for d in again.drafts)
                        == sorted(d.model_dump_json() for d in result.drafts),
                    )
    finally:
        repository.close()
    return figures


def _result_figures(result: ExtractionResult, n: int) -> Figures:
    counts = {status.value: 0 for status in CandidateStatus}
    for outcome in result.outcomes.values():
        counts[outcome.status.value] += 1
    return {
        "llm_calls": result.llm_calls,
        "calls_per_candidate": round(result.llm_calls / n, 4) if n else 0.0,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "tokens_per_candidate": round((result.prompt_tokens + result.completion_tokens) / n, 1)
        if n
        else 0.0,
        "cost_usd": round(result.cost_usd, 6),
        "cost_usd_per_1000_candidates": round(result.cost_usd * 1000 / n, 6) if n else 0.0,
        "drafts": len(result.drafts),
        "drafts_by_date_source": dict(
            sorted(Counter(d.date_source.value for d in result.drafts).items())
        ),
        "links_kept": sum(len(d.links) for d in result.drafts),
        "outcomes": {key: value for key, value in counts.items() if value},
    }


def llm_section(
    n: int = 400,
    *,
    seed: int = 0,
    batch_size: int = 8,
    concurrency: int = 4,
    latency_ms: float = 100.0,
) -> Figures:
    """Every figure of the benchmark, as one flat-ish dict."""
    items = make_candidates(n, seed)
    with tempfile.TemporaryDirectory(prefix="bench-llm-") as tmp:
        workdir = Path(tmp)
        concurrent = _timed_run(
            items,
            workdir,
            name="concurrent",
            batch_size=batch_size,
            concurrency=concurrency,
            latency_ms=latency_ms,
            second_run=True,
        )
        sequential = _timed_run(
            items,
            workdir,
            name="sequential",
            batch_size=batch_size,
            concurrency=1,
            latency_ms=latency_ms,
        )
    return {
        "candidates": n,
        "batch_size": batch_size,
        "concurrency": concurrency,
        "latency_ms": latency_ms,
        **{key: value for key, value in concurrent.items() if key != "wall_s"},
        "wall_s_concurrent": concurrent["wall_s"],
        "wall_s_sequential": sequential["wall_s"],
        "speedup": round(sequential["wall_s"] / concurrent["wall_s"], 2)
        if concurrent["wall_s"]
        else None,
        "sequential_llm_calls": sequential["llm_calls"],
    }


def check(figures: Figures) -> list[str]:
    """The targets the benchmark holds the extractor to; empty when all are met."""
    problems = []
    if figures["calls_per_candidate"] > MAX_CALLS_PER_CANDIDATE:
        problems.append(
            f"{figures['calls_per_candidate']} LLM calls per candidate "
            f"(target: at most {MAX_CALLS_PER_CANDIDATE})"
        )
    if figures["second_run_calls"] != 0 or figures["second_run_http_requests"] != 0:
        problems.append(f"the second run made {figures['second_run_calls']} calls (target: 0)")
    if not figures["second_run_same_drafts"]:
        problems.append("the second run's drafts differ from the first run's")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=400, help="candidate messages (default 400)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--json", action="store_true", help="end with one JSON line of figures")
    args = parser.parse_args(argv)

    figures = llm_section(
        args.n,
        seed=args.seed,
        batch_size=args.batch_size,
        concurrency=args.concurrency,
        latency_ms=args.latency_ms,
    )
    problems = check(figures)
    figures["targets_met"] = not problems
    for key, value in figures.items():
        print(f"{key:>30}: {value}")
    for problem in problems:
        print(f"TARGET MISSED: {problem}", file=sys.stderr)
    if args.json:
        print(json.dumps(figures, sort_keys=True))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
