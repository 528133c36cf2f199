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
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import hashlib
import json
import math
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_events_dagster.llm.prompt import quoted_items

FAULT_KINDS: tuple[str, ...] = (
    "rate_limit",
    "server_error",
    "hang",
    "invalid_json",
    "schema_violation",
    "wrong_ids",
    "bad_dates",
    "empty_answer",
    "broken_body",
)

DEFAULT_MODEL = "gpt-4o-mini"


@dataclass(frozen=True)
class OracleRequest:
    """What an oracle sees: the request body and the candidates quoted in it."""

    body: dict[str, Any]
    # The data items of the last user message (empty when it quotes none).
    candidates: list[dict[str, Any]]
    # "json_schema", "json_object" or "text".
    response_mode: str

    @property
    def user_text(self) -> str:
        return _last_user_text(self.body)


# Returns the answer object (serialised as JSON) or a string sent verbatim.
Oracle = Callable[[OracleRequest], Any]


_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})(?:[ T](\d{1,2}):(\d{2}))?\b")
_MONTHS = (
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
)
# "March 14", "Mar 14": a month name and a day of the month.
_MONTH_DAY = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+([0-3]?\d)(?![\d:])",
    re.IGNORECASE,
)
# "15:00" or "3pm" / "3:30 pm" anywhere in the text.
_CLOCK = re.compile(
    r"\b(1[0-2]|0?[1-9])(?::([0-5]\d))?\s*([ap])m\b|(?<![\d:])([01]?\d|2[0-3]):([0-5]\d)(?!\d)",
    re.IGNORECASE,
)
_URL = re.compile(r"https?://[^\s<>|\"]+")
# "tomorrow at 3pm", "in 3 days at 10:00": a day counted from the posting day, and a
# time of day right after it.
_RELATIVE = re.compile(
    r"\b(?:(tomorrow)|in (\d{1,2}) days?),?\s+(?:at\s+)?"
    r"(?=(?:1[0-2]|0?[1-9])(?::[0-5]\d)?\s*[ap]m\b|(?:[01]?\d|2[0-3]):[0-5]\d(?!\d))",
    re.IGNORECASE,
)
# Words of something happening as it is posted, and its category.
_NOW_WORDS: tuple[tuple[str, str], ...] = (
    ("released", "release"),
    ("is out", "release"),
    ("now available", "release"),
    ("is live", "launch"),
    ("now live", "launch"),
    ("launched", "launch"),
    ("outage", "incident"),
)
_MAX_LINKS = 10
_CHANGE_WORDS = ("moved", "postponed", "rescheduled", "pushed to")
_CATEGORY_WORDS: tuple[tuple[str, str], ...] = (
    ("incident", "incident"),
    ("outage", "incident"),
    ("maintenance", "maintenance"),
    ("release", "release"),
    ("deploy", "release"),
    ("launch", "launch"),
    ("deadline", "deadline"),
    ("due", "deadline"),
    ("conference", "conference"),
    ("meeting", "meeting"),
    ("sync", "meeting"),
    ("standup", "meeting"),
)


def _posted_day(candidate: Mapping[str, Any]) -> dt.date | None:
    try:
        return dt.datetime.fromisoformat(str(candidate.get("posted_at"))).date()
    except ValueError:
        return None


def _find_day(text: str, posted: dt.date | None) -> tuple[str, re.Match[str]] | None:
    """The first date in ``text`` as ISO, with its match: an ISO date, else "March 14"
    (the year that puts it no more than a few days before the posting day)."""
    iso = _DATE.search(text)
    if iso is not None:
        return iso.group(1), iso
    if posted is None:
        return None
    for match in _MONTH_DAY.finditer(text):
        month = _MONTHS.index(match.group(1).lower()) + 1
        for year in (posted.year, posted.year + 1):
            try:
                day = dt.date(year, month, int(match.group(2)))
            except ValueError:
                break
            if day >= posted - dt.timedelta(days=3):
                return day.isoformat(), match
    return None


