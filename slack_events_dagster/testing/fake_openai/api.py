"""The Chat Completions API's rules the fake follows: the text of messages, the token
estimate, what strict structured outputs refuse, and OpenAI's error bodies."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

DEFAULT_MODEL = "gpt-4o-mini"


def last_user_text(body: Mapping[str, Any]) -> str:
    """The text of a request's last user message (where the candidates are quoted)."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def content_text(content: Any) -> str:
    """A message's content as text: a string, or the text parts of a list."""
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


class HTTPError(Exception):
    """An error answer: its status, OpenAI's JSON error body and headers."""

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
