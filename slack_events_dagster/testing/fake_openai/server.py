"""The fake OpenAI server: its options, the counters tests read, and the answer to one
completion request (authentication, response format, faults, usage)."""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from typing import Any

from slack_events_dagster.llm.prompt import quoted_items
from slack_events_dagster.testing.fake_openai.api import (
    DEFAULT_MODEL,
    HTTPError,
    approx_tokens,
    content_text,
    last_user_text,
    strict_schema_problems,
)
from slack_events_dagster.testing.fake_openai.faults import FAULT_KINDS, corrupt
from slack_events_dagster.testing.fake_openai.handler import handler_class
from slack_events_dagster.testing.fake_openai.oracle import Oracle, OracleRequest, naive_oracle


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

        self._httpd = ThreadingHTTPServer((host, port), handler_class(self))
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
    def count_request(self) -> None:
        """Count a request of any route."""
        with self._lock:
            self.request_count += 1

    def check_auth(self, authorization: str | None) -> None:
        """Raise OpenAI's 401 unless the ``Authorization`` header has the required key."""
        if self.require_api_key is None:
            return
        presented = (authorization or "").removeprefix("Bearer ").strip()
        if presented != self.require_api_key:
            raise HTTPError(
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

    def complete(self, raw: bytes, authorization: str | None) -> tuple[int, Any, dict[str, str]]:
        """(status, body or raw bytes, headers) for one completion request's raw body."""
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
        self.check_auth(authorization)

        try:
            body = json.loads(raw or b"{}")
        except ValueError as exc:
            raise HTTPError(
                400, f"We could not parse the JSON body of your request: {exc}"
            ) from exc
        if not isinstance(body, dict):
            raise HTTPError(400, "the request body must be a JSON object")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise HTTPError(400, "'messages' is a required non-empty array", param="messages")
        if not isinstance(body.get("model"), str):
            raise HTTPError(400, "'model' is required", param="model")
        with self._lock:
            self.requests.append(body)

        mode = self._response_mode(body)
        prompt_tokens = sum(
            approx_tokens(content_text(m.get("content"))) + 4
            for m in messages
            if isinstance(m, dict)
        )
        if self.max_context_tokens is not None and prompt_tokens > self.max_context_tokens:
            raise HTTPError(
                400,
                f"This model's maximum context length is {self.max_context_tokens} tokens. "
                f"However, your messages resulted in {prompt_tokens} tokens.",
                param="messages",
                code="context_length_exceeded",
            )

        if self.latency_s > 0:
            time.sleep(self.latency_s)
        if fault == "rate_limit":
            raise HTTPError(
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
            raise HTTPError(500, f"The server had an error{key_note}", error_type="server_error")
        if fault == "hang":
            self._stopping.wait(self.hang_s)
            raise HTTPError(504, "upstream timed out", error_type="server_error")
        if fault == "broken_body":
            return 200, b"<html>502 Bad Gateway</html>", {}

        request = OracleRequest(body=body, candidates=self._candidates(body), response_mode=mode)
        try:
            answer = self.oracle(request)
        except Exception as exc:
            raise HTTPError(500, f"oracle failed: {exc!r}", error_type="server_error") from exc
        content = answer if isinstance(answer, str) else json.dumps(answer)
        if fault is not None:
            content = corrupt(fault, answer, content)

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
            raise HTTPError(400, "'response_format' must be an object", param="response_format")
        kind = response_format.get("type")
        if kind == "json_schema":
            if self.reject_json_schema:
                raise HTTPError(
                    400,
                    "Invalid parameter: 'response_format' of type 'json_schema' is not "
                    "supported by this server; use 'json_object' or 'text'.",
                    param="response_format",
                )
            spec = response_format.get("json_schema")
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                raise HTTPError(
                    400, "'response_format.json_schema.name' is required", param="response_format"
                )
            if spec.get("strict"):
                problems = strict_schema_problems(spec.get("schema"))
                if problems:
                    raise HTTPError(
                        400,
                        f"Invalid schema for response_format '{spec['name']}': "
                        + "; ".join(problems[:3]),
                        param="response_format",
                    )
            return "json_schema"
        if kind == "json_object":
            if self.reject_json_object:
                raise HTTPError(
                    400,
                    "'response_format.type' must be 'json_schema' or 'text'",
                    param="response_format",
                )
            text = " ".join(
                content_text(m.get("content")) for m in body["messages"] if isinstance(m, dict)
            )
            if "json" not in text.lower():
                raise HTTPError(
                    400,
                    "'messages' must contain the word 'json' in some form, to use "
                    "'response_format' of type 'json_object'.",
                    param="messages",
                )
            return "json_object"
        if kind == "text":
            return "text"
        raise HTTPError(400, f"unknown response_format type {kind!r}", param="response_format")

    @staticmethod
    def _candidates(body: Mapping[str, Any]) -> list[dict[str, Any]]:
        try:
            return quoted_items(last_user_text(body))
        except ValueError:
            return []


@contextmanager
def running_fake_openai(**options: Any) -> Iterator[str]:
    """Run a fake server for the duration of a ``with`` block; yields its base URL."""
    with FakeOpenAIServer(**options) as server:
        yield server.base_url
