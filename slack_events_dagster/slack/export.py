"""Message source over a Slack workspace export (the ZIP or its unpacked folder).

An export holds ``channels.json`` and ``users.json`` (plus ``groups.json``,
``mpims.json``, ``dms.json`` when private conversations were exported) and one folder
per conversation with a ``YYYY-MM-DD.json`` array per day. A reply sits in the day file
of its own ts, not of its parent.

The reader streams: it lists file names once, opens only the day files a window needs
(by the date in the file name, one day either side for time zones) and keeps one parsed
file at a time, plus a small cache for reply look-ups. Thread metadata
(``reply_count``, ``latest_reply``, ``reply_users``) is computed from the replies when a
parent lacks it, which older exports do.

A malformed or truncated JSON file or a bad ZIP member raises :class:`ExportFileError`
naming the file; with ``export_errors="skip"`` it is logged, recorded in ``self.errors``
and reading goes on with the good files. A ZIP that cannot be opened at all raises
:class:`ExportArchiveError` naming the file and the fix.
"""

from __future__ import annotations

import json
import logging
import os
import re
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from slack_events_dagster.domain.models import (
    SlackChannel,
    SlackMessage,
    SlackUser,
    ts_sort_key,
)
from slack_events_dagster.settings import SlackSettings
from slack_events_dagster.slack.budget import CallBudget
from slack_events_dagster.slack.errors import ExportArchiveError, ExportFileError
from slack_events_dagster.slack.normalize import (
    normalize_channel,
    normalize_message,
    normalize_user,
)
from slack_events_dagster.slack.source import (
    CallCounter,
    MessagePage,
    in_window,
    needs_replies,
    permalink,
)

log = logging.getLogger(__name__)

_DAY_FILE = re.compile(r"^(?P<folder>.+)/(?P<day>\d{4}-\d{2}-\d{2})\.json$")
# Which metadata file lists which conversation type, and whether it is private.
_METADATA_FILES: dict[str, tuple[str, bool]] = {
    "public_channel": ("channels.json", False),
    "private_channel": ("groups.json", True),
    "mpim": ("mpims.json", True),
    "im": ("dms.json", True),
}
_REPLY_FILE_CACHE = 8


