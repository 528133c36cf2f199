"""Errors the Slack adapters raise, each one clear message naming the thing and the fix.

Every message passes through :func:`redact` so a Slack token never reaches a log,
an exception text or the ingestion state stored in the database.
"""

from __future__ import annotations

from pathlib import Path

from slack_events_dagster.domain import safety


def redact(text: str) -> str:
    """``text`` with every Slack token replaced by ``xox?-<redacted>``.

    :func:`~slack_events_dagster.domain.safety.redact` without its API-key shapes: they
    would cut hyphenated channel names and paths in these messages.
    """
    return safety.redact(text, api_keys=False)


class SlackSourceError(RuntimeError):
    """Reading from Slack failed for a reason retries could not fix."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


class SlackAuthError(SlackSourceError):
    """The token is missing, wrong, revoked or belongs to a deactivated account."""

    def __init__(self, error_code: str, method: str = "auth.test") -> None:
        self.error_code = error_code
        super().__init__(
            f"Slack rejected the token ({error_code}) on {method}; set a valid bot token in "
            "slack.token (env SLACK_EVENTS_SLACK__TOKEN) with the scopes channels:read, "
            "channels:history, groups:history and users:read"
        )


class ChannelSkipped(SlackSourceError):
    """One conversation cannot be read (not a member, gone, archived, missing scope).

    The caller skips the channel with a warning and goes on with the others.
    """

    _FIXES = {
        "not_in_channel": "invite the bot to the channel or set slack.join_public_channels",
        "channel_not_found": "remove it from slack.channels or check the bot can see it",
        "is_archived": "archived channels cannot be read; exclude it",
        "missing_scope": "add the missing scope to the Slack app and reinstall it",
    }

    def __init__(self, channel: str, reason: str, detail: str = "") -> None:
        self.channel = channel
        self.reason = reason
        fix = self._FIXES.get(reason, "check the channel and the app's permissions")
        extra = f" ({detail})" if detail else ""
        super().__init__(f"channel {channel} skipped: {reason}{extra}; {fix}")


class ExportFileError(SlackSourceError):
    """One file inside a Slack export is unreadable (bad JSON, truncated, bad ZIP member)."""

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(
            f"export file {path} is unreadable: {detail}; re-export the workspace or remove "
            "the file (slack.export_errors='skip' skips unreadable files with a warning)"
        )


class ExportArchiveError(SlackSourceError):
    """The export itself (the ZIP or folder) cannot be opened."""

    def __init__(self, path: Path | str, detail: str) -> None:
        self.path = str(path)
        super().__init__(
            f"Slack export {path} cannot be read: {detail}; download the export again "
            "(a partial download truncates the ZIP) or unzip it and set slack.export_path "
            "to the folder"
        )
