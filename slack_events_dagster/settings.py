"""Settings of the whole product, read from one YAML file and the environment.

Precedence, highest first: values passed to :func:`load_settings`, environment
variables ``SLACK_EVENTS_<SECTION>__<KEY>`` (also from a ``.env`` file), the YAML
file (``--config PATH``, else ``SLACK_EVENTS_CONFIG``, else ``config.yaml`` in the
working directory when it exists), then the defaults below. The defaults are the
embedded set-up: SQLite, the bundled sample workspace, the rule extractor, no
posting to Slack.
"""

from __future__ import annotations

import datetime as dt
import os
from contextvars import ContextVar
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

ENV_PREFIX = "SLACK_EVENTS_"
CONFIG_ENV_VAR = "SLACK_EVENTS_CONFIG"
DEFAULT_CONFIG_FILE = Path("config.yaml")
SAMPLE_WORKSPACE = Path(__file__).parent / "sample" / "workspace"

_config_path: ContextVar[Path | None] = ContextVar("slack_events_config_path", default=None)


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names the key and how to fix it."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name like 'Europe/Berlin'"
        ) from exc
    return value


TimeZoneName = Annotated[str, AfterValidator(_check_timezone)]


def _check_app_token(value: SecretStr) -> SecretStr:
    token = value.get_secret_value()
    if token and not token.startswith("xapp-"):
        # The value is a secret: the message says what it looks like, never what it is.
        raise ValueError(
            "is not an app-level token (those start with xapp-); create one under the Slack "
            "app's Basic Information, App-Level Tokens, with the scope connections:write"
        )
    return value


AppToken = Annotated[SecretStr, AfterValidator(_check_app_token)]


class PostgresSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(5432, ge=1, le=65535)
    database: str = "slack_events"
    user: str = "postgres"
    password: SecretStr = SecretStr("")
    sslmode: str | None = None


class PoolSettings(_Section):
    size: int = Field(5, ge=1, le=200)
    max_overflow: int = Field(10, ge=0, le=500)
    timeout_s: float = Field(30.0, gt=0)
    recycle_s: int = Field(1800, ge=-1)


class DatabaseSettings(_Section):
    # A full SQLAlchemy URL ("sqlite:///path.db", "postgresql://user:pw@host/db"): when
    # set it is used instead of type, path and postgres (a secret: it may hold a password).
    url: SecretStr | None = None
    type: Literal["sqlite", "postgres"] = "sqlite"
    path: Path = Path("data/slack_events.db")
    postgres: PostgresSettings = PostgresSettings()
    pool: PoolSettings = PoolSettings()
    sqlite_busy_timeout_s: float = Field(30.0, gt=0)
    batch_size: int = Field(2000, ge=1, le=100_000)


class MethodLimit(_Section):
    """How one Web API method may be called: its pace and the objects one call asks for.

    ``calls_per_minute`` is the shared budget of every process and run of the app (a
    token bucket in the database); None leaves the method unpaced (calls go as fast as
    Slack answers, a 429 waits for its ``Retry-After``). ``burst`` calls may go at once
    after a quiet spell; with 1 the calls are spaced evenly and no minute holds more
    than ``calls_per_minute``. ``limit`` is the page size asked for (Slack reduces a
    larger one to the app's cap)."""

    calls_per_minute: float | None = Field(None, gt=0, le=10_000)
    limit: int = Field(1000, ge=1, le=1000)
    burst: int = Field(1, ge=1, le=1000)


class RateLimits(_Section):
    """Per-method overrides of the app profile's limits (unset: the profile's)."""

    history: MethodLimit | None = None  # conversations.history
    replies: MethodLimit | None = None  # conversations.replies


