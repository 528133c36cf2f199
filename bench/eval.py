"""Quality of candidate scoring and the rule extractor against the sample workspace's gold list.

Reads the bundled export (``slack_events_dagster/sample/workspace``) day file by
day file, scores every message, runs the rule extractor on the candidates
(with their thread parents, in the gold list's company time zone), merges the
drafts into events, and compares with ``gold.yaml``:

* candidate stage: the share of gold events with at least one source message
  among the candidates (target >= 0.95) and the share of all messages passed
  on (target <= 0.20);
* rule extractor: precision (extracted events that match a gold event) and
  recall (gold events matched), one to one. An event matches a gold event when
  the categories are equal, the titles are alike (``rapidfuzz``
  token_set_ratio >= 50 on normalized titles), the start dates are equal and,
  when the gold event has a time, the start instants are equal. Targets:
  precision >= 0.8, recall >= 0.7.

    python bench/eval.py [--workspace DIR] [--gold FILE] [--verbose] [--json]

With ``--json`` the last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz

from slack_events_dagster.domain.candidates import build_candidates
from slack_events_dagster.domain.dedup import merge_drafts, normalize_title
from slack_events_dagster.domain.models import (
    Event,
    EventCandidate,
    SlackMessage,
    ts_sort_key,
)
from slack_events_dagster.llm.base import ExtractionInput
from slack_events_dagster.llm.rules import RuleExtractor
from slack_events_dagster.slack.normalize import normalize_message

SAMPLE = Path(__file__).resolve().parent.parent / "slack_events_dagster" / "sample"
TITLE_MIN_SIMILARITY = 50.0
TARGETS = {
    "candidate_gold_kept": (">=", 0.95),
    "candidate_pass_rate": ("<=", 0.20),
    "rules_precision": (">=", 0.80),
    "rules_recall": (">=", 0.70),
}


@dataclass(frozen=True)
class GoldEvent:
    id: str
    title: str
    category: str
    start: date | datetime
    all_day: bool
    status: str
    sources: tuple[tuple[str, str], ...]

    @property
    def start_date(self) -> date:
        return self.start.date() if isinstance(self.start, datetime) else self.start


def load_workspace(path: Path) -> tuple[dict[str, str], list[SlackMessage]]:
    """Channel names by id and every message of the export, in ts order."""
    channels = {raw["id"]: raw["name"] for raw in json.loads((path / "channels.json").read_text())}
    messages: list[SlackMessage] = []
    for channel_id, name in channels.items():
        for day_file in sorted((path / name).glob("*.json")):
            for raw in json.loads(day_file.read_text()):
                try:
                    messages.append(normalize_message(raw, channel_id))
                except ValueError:
                    continue  # the export reader skips what it cannot read; so do we
    messages.sort(key=lambda m: (ts_sort_key(m.ts), m.channel_id))
    return channels, messages


def _parse_start(value: str, all_day: bool) -> date | datetime:
    return date.fromisoformat(value) if all_day else datetime.fromisoformat(value)


def load_gold(path: Path, channel_ids: dict[str, str]) -> tuple[str, list[GoldEvent]]:
    """The company time zone and the gold events (sources as ``(channel_id, ts)``)."""
    data = yaml.safe_load(path.read_text())
    events = [
        GoldEvent(
            id=raw["id"],
            title=raw["title"],
            category=raw["category"],
            start=_parse_start(str(raw["start"]), bool(raw.get("all_day"))),
            all_day=bool(raw.get("all_day")),
            status=raw.get("status", "scheduled"),
            sources=tuple((channel_ids[s["channel"]], str(s["ts"])) for s in raw["sources"]),
        )
        for raw in data["events"]
    ]
    return str(data.get("company_timezone", "UTC")), events


def title_score(left: str, right: str) -> float:
    return float(fuzz.token_set_ratio(normalize_title(left), normalize_title(right)))


def matches(event: Event, gold: GoldEvent) -> bool:
    if event.category.value != gold.category or event.start_date != gold.start_date:
        return False
    if not gold.all_day:
        if not isinstance(event.start, datetime) or not isinstance(gold.start, datetime):
            return False
        if event.start != gold.start:
            return False
    return title_score(event.title, gold.title) >= TITLE_MIN_SIMILARITY


def pair_up(events: Sequence[Event], gold: Sequence[GoldEvent]) -> list[tuple[Event, GoldEvent]]:
    """One-to-one matches, best title similarity first (greedy)."""
    options = sorted(
        (
            (title_score(event.title, item.title), index, gold_index)
            for index, event in enumerate(events)
            for gold_index, item in enumerate(gold)
            if matches(event, item)
        ),
        reverse=True,
    )
    used_events: set[int] = set()
    used_gold: set[int] = set()
    pairs: list[tuple[Event, GoldEvent]] = []
    for _, index, gold_index in options:
        if index in used_events or gold_index in used_gold:
            continue
        used_events.add(index)
        used_gold.add(gold_index)
        pairs.append((events[index], gold[gold_index]))
    return pairs


def extraction_inputs(
    candidates: Sequence[EventCandidate],
    messages: Sequence[SlackMessage],
    channels: dict[str, str],
    timezone: str,
) -> list[ExtractionInput]:
    by_key = {(m.channel_id, m.ts): m for m in messages}
    inputs = []
    for candidate in candidates:
        message = by_key[(candidate.channel_id, candidate.ts)]
        parent = None
        if candidate.parent_ts is not None:
            parent = by_key.get((candidate.channel_id, candidate.parent_ts))
        inputs.append(
            ExtractionInput(
                candidate=candidate,
                message=message,
                channel_name=channels[candidate.channel_id],
                timezone=timezone,
                thread_parent=parent,
            )
        )
    return inputs


def evaluate(workspace: Path, gold_path: Path, *, verbose: bool = False) -> dict[str, Any]:
    channels, messages = load_workspace(workspace)
    timezone, gold = load_gold(gold_path, {name: cid for cid, name in channels.items()})

    candidates = build_candidates(messages, channel_names=channels)
    candidate_keys = {(c.channel_id, c.ts) for c in candidates}
    kept = [g for g in gold if any(source in candidate_keys for source in g.sources)]

    inputs = extraction_inputs(candidates, messages, channels, timezone)
    result = RuleExtractor().extract(inputs)
    merged = merge_drafts(result.drafts, [], now=datetime.now(UTC))
    events = merged.events_to_write
    pairs = pair_up(events, gold)
    status_right = sum(1 for event, item in pairs if event.status.value == item.status)

    figures: dict[str, Any] = {
        "messages": len(messages),
        "candidates": len(candidates),
        "candidate_pass_rate": round(len(candidates) / max(1, len(messages)), 3),
        "gold_events": len(gold),
        "candidate_gold_kept": round(len(kept) / max(1, len(gold)), 3),
        "drafts": len(result.drafts),
        "events": len(events),
        "matched": len(pairs),
        "rules_precision": round(len(pairs) / max(1, len(events)), 3),
        "rules_recall": round(len(pairs) / max(1, len(gold)), 3),
        "status_accuracy_of_matched": round(status_right / max(1, len(pairs)), 3),
    }
    if verbose:
        _report_misses(gold, kept, events, pairs, channels)
    return figures


def _describe(event: Event) -> str:
    return f"{event.category.value:<12} {event.start!s:<26} {event.status.value:<11} {event.title}"


def _report_misses(
    gold: Sequence[GoldEvent],
    kept: Sequence[GoldEvent],
    events: Sequence[Event],
    pairs: Sequence[tuple[Event, GoldEvent]],
    channels: dict[str, str],
) -> None:
    matched_gold = {item.id for _, item in pairs}
    matched_events = {event.event_id for event, _ in pairs}
    print("\ngold events no candidate kept:")
    for item in gold:
        if item not in kept:
            print(f"  {item.id}")
    print("\ngold events not found:")
    for item in gold:
        if item.id not in matched_gold:
            print(f"  {item.id:<36} {item.category:<12} {item.start!s:<26} {item.title}")
    print("\nextracted events matching no gold event:")
    for event in events:
        if event.event_id not in matched_events:
            where = ", ".join(f"#{channels[s.channel_id]} {s.ts}" for s in event.sources[:2])
            print(f"  {_describe(event)}  [{where}]")


def print_table(figures: dict[str, Any]) -> None:
    print(f"{'figure':<28} {'value':>8}  target")
    for key, value in figures.items():
        target = TARGETS.get(key)
        if target is None:
            print(f"{key:<28} {value:>8}")
            continue
        operator, bound = target
        ok = value >= bound if operator == ">=" else value <= bound
        print(f"{key:<28} {value:>8}  {operator} {bound}  {'ok' if ok else 'MISSED'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=SAMPLE / "workspace")
    parser.add_argument("--gold", type=Path, default=SAMPLE / "gold.yaml")
    parser.add_argument("--verbose", action="store_true", help="list misses and extras")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args(argv)
    figures = evaluate(args.workspace, args.gold, verbose=args.verbose)
    print()
    print_table(figures)
    if args.json:
        print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
