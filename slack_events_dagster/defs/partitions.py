"""Partitions: days (from settings) x channels (dynamic, added by the discovery sensor).

Built by the composition root (``definitions.build_definitions``) from its settings; no
module reads settings when it is imported."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import dagster as dg

from slack_events_dagster.settings import Settings

CHANNELS_PARTITION = "channels"
DAY, CHANNEL = "day", "channel"

channel_partitions = dg.DynamicPartitionsDefinition(name=CHANNELS_PARTITION)


@dataclass(frozen=True)
class Partitions:
    """The two partitionings of the assets, from one settings object: days in the
    pipeline's zone from its start date, and those days per channel."""

    daily: dg.DailyPartitionsDefinition
    channel_days: dg.MultiPartitionsDefinition

    @classmethod
    def from_settings(cls, settings: Settings) -> Partitions:
        end = settings.pipeline.end_date
        daily = dg.DailyPartitionsDefinition(
            start_date=settings.pipeline.start_date.isoformat(),
            timezone=settings.pipeline.timezone,
            # Dagster's end date is exclusive: the partitions end on pipeline.end_date.
            end_date=(end + timedelta(days=1)).isoformat() if end else None,
            # Today is a partition too: its run is the incremental one.
            end_offset=1,
        )
        return cls(daily, dg.MultiPartitionsDefinition({DAY: daily, CHANNEL: channel_partitions}))


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


def group_channel_days(
    keys: Iterable[str | dg.MultiPartitionKey], partitions: dg.MultiPartitionsDefinition
) -> list[ChannelDays]:
    """Multi-partition keys grouped into contiguous day ranges per channel."""
    by_channel: dict[str, set[date]] = defaultdict(set)
    for key in keys:
        parts = (
            key
            if isinstance(key, dg.MultiPartitionKey)
            else partitions.get_partition_key_from_str(key)
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