# What Slack grants each app type for conversations.history and .replies (Slack's rate
# limit changes of 2025: unlisted apps distributed outside the Marketplace, and from
# March 2026 their existing installations, get 1 call a minute of at most 15 objects).
# Internal (and Marketplace) apps are Tier 3, about 50 calls a minute with bursts
# tolerated: unpaced, the client waits out the rare 429.
APP_PROFILES: dict[str, dict[str, MethodLimit]] = {
    "internal": {
        "history": MethodLimit(calls_per_minute=None, limit=1000, burst=1),
        "replies": MethodLimit(calls_per_minute=None, limit=1000, burst=1),
    },
    "unlisted": {
        "history": MethodLimit(calls_per_minute=1, limit=15, burst=1),
        "replies": MethodLimit(calls_per_minute=1, limit=15, burst=1),
    },
}
# The pace the planner assumes for an unpaced method (Tier 3's nominal rate).
UNPACED_ESTIMATE_PER_MINUTE = 50.0
PacedMethod = Literal["history", "replies"]
METHOD_NAMES: dict[PacedMethod, str] = {
    "history": "conversations.history",
    "replies": "conversations.replies",
}


class SlackSettings(_Section):
    source: Literal["api", "export"] = "export"
    # None means the sample workspace bundled with the package.
    export_path: Path | None = None
    # What to do with an unreadable file inside an export: skip it and go on, or stop.
    export_errors: Literal["skip", "stop"] = "skip"
    token: SecretStr = SecretStr("")
    # The app-level token (xapp-...) of Socket Mode: set, the listener (slack-events
    # listen) receives messages as Slack pushes them and the watermark sensor runs the
    # channels whose messages arrived instead of asking Slack (docs/operations.md).
    app_token: AppToken = SecretStr("")
    base_url: str = "https://slack.com/api/"
    channels: list[str] = []
    exclude_channels: list[str] = []
    channel_types: list[Literal["public_channel", "private_channel", "mpim", "im"]] = [
        "public_channel"
    ]
    join_public_channels: bool = False
    # Fractions of a day are allowed (0.125 is 3 hours): an unlisted app pays a call for
    # each 15 messages re-read.
    lookback_days: float = Field(7, ge=0, le=365)
    # Thread parents this much older than the watermark are still watched for new
    # replies (their latest_reply is read from history; dormant threads are never polled).
    thread_horizon_days: float = Field(30, ge=0, le=365)
    # Messages per conversations.history call. Slack allows up to 1000 and suggests 200
    # for snappy responses; calls are what the rate limit counts (history is Tier 3,
    # about 50 a minute), so a 30-day re-read of a busy channel takes 6 calls at 1000
    # instead of 27 at 200. An app Slack caps lower (unlisted: 15) says so with
    # app_profile or rate_limits, whose limit bounds every page.
    page_size: int = Field(1000, ge=1, le=1000)
    # Which limits Slack gives the app: "internal" (an app of your own workspace, or a
    # Marketplace app: Tier 3) or "unlisted" (distributed outside the Marketplace: 1 call
    # a minute, 15 objects per call). rate_limits overrides a method's values.
    app_profile: Literal["internal", "unlisted"] = "internal"
    rate_limits: RateLimits = RateLimits()
    max_retries: int = Field(5, ge=0, le=20)
    # Base of the exponential backoff between retries of 5xx and connection errors.
    retry_backoff_s: float = Field(0.5, gt=0, le=60)
    timeout_s: float = Field(30.0, gt=0)
    workspace_url: str | None = None

    def method_limit(self, method: PacedMethod) -> MethodLimit:
        """The limits of ``conversations.<method>``: the override, else the profile's.
        ``limit`` caps every page of the method (``page_size`` chooses below it)."""
        override: MethodLimit | None = getattr(self.rate_limits, method)
        return override if override is not None else APP_PROFILES[self.app_profile][method]

    def resolved_export_path(self) -> Path:
        return self.export_path if self.export_path is not None else SAMPLE_WORKSPACE


class ModelPrice(_Section):
    input_per_million: float = Field(ge=0)
    output_per_million: float = Field(ge=0)


class LLMSettings(_Section):
    provider: Literal["rules", "openai"] = "rules"
    base_url: str | None = None
    api_key: SecretStr = SecretStr("")
    model: str = "gpt-4o-mini"
    batch_size: int = Field(8, ge=1, le=50)
    concurrency: int = Field(4, ge=1, le=64)
    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(3, ge=0, le=10)
    daily_budget_usd: float = Field(5.0, ge=0)
    max_failure_rate: float = Field(0.2, ge=0, le=1)
    temperature: float = Field(0.0, ge=0, le=2)
    prices: dict[str, ModelPrice] = {
        "gpt-4o-mini": ModelPrice(input_per_million=0.15, output_per_million=0.60),
        "gpt-4o": ModelPrice(input_per_million=2.50, output_per_million=10.00),
        "gpt-4.1-mini": ModelPrice(input_per_million=0.40, output_per_million=1.60),
    }