def _find_relative(text: str, posted: dt.date | None) -> tuple[str, re.Match[str]] | None:
    """ "tomorrow at 3pm" or "in 3 days at 10:00" from the posting day, as ISO, with its
    match. Only with a time of day right after it: "I'll be back tomorrow" is an aside."""
    match = _RELATIVE.search(text) if posted is not None else None
    if match is None or posted is None:
        return None
    days = 1 if match.group(1) else int(match.group(2))
    return (posted + dt.timedelta(days=days)).isoformat(), match


def _links(text: str) -> list[str]:
    """The http(s) URLs of the text, as written (Slack's ``<url|label>`` read to its URL)."""
    found: list[str] = []
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;:)!?")
        if url not in found:
            found.append(url)
    return found[:_MAX_LINKS]


def _posted_event(candidate: Mapping[str, Any], text: str) -> dict[str, Any] | None:
    """An undated message reporting something happening now: an event on its posting day.
    A question ("is the API out?") reports nothing."""
    posted = _posted_day(candidate)
    lowered = text.lower()
    if posted is None or lowered.rstrip().endswith("?"):
        return None
    category = next((cat for word, cat in _NOW_WORDS if re.search(rf"\b{word}\b", lowered)), None)
    if category is None:
        return None
    links = _links(text)
    return {
        "title": _title(text, None)[:80],
        "category": category,
        "start": posted.isoformat(),
        "end": None,
        "all_day": True,
        "date_source": "posted",
        "timezone": None,
        "location": None,
        "url": links[0] if links else None,
        "links": links,
        "summary": None,
        "confidence": 0.6,
        "status": "scheduled",
    }


def _find_clock(text: str, date_match: re.Match[str]) -> tuple[int, int] | None:
    """The time of day: right after an ISO date ("2024-03-14 15:00"), else the first in the text."""
    if date_match.re is _DATE and date_match.group(2):
        return int(date_match.group(2)), int(date_match.group(3))
    # A relative day's time comes right after it ("tomorrow at 3pm").
    match = _CLOCK.search(text, date_match.end() if date_match.re is _RELATIVE else 0)
    if match is None:
        return None
    if match.group(4) is not None:
        return int(match.group(4)), int(match.group(5))
    hour = int(match.group(1)) % 12 + (12 if match.group(3).lower() == "p" else 0)
    return hour, int(match.group(2) or 0)


def _title(text: str, cut: re.Match[str] | None) -> str:
    first_line = text.strip().splitlines()[0] if text.strip() else "Event"
    if cut is not None and cut.string == text and cut.start() < len(first_line):
        # What is announced comes before its date: "Release v4.12 is scheduled for ...".
        first_line = first_line[: cut.start()] or first_line
    title = " ".join(_URL.sub("", _DATE.sub("", first_line)).split()).strip(" :-,.")
    return title or "Event"


