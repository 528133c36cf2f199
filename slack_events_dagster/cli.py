"""The ``slack-events`` command.

    slack-events migrate                 upgrade the configured database to the newest schema
    slack-events copy-db --source URL --target URL
                                         copy every table (e.g. SQLite -> PostgreSQL), resumable
    slack-events run [--from D] [--to D] [--channel ID ...]
                                         run the pipeline for a range of days
    slack-events demo                    run it on the bundled sample workspace (SQLite, rules)
    slack-events ui [--port N]           the Dagster UI on the same settings and instance
    slack-events listen                  store messages as Slack pushes them (Socket Mode)

Every command takes ``--config PATH`` (else $SLACK_EVENTS_CONFIG, else ./config.yaml) and
``-v``, before or after the command's name.
Errors a user can cause end in one line naming the problem and the fix, exit code 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from slack_events_dagster.pipeline import PipelineError
from slack_events_dagster.settings import ConfigError, Settings, load_settings
from slack_events_dagster.slack.errors import SlackSourceError
from slack_events_dagster.storage.base import RepositoryError
from slack_events_dagster.storage.engine import redact_url, url_from_settings

log = logging.getLogger("slack_events_dagster")


class UsageError(RuntimeError):
    """Something the user can fix; printed as one line, exit code 2."""


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-03-02") from None


def _database_url(settings: Settings, override: str | None) -> str:
    if override:
        return override
    return url_from_settings(settings.database).render_as_string(hide_password=False)


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from slack_events_dagster.storage.migrate import upgrade

    url = _database_url(settings, args.url)
    upgrade(url)
    print(f"database {redact_url(url)} is at the newest schema")
    return 0


def cmd_copy_db(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from slack_events_dagster.storage.copy import CopyError, copy_database

    bars: dict[str, tqdm] = {}

    def progress(table: str, copied: int, total: int) -> None:
        bar = bars.get(table)
        if bar is None:
            bar = bars[table] = tqdm(total=total, desc=f"{table:<20}", unit="row", leave=True)
        bar.update(copied - bar.n)
        if copied >= total:
            bar.close()

    try:
        results = copy_database(
            args.source, args.target, batch_size=args.batch_size, progress=progress
        )
    except CopyError as exc:
        raise UsageError(str(exc)) from None
    finally:
        for bar in bars.values():
            bar.close()
    for result in results:
        print(
            f"{result.table:<20} {result.source_rows:>10,} rows in source, "
            f"{result.target_rows:>10,} in target ({result.written:,} written now)"
        )
    print(f"copied {redact_url(args.source)} -> {redact_url(args.target)}: row counts match")
    return 0


def _quiet_migrations() -> None:
    # Dagster's ephemeral instance migrates its own storage through Alembic too.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    _quiet_migrations()
    from slack_events_dagster.pipeline import run_pipeline

    return run_pipeline(
        settings,
        start=args.start,
        end=args.end,
        channels=args.channel or None,
    )


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    _quiet_migrations()
    from slack_events_dagster.pipeline import demo_settings, run, summary_line
    from slack_events_dagster.report import load_report, print_demo

    demo = demo_settings(settings, output_dir=args.output_dir)
    summary = run(demo)
    print("\n" + summary_line(summary) + "\n")
    print_demo(load_report(demo, summary.first_day, summary.last_day))
    return 1 if summary.failed_runs else 0


def _common_options(*, after_command: bool) -> argparse.ArgumentParser:
    """``--config`` and ``-v``, which every command takes before or after its name.

    The copy each subcommand gets defaults to ``SUPPRESS``: a subparser writes its
    defaults over the namespace the main parser filled, so ``slack-events --config X
    run`` would otherwise lose ``X``.
    """
    options = argparse.ArgumentParser(add_help=False)
    unset = argparse.SUPPRESS if after_command else None
    options.add_argument(
        "--config",
        default=unset,
        help="settings file (default: $SLACK_EVENTS_CONFIG or ./config.yaml)",
    )
    options.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS if after_command else False,
        help="log at DEBUG level",
    )
    return options


def cmd_ui(args: argparse.Namespace, settings: Settings) -> int:
    from slack_events_dagster.ui import open_ui

    return open_ui(
        settings, config=args.config, output_dir=args.output_dir, host=args.host, port=args.port
    )


def cmd_listen(args: argparse.Namespace, settings: Settings) -> int:
    import signal
    import threading

    from slack_events_dagster.slack.listener import SocketModeListener
    from slack_events_dagster.storage.repository import SqlRepository

    if args.if_configured and not settings.slack.app_token.get_secret_value():
        # The compose file starts the listener in every deployment; polling ones end it.
        print("slack.app_token is not set: Socket Mode is off, the watermark sensor polls")
        return 0
    if settings.slack.source != "api":
        raise UsageError(
            "slack-events listen reads a live workspace: set slack.source to api "
            "(SLACK_EVENTS_SLACK__SOURCE=api) with slack.token and slack.app_token"
        )
    repository = SqlRepository.from_settings(settings.database)
    try:
        if problem := repository.prepare_schema():
            raise UsageError(problem)
        listener = SocketModeListener(settings.slack, repository)
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        listener.run(stop, on_ready=lambda: log.info("listening for Slack events (Socket Mode)"))
        log.info("stopped: %s", dict(listener.counts.events))
    finally:
        repository.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slack-events",
        description="Turn Slack conversations into a trustworthy calendar of events.",
        parents=[_common_options(after_command=False)],
    )
    commands = parser.add_subparsers(
        dest="command",
        required=True,
        metavar="COMMAND",
        parser_class=_subcommand_parser(_common_options(after_command=True)),
    )

    migrate = commands.add_parser("migrate", help="upgrade the configured database")
    migrate.add_argument("--url", help="database URL instead of the configured one")
    migrate.set_defaults(handler=cmd_migrate)

    copy_db = commands.add_parser("copy-db", help="copy every table to another database")
    copy_db.add_argument(
        "--source", required=True, help="URL to copy from, e.g. sqlite:///data/slack_events.db"
    )
    copy_db.add_argument(
        "--target", required=True, help="URL to copy to, e.g. postgresql://user@host/db"
    )
    copy_db.add_argument("--batch-size", type=int, default=5000)
    copy_db.set_defaults(handler=cmd_copy_db)

    run = commands.add_parser("run", help="run the pipeline for a range of days")
    run.add_argument(
        "--from",
        dest="start",
        type=_date,
        help="first day (default: an export's first day, else pipeline.start_date)",
    )
    run.add_argument(
        "--to", dest="end", type=_date, help="last day (default: an export's last day, else today)"
    )
    run.add_argument("--channel", action="append", help="channel id or name (repeatable)")
    run.set_defaults(handler=cmd_run)

    demo = commands.add_parser("demo", help="run on the bundled sample workspace, no keys needed")
    demo.add_argument("--output-dir", default="output/demo", help="where digests and the .ics go")
    demo.set_defaults(handler=cmd_demo)

    ui = commands.add_parser(
        "ui", help="the Dagster UI (dagster dev) on the same settings and instance as run/demo"
    )
    ui.add_argument("--host", default="127.0.0.1", help="address the webserver listens on")
    ui.add_argument("--port", type=int, default=3000, help="port of the webserver")
    ui.add_argument(
        "--output-dir",
        default="output/demo",
        help="without a config file: the demo's folder to open (as `demo --output-dir`)",
    )
    ui.set_defaults(handler=cmd_ui)

    listen = commands.add_parser(
        "listen",
        help="store messages as Slack pushes them (Socket Mode, slack.app_token); "
        "fills gaps by polling from each watermark",
    )
    listen.add_argument(
        "--if-configured",
        action="store_true",
        help="exit 0 at once when slack.app_token is not set (the compose file's service)",
    )
    listen.set_defaults(handler=cmd_listen)
    return parser


def _subcommand_parser(common: argparse.ArgumentParser) -> type[argparse.ArgumentParser]:
    """The parser class of every subcommand: the common options come with it."""

    class SubcommandParser(argparse.ArgumentParser):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("parents", [common])
            super().__init__(*args, **kwargs)

    return SubcommandParser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Alembic announces each of its plugins at INFO; only migrations are news.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # Backfill policies and partition mappings are beta in Dagster 1.13; we pin Dagster.
    warnings.filterwarnings("ignore", message=".*is currently in beta.*")
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    try:
        settings = load_settings(args.config)
        return handler(args, settings)
    except (ConfigError, UsageError, RepositoryError, PipelineError, SlackSourceError) as exc:
        print(f"slack-events {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
