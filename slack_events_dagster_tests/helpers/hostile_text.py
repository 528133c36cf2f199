"""Hostile message text and URLs: what a poster in a watched channel may write to ping,
inject links or break formatting. The safety rules' tests and the digest's use them."""

from __future__ import annotations

HOSTILE_TEXTS = [
    "<!channel> deploy now",
    "<!here>",
    "<!everyone> party",
    "<!subteam^S1|team> review",
    "ping <@U123> and <@W456|bob>",
    "<!channel|channel> legacy",
    "@here plain ping",
    "<script>alert(1)</script>",
    "[x](javascript:alert(1))",
    "<javascript:alert(1)|click me>",
    "<https://evil.example.com|totally safe>",
    "![img](https://evil.example.com/x.png)",
]

UNSAFE_URLS = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "slack://channel?id=C1",
    "vbscript:msgbox(1)",
    "//evil.example.com/no-scheme",
    "evil.example.com",
    "https://",
    "https://exa mple.com",
]