def naive_events(candidate: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Events a very literal reader finds: the first date in the text (ISO or "March 14",
    else "tomorrow" or "in N days") with the time of day if one is given; a reply that
    moves or cancels without a date of its own takes its thread parent's; an undated
    report of a release, a launch or an outage is an event on the posting day."""
    text = str(candidate.get("text") or "")
    parent_text = str(candidate.get("thread_parent_text") or "")
    lowered = text.lower()
    if "cancel" in lowered or "called off" in lowered:
        status = "cancelled"
    elif any(word in lowered for word in _CHANGE_WORDS):
        status = "rescheduled"
    else:
        status = "scheduled"
    posted = _posted_day(candidate)
    changes_parent = bool(parent_text) and status != "scheduled"
    found = _find_day(text, posted)
    date_source = "written"
    source = text
    if found is None and changes_parent:
        found, source = _find_day(parent_text, posted), parent_text
    if found is None and not parent_text:
        # Only at the top of a thread: a reply's "tomorrow" may be its parent's new day,
        # which this reader does not try to tell from an aside.
        found, source, date_source = _find_relative(text, posted), text, "relative"
    if found is None:
        event = _posted_event(candidate, text) if not changes_parent else None
        return [event] if event is not None else []
    day, match = found
    clock = _find_clock(source, match)
    subject = parent_text if changes_parent else text
    category = next((cat for word, cat in _CATEGORY_WORDS if word in subject.lower()), "other")
    title = _title(subject, match if subject is source else _find_cut(subject, posted))
    url = _URL.search(text)
    timezone = "UTC" if "UTC" in source else candidate.get("timezone") or None
    return [
        {
            "title": title[:80],
            "category": category,
            "start": f"{day}T{clock[0]:02d}:{clock[1]:02d}" if clock else day,
            "end": None,
            "all_day": clock is None,
            "date_source": date_source,
            "timezone": timezone,
            "location": None,
            "url": url.group(0) if url else None,
            "links": _links(text),
            "summary": None,
            "confidence": 0.7,
            "status": status,
        }
    ]


def _find_cut(text: str, posted: dt.date | None) -> re.Match[str] | None:
    found = _find_day(text, posted)
    return found[1] if found is not None else None


def naive_oracle(request: OracleRequest) -> dict[str, Any]:
    """The default oracle: naive events, entries in a shuffled (but repeatable) order."""
    ids = [str(item.get("id")) for item in request.candidates]
    entries = [
        {"candidate_id": cid, "events": naive_events(item)}
        for cid, item in zip(ids, request.candidates, strict=True)
    ]
    seed = int.from_bytes(hashlib.sha256("|".join(ids).encode()).digest()[:8], "big")
    random.Random(seed).shuffle(entries)
    return {"candidates": entries}


def _last_user_text(body: Mapping[str, Any]) -> str:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _content_text(message.get("content"))
    return ""


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def approx_tokens(text: str) -> int:
    """Roughly what a BPE tokenizer makes of English text: one token per 4 characters."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


# Keywords OpenAI's strict mode refuses (it answers 400 "Invalid schema").
_STRICT_UNSUPPORTED = frozenset(
    {"minLength", "maxLength", "default", "patternProperties", "unevaluatedProperties", "allOf"}
)


def strict_schema_problems(schema: Any, where: str = "#") -> list[str]:
    """Why a schema would be refused by structured outputs in strict mode (empty if fine)."""
    problems: list[str] = []
    if isinstance(schema, list):
        for index, item in enumerate(schema):
            problems += strict_schema_problems(item, f"{where}/{index}")
        return problems
    if not isinstance(schema, dict):
        return problems
    for key in sorted(_STRICT_UNSUPPORTED & set(schema)):
        problems.append(f"{where}: '{key}' is not permitted")
    if schema.get("type") == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is not False:
            problems.append(f"{where}: 'additionalProperties' must be false")
        missing = sorted(set(properties) - set(schema.get("required", [])))
        if missing:
            problems.append(f"{where}: 'required' must include every property, missing {missing}")
        for name, sub in properties.items():
            problems += strict_schema_problems(sub, f"{where}/properties/{name}")
    for key in ("$defs", "definitions"):
        for name, sub in schema.get(key, {}).items():
            problems += strict_schema_problems(sub, f"{where}/{key}/{name}")
    for key in ("items", "anyOf"):
        if key in schema:
            problems += strict_schema_problems(schema[key], f"{where}/{key}")
    return problems


class _HTTPError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {
            "error": {"message": message, "type": error_type, "param": param, "code": code}
        }
        self.headers = dict(headers or {})


class FakeOpenAIServer:
    """A threaded local OpenAI-compatible server; use as a context manager."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        oracle: Oracle | None = None,
        model: str = DEFAULT_MODEL,
        latency_s: float = 0.0,
        fault_rate: float = 0.0,
        faults: Sequence[str] = FAULT_KINDS,
        fault_schedule: Mapping[int, str] | None = None,
        seed: int = 0,
        reject_json_schema: bool = False,
        reject_json_object: bool = False,
        require_api_key: str | None = None,
        echo_api_key_in_errors: bool = False,
        retry_after_s: float = 0.05,
        hang_s: float = 30.0,
        fixed_usage: tuple[int, int] | None = None,
        max_context_tokens: int | None = None,
    ) -> None:
        unknown = sorted(set(faults) - set(FAULT_KINDS))
        if fault_schedule:
            unknown += sorted(set(fault_schedule.values()) - set(FAULT_KINDS))
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; choose from {list(FAULT_KINDS)}")
        if not 0 <= fault_rate <= 1:
            raise ValueError("fault_rate must be between 0 and 1")
        self.oracle: Oracle = oracle or naive_oracle
        self.model = model
        self.latency_s = latency_s
        self.fault_rate = fault_rate
        self.faults = tuple(faults)
        # Completion request number (1-based) -> fault, applied before the random rate.
        self.fault_schedule: dict[int, str] = dict(fault_schedule or {})
        self.reject_json_schema = reject_json_schema
        # LM Studio, for one, accepts json_schema and text but refuses json_object.
        self.reject_json_object = reject_json_object
        self.require_api_key = require_api_key
        # Like servers that quote the presented key back ("Incorrect API key provided:
        # sk-..."): lets tests prove the client side redacts it.
        self.echo_api_key_in_errors = echo_api_key_in_errors
        self.retry_after_s = retry_after_s
        self.hang_s = hang_s
        # (prompt_tokens, completion_tokens) reported for every completion instead of
        # the length-based estimate: makes costs exact for budget tests.
        self.fixed_usage = fixed_usage
        # Longer prompts get OpenAI's 400 context_length_exceeded.
        self.max_context_tokens = max_context_tokens

        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.request_count = 0
        self.completion_requests = 0
        self.completions_served = 0
        self.faults_injected: Counter[str] = Counter()
        self.response_modes: Counter[str] = Counter()
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.in_flight = 0
        # Most completion requests being handled at the same moment.
        self.max_in_flight = 0
        # Parsed bodies of every completion request, in arrival order.
        self.requests: list[dict[str, Any]] = []

        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        host = str(self._httpd.server_address[0])
        return f"http://{host}:{self.port}/v1"

    def start(self) -> FakeOpenAIServer:
        if self._thread is None:
            self._thread = threading.Thread(
                # A short poll keeps stop() (and so every test using the server) fast.
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.02},
                name="fake-openai",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        # Wakes handlers that simulate a hang so they do not outlive the server.
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def reset_counts(self) -> None:
        with self._lock:
            self.request_count = 0
            self.completion_requests = 0
            self.completions_served = 0
            self.faults_injected.clear()
            self.response_modes.clear()
            self.prompt_tokens = 0
            self.completion_tokens = 0
            self.max_in_flight = 0
            self.requests.clear()

    # -- request handling ------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in separate writes; with Nagle on, the client's
            # delayed ACK adds ~40 ms to every response.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                # Quiet by default: request lines would drown test output.
                return

            def do_GET(self) -> None:
                server._count_request()
                if self.path.rstrip("/") in ("/v1/models", "/models"):
                    try:
                        server._check_auth(self.headers.get("Authorization"))
                    except _HTTPError as exc:
                        self._send_json(exc.status, exc.body, exc.headers)
                        return
                    body = {
                        "object": "list",
                        "data": [
                            {
                                "id": server.model,
                                "object": "model",
                                "created": 0,
                                "owned_by": "fake",
                            }
                        ],
                    }
                    self._send_json(200, body)
                else:
                    self._send_json(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                server._count_request()
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                    self._send_json(404, {"error": {"message": f"no route {self.path}"}})
                    return
                try:
                    status, payload, headers = server._complete(
                        raw, self.headers.get("Authorization")
                    )
                except _HTTPError as exc:
                    status, payload, headers = exc.status, exc.body, exc.headers
                if isinstance(payload, bytes):
                    self._send_bytes(status, payload, "application/json", headers)
                else:
                    self._send_json(status, payload, headers)

            def _send_json(
                self, status: int, body: Any, headers: Mapping[str, str] | None = None
            ) -> None:
                self._send_bytes(status, json.dumps(body).encode(), "application/json", headers)

            def _send_bytes(
                self,
                status: int,
                data: bytes,
                content_type: str,
                headers: Mapping[str, str] | None = None,
            ) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    # The client gave up (a simulated hang outlived its timeout).
                    pass

        return Handler

    def _count_request(self) -> None:
        with self._lock:
            self.request_count += 1

    def _check_auth(self, authorization: str | None) -> None:
        if self.require_api_key is None:
            return
        presented = (authorization or "").removeprefix("Bearer ").strip()
        if presented != self.require_api_key:
            raise _HTTPError(
                401,
                f"Incorrect API key provided: {presented}.",
                code="invalid_api_key",
            )

    def _pick_fault(self, number: int) -> str | None:
        if number in self.fault_schedule:
            return self.fault_schedule[number]
        if self.fault_rate and self.faults and self._random.random() < self.fault_rate:
            return self._random.choice(self.faults)
        return None

    def _complete(self, raw: bytes, authorization: str | None) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return self._complete_counted(raw, authorization)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _complete_counted(
        self, raw: bytes, authorization: str | None
    ) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            self.completion_requests += 1
            number = self.completion_requests
            fault = self._pick_fault(number)
            if fault:
                self.faults_injected[fault] += 1
        presented = (authorization or "").removeprefix("Bearer ").strip()
        key_note = f" (request made with key {presented})" if self.echo_api_key_in_errors else ""
        self._check_auth(authorization)

        try:
            body = json.loads(raw or b"{}")
        except ValueError as exc:
            raise _HTTPError(
                400, f"We could not parse the JSON body of your request: {exc}"
            ) from exc
        if not isinstance(body, dict):
            raise _HTTPError(400, "the request body must be a JSON object")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _HTTPError(400, "'messages' is a required non-empty array", param="messages")
        if not isinstance(body.get("model"), str):
            raise _HTTPError(400, "'model' is required", param="model")
        with self._lock:
            self.requests.append(body)

        mode = self._response_mode(body)
        prompt_tokens = sum(
            approx_tokens(_content_text(m.get("content"))) + 4
            for m in messages
            if isinstance(m, dict)
        )
        if self.max_context_tokens is not None and prompt_tokens > self.max_context_tokens:
            raise _HTTPError(
                400,
                f"This model's maximum context length is {self.max_context_tokens} tokens. "
                f"However, your messages resulted in {prompt_tokens} tokens.",
                param="messages",
                code="context_length_exceeded",
            )

        if self.latency_s > 0:
            time.sleep(self.latency_s)
        if fault == "rate_limit":
            raise _HTTPError(
                429,
                f"Rate limit reached for requests{key_note}",
                error_type="requests",
                code="rate_limit_exceeded",
                headers={
                    "retry-after": str(max(1, math.ceil(self.retry_after_s))),
                    "retry-after-ms": str(int(self.retry_after_s * 1000)),
                },
            )
        if fault == "server_error":
            raise _HTTPError(500, f"The server had an error{key_note}", error_type="server_error")
        if fault == "hang":
            self._stopping.wait(self.hang_s)
            raise _HTTPError(504, "upstream timed out", error_type="server_error")
        if fault == "broken_body":
            return 200, b"<html>502 Bad Gateway</html>", {}

        request = OracleRequest(body=body, candidates=self._candidates(body), response_mode=mode)
        try:
            answer = self.oracle(request)
        except Exception as exc:
            raise _HTTPError(500, f"oracle failed: {exc!r}", error_type="server_error") from exc
        content = answer if isinstance(answer, str) else json.dumps(answer)
        if fault is not None:
            content = self._corrupt(fault, answer, content)

        completion_tokens = approx_tokens(content)
        if self.fixed_usage is not None:
            prompt_tokens, completion_tokens = self.fixed_usage
        with self._lock:
            self.completions_served += 1
            self.response_modes[mode] += 1
            self.prompt_tokens += prompt_tokens
            self.completion_tokens += completion_tokens
        completion = {
            "id": f"chatcmpl-fake-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        return 200, completion, {}

    def _response_mode(self, body: Mapping[str, Any]) -> str:
        response_format = body.get("response_format")
        if response_format is None:
            return "text"
        if not isinstance(response_format, dict):
            raise _HTTPError(400, "'response_format' must be an object", param="response_format")
        kind = response_format.get("type")
        if kind == "json_schema":
            if self.reject_json_schema:
                raise _HTTPError(
                    400,
                    "Invalid parameter: 'response_format' of type 'json_schema' is not "
                    "supported by this server; use 'json_object' or 'text'.",
                    param="response_format",
                )
            spec = response_format.get("json_schema")
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                raise _HTTPError(
                    400, "'response_format.json_schema.name' is required", param="response_format"
                )
            if spec.get("strict"):
                problems = strict_schema_problems(spec.get("schema"))
                if problems:
                    raise _HTTPError(
                        400,
                        f"Invalid schema for response_format '{spec['name']}': "
                        + "; ".join(problems[:3]),
                        param="response_format",
                    )
            return "json_schema"
        if kind == "json_object":
            if self.reject_json_object:
                raise _HTTPError(
                    400,
                    "'response_format.type' must be 'json_schema' or 'text'",
                    param="response_format",
                )
            text = " ".join(
                _content_text(m.get("content")) for m in body["messages"] if isinstance(m, dict)
            )
            if "json" not in text.lower():
                raise _HTTPError(
                    400,
                    "'messages' must contain the word 'json' in some form, to use "
                    "'response_format' of type 'json_object'.",
                    param="messages",
                )
            return "json_object"
        if kind == "text":
            return "text"
        raise _HTTPError(400, f"unknown response_format type {kind!r}", param="response_format")

    @staticmethod
    def _candidates(body: Mapping[str, Any]) -> list[dict[str, Any]]:
        try:
            return quoted_items(_last_user_text(body))
        except ValueError:
            return []

    @staticmethod
    def _corrupt(fault: str, answer: Any, content: str) -> str:
        """The oracle's answer broken the way the fault says."""
        if fault == "invalid_json":
            return content[: max(1, len(content) // 2)] + "…"
        if fault == "empty_answer":
            return ""
        if not isinstance(answer, dict) or not isinstance(answer.get("candidates"), list):
            return content
        broken = copy.deepcopy(answer)
        entries = [entry for entry in broken["candidates"] if isinstance(entry, dict)]
        if fault == "schema_violation":
            for entry in entries:
                entry["priority"] = "high"
                for event in entry.get("events", []):
                    event["confidence"] = "very high"
        elif fault == "wrong_ids":
            for index, entry in enumerate(entries):
                entry["candidate_id"] = f"msg-{index + 1}"
        elif fault == "bad_dates":
            for entry in entries:
                for event in entry.get("events", []):
                    event["start"] = "2024-02-30T25:61"
        return json.dumps(broken)


@contextmanager
def running_fake_openai(**options: Any) -> Iterator[str]:
    """Run a fake server for the duration of a ``with`` block; yields its base URL."""
    with FakeOpenAIServer(**options) as server:
        yield server.base_url


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
