"""A child process for the crash tests: one pipeline run that the parent SIGKILLs.

It prints ``STARTED`` once imports and connections are done, then runs
:func:`partition_run.run_pipeline`. With ``--stop-phase P --stop-at N`` it stops at the N-th
occurrence of phase P (inside the write transaction, before commit, for write phases;
after the page arrived, before it is written, for ``fetch``), prints ``STOPPED P#N``
and sleeps until killed. Without it, the parent kills it after a delay.
"""

from __future__ import annotations

import argparse
import sys
import time

from slack_events_dagster_tests.helpers.crash_points import PHASES, ProbedRepository, ProbedSource
from slack_events_dagster_tests.helpers.partition_run import pipeline_settings, run_pipeline


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--page-size", type=int, default=40)
    parser.add_argument("--stop-phase", choices=PHASES)
    parser.add_argument("--stop-at", type=int, default=0)
    parser.add_argument("--channel", action="append", help="only these channel ids")
    args = parser.parse_args(argv)

    counts = dict.fromkeys(PHASES, 0)

    def probe(phase: str) -> None:
        counts[phase] += 1
        if phase == args.stop_phase and counts[phase] == args.stop_at:
            print(f"STOPPED {phase}#{counts[phase]}", flush=True)
            while True:  # the parent kills us here
                time.sleep(1)

    settings = pipeline_settings(args.base_url, page_size=args.page_size)
    repository = ProbedRepository.probed(args.database_url, probe)
    source = ProbedSource(settings.slack, probe)
    repository.get_watermarks()  # connect before reporting the start
    print("STARTED", flush=True)
    channels = set(args.channel) if args.channel else None
    report = run_pipeline(repository, settings, source=source, channel_ids=channels)
    print(f"FINISHED {report}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
