"""``python -m slack_events_dagster.testing.fake_openai``: serve the fake on a port until
interrupted."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from slack_events_dagster.testing.fake_openai.api import DEFAULT_MODEL
from slack_events_dagster.testing.fake_openai.faults import FAULT_KINDS
from slack_events_dagster.testing.fake_openai.server import FakeOpenAIServer


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m slack_events_dagster.testing.fake_openai",
        description="Serve a fake OpenAI-compatible Chat Completions API on localhost.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--faults",
        default=",".join(FAULT_KINDS),
        help=f"comma-separated fault kinds to draw from (default: all of {', '.join(FAULT_KINDS)})",
    )
    parser.add_argument("--hang-s", type=float, default=30.0)
    parser.add_argument(
        "--reject-json-schema",
        action="store_true",
        help="answer 400 to response_format json_schema, like servers without structured outputs",
    )
    parser.add_argument(
        "--reject-json-object",
        action="store_true",
        help="answer 400 to response_format json_object (LM Studio does)",
    )
    parser.add_argument("--require-api-key", default=None, help="answer 401 to any other key")
    args = parser.parse_args(argv)
    faults = [kind.strip() for kind in args.faults.split(",") if kind.strip()]
    try:
        server = FakeOpenAIServer(
            host=args.host,
            port=args.port,
            model=args.model,
            latency_s=args.latency_ms / 1000,
            fault_rate=args.fault_rate,
            faults=faults,
            seed=args.seed,
            hang_s=args.hang_s,
            reject_json_schema=args.reject_json_schema,
            reject_json_object=args.reject_json_object,
            require_api_key=args.require_api_key,
        )
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    print(
        f"fake OpenAI server on {server.base_url} (model {server.model}); Ctrl-C stops it",
        flush=True,
    )
    server.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        print(
            f"served {server.completions_served} completions in {server.request_count} requests; "
            f"faults: {dict(server.faults_injected)}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