class _Archive:
    """Uniform, lazy access to the files of an export folder or ZIP."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._prefix = ""
        if not path.exists():
            raise ExportArchiveError(path, "the path does not exist")
        if path.is_dir():
            if not (path / "channels.json").is_file():
                raise ExportArchiveError(path, "there is no channels.json in the folder")
            return
        try:
            self._zip = zipfile.ZipFile(path)
            names = self._zip.namelist()
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise ExportArchiveError(
                path, f"the ZIP is truncated or corrupt ({type(exc).__name__}: {exc})"
            ) from None
        if "channels.json" not in names:
            # Some tools wrap the export in one top folder.
            nested = [n for n in names if n.endswith("/channels.json") and n.count("/") == 1]
            if not nested:
                raise ExportArchiveError(path, "there is no channels.json in the ZIP")
            self._prefix = nested[0].removesuffix("channels.json")

    def names(self) -> list[str]:
        """Every file name, relative to the export root, with ``/`` separators."""
        if self._zip is not None:
            return [
                n.removeprefix(self._prefix)
                for n in self._zip.namelist()
                if n.startswith(self._prefix) and not n.endswith("/")
            ]
        found: list[str] = []
        for root, _dirs, files in os.walk(self.path):
            relative = Path(root).relative_to(self.path).as_posix()
            for name in files:
                found.append(name if relative == "." else f"{relative}/{name}")
        return found

    def exists(self, name: str) -> bool:
        if self._zip is not None:
            try:
                self._zip.getinfo(self._prefix + name)
            except KeyError:
                return False
            return True
        return (self.path / name).is_file()

    def read_json(self, name: str) -> Any:
        """The parsed file; raises ExportFileError naming it when it is unreadable."""
        where = f"{self.path}!{name}" if self._zip is not None else str(self.path / name)
        try:
            if self._zip is not None:
                data = self._zip.read(self._prefix + name)
            else:
                data = (self.path / name).read_bytes()
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError) as exc:
            raise ExportFileError(where, f"cannot read it ({type(exc).__name__}: {exc})") from None
        try:
            return json.loads(data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ExportFileError(where, f"not UTF-8 ({exc.reason})") from None
        except json.JSONDecodeError as exc:
            raise ExportFileError(
                where, f"malformed or truncated JSON at line {exc.lineno} column {exc.colno}"
            ) from None

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None


@dataclass
class _Thread:
    # (reply ts, day file) in ts order
    replies: list[tuple[str, str]] = field(default_factory=list)
    users: list[str] = field(default_factory=list)


@dataclass
class _ThreadIndex:
    since: date | None
    threads: dict[str, _Thread]


def _day_of(ts: str) -> date:
    return datetime.fromtimestamp(ts_sort_key(ts)[0], tz=UTC).date()


class ExportSource:
    """:class:`~slack_events_dagster.slack.source.MessageSource` over a Slack export."""

    name = "export"
    live = False
    needs_membership = False
    budget: CallBudget | None = None  # a file costs no Slack call

    def __init__(
        self,
        path: Path | str,
        *,
        errors: Literal["skip", "stop"] = "skip",
        channels: Sequence[str] = (),
        exclude_channels: Sequence[str] = (),
        channel_types: Sequence[str] = ("public_channel", "private_channel"),
        workspace_url: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.error_mode = errors
        self.include = {name.lstrip("#") for name in channels}
        self.exclude = {name.lstrip("#") for name in exclude_channels}
        self.channel_types = tuple(channel_types)
        self.workspace_url = workspace_url
        self.calls = CallCounter()
        self.errors: list[ExportFileError] = []
        self.skipped_messages = 0
        self._archive = _Archive(self.path)
        self._day_files: dict[str, list[tuple[date, str]]] | None = None
        self._folders: dict[str, str] = {}
        self._thread_indexes: dict[str, _ThreadIndex] = {}
        self._reply_files: OrderedDict[str, list[Any]] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: SlackSettings) -> ExportSource:
        return cls(
            settings.resolved_export_path(),
            errors=settings.export_errors,
            channels=settings.channels,
            exclude_channels=settings.exclude_channels,
            # An export always holds public channels; private ones only when exported.
            channel_types=(*settings.channel_types, "private_channel"),
            workspace_url=settings.workspace_url,
        )

    def close(self) -> None:
        self._archive.close()

    def __enter__(self) -> ExportSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- errors ---------------------------------------------------------------------

    def _failed(self, error: ExportFileError) -> None:
        if self.error_mode == "stop":
            raise error
        if any(known.path == error.path for known in self.errors):
            return  # the thread index and the window read may meet the same bad file
        log.warning("%s", error)
        self.errors.append(error)

    def _read(self, name: str, *, kind: str) -> Any | None:
        self.calls[kind] += 1
        try:
            return self._archive.read_json(name)
        except ExportFileError as exc:
            self._failed(exc)
            return None

    def _read_day(self, name: str) -> list[Any]:
        data = self._read(name, kind="day_file")
        if data is None:
            return []
        if not isinstance(data, list):
            self._failed(ExportFileError(name, "a day file must hold a JSON array"))
            return []
        return data

    # -- metadata ---------------------------------------------------------------------

    def list_channels(self) -> list[SlackChannel]:
        channels: list[SlackChannel] = []
        for kind in self.channel_types:
            filename, private = _METADATA_FILES[kind]
            if not self._archive.exists(filename):
                continue
            self.calls["metadata_file"] += 1
            # channels.json is the backbone of the export: it is never skipped.
            raw_list = self._archive.read_json(filename)
            if not isinstance(raw_list, list):
                raise ExportFileError(filename, "expected a JSON array of conversations")
            for raw in raw_list:
                try:
                    channel = normalize_channel(raw, private=private)
                except (ValueError, AttributeError) as exc:
                    log.warning("skipping a conversation in %s: %s", filename, exc)
                    continue
                # Channels have folders by name, direct messages by id.
                self._folders[channel.id] = channel.id if kind == "im" else channel.name
                channels.append(channel)
        if self.include:
            channels = [c for c in channels if c.id in self.include or c.name in self.include]
        return [c for c in channels if c.id not in self.exclude and c.name not in self.exclude]

    def list_users(self) -> list[SlackUser]:
        if not self._archive.exists("users.json"):
            return []
        raw_list = self._read("users.json", kind="metadata_file")
        users: list[SlackUser] = []
        for raw in raw_list if isinstance(raw_list, list) else []:
            try:
                users.append(normalize_user(raw))
            except (ValueError, AttributeError) as exc:
                log.warning("skipping a user in users.json: %s", exc)
        return users

    def _files_of(self, channel: SlackChannel) -> list[tuple[date, str]]:
        if self._day_files is None:
            index: dict[str, list[tuple[date, str]]] = {}
            for name in self._archive.names():
                match = _DAY_FILE.match(name)
                if match is None:
                    continue
                try:
                    day = date.fromisoformat(match["day"])
                except ValueError:
                    continue
                index.setdefault(match["folder"], []).append((day, name))
            for files in index.values():
                files.sort()
            self._day_files = index
        folder = self._folders.get(channel.id, channel.name)
        return self._day_files.get(folder, [])

    def days(self, channel: SlackChannel) -> tuple[date, date] | None:
        """The first and last day the export holds for the channel (from file names)."""
        files = self._files_of(channel)
        return (files[0][0], files[-1][0]) if files else None

    def newest_ts(self, channel: SlackChannel) -> str | None:
        for _day, name in reversed(self._files_of(channel)):
            keys = [m["ts"] for m in self._read_day(name) if isinstance(m, dict)]
            valid = [ts for ts in keys if isinstance(ts, str)]
            if valid:
                return max(valid, key=ts_sort_key)
        return None

    # -- messages ---------------------------------------------------------------------

    def _thread_index(self, channel: SlackChannel, since: date | None) -> dict[str, _Thread]:
        """thread ts -> its replies, from day files on or after ``since`` (cached)."""
        cached = self._thread_indexes.get(channel.id)
        if cached is not None and (
            cached.since is None or (since is not None and cached.since <= since)
        ):
            return cached.threads
        threads: dict[str, _Thread] = {}
        for day, name in self._files_of(channel):
            if since is not None and day < since:
                continue
            for raw in self._read_day(name):
                if not isinstance(raw, dict):
                    continue
                ts, thread_ts = raw.get("ts"), raw.get("thread_ts")
                if not isinstance(ts, str) or not isinstance(thread_ts, str) or ts == thread_ts:
                    continue
                thread = threads.setdefault(thread_ts, _Thread())
                thread.replies.append((ts, name))
                user = raw.get("user")
                if isinstance(user, str) and user not in thread.users:
                    thread.users.append(user)
        for thread in threads.values():
            thread.replies.sort(key=lambda item: ts_sort_key(item[0]))
        self._thread_indexes[channel.id] = _ThreadIndex(since, threads)
        return threads

    def _normalize(self, raw: Any, channel_id: str) -> SlackMessage | None:
        try:
            message = normalize_message(raw, channel_id)
        except ValueError as exc:
            self.skipped_messages += 1
            log.warning("skipping a message in %s: %s", channel_id, exc)
            return None
        if self.workspace_url:
            message.permalink = permalink(
                self.workspace_url, channel_id, message.ts, message.thread_ts
            )
        return message

    def _reply_file(self, name: str) -> list[Any]:
        if name in self._reply_files:
            self._reply_files.move_to_end(name)
            return self._reply_files[name]
        data = self._read_day(name)
        self._reply_files[name] = data
        if len(self._reply_files) > _REPLY_FILE_CACHE:
            self._reply_files.popitem(last=False)
        return data

    def _replies(self, channel: SlackChannel, thread_ts: str, thread: _Thread) -> MessagePage:
        wanted = {ts for ts, _name in thread.replies}
        page = MessagePage(kind="replies", thread_ts=thread_ts, last=True)
        seen: set[str] = set()
        for name in dict.fromkeys(name for _ts, name in thread.replies):
            for raw in self._reply_file(name):
                if isinstance(raw, dict) and raw.get("ts") in wanted and raw["ts"] not in seen:
                    message = self._normalize(raw, channel.id)
                    if message is not None:
                        seen.add(message.ts)
                        page.append(message)
        page.sort(key=lambda m: ts_sort_key(m.ts))
        return page

    def fetch(
        self,
        channel: SlackChannel,
        oldest_ts: str | None,
        latest_ts: str | None,
        known_threads: Mapping[str, str | None],
        *,
        page_size: int | None = None,
        thread_parents_before: str | None = None,
    ) -> Iterator[MessagePage]:
        """One history page per day file, oldest day first (ingestion does not depend on
        page order); replies of changed threads come before their parent's page.

        ``thread_parents_before`` is not used: thread metadata is only known after
        normalizing, and ingestion filters the older messages anyway."""
        files = self._files_of(channel)
        if not self._folders and not files:
            self.list_channels()
            files = self._files_of(channel)
        # File names are UTC days in Slack's exports, but some tools write local days.
        low = _day_of(oldest_ts) - timedelta(days=1) if oldest_ts is not None else None
        high = _day_of(latest_ts) + timedelta(days=1) if latest_ts is not None else None
        window = [
            name
            for day, name in files
            if (low is None or day >= low) and (high is None or day <= high)
        ]
        threads = self._thread_index(channel, low)
        for position, name in enumerate(window):
            history = MessagePage(kind="history", last=position == len(window) - 1)
            seen: set[str] = set()
            for raw in self._read_day(name):
                message = self._normalize(raw, channel.id)
                if message is None or message.ts in seen:
                    continue
                if message.is_reply and message.subtype != "thread_broadcast":
                    continue  # replies come with their thread, as from the Web API
                if not in_window(message.ts, oldest_ts, latest_ts):
                    continue
                thread = threads.get(message.ts)
                if thread is not None and thread.replies:
                    self._fill_thread_metadata(message, thread)
                seen.add(message.ts)
                history.append(message)
            for message in history:
                thread = threads.get(message.ts)
                if thread is not None and needs_replies(message, known_threads):
                    yield self._replies(channel, message.ts, thread)
            yield history
        if not window:
            yield MessagePage(kind="history", last=True)

    @staticmethod
    def _fill_thread_metadata(message: SlackMessage, thread: _Thread) -> None:
        """Reply metadata from the export itself when the parent lacks it."""
        if message.latest_reply is None:
            message.latest_reply = thread.replies[-1][0]
        if message.reply_count == 0:
            message.reply_count = len(thread.replies)
        if message.thread_ts is None:
            message.thread_ts = message.ts
