"""A child process for the shared-budget tests: polls a fake Slack's history a number of
times through the real Web API source, with or without the database's call budget.

Prints ``READY`` once connected, waits for a line on stdin (so both processes start
together), polls, and prints ``DONE <calls>``.
"""

from __future__ import annotations

import argparse
import sys

from slack_events_dagster.domain.models import SlackChannel
from slack_events_dagster.slack.budget import CallBudget
from slack_events_dagster.slack.webapi import WebApiSource
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster_tests.helpers.slack_api import slack_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--channel", required=True)
    parser.add_argument("--calls", type=int, required=True)
    parser.add_argument("--calls-per-minute", type=float, required=True)
    parser.add_argument("--no-budget", action="store_true")
    args = parser.parse_args(argv)

    settings = slack_settings(
        args.base_url,
        rate_limits={"history": {"calls_per_minute": args.calls_per_minute, "limit": 15}},
    )
    repository = SqlRepository.from_url(args.database_url)
    budget = None if args.no_budget else CallBudget.from_settings(repository, settings)
    source = WebApiSource(settings, budget=budget)
    channel = SlackChannel(id=args.channel, name=args.channel)
    print("READY", flush=True)
    sys.stdin.readline()
    for _ in range(args.calls):
        source.newest_ts(channel)
    print(f"DONE {source.calls['conversations.history']}", flush=True)
    repository.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
