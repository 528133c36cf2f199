"""Pick a corpus's labelling days at random, and print them for a person to label.

    python bench/gold/days.py CORPUS --count 60 --seed 14          # the chosen days (0: all)
    python bench/gold/days.py CORPUS --dump 2019-06-25 [...]        # readable messages of days

Days are UTC day files with at least one message a person wrote (joins and other
notices do not count). The draw is ``random.Random(seed).sample`` over the sorted
days, so the same seed gives the same days. The dump shows each message with its
channel, ts, local posting time (``--timezone``), author, thread parent and text,
mentions resolved to names: everything a labeller needs, nothing from the product's
own scoring (labels must not lean on what the code finds).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from bench.corpora import Corpus, corpus_path, load_corpus
from slack_events_dagster.domain.models import ts_to_datetime

_MENTION = re.compile(r"<@(?P<id>[UW][A-Z0-9]+)(?:\|[^>]*)?>")


def written_days(corpus: Corpus) -> list[date]:
    return sorted(
        {corpus.days[(m.channel_id, m.ts)] for m in corpus.messages if m.is_content and m.text}
    )


def pick_days(corpus: Corpus, count: int, seed: int, *, after: Sequence[int] = ()) -> list[date]:
    """``count`` days drawn with ``seed`` among the days not drawn by the seeds ``after``.

    A second round of labelling (``--after 14 --seed 15``) leaves the first round's days
    as they were.
    """
    days = written_days(corpus)
    if count == 0:
        return days
    for earlier in after:
        taken = set(random.Random(earlier).sample(days, count))
        days = [day for day in days if day not in taken]
    return sorted(random.Random(seed).sample(days, count))


def dump(corpus: Corpus, days: list[date], timezone: str) -> str:
    zone = ZoneInfo(timezone)
    wanted = set(days)
    by_key = {(m.channel_id, m.ts): m for m in corpus.messages}
    lines: list[str] = []
    for day in sorted(wanted):
        chosen = [m for m in corpus.messages if corpus.days[(m.channel_id, m.ts)] == day]
        lines.append(f"\n===== {day} (UTC day file, {len(chosen)} messages) =====")
        for message in sorted(chosen, key=lambda m: (corpus.channels[m.channel_id], m.ts)):
            local = ts_to_datetime(message.ts).astimezone(zone)
            author = corpus.users.get(message.user or "", message.username or message.user or "?")
            head = (
                f"[#{corpus.channels[message.channel_id]}] ts={message.ts} "
                f"{local:%Y-%m-%d %a %H:%M %Z} @{author}"
            )
            if message.subtype:
                head += f" subtype={message.subtype}"
            if message.is_reply and message.thread_ts:
                parent = by_key.get((message.channel_id, message.thread_ts))
                snippet = _text(corpus, parent.text)[:140] if parent else "?"
                head += f"\n    reply in thread {message.thread_ts}: parent says: {snippet!r}"
            elif message.reply_count:
                head += f" (thread parent, {message.reply_count} replies)"
            lines.append(head)
            text = _text(corpus, message.text) or "(no text)"
            lines.extend("    | " + line for line in text.splitlines())
    return "\n".join(lines)


def _text(corpus: Corpus, text: str) -> str:
    return _MENTION.sub(lambda m: "@" + corpus.users.get(m["id"], m["id"]), text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("--count", type=int, default=60, help="0: every day")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--after", type=int, nargs="*", default=[], help="earlier seeds")
    parser.add_argument("--timezone", default="UTC")
    parser.add_argument("--dump", nargs="*", type=date.fromisoformat)
    args = parser.parse_args()
    path = corpus_path(args.corpus)
    if path is None:
        print(f"corpus {args.corpus!r} not found", file=sys.stderr)
        return 2
    corpus = load_corpus(args.corpus, path)
    if args.dump:
        print(dump(corpus, args.dump, args.timezone))
    else:
        print(
            " ".join(str(day) for day in pick_days(corpus, args.count, args.seed, after=args.after))
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