class PipelineSettings(_Section):
    start_date: date = date(2024, 1, 1)
    # The last day of the partitions; None: today, as for a history that keeps growing
    # (the Web API). A fixed history (an export, the sample) ends on its last day; with an
    # end the daily digest schedule starts stopped, since no new day will come.
    end_date: date | None = None
    timezone: TimeZoneName = "UTC"
    candidate_threshold: float = Field(0.5, ge=0, le=1)
    channel_weights: dict[str, float] = {}
    sensor_interval_s: int = Field(300, ge=30)
    # The watermark sensor's interval with Socket Mode (slack.app_token): it reads the
    # database, not Slack, so it can look often; a pushed message waits at most this long.
    push_sensor_interval_s: int = Field(30, ge=5)
    freshness_hours: float = Field(72.0, gt=0)
    max_candidate_rate: float = Field(0.5, ge=0, le=1)
    # How to read a numeric date whose day and month could both be either ("03/04"):
    # month first (US) or day first (most of the world). "20/10" is day first either way.
    date_order: Literal["month_first", "day_first"] = "month_first"
    # The channels whose bot posts are read (names or ids); None reads bots everywhere,
    # [] nowhere. Joins, leaves and topic changes are never events.
    bot_channels: list[str] | None = None

    @model_validator(mode="after")
    def _end_after_start(self) -> PipelineSettings:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError(f"end_date {self.end_date} is before start_date {self.start_date}")
        return self


class DigestSettings(_Section):
    post: bool = False
    channel: str | None = None
    alert_channel: str | None = None
    output_dir: Path = Path("output")
    lookahead_days: int = Field(7, ge=1, le=90)
    time: dt.time = dt.time(8, 0)
    timezone: TimeZoneName = "UTC"
    calendar_path: Path = Path("output/events.ics")
    calendar_name: str = "Slack events"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="forbid",
        case_sensitive=False,
    )

    database: DatabaseSettings = DatabaseSettings()
    slack: SlackSettings = SlackSettings()
    llm: LLMSettings = LLMSettings()
    pipeline: PipelineSettings = PipelineSettings()
    digest: DigestSettings = DigestSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        path = _config_path.get()
        if path is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path))
        sources.append(file_secret_settings)
        return tuple(sources)


def resolve_config_path(config_path: str | Path | None = None) -> Path | None:
    """The YAML file to read: the argument, else $SLACK_EVENTS_CONFIG, else ./config.yaml."""
    if config_path is not None:
        path = Path(config_path)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist; pass an existing file")
        return path
    from_env = os.environ.get(CONFIG_ENV_VAR)
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ConfigError(
                f"config file {path} (from ${CONFIG_ENV_VAR}) does not exist; "
                f"fix or unset {CONFIG_ENV_VAR}"
            )
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def _describe(error: Any) -> str:
    key = ".".join(str(part) for part in error["loc"])
    env_name = ENV_PREFIX + "__".join(str(part) for part in error["loc"]).upper()
    got = error.get("input")
    secret = any(word in key for word in ("password", "token", "api_key"))
    got_text = "" if secret or isinstance(got, dict) else f" (got {got!r})"
    return f"{key}: {error['msg']}{got_text}; set it in the config file or as {env_name}"


def load_settings(config_path: str | Path | None = None, **overrides: Any) -> Settings:
    """Read the settings; a bad value raises one :class:`ConfigError` naming every bad key."""
    path = resolve_config_path(config_path)
    token = _config_path.set(path)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        where = f" in {path}" if path else ""
        lines = "\n  ".join(_describe(error) for error in exc.errors())
        raise ConfigError(f"invalid settings{where}:\n  {lines}") from None
    finally:
        _config_path.reset(token)
