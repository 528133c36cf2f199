"""Quality of candidate scoring and the rule extractor: the sample and real Slack histories.

**Real corpora** (``../shared/corpora``, gold lists in ``bench/gold/``, labelled as
``bench/gold/README.md`` says): every message is scored, the rule extractor reads
the candidates (with thread parents, in the corpus's time zone) and each draft is
compared with the gold items of its own message:

* candidate stage: ``candidate_pass_rate``, the share of the labelled days' messages
  passed on (target <= 0.10), and ``candidate_gold_kept``, the share of gold events
  whose message is a candidate (target >= 0.95);
* events: a gold item is *found* when a draft of the same message starts on the same
  day (in the corpus's zone) and its title names the thing (:func:`names_the_thing`).
  ``events_recall`` over every firm gold item (target >= 0.8), also on the labelled
  days alone; ``events_precision`` over the drafts of the labelled days: right when it
  found a gold item (borderline items count as right when found, never as missed),
  false otherwise (target >= 0.85); ``false_events_per_1000`` messages of those days
  (target <= 1);
* dates: recall over gold items with a written or relative date, precision over the
  drafts with one; times: recall over gold items with a time (exact instant),
  precision over the found drafts that carry a time.

**The sample** (``slack_events_dagster/sample``): its gold list was written together
with the code, so it guards against regressions rather than measuring; it compares
events after merging (title, category, day and time), as before.

    python bench/eval.py [--corpus NAME ...] [--sample-only] [--verbose] [--json]

With ``--json`` the last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from rapidfuzz import fuzz

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpora import CORPORA, Corpus, corpus_path, load_corpus
from slack_events_dagster.domain.candidates import build_candidates
from slack_events_dagster.domain.dedup import merge_drafts, normalize_title
from slack_events_dagster.domain.models import (
    DateSource,
    Event,
    EventCandidate,
    EventDraft,
    SlackMessage,
    ts_sort_key,
)
from slack_events_dagster.domain.prose import read_prose
from slack_events_dagster.llm.base import ExtractionInput
from slack_events_dagster.llm.rules import RuleExtractor
from slack_events_dagster.slack.normalize import normalize_message

SAMPLE = Path(__file__).resolve().parent.parent / "slack_events_dagster" / "sample"
GOLD_DIR = Path(__file__).resolve().parent / "gold"
TITLE_MIN_SIMILARITY = 50.0
SAMPLE_TARGETS = {
    "candidate_gold_kept": (">=", 0.95),
    "candidate_pass_rate": ("<=", 0.20),
    "rules_precision": (">=", 0.80),
    "rules_recall": (">=", 0.70),
}
CORPUS_TARGETS = {
    "candidate_gold_kept": (">=", 0.95),
    "candidate_pass_rate": ("<=", 0.10),
    "events_precision": (">=", 0.85),
    "events_recall": (">=", 0.80),
    "false_events_per_1000": ("<=", 1.0),
}


def extraction_inputs(
    candidates: Sequence[EventCandidate],
    messages: Sequence[SlackMessage],
    channels: Mapping[str, str],
    timezone: str,
    *,
    names: Mapping[str, str] | None = None,
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
                names=names or {},
            )
        )
    return inputs


def print_table(figures: Mapping[str, Any], targets: Mapping[str, tuple[str, float]]) -> None:
    print(f"{'figure':<28} {'value':>8}  target")
    for key, value in figures.items():
        target = targets.get(key)
        if target is None:
            print(f"{key:<28} {value:>8}")
            continue
        operator, bound = target
        ok = value >= bound if operator == ">=" else value <= bound
        print(f"{key:<28} {value:>8}  {operator} {bound}  {'ok' if ok else 'MISSED'}")


# -- real corpora -------------------------------------------------------------------

_TOKEN = re.compile(r"[a-z0-9]+(?:[.\-][a-z0-9]+)*|[\u3040-\u30ff\u3400-\u9fff]+")
# Words that say what kind of thing it is, or nothing at all: a title must name more.
_TITLE_FILLER = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "for",
        "on",
        "in",
        "at",
        "to",
        "and",
        "with",
        "from",
        "by",
        "our",
        "new",
        "is",
        "are",
        "be",
        "will",
        "this",
        "next",
        "release",
        "released",
        "launch",
        "launched",
        "meeting",
        "meetup",
        "event",
        "events",
        "webinar",
        "outage",
        "incident",
        "announcement",
        "update",
        "updates",
    ]
)


@dataclass(frozen=True)
class GoldItem:
    channel_id: str
    ts: str
    event: str
    title: str
    category: str
    start: date | datetime | None
    date_source: str
    status: str
    borderline: bool

    @property
    def key(self) -> tuple[str, str]:
        return (self.channel_id, self.ts)

    @property
    def start_date(self) -> date | None:
        return self.start.date() if isinstance(self.start, datetime) else self.start

    @property
    def scored(self) -> bool:
        """Counted in recall: firm, with a day a reader can know."""
        return not self.borderline and self.start is not None


@dataclass(frozen=True)
class CorpusGold:
    corpus: str
    timezone: str
    days: frozenset[date]
    items: tuple[GoldItem, ...]


def load_corpus_gold(path: Path, channel_ids: Mapping[str, str]) -> CorpusGold:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    zone = ZoneInfo(data["timezone"])
    items = []
    for raw in data["items"]:
        start: date | datetime | None = None
        if raw.get("start") is not None:
            text = str(raw["start"])
            start = datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
            if isinstance(start, datetime):
                start = start.astimezone(zone)
        items.append(
            GoldItem(
                channel_id=channel_ids[raw["channel"]],
                ts=str(raw["ts"]),
                event=str(raw.get("event", "")),
                title=str(raw["title"]),
                category=str(raw["category"]),
                start=start,
                date_source=str(raw.get("date_source", "written")),
                status=str(raw.get("status", "scheduled")),
                borderline=bool(raw.get("borderline", False)),
            )
        )
    days = frozenset(date.fromisoformat(str(day)) for day in data.get("days") or [])
    return CorpusGold(data["corpus"], data["timezone"], days, tuple(items))


def _title_tokens(title: str) -> list[str]:
    return _TOKEN.findall(normalize_title(title).replace("_", " "))


def _naming_words(title: str) -> list[str]:
    tokens = _title_tokens(title)
    return [t for t in tokens if t not in _TITLE_FILLER] or tokens


_PARENTHESIS = re.compile(r"\([^)]*\)")
_RAW_WORD = re.compile(r"[\w][\w.+#&'/-]*[\w+#]|[\w]")


def key_words(title: str) -> list[str]:
    """The words that name this very thing: names (capitalized after the first word, or
    mixed case, or all capitals), numbers and versions. "Developer Day 2017" -> developer,
    day, 2017; "Private beta" -> none (then every naming word counts)."""
    words = _RAW_WORD.findall(_PARENTHESIS.sub(" ", title))
    keys = []
    for index, word in enumerate(words):
        named = (
            any(ch.isdigit() for ch in word)
            or (len(word) > 1 and word.isupper())
            or any(ch.isupper() for ch in word[1:])
            or (word[0].isupper() and (index > 0 or word.lower() not in _COMMON_FIRST))
            or _CJK_WORD.search(word) is not None
        )
        if named:
            keys.extend(_title_tokens(word))
    return [key for key in keys if key not in _TITLE_FILLER]


_CJK_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
# Capitalized only because they open the title.
_COMMON_FIRST = frozenset(
    "new private public open updated free community developer developers local official annual "
    "monthly weekly next first last live virtual online global major minor quick big data "
    "design product team marketplace custom more content website site api crm cms email "
    "outage incident release launch meeting meetup webinar talk session sessions recording "
    "recordings slides video videos registration deadline sunset maintenance upcoming "
    "general holiday company user users customer server".split()
)


def names_the_thing(extracted: str, gold: str, source: str | None = None) -> bool:
    """The extracted title names what the gold title names.

    Half of the gold title's key words (its names, numbers and versions; when it has
    none, its naming words: not its kind, "release" or "meetup") appear in the
    extracted one, allowing small spelling differences; parenthesized remarks in the
    gold title do not count, nor do words the message itself never says (``source``:
    the labeller's "Houston Data Visualization July meetup" for "our July meetup is
    on Monday" asks for "July"). The extracted title must itself be a title, not a
    sentence that happens to contain them: at most 12 words, a quarter of its naming
    words among the gold's.
    """
    gold_words = key_words(gold) or _naming_words(_PARENTHESIS.sub(" ", gold))
    if source is not None:
        said = set(_title_tokens(source))
        in_message = [word for word in gold_words if word in said]
        gold_words = in_message or [w for w in _naming_words(gold) if w in said] or gold_words
    got_words = _naming_words(extracted)
    if not gold_words or not got_words or len(extracted.split()) > 12:
        return False
    gold_all = _naming_words(gold)

    def near(word: str, others: Sequence[str]) -> bool:
        return any(
            word == other
            or (len(word) > 3 and fuzz.ratio(word, other) >= 85)
            or (_CJK_WORD.search(word) is not None and (word in other or other in word))
            for other in others
        )

    covered = sum(1 for word in gold_words if near(word, got_words))
    relevant = sum(1 for word in got_words if near(word, gold_all))
    return covered / len(gold_words) >= 0.5 and relevant / len(got_words) >= 0.25


@dataclass
class _Pairing:
    # gold index -> the draft that found it
    found: dict[int, EventDraft]
    # drafts (by id) that found a gold item
    right: set[int]
    # drafts of messages whose only gold items have no knowable day
    excused: set[int]


def pair_drafts(
    drafts: Sequence[EventDraft],
    items: Sequence[GoldItem],
    sources: Mapping[tuple[str, str], str] | None = None,
) -> _Pairing:
    """One-to-one: each gold item found by at most one draft of its message (firm first).

    ``sources``: each message's readable text (with its thread parent's), for the words
    a title can be expected to use."""
    by_message: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        by_message[item.key].append(index)
    pairing = _Pairing({}, set(), set())
    options: list[tuple[bool, int, int, EventDraft]] = []
    for draft in drafts:
        indexes = by_message.get((draft.source.channel_id, draft.source.ts), [])
        if indexes and all(items[i].start is None for i in indexes):
            pairing.excused.add(id(draft))
        for index in indexes:
            item = items[index]
            if (
                item.start is not None
                and draft.start_date == item.start_date
                and names_the_thing(draft.title, item.title, (sources or {}).get(item.key))
            ):
                options.append((item.borderline, index, id(draft), draft))
    for _, index, draft_id, draft in sorted(options, key=lambda o: (o[0], o[1])):
        if index in pairing.found or draft_id in pairing.right:
            continue
        pairing.found[index] = draft
        pairing.right.add(draft_id)
    return pairing


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 3) if whole else 1.0


def evaluate_corpus(name: str, gold_path: Path, *, verbose: bool = False) -> dict[str, Any] | None:
    path = corpus_path(name)
    if path is None:
        print(f"\n[{name}] skipped: {CORPORA / name / 'export.zip'} is absent")
        return None
    corpus = load_corpus(name, path)
    gold = load_corpus_gold(gold_path, {n: cid for cid, n in corpus.channels.items()})
    items = gold.items
    sampled = [m for m in corpus.messages if corpus.days[(m.channel_id, m.ts)] in gold.days]
    sampled_keys = {(m.channel_id, m.ts) for m in sampled}

    started = time.perf_counter()
    candidates = build_candidates(corpus.messages, channel_names=corpus.channels)
    candidate_keys = {(c.channel_id, c.ts) for c in candidates}
    inputs = extraction_inputs(
        candidates, corpus.messages, corpus.channels, gold.timezone, names=corpus.names
    )
    drafts = RuleExtractor().extract(inputs).drafts
    seconds = time.perf_counter() - started

    pairing = pair_drafts(drafts, items, _readable_sources(corpus, items))
    scored = [i for i, item in enumerate(items) if item.scored]
    scored_in_days = [i for i in scored if items[i].key in sampled_keys]
    in_days = [d for d in drafts if (d.source.channel_id, d.source.ts) in sampled_keys]
    right = [d for d in in_days if id(d) in pairing.right]
    false = [d for d in in_days if id(d) not in pairing.right and id(d) not in pairing.excused]
    dated = [i for i in scored if items[i].date_source != "posted"]
    dated_drafts = [d for d in in_days if d.date_source is not DateSource.POSTED]
    timed = [i for i in scored if isinstance(items[i].start, datetime)]
    found_by = {id(d): i for i, d in pairing.found.items()}
    timed_drafts = [d for d in right if isinstance(d.start, datetime)]
    passed = sum(1 for key in sampled_keys if key in candidate_keys)

    def time_right(index: int, draft: EventDraft | None) -> bool:
        return draft is not None and items[index].start == draft.start

    figures: dict[str, Any] = {
        "messages_in_days": len(sampled),
        "gold_scored": len(scored),
        "gold_scored_in_days": len(scored_in_days),
        "candidate_pass_rate": _ratio(passed, len(sampled)),
        "candidate_gold_kept": _ratio(
            sum(items[i].key in candidate_keys for i in scored), len(scored)
        ),
        "drafts_in_days": len(in_days),
        "events_precision": _ratio(len(right), len(right) + len(false)),
        "events_recall": _ratio(sum(i in pairing.found for i in scored), len(scored)),
        "events_recall_in_days": _ratio(
            sum(i in pairing.found for i in scored_in_days), len(scored_in_days)
        ),
        "false_events_per_1000": round(1000 * len(false) / max(1, len(sampled)), 2),
        "dates_precision": _ratio(
            sum(id(d) in pairing.right for d in dated_drafts), len(dated_drafts)
        ),
        "dates_recall": _ratio(sum(i in pairing.found for i in dated), len(dated)),
        "times_precision": _ratio(
            sum(time_right(found_by[id(d)], d) for d in timed_drafts), len(timed_drafts)
        ),
        "times_recall": _ratio(sum(time_right(i, pairing.found.get(i)) for i in timed), len(timed)),
        "seconds": round(seconds, 1),
    }
    if verbose:
        _report_corpus(corpus, gold, pairing, candidate_keys, false, drafts)
    return figures


def _readable_sources(corpus: Corpus, items: Sequence[GoldItem]) -> dict[tuple[str, str], str]:
    """Each gold message's prose with names resolved, and its thread parent's."""
    by_key = {(m.channel_id, m.ts): m for m in corpus.messages}
    texts: dict[tuple[str, str], str] = {}
    for item in items:
        message = by_key[item.key]
        parts = [message.text]
        if message.is_reply and message.thread_ts:
            parent = by_key.get((message.channel_id, message.thread_ts))
            if parent is not None:
                parts.append(parent.text)
        texts[item.key] = " ".join(read_prose(part, corpus.names).text for part in parts)
    return texts


def _where(corpus: Corpus, channel_id: str, ts: str) -> str:
    return f"#{corpus.channels[channel_id]} {ts}"


def _report_corpus(
    corpus: Corpus,
    gold: CorpusGold,
    pairing: _Pairing,
    candidate_keys: set[tuple[str, str]],
    false: Sequence[EventDraft],
    drafts: Sequence[EventDraft],
) -> None:
    by_key = {(m.channel_id, m.ts): m for m in corpus.messages}
    drafted: dict[tuple[str, str], list[EventDraft]] = defaultdict(list)
    for draft in drafts:
        drafted[(draft.source.channel_id, draft.source.ts)].append(draft)
    print(f"\n[{gold.corpus}] gold items not found (x: no candidate; -> what was drafted):")
    for index, item in enumerate(gold.items):
        if not item.scored or index in pairing.found:
            continue
        mark = " " if item.key in candidate_keys else "x"
        print(f" {mark} {_where(corpus, *item.key):<42} {item.start!s:<26} {item.title}")
        text = by_key[item.key].text.replace("\n", " / ")[:160]
        print(f"      | {text}")
        for draft in drafted.get(item.key, []):
            print(f"      -> {draft.start!s:<26} {draft.category.value:<12} {draft.title}")
    print(f"\n[{gold.corpus}] false events on the labelled days:")
    for draft in false:
        print(
            f"   {_where(corpus, draft.source.channel_id, draft.source.ts):<42} "
            f"{draft.start!s:<26} {draft.category.value:<12} {draft.title}"
        )
        text = by_key[(draft.source.channel_id, draft.source.ts)].text.replace("\n", " / ")
        print(f"      | {text[:160]}")


# -- the sample ----------------------------------------------------------------------


@dataclass(frozen=True)
class SampleGoldEvent:
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
    """Channel names by id and every message of an unpacked export, in ts order."""
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


def load_sample_gold(
    path: Path, channel_ids: Mapping[str, str]
) -> tuple[str, list[SampleGoldEvent]]:
    """The company time zone and the gold events (sources as ``(channel_id, ts)``)."""
    data = yaml.safe_load(path.read_text())
    events = [
        SampleGoldEvent(
            id=raw["id"],
            title=raw["title"],
            category=raw["category"],
            start=(
                date.fromisoformat(str(raw["start"]))
                if raw.get("all_day")
                else datetime.fromisoformat(str(raw["start"]))
            ),
            all_day=bool(raw.get("all_day")),
            status=raw.get("status", "scheduled"),
            sources=tuple((channel_ids[s["channel"]], str(s["ts"])) for s in raw["sources"]),
        )
        for raw in data["events"]
    ]
    return str(data.get("company_timezone", "UTC")), events


def title_score(left: str, right: str) -> float:
    return float(fuzz.token_set_ratio(normalize_title(left), normalize_title(right)))


def matches(event: Event, gold: SampleGoldEvent) -> bool:
    if event.category.value != gold.category or event.start_date != gold.start_date:
        return False
    if not gold.all_day:
        if not isinstance(event.start, datetime) or not isinstance(gold.start, datetime):
            return False
        if event.start != gold.start:
            return False
    return title_score(event.title, gold.title) >= TITLE_MIN_SIMILARITY


def pair_up(
    events: Sequence[Event], gold: Sequence[SampleGoldEvent]
) -> list[tuple[Event, SampleGoldEvent]]:
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
    pairs: list[tuple[Event, SampleGoldEvent]] = []
    for _, index, gold_index in options:
        if index in used_events or gold_index in used_gold:
            continue
        used_events.add(index)
        used_gold.add(gold_index)
        pairs.append((events[index], gold[gold_index]))
    return pairs


def evaluate(workspace: Path, gold_path: Path, *, verbose: bool = False) -> dict[str, Any]:
    """The sample's figures (the regression guard)."""
    channels, messages = load_workspace(workspace)
    timezone, gold = load_sample_gold(gold_path, {name: cid for cid, name in channels.items()})

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
        _report_sample_misses(gold, kept, events, pairs, channels)
    return figures


