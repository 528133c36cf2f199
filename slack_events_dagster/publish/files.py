"""The digest and calendar files: their paths and their atomic writes, in one place.

A reader (a web server serving the feed, a person opening the digest, a calendar app
subscribed to the ``.ics``) never sees a half-written file: each write goes to a
temporary file in the target's folder, is flushed to disk and then replaces the target
in one ``os.replace``. A failed write leaves the old file and no temporary one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import date
from pathlib import Path

from slack_events_dagster.settings import DigestSettings

__all__ = ["calendar_path", "digest_path", "write_atomic", "write_calendar", "write_digest"]

# Temporary files are private (mkstemp); a digest or a feed is meant to be read.
_FILE_MODE = 0o644


def digest_path(settings: DigestSettings, day: date) -> Path:
    """The Markdown file of ``day``'s digest: ``digest.output_dir/digest-YYYY-MM-DD.md``."""
    return Path(settings.output_dir) / f"digest-{day.isoformat()}.md"


def calendar_path(settings: DigestSettings) -> Path:
    """The iCalendar feed: ``digest.calendar_path``."""
    return Path(settings.calendar_path)


def write_digest(settings: DigestSettings, day: date, markdown: str) -> Path:
    """Write ``day``'s digest Markdown atomically; returns where."""
    path = digest_path(settings, day)
    write_atomic(path, markdown.encode("utf-8"))
    return path


def write_calendar(settings: DigestSettings, data: bytes) -> Path:
    """Write the iCalendar feed atomically; returns where."""
    path = calendar_path(settings)
    write_atomic(path, data)
    return path


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (creating its folder): temporary file in the
    same folder, fsync, ``os.replace``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, _FILE_MODE)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
