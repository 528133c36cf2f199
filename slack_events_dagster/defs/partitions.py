"""Partitions: days (from settings) x channels (dynamic, added by the discovery sensor)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import dagster as dg

from slack_events_dagster.settings import Settings, load_settings

CHANNELS_PARTITION = "channels"
DAY, CHANNEL = "day", "channel"

channel_partitions = dg.DynamicPartitionsDefinition(name=CHANNELS_PARTITION)


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(
        start_date=settings.pipeline.start_date.isoformat(),
        timezone=settings.pipeline.timezone,
        # Today is a partition too: its run is the incremental one.
        end_offset=1,
    )


def channel_day_partitions(settings: Settings) -> dg.MultiPartitionsDefinition:
    return dg.MultiPartitionsDefinition(
        {DAY: daily_partitions(settings), CHANNEL: channel_partitions}
    )


# Built once when the code location loads; the settings decide start date and zone.
SETTINGS = load_settings()
DAILY = daily_partitions(SETTINGS)
CHANNEL_DAYS = channel_day_partitions(SETTINGS)


@dataclass(frozen=True)
class ChannelDays:
    """A contiguous run of days of one channel: the unit every step works on."""

    channel_id: str
    first_day: date
    last_day: date

    @property
    def label(self) -> str:
        if self.first_day == self.last_day:
            return f"{self.channel_id} {self.first_day}"
        return f"{self.channel_id} {self.first_day}..{self.last_day}"


def group_channel_days(keys: Iterable[str]) -> list[ChannelDays]:
    """Multi-partition keys grouped into contiguous day ranges per channel."""
    by_channel: dict[str, set[date]] = defaultdict(set)
    for key in keys:
        parts = (
            key
            if isinstance(key, dg.MultiPartitionKey)
            else CHANNEL_DAYS.get_partition_key_from_str(key)
        )
        dims = parts.keys_by_dimension
        by_channel[dims[CHANNEL]].add(date.fromisoformat(dims[DAY]))
    ranges: list[ChannelDays] = []
    for channel_id in sorted(by_channel):
        ordered = sorted(by_channel[channel_id])
        first = previous = ordered[0]
        for day in ordered[1:]:
            if day != previous + timedelta(days=1):
                ranges.append(ChannelDays(channel_id, first, previous))
                first = day
            previous = day
        ranges.append(ChannelDays(channel_id, first, previous))
    return ranges