def _report_sample_misses(
    gold: Sequence[SampleGoldEvent],
    kept: Sequence[SampleGoldEvent],
    events: Sequence[Event],
    pairs: Sequence[tuple[Event, SampleGoldEvent]],
    channels: Mapping[str, str],
) -> None:
    matched_gold = {item.id for _, item in pairs}
    matched_events = {event.event_id for event, _ in pairs}
    print("\nsample gold events no candidate kept:")
    for item in gold:
        if item not in kept:
            print(f"  {item.id}")
    print("\nsample gold events not found:")
    for item in gold:
        if item.id not in matched_gold:
            print(f"  {item.id:<36} {item.category:<12} {item.start!s:<26} {item.title}")
    print("\nsample events matching no gold event:")
    for event in events:
        if event.event_id not in matched_events:
            where = ", ".join(f"#{channels[s.channel_id]} {s.ts}" for s in event.sources[:2])
            print(
                f"  {event.category.value:<12} {event.start!s:<26} {event.status.value:<11} "
                f"{event.title}  [{where}]"
            )


def labelled_corpora() -> list[tuple[str, Path]]:
    return [(path.stem, path) for path in sorted(GOLD_DIR.glob("*.yaml"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", help="only these corpora (default: all)")
    parser.add_argument("--sample-only", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="list misses and false events")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {}
    report["sample"] = evaluate(
        SAMPLE / "workspace", SAMPLE / "gold.yaml", verbose=args.verbose and not args.corpus
    )
    print("\n[sample]")
    print_table(report["sample"], SAMPLE_TARGETS)
    if not args.sample_only:
        for name, gold_path in labelled_corpora():
            if args.corpus and name not in args.corpus:
                continue
            figures = evaluate_corpus(name, gold_path, verbose=args.verbose)
            if figures is None:
                continue
            report[name] = figures
            print(f"\n[{name}]")
            print_table(figures, CORPUS_TARGETS)
    if args.json:
        print(json.dumps(report, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
