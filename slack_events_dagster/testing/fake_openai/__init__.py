"""A local OpenAI-compatible server for tests, benchmarks and the demo.

It speaks the part of the Chat Completions API the extractor uses, over real
HTTP, so the real ``openai`` client (retries, timeouts, error classes) is
exercised end to end:

- ``POST /v1/chat/completions`` honours ``response_format`` (``json_schema``,
  checked against the structured-outputs rules; ``json_object``, which needs the
  word "json" in the messages like OpenAI; or none) and answers with ``usage``
  (tokens approximated as characters / 4);
- ``GET /v1/models`` lists the served model.

Answers come from an *oracle*: a callable given the parsed request and the
quoted candidate messages, returning the answer object (or a raw string). The
default oracle extracts naive events (the first ISO or "March 14" date in the text,
else "tomorrow" or "in 3 days", with a time of day if one is written; a thread reply
that moves or cancels takes its parent's date and title; an undated message saying
something "released", "is live" or an "outage" is an event on its posting day; the
links are the http(s) URLs of the text) and returns the entries in shuffled order,
so callers must map answers back by id. It has rules of its own, deliberately
simple: it shares nothing with the product's rule extractor or lexicon, so a test
passing through it says something about the LLM path alone.

Faults are injected at a seeded rate (or on given request numbers): 429 with
``retry-after``, 500, a hang past the client timeout, invalid JSON, JSON that
breaks the schema, wrong candidate ids, impossible dates, an empty answer, and a
response body that is not JSON at all. The server counts what it served.

In process::

    with FakeOpenAIServer(latency_s=0.1) as server:
        client = OpenAI(base_url=server.base_url, api_key="sk-test")

From a shell::

    python -m slack_events_dagster.testing.fake_openai --port 8765 --latency-ms 100 \\
        --fault-rate 0.2 --seed 1

The package: ``api`` (the API's rules), ``oracle`` (what the model answers), ``faults``,
``handler`` (HTTP routes), ``server`` (options, counters, one completion) and
``__main__`` (the command line).
"""

from slack_events_dagster.testing.fake_openai.api import (
    DEFAULT_MODEL,
    approx_tokens,
    strict_schema_problems,
)
from slack_events_dagster.testing.fake_openai.faults import FAULT_KINDS
from slack_events_dagster.testing.fake_openai.oracle import (
    Oracle,
    OracleRequest,
    naive_events,
    naive_oracle,
)
from slack_events_dagster.testing.fake_openai.server import FakeOpenAIServer, running_fake_openai

__all__ = [
    "DEFAULT_MODEL",
    "FAULT_KINDS",
    "FakeOpenAIServer",
    "Oracle",
    "OracleRequest",
    "approx_tokens",
    "naive_events",
    "naive_oracle",
    "running_fake_openai",
    "strict_schema_problems",
]
