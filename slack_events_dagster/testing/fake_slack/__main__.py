"""``python -m slack_events_dagster.testing.fake_slack``: serve an export or a generated
workspace on a port until interrupted."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from slack_events_dagster.testing.fake_slack.protocol import (
    ALL_SCOPES,
    DEFAULT_TOKEN,
    UNLISTED_METHODS,
    UNLISTED_OBJECT_CAP,
)
from slack_events_dagster.testing.fake_slack.server import FakeSlack, FaultPlan
from slack_events_dagster.testing.fake_slack.socket_mode import APP_SCOPES, DEFAULT_APP_TOKEN
from slack_events_dagster.testing.workspace_gen import generate_workspace


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A local fake of the Slack Web API.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--export", type=Path, help="seed from a Slack export ZIP or folder")
    source.add_argument("--generate", action="store_true", help="seed a synthetic workspace")
    parser.add_argument("--channels", type=int, default=5)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--app-token", default=DEFAULT_APP_TOKEN, help="Socket Mode's token")
    parser.add_argument("--rate-limits", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument(
        "--unlisted",
        action="store_true",
        help="limit history and replies as Slack limits an unlisted app: 1 call a minute, "
        "15 objects a call",
    )
    args = parser.parse_args(argv)
    options: dict[str, Any] = {
        "tokens": {args.token: ALL_SCOPES, args.app_token: APP_SCOPES},
        "rate_limits": args.rate_limits,
        "faults": FaultPlan(rate=args.fault_rate, seed=args.seed, retry_after_s=1),
        "host": args.host,
        "port": args.port,
    }
    if args.unlisted:
        options.update(
            rate_limits=True,
            rate_limit_overrides=dict.fromkeys(UNLISTED_METHODS, 1),
            object_cap=UNLISTED_OBJECT_CAP,
        )
    if args.export is not None:
        fake = FakeSlack.from_export(args.export, **options)
    else:
        workspace = generate_workspace(
            channels=args.channels, days=args.days, per_day=args.per_day, seed=args.seed
        )
        fake = FakeSlack.from_workspace(workspace, **options)
    base_url = fake.start()
    total = sum(len(c.messages) for c in fake.channels.values())
    print(f"fake Slack at {base_url} ({len(fake.channels)} channels, {total} messages)", flush=True)
    print(f"token: {args.token}", flush=True)
    print(f"app token (Socket Mode): {args.app_token}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
