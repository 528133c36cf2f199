"""Extraction benchmark: candidate scoring and the rule extractor over a generated workspace.

Sections (each a function returning a dict of figures, printed and merged into
the ``--json`` line):

* ``rules``: scoring throughput (messages/s on one core, single process),
  candidates per 1,000 messages, and rule-extraction throughput (candidates/s).
* ``llm``: the OpenAI-compatible extractor against the local fake (100 ms latency):
  calls per candidate and per 1,000 messages, tokens, cost, wall time with and
  without concurrency, and a second run's calls (must be 0); see ``extract_llm.py``.

    python bench/extract.py [--n 100000 | --workspace sample] [--section rules] [--json]

With ``--json`` the last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Run as a script (python bench/extract.py), the sections import their sibling modules.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slack_events_dagster.domain.candidates import build_candidates, score_message
from slack_events_dagster.domain.models import SlackMessage
from slack_events_dagster.llm.base import ExtractionInput
from slack_events_dagster.llm.rules import RuleExtractor

Figures = dict[str, Any]


def load_messages(n: int, seed: int) -> list[SlackMessage]:
    """``n`` messages of the synthetic workspace (generated before timing starts)."""
    from slack_events_dagster.testing.workspace_gen import generate_messages

    return list(generate_messages(n, seed))


def _best_of(runs: int, work: Callable[[], int]) -> tuple[float, int]:
    """The fastest of ``runs`` timings (seconds) and the work's count; GC off while timing."""
    best = float("inf")
    count = 0
    for _ in range(runs):
        gc.collect()
        gc.disable()
        try:
            started = time.perf_counter()
            count = work()
            best = min(best, time.perf_counter() - started)
        finally:
            gc.enable()
    return best, count


def rules_section(messages: list[SlackMessage], *, timezone: str = "UTC") -> Figures:
    by_key = {(m.channel_id, m.ts): m for m in messages}

    def score_all() -> int:
        # The pipeline's path: build_candidates skips, before the full reading, the
        # messages whose evidence cannot reach the threshold (candidates.evidence_bound).
        return len(build_candidates(messages))

    def score_each() -> int:
        # Every message through score_message: the exact score of each, none skipped.
        found = 0
        for message in messages:
            parent = None
            if message.thread_ts is not None and message.thread_ts != message.ts:
                parent = by_key.get((message.channel_id, message.thread_ts))
            result = score_message(message, channel_name=message.channel_id, thread_parent=parent)
            found += result.is_candidate
        return found

    each_seconds, each_count = _best_of(1, score_each)
    score_seconds, candidate_count = _best_of(3, score_all)
    if each_count != candidate_count:
        raise SystemExit(f"build_candidates found {candidate_count}, score_message {each_count}")

    inputs = [
        ExtractionInput(
            candidate=candidate,
            message=(message := by_key[(candidate.channel_id, candidate.ts)]),
            channel_name=message.channel_id,
            timezone=timezone,
            thread_parent=by_key.get((message.channel_id, message.thread_ts or ""))
            if message.is_reply
            else None,
        )
        for candidate in build_candidates(messages)
    ]
    extractor = RuleExtractor()
    extractor.extract(inputs[:50])  # warm-up: the lazy dateparser import is not throughput
    extract_inputs = inputs[:5000]

    def extract_all() -> int:
        return len(extractor.extract(extract_inputs).drafts)

    extract_seconds, draft_count = _best_of(1, extract_all)
    return {
        "messages": len(messages),
        "scoring_msgs_per_s": round(len(messages) / score_seconds),
        "score_message_msgs_per_s": round(len(messages) / each_seconds),
        "candidates": candidate_count,
        "candidates_per_1000": round(1000 * candidate_count / max(1, len(messages)), 1),
        "extracted_candidates": len(extract_inputs),
        "drafts": draft_count,
        "extraction_candidates_per_s": round(len(extract_inputs) / max(extract_seconds, 1e-9)),
    }


def llm_figures(messages: list[SlackMessage], *, candidates: int = 400) -> Figures:
    from bench.extract_llm import llm_section

    figures = llm_section(candidates)
    sample = messages[:20_000]
    rate = 1000 * len(build_candidates(sample)) / max(1, len(sample))
    per_candidate = figures.get("calls_per_candidate")
    if isinstance(per_candidate, int | float):
        figures["llm_calls_per_1000_messages"] = round(per_candidate * rate, 1)
    return figures


SECTIONS: dict[str, Callable[[list[SlackMessage]], Figures]] = {
    "rules": rules_section,
    "llm": llm_figures,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="messages to generate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--section", action="append", choices=sorted(SECTIONS), help="run only these sections"
    )
    parser.add_argument(
        "--workspace",
        choices=["generated", "sample"],
        default="generated",
        help="a generated workspace of --n messages, or the bundled sample",
    )
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args(argv)

    if args.workspace == "sample":
        from bench.eval import SAMPLE, load_workspace

        messages = load_workspace(SAMPLE / "workspace")[1]
    else:
        messages = load_messages(args.n, args.seed)
    figures: Figures = {"n": len(messages), "seed": args.seed}
    for name in args.section or list(SECTIONS):
        section = SECTIONS[name](messages)
        figures[name] = section
        print(f"[{name}]")
        for key, value in section.items():
            print(f"  {key:>30}: {value:,}" if isinstance(value, int) else f"  {key:>30}: {value}")
    if args.json:
        print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
