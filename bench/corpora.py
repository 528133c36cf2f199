"""Real Slack histories (``../shared/corpora``) read for the evaluation and for labelling.

Each corpus is a Slack export ZIP. :func:`load_corpus` reads it through the product's
own normalizer (as the export source does), so the evaluation sees what the pipeline
sees. The corpora are not part of the repository: :func:`corpus_path` returns ``None``
when a corpus is absent (a plain clone), and callers skip it with that reason.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from slack_events_dagster.domain.models import SlackMessage, ts_sort_key, ts_to_datetime
from slack_events_dagster.slack.normalize import normalize_message

CORPORA = Path(
    os.environ.get(
        "SLACK_EVENTS_CORPORA", Path(__file__).resolve().parent.parent.parent / "shared" / "corpora"
    )
)
_DAY_FILE = re.compile(r"(?:^|/)(?P<channel>[^/]+)/(?P<day>\d{4}-\d{2}-\d{2})\.json$")


@dataclass(frozen=True)
class Corpus:
    name: str
    channels: dict[str, str]  # id -> name
    users: dict[str, str]  # id -> display name
    messages: list[SlackMessage]  # every readable message, in ts order
    days: dict[tuple[str, str], date]  # (channel_id, ts) -> the UTC day file it sits in

    @property
    def names(self) -> dict[str, str]:
        """User and channel ids -> names, for mentions in message text."""
        return {**self.users, **self.channels}


def corpus_path(name: str) -> Path | None:
    path = CORPORA / name / "export.zip"
    return path if path.is_file() else None


def _user_name(raw: dict[str, object]) -> str:
    profile = raw.get("profile") if isinstance(raw.get("profile"), dict) else {}
    assert isinstance(profile, dict)
    for value in (profile.get("display_name"), raw.get("real_name"), raw.get("name")):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return str(raw.get("id"))


def load_corpus(name: str, path: Path) -> Corpus:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()

        def read(suffix: str) -> list[dict[str, object]]:
            member = next((n for n in names if n == suffix or n.endswith("/" + suffix)), None)
            return json.loads(archive.read(member)) if member else []

        channel_rows = read("channels.json") + read("groups.json")
        channels = {str(row["id"]): str(row["name"]) for row in channel_rows}
        by_name = {channel_name: cid for cid, channel_name in channels.items()}
        users = {str(row["id"]): _user_name(row) for row in read("users.json")}
        messages: list[SlackMessage] = []
        days: dict[tuple[str, str], date] = {}
        for member in names:
            match = _DAY_FILE.search(member)
            if match is None or match["channel"] not in by_name:
                continue
            channel_id = by_name[match["channel"]]
            day = date.fromisoformat(match["day"])
            for raw in json.loads(archive.read(member)):
                try:
                    message = normalize_message(raw, channel_id)
                except ValueError:
                    continue  # the export reader skips what it cannot read; so do we
                messages.append(message)
                days[(channel_id, message.ts)] = day
    messages.sort(key=lambda m: (ts_sort_key(m.ts), m.channel_id))
    return Corpus(name, channels, users, messages, days)


def utc_day(message: SlackMessage) -> date:
    return ts_to_datetime(message.ts).date()
