# People write en dashes in Slack ("9 to 11pm" as "9-11pm" with a dash); the text keeps them.
"""Build the bundled sample workspace: a hand-written Slack export of Lumen Labs and its gold list.

The conversation below is the source of truth. It is written in a small line format so that it
reads like the channel it becomes:

    # channel-name                  starts a channel
    ## 2026-03-02                   starts a day (the author's local date)
    09:31 maya: text …              a message at 09:31 in the *author's* time zone
        continuation …              (indented) continues the text; a literal "\\n" is a line break
      > 09:40 lena: text …          a thread reply to the last top-level message
      > 03-09 10:40 jess: text …    a reply posted on another day
      + react: tada sam ben         attributes of the message just above: react, edited, label,
      + edited: 09:35                 broadcast (reply also sent to the channel), file
    // …                            a comment, ignored

In the text, ``@handle`` becomes a user mention, ``#channel`` a channel mention,
``[label](https://…)`` a link, ``:name:`` an emoji, ``*bold*`` and ```code``` styles, and
``&``, ``<``, ``>`` are escaped the way Slack escapes them. A message whose text is ``[joined]``
is a channel_join. Bots (``shipit``, ``ci``, ``pagerduty``) post bot_message subtypes.

``EVENTS`` and ``NON_EVENTS`` at the bottom are the gold list; they point at messages by label,
and this script resolves labels to ``ts`` when it writes ``gold.yaml``.

Run ``python -m slack_events_dagster.sample.build_sample [--out DIR]``. The output is
deterministic: running it twice gives byte-identical files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
COMPANY_TZ = "America/New_York"
TEAM_ID = "T04LUMN7QK"
WORKSPACE_DOMAIN = "lumenlabs"
# users.json reflects the moment of export (after the US switched to daylight time).
EXPORTED_AT = datetime(2026, 3, 23, 14, 0, tzinfo=UTC)
NY, BERLIN, KOLKATA, LA = "America/New_York", "Europe/Berlin", "Asia/Kolkata", "America/Los_Angeles"
TZ_LABELS = {
    NY: "Eastern Daylight Time",
    BERLIN: "Central European Time",
    KOLKATA: "India Standard Time",
    LA: "Pacific Daylight Time",
}


def _code(seed: str, length: int) -> str:
    """A stable Slack-looking id fragment (uppercase letters and digits)."""
    digest = hashlib.sha256(seed.encode()).digest()
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    return "".join(alphabet[b % len(alphabet)] for b in digest[:length])


def _int(seed: str) -> int:
    return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")


@dataclass(frozen=True)
class Person:
    handle: str
    real_name: str
    display_name: str
    title: str
    tz: str = NY
    is_bot: bool = False
    deleted: bool = False
    bot_icon: str = ""

    @property
    def uid(self) -> str:
        return "U0" + _code("user:" + self.handle, 9)

    @property
    def bot_id(self) -> str:
        return "B0" + _code("bot:" + self.handle, 9)

    @property
    def username(self) -> str:
        if self.is_bot:
            return self.handle
        return ".".join(self.real_name.lower().replace("á", "a").split())


@dataclass(frozen=True)
class Channel:
    name: str
    creator: str
    created: str
    purpose: str
    topic: str
    members: tuple[str, ...] | None = None  # None: everybody who is not a bot
    is_general: bool = False

    @property
    def cid(self) -> str:
        return "C0" + _code("channel:" + self.name, 9)


@dataclass
class Draft:
    """One message as written in the conversation, before it becomes export JSON."""

    channel: str
    author: str
    local: datetime
    text: str
    order: int
    parent: Draft | None = None
    seconds: int | None = None
    reactions: list[tuple[str, list[str]]] = field(default_factory=list)
    edited: datetime | None = None
    label: str | None = None
    broadcast: bool = False
    files: list[tuple[str, str]] = field(default_factory=list)
    replies: list[Draft] = field(default_factory=list)
    ts: str = ""
    edited_ts: str = ""


# fmt: off
EMOJI = {
    "tada": "1f389", "rocket": "1f680", "eyes": "1f440", "+1": "1f44d", "pray": "1f64f",
    "white_check_mark": "2705", "fire": "1f525", "joy": "1f602", "heart": "2764-fe0f",
    "raised_hands": "1f64c", "sweat_smile": "1f605", "pizza": "1f355", "birthday": "1f382",
    "coffee": "2615", "wave": "1f44b", "thinking_face": "1f914", "rotating_light": "1f6a8",
    "red_circle": "1f534", "large_green_circle": "1f7e2", "warning": "26a0-fe0f",
    "skull": "1f480", "100": "1f4af", "pie": "1f967", "point_right": "1f449",
    "muscle": "1f4aa", "see_no_evil": "1f648", "grimacing": "1f62c", "crossed_fingers": "1f91e",
    "clap": "1f44f", "airplane": "2708-fe0f", "memo": "1f4dd", "ok_hand": "1f44c",
    "sob": "1f62d", "hammer_and_wrench": "1f6e0-fe0f", "calendar": "1f4c6", "beers": "1f37b",
    "heart_eyes": "1f60d", "saluting_face": "1fae1", "x": "274c", "snowflake": "2744-fe0f",
    "sparkles": "2728", "partying_face": "1f973", "green_heart": "1f49a", "cat": "1f408",
    "taco": "1f32e", "melting_face": "1fae0", "upside_down_face": "1f643", "zzz": "1f4a4",
    "ramen": "1f35c", "bulb": "1f4a1", "microphone": "1f3a4", "shamrock": "2618-fe0f",
    "sunny": "2600-fe0f", "electric_plug": "1f50c",
    "fingers_crossed": "1f91e", "hourglass": "231b", "lock": "1f512", "bow": "1f647",
    "this": "", "shipit": "", "partyparrot": "", "lgtm": "", "lumen": "", "meow_party": "",
}
# fmt: on

TOKEN_RE = re.compile(
    r"\[(?P<label>[^\]]+)\]\((?P<url>https?://[^)\s]+)\)"
    r"|(?P<bare>https?://[^\s<>]*[^\s<>.,;:!?)])"
    r"|(?<![\w@])@(?P<user>[a-z]+)\b"
    r"|(?<![\w&#/])#(?P<chan>[a-z][a-z0-9-]*[a-z0-9])"
    r"|:(?P<emoji>[a-z0-9_+-]+):"
    r"|\*(?P<bold>[^*\n]+)\*"
    r"|`(?P<code>[^`\n]+)`"
)
TOKEN_NAMES = ("label", "bare", "user", "chan", "emoji", "bold", "code")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Renderer:
    """Turns conversation text into Slack's ``text`` (mrkdwn) and a ``rich_text`` block."""

    def __init__(self, people: dict[str, Person], channels: dict[str, Channel]) -> None:
        self.people = people
        self.channels = channels

    def render(self, source: str) -> tuple[str, list[dict[str, object]]]:
        text_parts: list[str] = []
        elements: list[dict[str, object]] = []

        def plain(chunk: str) -> None:
            if not chunk:
                return
            text_parts.append(_escape(chunk))
            if elements and elements[-1].get("type") == "text" and "style" not in elements[-1]:
                elements[-1]["text"] = str(elements[-1]["text"]) + chunk
            else:
                elements.append({"type": "text", "text": chunk})

        position = 0
        for match in TOKEN_RE.finditer(source):
            plain(source[position : match.start()])
            position = match.end()
            group = next(name for name in TOKEN_NAMES if match.group(name) is not None)
            value = match.group(group)
            if group == "label":
                url = match.group("url")
                text_parts.append(f"<{url}|{_escape(value)}>")
                elements.append({"type": "link", "url": url, "text": value})
            elif group == "bare":
                text_parts.append(f"<{value}>")
                elements.append({"type": "link", "url": value})
            elif group == "user" and value in ("here", "channel"):
                text_parts.append(f"<!{value}>")
                elements.append({"type": "broadcast", "range": value})
            elif group == "user" and value in self.people:
                uid = self.people[value].uid
                text_parts.append(f"<@{uid}>")
                elements.append({"type": "user", "user_id": uid})
            elif group == "chan" and value in self.channels:
                cid = self.channels[value].cid
                text_parts.append(f"<#{cid}|{value}>")
                elements.append({"type": "channel", "channel_id": cid})
            elif group == "emoji" and value in EMOJI:
                text_parts.append(f":{value}:")
                emoji: dict[str, object] = {"type": "emoji", "name": value}
                if EMOJI[value]:
                    emoji["unicode"] = EMOJI[value]
                elements.append(emoji)
            elif group in ("bold", "code"):
                mark = "*" if group == "bold" else "`"
                text_parts.append(f"{mark}{_escape(value)}{mark}")
                elements.append({"type": "text", "text": value, "style": {group: True}})
            else:
                plain(match.group(0))
        plain(source[position:])
        return "".join(text_parts), elements


# --------------------------------------------------------------------------------------------
# Parsing the conversation
# --------------------------------------------------------------------------------------------

LINE_RE = re.compile(
    r"^(?P<reply>  > )?(?:(?P<md>\d\d-\d\d) )?(?P<hm>\d\d:\d\d)(?::(?P<sec>\d\d))? "
    r"(?P<who>[a-z]+): ?(?P<text>.*)$"
)
ATTR_RE = re.compile(r"^\s+\+ (?P<key>[a-z]+)(?::\s*(?P<value>.*))?$")


def _local(day: date, md: str | None, hm: str, tz: str) -> datetime:
    if md:
        month, dom = (int(part) for part in md.split("-"))
        day = date(day.year, month, dom)
    hour, minute = (int(part) for part in hm.split(":"))
    moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(tz))
    # A wall-clock time that does not exist (the skipped DST hour) would silently shift.
    if moment.astimezone(UTC).astimezone(ZoneInfo(tz)).replace(tzinfo=None) != moment.replace(
        tzinfo=None
    ):
        raise ValueError(f"{day} {hm} does not exist in {tz}")
    return moment


def parse_conversation(text: str, people: dict[str, Person]) -> list[Draft]:
    drafts: list[Draft] = []
    channel = ""
    day: date | None = None
    last_top: Draft | None = None
    last: Draft | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        where = f"conversation line {number}"
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        if line.startswith("## "):
            day = date.fromisoformat(line[3:13])
            continue
        if line.startswith("# "):
            channel, day, last_top, last = line[2:].strip(), None, None, None
            continue
        message = LINE_RE.match(line)
        if message:
            if day is None:
                raise ValueError(f"{where}: message before a day header")
            who = message["who"]
            if who not in people:
                raise ValueError(f"{where}: unknown author {who!r}")
            draft = Draft(
                channel=channel,
                author=who,
                local=_local(day, message["md"], message["hm"], people[who].tz),
                text=message["text"],
                order=len(drafts),
                seconds=int(message["sec"]) if message["sec"] else None,
            )
            if message["reply"]:
                if last_top is None:
                    raise ValueError(f"{where}: reply without a parent")
                draft.parent = last_top
                last_top.replies.append(draft)
            else:
                last_top = draft
            drafts.append(draft)
            last = draft
            continue
        attribute = ATTR_RE.match(line)
        if attribute and last is not None:
            key, value = attribute["key"], (attribute["value"] or "").strip()
            if key == "react":
                name, *who_reacted = value.split()
                last.reactions.append((name, who_reacted))
            elif key == "edited":
                md, _, hm = value.rpartition(" ")
                last.edited = _local(last.local.date(), md or None, hm, people[last.author].tz)
            elif key == "label":
                last.label = value
            elif key == "broadcast":
                last.broadcast = True
            elif key == "file":
                name, _, title = value.partition("|")
                last.files.append((name.strip(), title.strip()))
            else:
                raise ValueError(f"{where}: unknown attribute {key!r}")
            continue
        if raw.startswith("    ") and last is not None:
            last.text += " " + line.strip()
            continue
        raise ValueError(f"{where}: cannot read {line!r}")
    for draft in drafts:
        draft.text = draft.text.replace("\\n ", "\n").replace("\\n", "\n")
    return drafts


def assign_timestamps(drafts: list[Draft]) -> None:
    """Give every message a unique Slack ``ts``: its minute, plus stable pseudo-random seconds.

    Messages of one channel that share a minute keep their written order.
    """
    by_minute: dict[tuple[str, datetime], list[Draft]] = {}
    for draft in drafts:
        minute = draft.local.astimezone(UTC)
        by_minute.setdefault((draft.channel, minute), []).append(draft)
    for (channel, minute), group in by_minute.items():
        seeds = [f"{channel}|{d.author}|{d.text}|{d.order}" for d in group]
        seconds = sorted({_int(seed) % 57 for seed in seeds})
        while len(seconds) < len(group):
            seconds = sorted({*seconds, max(seconds) + 1})
        for draft, second, seed in zip(group, seconds, seeds, strict=False):
            second = draft.seconds if draft.seconds is not None else second
            whole = int((minute + timedelta(seconds=second)).timestamp())
            draft.ts = f"{whole}.{_int(seed + '#') % 1_000_000:06d}"
            if draft.edited is not None:
                edit = draft.edited.astimezone(UTC) + timedelta(seconds=_int(seed + "e") % 60)
                draft.edited_ts = f"{int(edit.timestamp())}.{_int(seed + '!') % 1_000_000:06d}"
    problems = [
        f"reply {draft.text[:40]!r} in #{draft.channel} is not after its parent"
        for draft in drafts
        if draft.parent is not None and _ts_key(draft.ts) <= _ts_key(draft.parent.ts)
    ]
    problems += [
        f"edit of {draft.text[:40]!r} is not after the message"
        for draft in drafts
        if draft.edited_ts and _ts_key(draft.edited_ts) <= _ts_key(draft.ts)
    ]
    if problems:
        raise ValueError("; ".join(problems))
    seen: set[tuple[str, str]] = set()
    for draft in drafts:
        if (draft.channel, draft.ts) in seen:
            raise ValueError(f"duplicate ts {draft.ts} in #{draft.channel}")
        seen.add((draft.channel, draft.ts))


def _digest(seed: str) -> bytes:
    return hashlib.sha256(seed.encode()).digest()


def _ts_key(ts: str) -> tuple[int, int]:
    whole, _, frac = ts.partition(".")
    return int(whole), int(frac)


# --------------------------------------------------------------------------------------------
# Export JSON
# --------------------------------------------------------------------------------------------


def _avatar(person: Person) -> str:
    return hashlib.sha256(("avatar:" + person.handle).encode()).hexdigest()[:12]


def _image(person: Person, size: int) -> str:
    stamp = _int("img:" + person.handle) % 10**10
    return (
        f"https://avatars.slack-edge.com/2024-09-1{_int(person.handle) % 9}/"
        f"{stamp}_{_avatar(person)}_{size}.jpg"
    )


def user_json(person: Person) -> dict[str, object]:
    first, _, last = person.real_name.partition(" ")
    tz = ZoneInfo(person.tz if not person.is_bot else LA)
    offset = EXPORTED_AT.astimezone(tz).utcoffset()
    assert offset is not None
    profile: dict[str, object] = {
        "title": person.title,
        "phone": "",
        "skype": "",
        "real_name": person.real_name,
        "real_name_normalized": person.real_name.replace("á", "a"),
        "display_name": person.display_name,
        "display_name_normalized": person.display_name.replace("á", "a"),
        "fields": None,
        "status_text": "",
        "status_emoji": "",
        "status_expiration": 0,
        "avatar_hash": _avatar(person),
        "first_name": first,
        "last_name": last,
        "image_24": _image(person, 24),
        "image_48": _image(person, 48),
        "image_72": _image(person, 72),
        "image_192": _image(person, 192),
        "image_512": _image(person, 512),
        "status_text_canonical": "",
        "team": TEAM_ID,
    }
    if person.is_bot:
        profile["bot_id"] = person.bot_id
        profile["api_app_id"] = "A0" + _code("app:" + person.handle, 9)
        profile["always_active"] = True
    else:
        profile["email"] = f"{person.handle}@lumenlabs.io"
    return {
        "id": person.uid,
        "team_id": TEAM_ID,
        "name": person.username,
        "deleted": person.deleted,
        "color": f"{_int('color:' + person.handle) % 0xFFFFFF:06x}",
        "real_name": person.real_name,
        "tz": tz.key,
        "tz_label": TZ_LABELS[tz.key],
        "tz_offset": int(offset.total_seconds()),
        "profile": profile,
        "is_admin": person.handle in ("maya", "marcus"),
        "is_owner": person.handle == "maya",
        "is_primary_owner": person.handle == "maya",
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": person.is_bot,
        "is_app_user": False,
        "updated": 1_700_000_000 + _int("upd:" + person.handle) % 70_000_000,
        "is_email_confirmed": not person.is_bot,
        "who_can_share_contact_card": "EVERYONE",
    }


def _epoch(day: str) -> int:
    return int(datetime.fromisoformat(day + "T15:00:00+00:00").timestamp())


def channel_json(channel: Channel, people: dict[str, Person]) -> dict[str, object]:
    members = channel.members or tuple(
        handle for handle, person in people.items() if not person.is_bot and not person.deleted
    )
    creator = people[channel.creator].uid
    return {
        "id": channel.cid,
        "name": channel.name,
        "created": _epoch(channel.created),
        "creator": creator,
        "is_archived": False,
        "is_general": channel.is_general,
        "members": [people[handle].uid for handle in members],
        "topic": {"value": channel.topic, "creator": creator, "last_set": _epoch(channel.created)},
        "purpose": {
            "value": channel.purpose,
            "creator": creator,
            "last_set": _epoch(channel.created),
        },
    }


PAGER_COLORS = {"Triggered": "D50000", "Acknowledged": "F9A825", "Resolved": "2E7D32"}


def message_json(
    draft: Draft,
    people: dict[str, Person],
    channels: dict[str, Channel],
    renderer: Renderer,
) -> dict[str, object]:
    person = people[draft.author]
    text, elements = renderer.render(draft.text)
    seed = f"{draft.channel}|{draft.ts}"
    if draft.text == "[joined]":
        return {
            "type": "message",
            "subtype": "channel_join",
            "ts": draft.ts,
            "user": person.uid,
            "text": f"<@{person.uid}> has joined the channel",
        }
    message: dict[str, object]
    if person.is_bot:
        message = {
            "type": "message",
            "subtype": "bot_message",
            "text": text,
            "ts": draft.ts,
            "username": person.display_name,
            "bot_id": person.bot_id,
            "icons": {"image_48": _image(person, 48)},
        }
        if person.handle == "pagerduty":
            state = next((s for s in PAGER_COLORS if s in draft.text), "Triggered")
            message["attachments"] = [
                {
                    "id": 1,
                    "color": PAGER_COLORS[state],
                    "fallback": f"{state}: {draft.text}",
                    "title": state,
                    "title_link": "https://lumenlabs.pagerduty.com/incidents",
                    "footer": "PagerDuty",
                }
            ]
    else:
        message = {
            "client_msg_id": str(uuid.UUID(bytes=_digest(seed)[:16], version=4)),
            "type": "message",
            "text": text,
            "user": person.uid,
            "ts": draft.ts,
            "blocks": [
                {
                    "type": "rich_text",
                    "block_id": _code("block:" + seed, 5).lower(),
                    "elements": [{"type": "rich_text_section", "elements": elements}],
                }
            ],
            "team": TEAM_ID,
            "user_team": TEAM_ID,
            "source_team": TEAM_ID,
            "user_profile": {
                "avatar_hash": _avatar(person),
                "image_72": _image(person, 72),
                "first_name": person.real_name.split()[0],
                "real_name": person.real_name,
                "display_name": person.display_name,
                "team": TEAM_ID,
                "name": person.username,
                "is_restricted": False,
                "is_ultra_restricted": False,
            },
        }
    if draft.files:
        message["files"] = [file_json(draft, person, name, title) for name, title in draft.files]
        message["upload"] = True
        message["display_as_bot"] = False
    if draft.edited_ts:
        message["edited"] = {"user": person.uid, "ts": draft.edited_ts}
    if draft.replies:
        replies = sorted(draft.replies, key=lambda reply: _ts_key(reply.ts))
        reply_users: list[str] = []
        for reply in replies:
            if people[reply.author].uid not in reply_users:
                reply_users.append(people[reply.author].uid)
        message.update(
            {
                "thread_ts": draft.ts,
                "reply_count": len(replies),
                "reply_users_count": len(reply_users),
                "latest_reply": replies[-1].ts,
                "reply_users": reply_users,
                "is_locked": False,
                "subscribed": False,
                "replies": [{"user": people[r.author].uid, "ts": r.ts} for r in replies],
            }
        )
    if draft.parent is not None:
        message["thread_ts"] = draft.parent.ts
        message["parent_user_id"] = people[draft.parent.author].uid
        if draft.broadcast:
            message["subtype"] = "thread_broadcast"
            root = message_json(draft.parent, people, channels, renderer)
            message["root"] = {
                key: root[key]
                for key in (
                    "type",
                    "text",
                    "user",
                    "bot_id",
                    "ts",
                    "thread_ts",
                    "reply_count",
                    "reply_users_count",
                    "latest_reply",
                    "reply_users",
                    "is_locked",
                    "subscribed",
                )
                if key in root
            }
    if draft.reactions:
        message["reactions"] = [
            {"name": name, "users": [people[h].uid for h in who], "count": len(who)}
            for name, who in draft.reactions
        ]
    return message


MIME = {
    "png": ("image/png", "PNG"),
    "jpg": ("image/jpeg", "JPEG"),
    "pdf": ("application/pdf", "PDF"),
    "csv": ("text/csv", "CSV"),
}


def file_json(draft: Draft, person: Person, name: str, title: str) -> dict[str, object]:
    file_id = "F0" + _code(f"file:{draft.ts}:{name}", 9)
    filetype = name.rsplit(".", 1)[-1]
    mimetype, pretty = MIME[filetype]
    slug = name.lower()
    base = f"https://files.slack.com/files-pri/{TEAM_ID}-{file_id}"
    return {
        "id": file_id,
        "created": int(float(draft.ts)),
        "timestamp": int(float(draft.ts)),
        "name": name,
        "title": title or name,
        "mimetype": mimetype,
        "filetype": filetype,
        "pretty_type": pretty,
        "user": person.uid,
        "user_team": TEAM_ID,
        "editable": False,
        "size": 40_000 + _int(file_id) % 2_000_000,
        "mode": "hosted",
        "is_external": False,
        "external_type": "",
        "is_public": True,
        "public_url_shared": False,
        "display_as_bot": False,
        "username": "",
        "url_private": f"{base}/{slug}",
        "url_private_download": f"{base}/download/{slug}",
        "permalink": f"https://{WORKSPACE_DOMAIN}.slack.com/files/{person.uid}/{file_id}/{slug}",
        "permalink_public": f"https://slack-files.com/{TEAM_ID}-{file_id}-{_avatar(person)[:10]}",
        "has_rich_preview": False,
        "file_access": "visible",
    }


def dump_json(value: object) -> str:
    # Slack writes exports with 4-space indents, ASCII escapes and escaped slashes.
    return json.dumps(value, indent=4, ensure_ascii=True).replace("/", "\\/") + "\n"


# --------------------------------------------------------------------------------------------
# The company
# --------------------------------------------------------------------------------------------

PEOPLE = [
    Person("maya", "Maya Goldberg", "Maya", "CEO & co-founder"),
    Person("devon", "Devon Price", "Devon", "VP Engineering"),
    Person("priya", "Priya Raman", "Priya", "Engineering Manager, Platform"),
    Person("kenji", "Kenji Watanabe", "kenji", "SRE Lead"),
    Person("arjun", "Arjun Mehta", "Arjun", "Site Reliability Engineer", tz=KOLKATA),
    Person("lena", "Lena Vogel", "Lena", "Staff Engineer, Integrations", tz=BERLIN),
    Person("felix", "Felix Braun", "Felix", "Solutions Engineer, EMEA", tz=BERLIN),
    Person("tomas", "Tomás Herrera", "tomás", "Frontend Engineer"),
    Person("omar", "Omar Haddad", "Omar", "Backend Engineer"),
    Person("zoe", "Zoe Lindqvist", "zoe", "Data Engineer"),
    Person("sam", "Sam Okafor", "Sam O", "Release Manager"),
    Person("ben", "Ben Adler", "Ben", "Product Manager, Beacon"),
    Person("jess", "Jess Thompson", "jess", "Product Designer"),
    Person("nina", "Nina Castellanos", "Nina", "Product Marketing"),
    Person("rachel", "Rachel Kim", "Rachel (People Ops)", "People & Workplace"),
    Person("marcus", "Marcus Reid", "Marcus", "IT & Security"),
    Person("grace", "Grace Liu", "Grace", "Finance"),
    Person("hannah", "Hannah Brooks", "Hannah", "Support Lead"),
    Person("leo", "Leo Marchetti", "Leo", "Customer Success"),
    Person("carla", "Carla Ruiz", "Carla", "Account Executive, West", tz=LA),
    Person("aisha", "Aisha Bello", "Aisha", "Frontend Engineer"),
    Person("danny", "Danny Cho", "danny", "Backend Engineer"),
    Person("ryan", "Ryan Fitch", "ryan", "Contractor, Data", deleted=True),
    Person("shipit", "Shipit", "shipit", "Deploy bot", is_bot=True),
    Person("ci", "Lumen CI", "Lumen CI", "Nightly test runner", is_bot=True),
    Person("pagerduty", "PagerDuty", "PagerDuty", "Incident alerts", is_bot=True),
]

ENGINEERS = (
    "devon",
    "priya",
    "kenji",
    "arjun",
    "lena",
    "felix",
    "tomas",
    "omar",
    "zoe",
    "sam",
    "aisha",
    "danny",
)
PRODUCT = ("ben", "jess", "nina", "maya")
CHANNELS = [
    Channel(
        "general",
        "maya",
        "2019-04-02",
        purpose="Company-wide news and announcements. Everyone is here.",
        topic="Lumen Labs HQ · 5th floor, 214 W 29th St · be kind, ask anything",
        is_general=True,
    ),
    Channel(
        "engineering",
        "devon",
        "2019-04-02",
        purpose="Engineering discussion, standups, planning and reviews.",
        topic="Standup 10:00 ET in the thread · on-call: see PagerDuty",
        members=(*ENGINEERS, *PRODUCT),
    ),
    Channel(
        "releases",
        "sam",
        "2020-01-15",
        purpose="Release plans, release notes and release status. One thread per release.",
        topic="Release notes live in Notion · changelog: lumenlabs.io/changelog",
        members=(*ENGINEERS, *PRODUCT, "hannah", "leo", "carla"),
    ),
    Channel(
        "incidents",
        "kenji",
        "2020-06-03",
        purpose="Declared incidents, updates and resolutions. Please keep chatter in threads.",
        topic="Declare with severity + start time · IC owns the thread",
        members=(*ENGINEERS, "maya", "hannah", "grace", "marcus", "leo"),
    ),
    Channel(
        "ops-maintenance",
        "kenji",
        "2021-02-11",
        purpose="Planned maintenance windows for production and the office.",
        topic="Post windows with a time zone, please",
        members=(*ENGINEERS, "hannah", "marcus"),
    ),
    Channel(
        "events-and-meetups",
        "rachel",
        "2021-09-20",
        purpose="Conferences, meetups, webinars and talks we go to or host.",
        topic="Conference budget requests → Grace",
        members=None,
    ),
    Channel(
        "random",
        "maya",
        "2019-04-02",
        purpose="Non-work banter and water cooler conversation.",
        topic="pets, plants, lunch",
    ),
    Channel(
        "deploys",
        "devon",
        "2020-01-15",
        purpose="Deploy and CI notifications from shipit and Lumen CI.",
        topic="bots live here · humans welcome in threads",
        members=ENGINEERS,
    ),
]


# The conversation. Times are wall-clock in the author's own time zone (see PEOPLE).
CONVERSATION = r"""
# general
## 2026-03-02
08:47 rachel: Good morning Lumen Labs ☀️ The coffee machine on 5 is fixed (thank you @marcus, our
    hero) and the oat milk is restocked
  + react: coffee danny tomas jess zoe
  + react: raised_hands ben hannah
09:31 maya: :calendar: *March all-hands is this Thursday (3/5) at 4pm ET* in the 5th floor kitchen
    + [Zoom](https://lumenlabs.zoom.us/j/84120937715). Agenda: Q1 so far, the Beacon launch plan,
    and two new faces.
    Drop questions in the [anonymous form](https://forms.gle/lumenallhandsQ1) by Wednesday night
    :pray:
  + edited: 09:34
  + label: allhands-announce
  + react: tada rachel devon nina jess ben
  + react: +1 kenji omar sam
  > 15:40 lena: 4pm ET is 22:00 here so I'll catch the recording 😴 have fun
  > 09:42 maya: always recorded! and we'll do a Berlin-friendly one in April, promise
  > 10:15 danny: is there food
  > 10:16 rachel: there is always food danny
    + react: joy danny tomas omar
10:02 marcus: :lock: Annual security awareness training is live in KnowBe4. It's ~25 min, mostly
    phishing stuff, and it's *due by Friday March 13*.
    SOC 2 auditors check completion so please don't make me chase you 😅 [Start
    here](https://training.knowbe4.com/lumenlabs)
  + label: sectraining-announce
  + react: +1 grace hannah leo
  > 10:20 omar: does it count if I fail the phishing quiz on purpose to see what happens
  > 10:21 marcus: it emails your manager
  > 10:21 omar: never mind
    + react: joy devon danny jess
14:05 hannah: shoutout to @leo for turning the Acme escalation around in 3 hours. they renewed for
    2 years this morning :tada:
  + react: tada maya leo carla nina
  + react: clap grace devon
  > 14:20 leo: team effort!! @omar found the bug in like 10 min
## 2026-03-03
09:12 grace: Hi all! February expense reports are due *EOD Friday* in Ramp. If you bought anything
    on the company card in Feb and it isn't coded yet, now's the time :pray:
  + label: expenses-announce
  + react: pray rachel
  > 09:30 tomas: does the monitor I bought in january count if I expense it now 👀
  > 09:34 grace: it counts if it has a receipt tomas
    + react: joy tomas danny
10:45 jess: new Zoom backgrounds just dropped 🎨 feel free to use them for customer calls
  + file: lumen-zoom-aurora.png | Zoom background — aurora
  + react: heart_eyes nina rachel zoe aisha
  + react: fire tomas
16:40 nina: anyone have a good recs for a photographer for headshots? the website team page is...
    vintage
  > 16:52 rachel: I have a guy! DMing
## 2026-03-04
10:51 hannah: FYI: several customers are reporting slow dashboards and API timeouts. Eng is on it,
    updates in #incidents.
    Please point customers at [status.lumenlabs.io](https://status.lumenlabs.io) rather than
    guessing ETAs :pray:
  + label: latency-general
  > 11:41 hannah: all clear: dashboards are fast again as of 11:35. thanks @kenji & @omar
    + label: latency-general-resolved
    + react: raised_hands leo carla
14:10 rachel: Reminder: *all-hands tomorrow at 4pm* on 5 + Zoom. Pizza from Joe's, and yes @jess
    there will be a vegan option this time
  + label: allhands-reminder
  + react: pizza danny omar tomas
  > 14:12 jess: 🥹 finally
16:30 zoe: does anyone have a spare usb-c to hdmi adapter? mine died mid-demo and I wanted to die
    with it
  > 16:35 marcus: IT closet, 2nd shelf. take two, they're cheap & they breed
## 2026-03-05
09:05 kenji: Cross-posting from #ops-maintenance: *Postgres 16 upgrade this Saturday night, 11pm ET
    → 3am ET Sunday*.
    The app is read-only during the window and customers have been emailed. Clocks spring forward
    at 2am, so it's really a 3-hour window. Details over there :point_right:
  + label: pg-general
  + react: eyes hannah leo
09:40 nina: :rocket: Beacon launch date is locked: *Wednesday March 18*. The blog post, Product
    Hunt and the customer email all go out at *9am PT (noon ET)*.
    Launch plan + who-does-what is [in
    Notion](https://www.notion.so/lumenlabs/Beacon-launch-plan-3f9a1c)
  + label: beacon-announce
  + react: rocket ben jess maya devon zoe
  + react: partyparrot tomas danny
  > 09:52 ben: LFG
  > 10:03 carla: can I tell prospects the date yet or is it under embargo?
  > 13:10 nina: tell them "mid-March" until the 16th pls :pray:
15:50 rachel: All-hands starting in 10 min! 5th floor kitchen or
    [Zoom](https://lumenlabs.zoom.us/j/84120937715) :wave:
  + label: allhands-live
17:32 maya: Thank you all for a great all-hands. Slides are [in
    Drive](https://drive.google.com/drive/folders/1Lm-allhands-2026-03) and the recording will be
    up tomorrow. Proud of this team ❤️
  + react: heart rachel devon priya nina jess ben kenji
## 2026-03-06
09:15 grace: expenses due today friends :pray: 11 reports still outstanding, you know who you are
  + label: expenses-reminder
  + react: see_no_evil tomas danny
10:30 marcus: PSA: clocks spring forward this Sunday at 2am (US only, Europe switches on the 29th).
    Invites with Berlin & Bangalore folks will shift by an hour for the next three weeks, so
    double-check your EU syncs!
  + label: ne-dst-psa
  + react: +1 priya lena
  > 16:44 felix: ah, the yearly three weeks of chaos 🙃
12:02 danny: lunch train to Los Tacos No. 1, leaving 12:15 from the elevators :taco:
  + label: ne-lunch-train
  + react: taco omar tomas aisha
## 2026-03-09
09:05 aisha: [joined]
09:20 rachel: Please welcome @aisha to Lumen Labs! :wave: Aisha joins the frontend team from Etsy,
    lives in Queens with a cat named Tofu, and already found a bug in the onboarding doc. Say hi!
  + label: ne-welcome
  + react: wave maya devon priya tomas jess danny omar zoe nina
  + react: cat jess tomas
  > 09:25 aisha: thank you!! so excited to be here (Tofu says hi too 🐈)
  > 09:31 tomas: welcome!! frontend corner is the best corner
10:05 zoe: :ramen: *Lunch & Learn this Thursday, 12:30–1:30* — "How we orchestrate pipelines with
    Dagster (and why our cron jobs cried on DST night)".
    Big conference room + Zoom, lunch from Dig. Everyone welcome, zero data background needed!
  + label: lnl-general
  + react: raised_hands rachel danny aisha ben
## 2026-03-10
11:00 marcus: 📡 NYC office heads-up: our ISP is swapping the fiber line on *Friday March 13 from
    6pm until Saturday noon*. Wifi, door badges and printers will be down. If you need to be in on
    Saturday morning, ping me and I'll let you in.
  + label: network-general
  > 11:05 zoe: door badges too? how do we get out lol
  > 11:06 marcus: the doors open from the inside zoe 😂 fire code
    + react: joy zoe danny
## 2026-03-11
09:02 hannah: :rotating_light: heads up: SSO logins (Google + Okta) are failing for some customers
    since 8:55. Password logins still work. We're on it in #incidents, status page is updated.
  + label: sso-general
  > 09:47 hannah: resolved ✅ SSO is working again since 9:40. Root cause was an expired signing
      cert on our side 🤦 postmortem to follow
    + label: sso-general-resolved
    + broadcast
10:15 rachel: 🏠 *The NYC office is closed Monday March 16*: the floors are being refinished. Please
    WFH that day, the building won't let anyone up. Back to normal on Tuesday!
  + label: officeclosed-announce
  + react: +1 maya marcus
  > 10:30 danny: does this mean the floors will stop squeaking
  > 10:31 rachel: nothing can fix the floors danny
    + react: joy danny jess
## 2026-03-12
09:30 marcus: Security training deadline is *tomorrow*. 14 of you still haven't finished. You'll
    get a DM from me shortly, which is worse
  + label: sectraining-reminder
  + react: grimacing danny tomas
11:45 rachel: Lunch & Learn in 45 min :ramen: big conference room or Zoom. The Dig bowls are here
  + label: lnl-reminder
14:02 zoe: thanks everyone who came to the L&L!! slides: [Dagster at
    Lumen](https://docs.google.com/presentation/d/1dagsterAtLumen) & yes the DST bug is now a test
  + react: clap priya kenji danny aisha
## 2026-03-13
10:00 rachel: :memo: Q1 self-reviews are open in Lattice and are *due in two weeks*. Please set
    aside an hour; managers start writing theirs right after. Template + guidance
    [here](https://lumenlabs.latticehq.com/reviews/q1-2026)
  + label: selfreview-announce
  > 10:20 tomas: same template as last time?
  > 10:22 rachel: yep, plus one new question about impact you're proud of
16:20 rachel: Reminder: office is closed Monday for the floors! Take your laptop chargers home
    :electric_plug:
  + label: officeclosed-reminder
## 2026-03-16
09:10 maya: Board meeting Wednesday 9am–noon, so I'm offline all morning. @devon has the conn. If
    something's actually on fire, text me
  + label: board-announce
  + react: saluting_face devon
10:30 rachel: :pizza: We're hosting *NYC Data Engineering Meetup #41* this *Wednesday at 6:30pm* at
    the office (5th floor). Two talks: @zoe on Dagster at Lumen, and a speaker from Datadog on OTel
    pipelines.
    We need 4 volunteers for check-in & cleanup, reply in thread!
  + label: meetup-general
  > 10:35 danny: me!
  > 10:41 jess: I'll do check-in
  > 11:02 omar: cleanup crew reporting for duty
  > 11:30 aisha: I can help too!
  > 11:32 rachel: amazing, that's 4 :raised_hands: thank you
12:15 jess: WFH day bc of the floors and my cat has now attended 3 meetings
  + react: cat aisha zoe rachel
## 2026-03-17
09:00 nina: T-minus 1 day :rocket: Beacon goes live *tomorrow at 9am PT / noon ET*. Please upvote
    on Product Hunt when it's up (link coming tomorrow). No hunting before 9am PT or we get flagged
    :pray:
  + label: beacon-reminder
  + react: rocket ben jess maya
## 2026-03-18
12:01 nina: WE'RE LIVE :tada: Beacon is out: [blog
    post](https://lumenlabs.io/blog/introducing-beacon) · [Product
    Hunt](https://www.producthunt.com/posts/lumen-beacon). Thank you to everyone who made this
    happen ❤️
  + label: beacon-live
  + react: tada maya devon ben jess zoe tomas danny rachel carla hannah
  + react: partyparrot tomas omar
  > 12:05 maya: so proud of this team. go upvote!!
  > 09:20 carla: already 2 prospects asking for demos 👀
17:45 rachel: doors open for the meetup in 45 min! volunteers, meet by the elevators at 6:10
    :pizza:
  + label: meetup-dayof
## 2026-03-19
14:05 hannah: Heads up team: some customers got a duplicate invoice *email* today. Nobody was
    charged twice. Eng is fixing it (#incidents), the reply macro is in the support drive. Please
    don't promise credits :pray:
  + label: invoices-general
## 2026-03-20
16:00 maya: Have a great weekend everyone. Safe travels to the KubeCon crew ✈️ bring back stickers
  + react: airplane kenji lena felix
  + react: heart rachel

# engineering
## 2026-03-02
15:05 lena: is anyone else seeing `test_webhook_retry_backoff` flake? failed 3 times for me this
    morning
  > 09:20 omar: yes, it's the clock mock. fix is in review, I'll ping you
  > 15:31 lena: danke 🙏
09:45 priya: standup in the thread today, Meet is being weird again 🧵
  > 09:46 omar: yesterday: finished the query planner change for 4.12. today: dashboard perf. no
      blockers
    + label: ne-standup-omar
  > 09:47 tomas: yesterday: query editor polish. today: more polish. blockers: my will to live (jk)
  > 09:49 zoe: today: Acme warehouse backfill. blocker: their snowflake creds expired again
  > 09:52 danny: yesterday: SCIM spike. today: writing up the spike. blockers: none
10:30 sam: Heads up: *4.12 goes out tomorrow (Tue) at 2pm ET*. Branch is cut, RC2 is on staging.
    Anything not merged by now rides 4.13. Release notes draft in #releases
  + label: rel412-eng
  + react: +1 devon priya omar
## 2026-03-03
10:00 priya: standup 🧵
  > 10:01 tomas: today: babysitting 4.12. nervous emoji
  > 10:03 kenji: today: pg16 rehearsal #3 on the staging clone. it took 2h10 last time, want it
      under 2h
  > 10:06 zoe: same backfill, now with working creds :muscle:
11:20 danny: who broke main? `make lint` is yelling about an import in billing-worker
  > 11:24 omar: me, sorry, fixing
  > 11:31 omar: fixed
    + react: pray danny
14:20 tomas: 4.12 is out and the new query editor is in the wild. I'm so nervous lol
  + react: fire jess ben
  > 14:25 jess: it looks SO good
  > 14:27 ben: already seeing people use saved views in the logs 👀
16:40 devon: Reminder that the Postgres 16 upgrade is *Saturday night*, @kenji has the runbook in
    #ops-maintenance. If you own a service that talks to the primary directly (billing-worker 👀),
    check the thread there today.
  + label: pg-eng
  > 16:45 omar: billing-worker goes through pgbouncer now 😇
  > 16:46 devon: 🙏
## 2026-03-04
11:50 omar: ok so the latency thing this morning was 100% my query planner change in 4.12 😞 hotfix
    PR is up. @sam can we get a 4.12.1 out today?
  > 11:55 sam: yes, going out tonight at 8pm ET once traffic dips. Details in #releases
    + label: hotfix-eng
  > 11:57 kenji: no shame omar, the canary should have caught it. that one's on the pipeline
    + react: heart omar
15:30 ben: Beacon PRD v3 is up: [Beacon PRD](https://www.notion.so/lumenlabs/Beacon-PRD-v3-c01d).
    biggest change: alert grouping is in, anomaly explanations are out (v2)
  > 15:41 jess: noted, updating the flows
## 2026-03-05
10:10 jess: Beacon alert-builder *design review next Tuesday at 3pm* (Hudson room + Meet). Figma is
    [here](https://www.figma.com/file/Lb7aQ2/Beacon-alert-builder). Bring opinions, esp. about the
    threshold picker 🎨
  + label: designreview-announce
  + react: eyes tomas ben
  > 03-09 10:40 jess: moving this to *Wednesday 11am*. Tuesday got eaten by customer calls for half
      the invitees. Same room, invite updated
    + label: designreview-moved
  > 03-09 10:45 tomas: 👍
14:12 kenji: TIL pg16 logical replication can do parallel apply. not using it saturday but 👀 for
    later
15:00 priya: Sprint 5 retro is *tomorrow at 3pm*, Hudson room + Meet. Add your stickies to the
    [board](https://miro.com/app/board/lumen-retro-s5) before then
  + label: retro6-announce
  > 15:20 danny: what's the meet link for the retro?
    + label: ne-retro-link-question
  > 15:21 priya: it's in the invite! and [here](https://meet.google.com/kpr-xwqe-tzn)
## 2026-03-06
11:20 lena: Architecture review for webhooks v2 is on *Monday 16:00 CET* (1h). RFC
    [here](https://www.notion.so/lumenlabs/Webhooks-v2-RFC-81c2).
    :warning: US folks: your clocks change on Sunday, so that's *11:00 ET*, not 10:00 like our
    usual sync
  + label: archreview-announce
  + react: pray priya devon
  > 09:02 priya: thank you for the heads-up, I would 100% have shown up at 10
  > 09:15 devon: accepted. @omar you should come, billing-worker is the biggest webhook consumer
  > 09:20 omar: 👍 will read the RFC tonight
14:55 priya: retro in 5!
  + label: retro6-live
16:10 devon: great retro everyone. action items are in the doc with owners. tl;dr canary deploys
    become mandatory, and we stop merging on Friday afternoons (sorry sam)
  + react: +1 sam kenji
  > 16:12 sam: why are you apologizing to me I'm the one who asked for it
## 2026-03-09
09:10 aisha: [joined]
09:30 devon: 4.13 is slipping from Tuesday to Thursday, see #releases. The staging migration test
    is still flaky and I'd rather ship Thursday than spend Tuesday night rolling back
  + label: rel413-eng
  + react: +1 priya kenji
10:00 priya: standup 🧵 (welcome @aisha!)
  > 10:02 aisha: hi! today: laptop setup + reading the frontend onboarding doc. blockers: none yet
      🙂
  > 10:04 omar: today: reading the webhooks v2 RFC before the review
  > 10:09 kenji: today: postmortem writeup for the DST export thing. short version: never schedule
      in local time
16:30 omar: that arch review was great, lots to chew on. thanks @lena
  > 22:35 lena: thanks for all the comments! I'll fold them into v2 of the RFC this week
## 2026-03-10
10:15 devon: Planning note: 4.14 is the last release of Q1 and it *ships in two weeks* if nothing
    slips. Scope is SCIM + audit log. Please don't sneak Beacon v2 work into it 🙃
  + label: rel414-announce
  + react: joy ben
  > 10:20 ben: who would do such a thing
  > 10:21 devon: ben
    + react: joy tomas danny jess
13:30 aisha: dumb question: where do feature flags live? found three different yaml files
  > 13:34 tomas: not dumb at all, the answer is "LaunchDarkly, and the yaml files are lies". adding
      that to the onboarding doc
## 2026-03-11
10:30 devon: *Q2 planning kickoff: Tuesday March 17, 1–3pm ET*, Hudson room + Meet. Leads: bring
    your top 3 bets and one thing you'd stop doing. Pre-read coming Friday.
  + label: q2-announce
  + react: +1 priya ben kenji
  > 03-16 09:40 devon: Moving Q2 planning to *Thursday 2pm*: Beacon launch prep is eating Tuesday.
      Same room, invite updated.
    + label: q2-moved1
    + broadcast
  > 03-16 09:52 priya: works for me
  > 03-18 08:30 devon: ugh, board follow-ups. Pushing 30 min: *Thursday 2:30–4:30pm* now. Sorry for
      the calendar churn!
    + label: q2-moved2
  > 03-18 08:41 ben: 👍 still Hudson?
  > 03-18 08:42 devon: still Hudson
14:10 kenji: honestly the release last Tuesday was rough. can we make the canary step mandatory
    *before* 4.13 ships, not after?
  + label: ne-release-last-tuesday
  > 14:15 sam: already on it, the canary stage lands in the pipeline today
  > 14:18 omar: +1, I'd like to never page kenji at 10am again
    + react: joy kenji
## 2026-03-12
10:00 priya: standup 🧵
  > 10:03 aisha: first PR is up!! tiny CSS fix but still 🥹
    + react: tada tomas priya jess danny
  > 10:05 danny: 4.13 release checklist with sam, then SCIM
  > 10:06 omar: webhooks v2 RFC comments, then sleeping until the release
14:45 tomas: 4.13 is out 🎉 Beacon beta flag is live for design partners, go click around
  + react: tada jess ben aisha
## 2026-03-13
15:00 devon: Mark your calendars, *tentatively*: we're planning a 2-day hackathon *April 2–3*.
    Theme TBD, prizes not TBD (they're good). Details once Q2 planning settles.
  + label: hackathon-announce
  + react: tada danny tomas aisha zoe omar
16:00 priya: reminder: Tuesdays are no-meeting days for the platform team starting next week.
    please don't book us 🙏
  + label: ne-no-meeting-tuesdays
## 2026-03-16
09:15 sam: 4.14 *code freeze is EOD Friday*. After that only release blockers go in, and they go
    through me ❄️
  + label: freeze-announce
  + react: snowflake devon priya
  > 09:30 tomas: does EOD mean 5pm or "before I go to bed"
  > 09:31 sam: it means before *I* go to bed, but please don't test me
09:40 priya: Sprint 6 retro *Friday 3pm* as usual, same board
  + label: retro20-announce
  > 03-19 11:10 priya: Retro tomorrow is cancelled, sorry all. Half of us fly to Amsterdam on
      Friday. Async retro in the [doc](https://www.notion.so/lumenlabs/Sprint-6-retro-2b1f) instead
    + label: retro20-cancelled
    + react: +1 kenji sam
## 2026-03-17
10:00 priya: standup 🧵 (async, half the team is in launch prep)
  > 10:12 danny: SCIM groups endpoint done, tests green
  > 10:20 zoe: meetup talk dry run at 3 if anyone wants to heckle
## 2026-03-18
11:30 aisha: my first PR got merged and it's already in prod?? this place is wild
  + react: tada tomas priya devon jess
  > 11:33 tomas: welcome to continuous deployment 😎
## 2026-03-19
09:20 sam: Freeze is *tomorrow EOD*. If your PR isn't green by then it's in 4.15 ❄️
  + label: freeze-reminder
  + react: snowflake tomas
## 2026-03-20
18:40 sam: ❄️ 4.14 is frozen. Thanks all. Blockers only from here, DM me
  + label: freeze-live

# releases
## 2026-03-02
10:25 sam: 📦 *Lumen 4.12* ships *tomorrow, Tuesday March 3 at 2pm ET*.\n
    Highlights: new query editor, saved views, 30% faster CSV export.\n
    Draft notes: [4.12 release notes](https://www.notion.so/lumenlabs/Release-4-12-a91b)
  + label: rel412-announce
  + react: rocket ben tomas nina
  > 10:40 ben: can we mention the keyboard shortcuts in the notes? people keep asking
  > 10:44 sam: added ✅
14:30 sam: 📱 Mobile *2.8* (iOS + Android) is submitted to the stores. If Apple is kind it'll be
    live Thursday. Ships dark mode + offline dashboards
  + label: mobile28-announce
  + edited: 14:33
  + react: crossed_fingers tomas jess
  > 03-05 09:40 sam: Apple bounced it (missing camera permission string 🙄 we don't even use the
      camera). Resubmitted, now looking like *Friday*. Play Store build is approved and held so
      both go out together
    + label: mobile28-moved
  > 03-05 09:45 tomas: the camera thing is from the QR login SDK, my bad
  > 03-06 11:20 sam: 2.8 is live on both stores :tada:
    + label: mobile28-live
    + react: tada tomas jess nina
## 2026-03-03
13:55 sam: Starting the 4.12 rollout now :rocket:
  + label: rel412-start
14:32 sam: ✅ *4.12 is live* for all customers. Thanks everyone! Notes: [4.12 release
    notes](https://www.notion.so/lumenlabs/Release-4-12-a91b)
  + label: rel412-live
  + react: tada ben tomas jess nina devon
## 2026-03-04
12:10 sam: 🩹 *4.12.1 hotfix* going out *tonight at 8pm ET*, when traffic is lowest. Reverts the
    query planner change behind this morning's latency spike (see #incidents). No downtime
    expected.
  + label: hotfix-announce
20:25 sam: 4.12.1 is out, p95 looks normal. going to bed 😴
  + label: hotfix-live
  + react: pray omar kenji
## 2026-03-05
11:00 sam: 📦 *Lumen 4.13* target: *Tuesday March 10, 2pm ET*. Headline: Beacon public beta flag,
    webhook retries UI, SSO improvements. Notes draft soon.
  + label: rel413-announce
  + edited: 11:06
  + react: +1 ben devon
  > 03-09 09:15 sam: :warning: *4.13 is moving to Thursday (March 12), same time, 2pm ET.* The
      staging migration test is still flaky and we're not shipping a migration we can't rehearse.
    + label: rel413-moved
    + broadcast
  > 03-09 09:20 ben: makes sense. I'll update the changelog page
  > 03-09 09:21 devon: 👍 good call
## 2026-03-11
15:00 sam: Reminder: 4.13 goes out *tomorrow at 2pm ET*. Migration rehearsal passed twice on
    staging :tada:
  + label: rel413-reminder
## 2026-03-12
14:40 sam: ✅ *4.13 is live!* Beacon beta flag is on for design partners, webhook retries UI for
    everyone. [Notes](https://www.notion.so/lumenlabs/Release-4-13-77e0)
  + label: rel413-live
  + react: tada ben tomas jess nina aisha
## 2026-03-16
10:00 ben: has anyone seen the changelog for 4.11? trying to figure out when we changed the CSV
    delimiter setting
  + label: ne-changelog-question
  > 10:10 sam: 4.11 went out Feb 17, it's in the [changelog](https://lumenlabs.io/changelog#4-11)
    + label: ne-past-release
## 2026-03-17
11:00 sam: 4.14 scope is locked: SCIM groups, audit log export, and a pile of small fixes. Freeze
    Friday, ship target *Tuesday March 24*.
  + label: rel414-repeat

# incidents
## 2026-03-04
10:42 pagerduty: :red_circle: *Triggered* #4817: api-gateway p95 latency > 2s (currently 4.3s).
    Service: Lumen API · Urgency: high · Assigned: Kenji Watanabe
  + label: latency-pd-trigger
  > 10:44 kenji: ack, looking
10:47 kenji: Declaring *SEV2*: API p95 latency 4s+ since 10:42 ET, dashboards timing out for a
    chunk of customers. I'm IC, @omar is on the fix. Updates in thread 🧵
  + label: latency-declare
  + react: eyes devon priya hannah
  > 10:58 omar: it's the new query planner path from 4.12: big tenants hit a seq scan. rolling back
      the flag
  > 11:20 kenji: flag rolled back, p95 coming down. watching
  > 11:36 kenji: ✅ *Resolved at 11:35 ET.* p95 back under 300ms. The real fix ships as 4.12.1
      tonight. Postmortem to follow.
    + label: latency-resolved
  > 11:38 hannah: thank you!! updating the status page
11:36 pagerduty: :large_green_circle: *Resolved* #4817: api-gateway p95 latency > 2s. Resolved by
    Kenji Watanabe
  + label: latency-pd-resolved
## 2026-03-06
11:00 kenji: postmortem for Wednesday's latency incident is up:
    [PM-2026-004](https://www.notion.so/lumenlabs/PM-2026-004-api-latency-9b2c). comments welcome,
    blameless as always
  + react: pray omar
## 2026-03-08
20:05 arjun: Declaring *SEV3* 🟠 Scheduled CSV exports for US tenants didn't run overnight. The
    scheduler skipped every job set between 02:00 and 03:00 America/New_York, because that hour
    didn't exist (DST).
    Impact since 07:00 UTC: ~140 customers missing their daily export. Paging @kenji since it's
    morning there
  + label: dst-declare
  + react: eyes kenji
  > 10:41 kenji: on it. confirmed: croniter + our "local time" schedules 🙃 re-running the missed
      batch now
  > 11:22 kenji: ✅ *Resolved 11:20 ET*: all 143 missed exports re-ran and were delivered. Schedules
      will be stored in UTC from now on, and we're adding a DST test before November
    + label: dst-resolved
  > 20:58 arjun: thanks! going to go eat dinner now 🍛
## 2026-03-11
08:55 pagerduty: :red_circle: *Triggered* #4902: auth-service SAML assertion failures > 5%.
    Urgency: high · Assigned: Arjun Mehta
  + label: sso-pd-trigger
  > 18:28 arjun: ack. SAML responses failing signature validation, looking
09:01 kenji: Declaring *SEV2*: SSO (Google + Okta SAML) logins failing for ~30% of attempts since
    08:55 ET. Password logins OK. @arjun is IC
  + label: sso-declare
  > 18:55 arjun: found it: our SAML signing cert expired at 12:55 UTC. rotating now 🤦
  > 19:11 arjun: ✅ Resolved as of 09:40 ET, new cert deployed, logins succeeding. Action item: cert
      expiry alerts (we had one, it went to a deleted mailbox 🙃)
    + label: sso-resolved
    + react: pray hannah kenji marcus
09:41 pagerduty: :large_green_circle: *Resolved* #4902: auth-service SAML assertion failures > 5%.
    Resolved by Arjun Mehta
  + label: sso-pd-resolved
## 2026-03-14
03:12 pagerduty: :red_circle: *Triggered* #4950: worker-7 disk usage > 85%. Urgency: low
  + label: ne-pd-flap-trigger
  > 09:30 kenji: flappy log-rotation alert again, not an incident. LUM-2231 to raise the threshold
03:16 pagerduty: :large_green_circle: *Resolved* #4950: worker-7 disk usage > 85%. Auto-resolved
  + label: ne-pd-flap-resolved
## 2026-03-17
14:35 lena: Declaring *SEV3*: webhook deliveries to EU-region endpoints delayed by up to 20 min
    *since 14:20 CET*. The queue consumer in eu-central-1 got stuck after a node replacement. US
    region unaffected. I'm IC.
  + label: webhooks-declare
  + react: eyes felix kenji
  > 14:50 lena: consumer restarted, backlog draining (~9k events)
  > 15:07 lena: ✅ Resolved 15:05 CET: backlog fully drained, deliveries on time again. Customers
      with retries enabled got everything; a handful without retries need a manual replay, @felix
      is contacting them.
    + label: webhooks-resolved
  > 10:15 hannah: thanks Lena! I'll post a note on the status page
  > 15:20 felix: on it, 3 customers affected, pinging them this afternoon
## 2026-03-18
13:05 hannah: is the app slow for anyone else right now? dashboards taking ages
  + label: ne-false-alarm-question
  > 13:09 kenji: all green on our side, p95 is 180ms. VPN?
  > 13:12 hannah: ...it was my VPN. false alarm, sorry 🙈
    + label: ne-false-alarm
## 2026-03-19
13:25 omar: Declaring *SEV2*: billing-worker double-processed Stripe `invoice.finalized` webhooks
    *since 13:10 ET*. ~40 customers got a duplicate invoice email (charged once, thank god). Worker
    paused. I'm IC, @grace is looped in.
  + label: invoices-declare
  + react: eyes grace devon hannah
  > 13:40 grace: confirmed, no double charges in Stripe, only emails. phew
  > 15:10 omar: fix in review: idempotency key on the handler (yes, it should have had one 🙃)
  > 16:46 omar: ✅ *Resolved 16:45 ET.* Fix deployed, worker resumed, apology email to the 41
      affected customers is out. Postmortem next week.
    + label: invoices-resolved
  > 16:50 devon: nice work. that's the 2nd missing-idempotency bug this quarter, let's put it on
      the Q2 list

# ops-maintenance
## 2026-03-02
11:00 kenji: :hammer_and_wrench: *Scheduled maintenance: Postgres 14 → 16 upgrade on the primary
    cluster*\n
    *When:* Saturday March 7, 11:00pm ET → Sunday March 8, 3:00am ET\n
    *Impact:* app is read-only, writes return 503 and the API clients retry.\n
    *Note:* clocks spring forward at 2am on Sunday, so the window is 4h on the wall clock but only
    3h of real time.\n
    Runbook: [PG16 upgrade runbook](https://www.notion.so/lumenlabs/PG16-upgrade-runbook-55de)
  + label: pg-announce
  + edited: 11:08
  + react: eyes priya devon arjun
  > 11:20 priya: customer comms going out today?
  > 11:30 hannah: yep, email + status page banner this afternoon
  > 03-06 16:00 danny: is this still happening tomorrow night?
    + label: ne-pg-still-on-question
  > 03-06 16:05 kenji: yep, still on: tomorrow 11pm ET. I'll post here when we start
    + label: pg-confirm
## 2026-03-07
22:58 kenji: Starting the Postgres 16 upgrade now. App is in read-only mode :lock:
  + label: pg-start
  > 03-08 00:41 kenji: pg_upgrade done, replicas catching up
  > 03-08 01:55 kenji: ✅ Done, out of read-only as of 1:55am. Home before the clocks jump, which
      feels like cheating. going to sleep 💤
    + label: pg-done
    + react: tada devon priya arjun omar
## 2026-03-10
20:10 arjun: 🧪 *Redis failover drill* on the prod cache cluster: *Thursday 16:00 UTC* (12:00 ET ·
    17:00 CET · 21:30 IST), ~30 min. Expect a few seconds of extra cache misses, nothing
    customer-visible. Shout if that clashes with anything
  + label: redis-announce
  > 10:50 sam: 12:00 ET Thursday is 2 hours before 4.13 goes out... can we do it after?
  > 20:30 arjun: it's 30 min and done well before, and honestly a good rehearsal. keeping it, ok?
  > 11:05 sam: fair, ok 👍
## 2026-03-12
11:15 marcus: Cross-posting the office network thing from #general: ISP fiber swap *Friday 6pm →
    Saturday noon* at the NYC office. Prod is unaffected (obviously), this is just the office.
  + label: network-ops
21:28 arjun: starting the redis failover drill
  + label: redis-start
  > 21:58 arjun: ✅ drill done. failover took 11s, 0.4% cache misses for ~40s
    + label: redis-done
    + react: muscle kenji priya
## 2026-03-13
11:40 kenji: 📣 AWS scheduled maintenance on our analytics read replica (`analytics-ro-1`): *Sunday
    March 15, 05:00–05:30 UTC*. Mandatory, can't defer. Dashboards may show data up to ~30 min
    stale during the window, nothing else affected.
  + label: rds-announce
## 2026-03-15
11:05 arjun: AWS maintenance on analytics-ro-1 finished at 05:24 UTC, replica lag back to 0 ✅
  + label: rds-done
## 2026-03-16
14:00 priya: :hammer_and_wrench: *EKS node pool upgrade to 1.33*: *Thursday March 19, 9–11pm ET*.
    Rolling, no downtime expected, but deploys are blocked during the window. @arjun will watch
    from the IST morning side.
  + label: k8s-announce
  > 14:10 sam: thursday night before freeze friday... brave 😬
  > 14:12 priya: it's rolling! what could go wrong
    + react: skull sam kenji
  > 03-19 15:30 priya: Cancelled, sorry all. With the invoice incident still open we're not
      touching the cluster tonight. We'll find a slot after 4.14 ships.
    + label: k8s-cancelled
    + broadcast
## 2026-03-18
10:00 marcus: does anyone know when we last rotated the TLS certs for the marketing site? my notes
    say Jan 14 but my notes are a mess
  + label: ne-tls-question
  > 10:30 kenji: Jan 14 is right, they're Let's Encrypt, auto-renewing. you're fine

# events-and-meetups
## 2026-03-02
14:30 felix: 🇳🇱 *KubeCon + CloudNativeCon Europe* is *March 23–26 in Amsterdam* and we have 3
    passes: @lena, @kenji and me. If you have EU customers who'll be there, send them my way, happy
    to grab coffee
  + label: kubecon-announce
  + react: tada lena kenji devon
  > 09:05 kenji: 🙌 my first KubeCon, booking flights today
  > 09:40 hannah: do we have a booth?
  > 15:50 felix: no booth this year, just us and a suitcase of stickers
## 2026-03-03
11:00 zoe: We're hosting *NYC Data Engineering Meetup #41* at the office on *Wednesday March 18,
    6:30–9pm* :tada: I'm giving the Dagster talk, plus a speaker from Datadog on OTel pipelines.
    Pizza + drinks.
    RSVP on [Meetup](https://www.meetup.com/nyc-data-engineering/events/309412877/), we cap at 80
  + label: meetup-announce
  + react: tada rachel nina jess
  > 11:20 nina: I'll do a LinkedIn post next week
  > 11:30 jess: want me to make a slide template?
  > 11:31 zoe: yes pls 🙏
## 2026-03-04
15:00 ben: Thinking about sending 2 people to *DataOps Summit* in Austin, April 14–15. Budget isn't
    approved yet, so consider this very tentative. Who'd want to go?
  + label: dataops-announce
  > 15:10 zoe: 🙋‍♀️
  > 15:12 omar: me if zoe doesn't
  > 15:40 grace: let me look at the Q2 travel budget before anyone books anything :pray:
## 2026-03-09
15:10 felix: I'm speaking at the *Kubernetes Berlin meetup* on *Thursday March 19, 19:00 CET* at
    betahaus Kreuzberg: "Running customer-facing webhooks on spot nodes without crying". Come if
    you're around (so: Lena) 😄 [meetup
    link](https://www.meetup.com/kubernetes-berlin/events/309877215/)
  + label: berlin-announce
  + react: microphone lena kenji zoe
  > 15:15 lena: obviously I'm coming
  > 10:30 tomas: I'll watch the stream from NY if there is one
## 2026-03-11
13:00 nina: 🎥 Customer webinar: *"Meet Beacon"*, *Thursday March 19, 1pm ET / 10am PT*, 45 min.
    @ben + @jess demo, Q&A at the end. [Registration](https://lumenlabs.io/webinars/meet-beacon).
    Please share with customers!
  + label: webinar-announce
  + react: raised_hands carla leo hannah
  > 10:30 carla: sharing with my whole pipeline 🙌
## 2026-03-12
16:00 danny: anyone going to SXSW this week? asking for a friend (the friend is me and I'm not
    going)
  + label: ne-sxsw
  > 16:05 nina: marketing went last year, the tacos were the best part
## 2026-03-13
09:30 leo: the recording from last month's meetup is finally up: [NYC Data Eng
    #40](https://www.youtube.com/watch?v=q8Xk3bPz1aE)
  + label: ne-recording
## 2026-03-17
16:00 zoe: Meetup is *tomorrow*! 74 RSVPs 😳 Doors 6:30, talks at 7. Volunteers, you're amazing
  + label: meetup-reminder
  + react: tada rachel danny jess
## 2026-03-19
09:05 nina: Webinar *today at 1pm ET*, 212 registrations! :tada:
  + label: webinar-reminder
  + react: tada ben jess carla
21:40 felix: talk went well, ~60 people, nobody threw anything. slides:
    [spot-webhooks.pdf](https://speakerdeck.com/felixbraun/spot-webhooks)
  + react: clap lena kenji zoe
## 2026-03-20
09:00 kenji: KubeCon crew: anyone have a spare EU plug adapter? mine is somewhere in my 2019
    suitcase
  > 15:10 lena: I'll bring two, see you in Amsterdam

# random
## 2026-03-02
08:30 tomas: monday again 😩 who moved the weekend
  + react: sob danny zoe
12:10 omar: ordering from Xi'an Famous Foods at 12:30, drop your order in the thread :ramen:
  + label: ne-lunch-order
  > 12:12 danny: spicy cumin lamb noodles pls
  > 12:13 zoe: tiger vegetable salad + liang pi
  > 12:20 tomas: same as danny
15:30 jess: the office plant is thriving, actually
  + file: monstera-update.jpg | monstera update
  + react: green_heart zoe rachel aisha
## 2026-03-03
10:15 danny: hot take: tabs > spaces and I'll die on this hill
  > 10:17 omar: see you on the hill. I'll be the one with the spaces
  > 10:20 tomas: this is why we have a formatter
## 2026-03-04
11:00 danny: what time is the all-hands tomorrow?
  + label: ne-allhands-question
  > 11:02 jess: 4, and there's pizza
## 2026-03-05
09:15 jess: did anyone watch the keynote yesterday? I want the new laptop so bad
  + label: ne-keynote
  > 09:20 tomas: the colors 😍
  > 09:22 omar: I watched 10 min and then it was just vibes
## 2026-03-06
10:00 tomas: I'm out next Friday btw, long weekend in Montreal 🇨🇦
  + label: ne-ooo
  + react: airplane danny
15:30 danny: game night last Thursday was incredible. jess you are a Codenames menace
  + label: ne-game-night
  + react: joy jess tomas
## 2026-03-07
11:00 zoe: farmer's market haul, the ramps are back early 🌱
  + file: union-square-haul.jpg | union square haul
  + react: heart_eyes jess rachel
## 2026-03-08
10:30 jess: losing an hour of sleep should be illegal 😭
  + react: 100 danny tomas zoe
## 2026-03-09
11:30 danny: since 4.13 is Thursday now... post-release happy hour Thursday 6pm? :beers: Pete's
    Tavern?
  + label: happyhour-announce
  > 11:40 omar: in
  > 11:45 jess: in, as long as we don't talk about migrations
  > 12:02 aisha: can new people come 👀
  > 12:03 danny: new people are REQUIRED to come
  > 13:05 danny: ok it's happening: *Thursday 6pm, Pete's Tavern* (upstairs). put a hold on the
      team calendar
    + label: happyhour-confirm
## 2026-03-10
10:30 rachel: :pie: Pi Day is on Saturday this year, so we're celebrating *Friday at 3:14pm* in the
    kitchen. Pies from Petee's. Yes, there will be key lime. Yes @tomas, there will also be a pizza
    pie for the pie skeptics
  + label: piday-announce
  + react: pie danny zoe jess omar aisha
  > 10:35 tomas: justice
## 2026-03-11
12:00 danny: Happy birthday @tomas!! :birthday: :tada:
  + label: ne-birthday
  + react: birthday jess zoe omar rachel aisha priya
  > 12:10 tomas: thank you friends 🥹 cupcakes on 5 (from me, to me, for you)
## 2026-03-12
17:55 danny: heading to Pete's in 5, first round's on devon (he doesn't know yet)
  + label: happyhour-live
  > 17:58 devon: I do now. fine. FINE.
    + react: joy danny omar jess
## 2026-03-13
15:05 rachel: pie time in 10! :pie: kitchen
  + label: piday-reminder
## 2026-03-14
11:00 zoe: happy Pi Day nerds 🥧 3.14159…
  + label: ne-piday-saturday
## 2026-03-15
14:00 omar: did anyone watch the finale last night? no spoilers in channel please, thread only
  + label: ne-finale
  > 14:20 zoe: I screamed
## 2026-03-17
08:30 leo: St. Patrick's Day parade is on 5th Ave today. If you're coming in, avoid 44th–79th and
    give yourself extra time :shamrock:
  + label: ne-parade
11:00 zoe: dentist at 2, back by 3:30 if anyone needs me
  + label: ne-dentist
## 2026-03-19
12:30 tomas: remember the 2019 Postgres migration that took 14 hours? this one took 3. growth
  + label: ne-2019-migration
  + react: skull kenji omar
## 2026-03-20
16:30 kenji: off to JFK ✈️ see you all from Amsterdam
  + react: airplane maya lena
## 2026-03-21
10:00 aisha: first weekend in NYC with actual sun. Tofu is sunbathing
  + file: tofu-sunbathing.jpg | tofu sunbathing
  + react: cat jess zoe tomas rachel
## 2026-03-22
11:00 kenji: Amsterdam is very bikey. almost got taken out twice before breakfast
  + react: joy lena felix

# deploys
## 2026-03-02
03:04 ci: Nightly e2e on `main` @ 3f2a91c: ✅ 412 passed · 0 failed · 18m41s
10:12 shipit: :rocket: *lumen-web* `v4.12.0-rc.2` deployed to *staging* by sam. [build
    #2817](https://ci.lumenlabs.io/builds/2817)
## 2026-03-03
03:03 ci: Nightly e2e on `main` @ 8d17c0e: ✅ 414 passed · 0 failed · 18m55s
13:56 shipit: :rocket: *lumen-web* `v4.12.0` rollout to *production* started by sam (canary 10% →
    50% → 100%)
14:29 shipit: ✅ *lumen-web* `v4.12.0` deployed to *production* (all regions) in 33m
  + label: rel412-bot
## 2026-03-04
03:02 ci: Nightly e2e on `main` @ 8d17c0e: ✅ 414 passed · 0 failed · 18m37s
11:12 shipit: :rocket: *lumen-api* flag `query_planner_v2` set to *off* in *production* by omar
20:03 shipit: :rocket: *lumen-web* `v4.12.1` rollout to *production* started by sam
20:21 shipit: ✅ *lumen-web* `v4.12.1` deployed to *production* (all regions) in 18m
  + label: hotfix-bot
## 2026-03-05
03:05 ci: Nightly e2e on `main` @ b40e9a2: ❌ 411 passed · 3 failed · 19m02s. Failing:
    `test_webhook_retry_backoff`, `test_export_schedule_local`, `test_saved_view_share`
  > 09:10 omar: the first two are the clock mock, fix merges today
  > 09:25 tomas: saved_view_share is me, looking
## 2026-03-06
03:03 ci: Nightly e2e on `main` @ 51c2d9f: ✅ 416 passed · 0 failed · 18m49s
10:40 shipit: :rocket: *lumen-web* `v4.13.0-rc.1` deployed to *staging* by sam
## 2026-03-07
03:04 ci: Nightly e2e on `main` @ 51c2d9f: ✅ 416 passed · 0 failed · 18m44s
## 2026-03-08
19:40 arjun: no nightly e2e last night? 🤔 ci bot usually posts by 03:10 ET
  > 10:52 kenji: same DST bug as the exports, the nightly was scheduled at 02:30 local. moving it
      to UTC too
## 2026-03-09
03:04 ci: Nightly e2e on `main` @ 0be7713: ✅ 418 passed · 0 failed · 19m10s
14:20 shipit: :rocket: *lumen-web* `v4.13.0-rc.2` deployed to *staging* by sam
## 2026-03-10
03:03 ci: Nightly e2e on `main` @ 9ae4410: ✅ 418 passed · 0 failed · 19m03s
16:05 shipit: :rocket: *lumen-web* `v4.13.0-rc.3` deployed to *staging* by sam
## 2026-03-11
03:04 ci: Nightly e2e on `main` @ 2d6b8f1: ✅ 421 passed · 0 failed · 19m20s
## 2026-03-12
03:02 ci: Nightly e2e on `main` @ 2d6b8f1: ✅ 421 passed · 0 failed · 19m16s
13:58 shipit: :rocket: *lumen-web* `v4.13.0` rollout to *production* started by sam (canary 10% →
    50% → 100%)
14:36 shipit: ✅ *lumen-web* `v4.13.0` deployed to *production* (all regions) in 38m
  + label: rel413-bot
## 2026-03-13
03:03 ci: Nightly e2e on `main` @ c7f10aa: ✅ 423 passed · 0 failed · 19m31s
## 2026-03-14
03:04 ci: Nightly e2e on `main` @ c7f10aa: ✅ 423 passed · 0 failed · 19m25s
## 2026-03-15
03:03 ci: Nightly e2e on `main` @ c7f10aa: ✅ 423 passed · 0 failed · 19m29s
## 2026-03-16
03:04 ci: Nightly e2e on `main` @ e81b5d3: ✅ 425 passed · 0 failed · 19m40s
## 2026-03-17
03:03 ci: Nightly e2e on `main` @ 41aa0c9: ❌ 424 passed · 1 failed · 19m52s. Failing:
    `test_scim_group_patch`
  > 09:05 danny: mine, the fixture assumes ordering. fix in 10
15:30 shipit: :rocket: *lumen-web* `v4.14.0-rc.1` deployed to *staging* by sam
## 2026-03-18
03:04 ci: Nightly e2e on `main` @ 77d3e20: ✅ 427 passed · 0 failed · 19m44s
11:20 shipit: :rocket: *lumen-web* `main` @ 77d3e20 deployed to *production* by aisha (continuous)
## 2026-03-19
03:03 ci: Nightly e2e on `main` @ 90b1c5e: ✅ 427 passed · 0 failed · 19m47s
16:38 shipit: :rocket: *billing-worker* `main` @ 9c1e7d2 deployed to *production* by omar
## 2026-03-20
03:04 ci: Nightly e2e on `main` @ 90b1c5e: ✅ 427 passed · 0 failed · 19m45s
## 2026-03-21
03:03 ci: Nightly e2e on `main` @ f3e0b19: ✅ 429 passed · 0 failed · 19m50s
## 2026-03-22
03:04 ci: Nightly e2e on `main` @ f3e0b19: ✅ 429 passed · 0 failed · 19m48s


// Second pass: more of the everyday texture, kept in the same format.
# engineering
## 2026-03-04
10:00 priya: standup 🧵 (short one, kenji is in #incidents)
  > 10:02 zoe: backfill done 🎉 moving on to the export scheduler cleanup
  > 10:05 danny: SCIM users endpoint, writing tests. blocker: Okta sandbox is down again
  > 10:08 tomas: 4.12 feedback triage, 3 bugs so far, all small
## 2026-03-05
10:00 priya: standup 🧵
  > 10:03 omar: 4.12.1 went out clean. today: the canary stage ticket
  > 10:05 zoe: export scheduler: found out we store schedules as local wall-clock times 😬 writing
      it up
  > 10:06 kenji: pg16 rehearsal #4: 1h52m. under 2h 🎉
    + react: tada priya devon
## 2026-03-06
10:00 priya: standup 🧵 (it's Friday, keep it short)
  > 10:01 danny: SCIM. still SCIM. forever SCIM
  > 10:04 tomas: saved view sharing bug fixed, in review
## 2026-03-09
10:20 zoe: shameless plug: L&L *Thursday 12:30*, I'll show how the nightly export DAG works and
    what broke on DST night 🙂 details in #general
  + label: lnl-eng
  + react: raised_hands kenji arjun
## 2026-03-10
10:00 priya: standup 🧵
  > 10:03 omar: webhooks v2: splitting the RFC feedback into tickets
  > 10:04 aisha: pairing with tomas on the saved views modal
  > 19:45 arjun: (late, sorry) DST export fix merged: schedules are UTC now, with a test that runs
      the 2am hour on March 8
    + react: pray kenji zoe
15:40 tomas: does anyone else's local dev take 4 minutes to boot now or is it just me
  > 15:44 danny: it's the new seed data. `make seed-lite` is your friend
  > 15:45 tomas: you are my friend
## 2026-03-11
10:00 priya: standup 🧵
  > 10:04 danny: 4.13 release checklist prep with sam
  > 10:09 zoe: L&L slides, and I'm stealing the DST bug as my opening joke
16:20 jess: thanks for all the comments in the design review today, v2 of the threshold picker is
    up in Figma
  + react: heart ben tomas
## 2026-03-13
10:00 priya: standup 🧵
  > 10:02 danny: SCIM groups, and then I'm out at 3 for Pi Day (priorities)
  > 10:05 omar: webhooks v2 ticket 1/12 merged 🐢
## 2026-03-16
10:00 priya: standup 🧵 (from our couches, floors day)
  > 10:02 aisha: saved views modal PR is up
  > 10:03 tomas: reviewing aisha's PR, then audit log export UI
  > 10:06 danny: SCIM groups PATCH, almost there
## 2026-03-18
10:00 priya: standup 🧵 (launch day! keep it tight)
  > 10:01 omar: on Beacon launch watch with kenji. dashboards look calm
  > 10:03 zoe: meetup talk final run-through, then launch watch
14:30 kenji: launch traffic so far: 3.1x normal signups, p95 210ms, zero pages. whoever said
    launches are stressful has not met this team
  + react: muscle devon priya ben omar
## 2026-03-19
10:00 priya: standup 🧵
  > 10:02 danny: audit log export, then helping omar if the invoice thing needs hands
  > 10:04 aisha: fixing 2 review comments and then 4.14 bug bash
## 2026-03-20
10:00 priya: last standup before KubeCon week 🧵
  > 10:03 tomas: bug bash results: 14 bugs, 2 blockers, both fixed
  > 10:04 danny: SCIM docs
  > 15:20 lena: packing. see you in Amsterdam @kenji @felix

# general
## 2026-03-02
11:40 nina: the new pricing page is live 🎉 huge thanks to @jess for the design and @tomas for
    shipping it in a day
  + label: pricing-live
  + react: tada maya ben grace
  + react: heart_eyes rachel
## 2026-03-09
15:00 grace: reminder that the new travel policy is in the handbook, [travel
    policy](https://www.notion.so/lumenlabs/Travel-policy-2026-1c4e). tl;dr economy under 6h, book
    2+ weeks out when you can
  + react: +1 felix kenji
## 2026-03-12
16:40 leo: customer quote of the week: "Beacon caught a broken pipeline before our CFO did".
    framing it
  + react: fire nina ben jess maya
  + react: joy devon
## 2026-03-19
16:05 maya: quick note before the weekend rush: the launch numbers are great and the board loved
    Beacon. thank you, truly
  + react: heart nina ben jess devon zoe
## 2026-03-20
11:00 rachel: the meetup feedback form is in, 4.8/5 and someone wrote "best pizza of any meetup in
    NYC". we'll take it
  + react: pizza zoe danny omar jess aisha

# random
## 2026-03-02
16:10 danny: is it just me or is the 5th floor freezing today
  > 16:12 zoe: it's you. also it's me. it's freezing
  > 16:20 marcus: building says the heat is "being looked at" 🙃
## 2026-03-04
12:40 zoe: someone left a very sad banana in the fridge. it has been there since February. it's
    your time to come forward
  + react: joy tomas jess omar
## 2026-03-05
19:00 felix: I'm in NYC for a week in April. what's the best lunch spot near the office?
  + react: wave rachel tomas
  > 13:05 tomas: Los Tacos for speed, Xi'an for spice, the halal cart on 7th for vibes
  > 13:07 jess: the salad place on 28th if you like sad salads
## 2026-03-09
16:30 zoe: anyone else's body still on EST? I was an hour late to everything today
  > 16:35 danny: I was an hour early to the 4pm and then sat alone in the room like a ghost
    + react: joy zoe tomas
## 2026-03-10
09:50 felix: Berlin is having a fake spring, 17 degrees. I am wearing a t-shirt and regretting
    nothing
  + react: sunny lena
## 2026-03-11
15:00 jess: the cupcakes are gone. tomas's birthday lasted 2h14m
## 2026-03-13
15:40 omar: the key lime pie is the best thing that has happened to me this quarter, and I shipped
    webhooks v2 ticket 1
  + react: pie rachel danny
## 2026-03-16
12:30 danny: WFH lunch: cereal. living the dream
  > 12:31 zoe: cereal is a soup
  > 12:33 danny: leave
## 2026-03-18
15:00 tomas: product hunt is a sport now. we're #2 of the day and I have refreshed 400 times
  + react: rocket nina ben
  > 15:30 nina: #1!! 🥇
    + react: tada tomas ben jess maya
## 2026-03-19
09:10 carla: good morning from LA, where the Beacon demo requests woke me up before my alarm did
  + react: fire nina

# engineering
## 2026-03-12
11:10 kenji: redis drill went fine btw (details in #ops-maintenance). 11s failover, I'll take it
  + react: muscle arjun priya
15:30 omar: TIL Stripe sends `invoice.finalized` twice if you're slow to 200. filing that away for
    absolutely no reason
  > 15:32 kenji: this is foreshadowing
    + react: joy omar danny
## 2026-03-17
14:00 devon: reminder that the Q2 pre-read is in Notion, please read it before Thursday: [Q2
    pre-read](https://www.notion.so/lumenlabs/Q2-planning-pre-read-5a0d)
  + react: +1 priya ben kenji
16:45 zoe: meetup dry run done, thanks for the heckles. talk is now 22 minutes and 100% less
    rambling
  + react: clap danny omar

# releases
## 2026-03-04
09:30 ben: 4.12 feedback so far: people love saved views, 2 people asked where the old query editor
    went (it's in settings). adding a tooltip in 4.13
  + react: +1 sam tomas
## 2026-03-13
10:00 ben: 4.13 adoption: 38% of active workspaces turned on webhook retries in the first day 📈
  + react: tada sam lena omar

# random
## 2026-03-03
15:00 rachel: whoever keeps putting the oat milk back in the wrong fridge: I see you. I love you.
    please stop
  + react: joy maya danny zoe
## 2026-03-06
17:30 danny: happy friday 🍻 who's still online and why
  > 17:31 omar: deploying nothing, just vibing
  > 17:40 zoe: reading about DST edge cases for fun apparently
## 2026-03-12
10:30 lena: Berlin office (aka my kitchen) update: the espresso machine died. mourning period until
    Monday
  + react: sob felix tomas
  > 10:40 felix: come to mine, I have two
## 2026-03-17
13:30 jess: the line at the bagel place is the entire parade. I have made a mistake
  + react: joy leo danny
## 2026-03-20
12:00 omar: lunch: the halal cart. no notes, perfect food
  > 12:05 danny: the white sauce is a personality
## 2026-03-21
15:00 zoe: Saturday PSA: the ramen place on 29th finally reopened 🍜
  + react: ramen danny tomas omar

# general
## 2026-03-10
16:00 hannah: support stats for last week: 212 tickets, median first response 14 min, CSAT 96%. the
    team is on fire (the good kind) 🔥
  + react: fire maya leo devon
## 2026-03-17
15:30 grace: the benefits FAQ got a refresh (HSA vs FSA, commuter card), it's in the handbook 🙂
  + react: +1 rachel
"""


# --------------------------------------------------------------------------------------------
# The gold list: what a careful reader takes away from the conversation
# --------------------------------------------------------------------------------------------

UTC_TZ = "UTC"
CHICAGO = "America/Chicago"


@dataclass(frozen=True)
class GoldEvent:
    id: str
    title: str
    category: str
    start: str  # "YYYY-MM-DD HH:MM" wall-clock in ``timezone``, or "YYYY-MM-DD" for all-day
    sources: tuple[str, ...]  # labels of messages in the conversation
    end: str | None = None
    timezone: str = NY
    status: str = "scheduled"
    previous_starts: tuple[str, ...] = ()
    location: str | None = None
    url: str | None = None
    notes: str = ""


EVENTS = [
    GoldEvent(
        "release-4-12",
        "Lumen 4.12 release",
        "release",
        "2026-03-03 14:00",
        ("rel412-announce", "rel412-eng", "rel412-start", "rel412-bot", "rel412-live"),
        url="https://www.notion.so/lumenlabs/Release-4-12-a91b",
        notes="Announced Monday as 'tomorrow (Tue) at 2pm ET'; the rollout, the deploy bot's "
        "production message and 'is live' are status updates of the same release.",
    ),
    GoldEvent(
        "release-4-12-1-hotfix",
        "Lumen 4.12.1 hotfix",
        "release",
        "2026-03-04 20:00",
        ("hotfix-eng", "hotfix-announce", "hotfix-bot", "hotfix-live"),
        notes="'tonight at 8pm ET', first said in an #engineering thread reply, then announced "
        "in #releases. The 'is out' post lands in the next UTC day's file.",
    ),
    GoldEvent(
        "mobile-2-8-release",
        "Lumen mobile 2.8 (iOS + Android) in the stores",
        "release",
        "2026-03-06",
        ("mobile28-announce", "mobile28-moved", "mobile28-live"),
        status="rescheduled",
        previous_starts=("2026-03-05",),
        notes="'live Thursday' if Apple approves; the thread reply moves it to Friday.",
    ),
    GoldEvent(
        "release-4-13",
        "Lumen 4.13 release",
        "release",
        "2026-03-12 14:00",
        (
            "rel413-announce",
            "rel413-moved",
            "rel413-eng",
            "rel413-reminder",
            "rel413-bot",
            "rel413-live",
        ),
        status="rescheduled",
        previous_starts=("2026-03-10 14:00",),
        notes="Planned Tue Mar 10 2pm ET; moved in a broadcast thread reply to Thu Mar 12, "
        "same time, and repeated in #engineering.",
    ),
    GoldEvent(
        "release-4-14",
        "Lumen 4.14 release",
        "release",
        "2026-03-24",
        ("rel414-announce", "rel414-repeat"),
        status="tentative",
        notes="'ships in two weeks if nothing slips', posted Tue Mar 10, so Tue Mar 24; later "
        "called a 'ship target' with that date. No time given, so all-day.",
    ),
    GoldEvent(
        "code-freeze-4-14",
        "4.14 code freeze",
        "deadline",
        "2026-03-20",
        ("freeze-announce", "rel414-repeat", "freeze-reminder", "freeze-live"),
        notes="'EOD Friday', posted Mon Mar 16. EOD has no agreed hour (see the thread), so it "
        "is an all-day deadline on Friday.",
    ),
    GoldEvent(
        "incident-api-latency",
        "API latency spike (SEV2)",
        "incident",
        "2026-03-04 10:42",
        (
            "latency-pd-trigger",
            "latency-declare",
            "latency-general",
            "latency-resolved",
            "latency-pd-resolved",
            "latency-general-resolved",
        ),
        end="2026-03-04 11:35",
        notes="PagerDuty, the declaration and the #general heads-up are one incident.",
    ),
    GoldEvent(
        "incident-dst-exports",
        "Scheduled exports skipped on DST night (SEV3)",
        "incident",
        "2026-03-08 03:00",
        ("dst-declare", "dst-resolved"),
        end="2026-03-08 11:20",
        notes="Declared from Kolkata with 'impact since 07:00 UTC', the instant US clocks "
        "jumped from 02:00 EST to 03:00 EDT; resolved '11:20 ET' (EDT).",
    ),
    GoldEvent(
        "incident-sso-logins",
        "SSO login failures (SEV2)",
        "incident",
        "2026-03-11 08:55",
        (
            "sso-pd-trigger",
            "sso-declare",
            "sso-general",
            "sso-resolved",
            "sso-pd-resolved",
            "sso-general-resolved",
        ),
        end="2026-03-11 09:40",
        notes="The first week of EDT: 08:55 ET is 12:55 UTC, matching the cert expiry time.",
    ),
    GoldEvent(
        "incident-eu-webhooks",
        "EU webhook delivery delays (SEV3)",
        "incident",
        "2026-03-17 14:20",
        ("webhooks-declare", "webhooks-resolved"),
        end="2026-03-17 15:05",
        timezone=BERLIN,
        notes="Times stated in CET by the Berlin IC.",
    ),
    GoldEvent(
        "incident-duplicate-invoices",
        "Duplicate invoice emails (SEV2)",
        "incident",
        "2026-03-19 13:10",
        ("invoices-declare", "invoices-general", "invoices-resolved"),
        end="2026-03-19 16:45",
    ),
    GoldEvent(
        "maintenance-postgres-16",
        "Postgres 16 upgrade (app read-only)",
        "maintenance",
        "2026-03-07 23:00",
        ("pg-announce", "pg-eng", "pg-general", "pg-confirm", "pg-start", "pg-done"),
        end="2026-03-08 03:00",
        url="https://www.notion.so/lumenlabs/PG16-upgrade-runbook-55de",
        notes="The window crosses the DST switch: 23:00 EST to 03:00 EDT is 3 hours. It "
        "finished early (01:55 EST); the planned window is the event.",
    ),
    GoldEvent(
        "maintenance-redis-failover-drill",
        "Redis failover drill",
        "maintenance",
        "2026-03-12 16:00",
        ("redis-announce", "redis-start", "redis-done"),
        end="2026-03-12 16:30",
        timezone=UTC_TZ,
        notes="'Thursday 16:00 UTC', posted Tue Mar 10 from Kolkata; a request in the thread "
        "to move it is declined, so it keeps its time.",
    ),
    GoldEvent(
        "maintenance-office-network",
        "NYC office network down (ISP fiber swap)",
        "maintenance",
        "2026-03-13 18:00",
        ("network-general", "network-ops"),
        end="2026-03-14 12:00",
        location="NYC office",
    ),
    GoldEvent(
        "maintenance-analytics-replica",
        "AWS maintenance on the analytics read replica",
        "maintenance",
        "2026-03-15 05:00",
        ("rds-announce", "rds-done"),
        end="2026-03-15 05:30",
        timezone=UTC_TZ,
    ),
    GoldEvent(
        "maintenance-eks-upgrade",
        "EKS node pool upgrade to 1.33",
        "maintenance",
        "2026-03-19 21:00",
        ("k8s-announce", "k8s-cancelled"),
        end="2026-03-19 23:00",
        status="cancelled",
        notes="Cancelled in a broadcast thread reply on the day; no new date.",
    ),
    GoldEvent(
        "all-hands-march",
        "March all-hands",
        "meeting",
        "2026-03-05 16:00",
        ("allhands-announce", "allhands-reminder", "allhands-live"),
        location="5th floor kitchen + Zoom",
        url="https://lumenlabs.zoom.us/j/84120937715",
        notes="'this Thursday (3/5) at 4pm ET'; reminder the day before, 'starting in 10' on "
        "the day. The question in #random is not a source.",
    ),
    GoldEvent(
        "sprint-5-retro",
        "Sprint 5 retro",
        "meeting",
        "2026-03-06 15:00",
        ("retro6-announce", "retro6-live"),
        location="Hudson room + Google Meet",
        notes="'tomorrow at 3pm', posted Thu Mar 5.",
    ),
    GoldEvent(
        "webhooks-v2-architecture-review",
        "Webhooks v2 architecture review",
        "meeting",
        "2026-03-09 16:00",
        ("archreview-announce",),
        end="2026-03-09 17:00",
        timezone=BERLIN,
        notes="'Monday 16:00 CET', posted Fri Mar 6 from Berlin; after the US DST switch that "
        "is 11:00 ET, as the message itself warns.",
    ),
    GoldEvent(
        "beacon-design-review",
        "Beacon alert-builder design review",
        "meeting",
        "2026-03-11 11:00",
        ("designreview-announce", "designreview-moved"),
        status="rescheduled",
        previous_starts=("2026-03-10 15:00",),
        location="Hudson room + Google Meet",
        url="https://www.figma.com/file/Lb7aQ2/Beacon-alert-builder",
        notes="'next Tuesday at 3pm', posted Thu Mar 5, so Tue Mar 10; moved in the thread to "
        "'Wednesday 11am'.",
    ),
    GoldEvent(
        "lunch-and-learn-dagster",
        "Lunch & Learn: orchestrating pipelines with Dagster",
        "meeting",
        "2026-03-12 12:30",
        ("lnl-general", "lnl-eng", "lnl-reminder"),
        end="2026-03-12 13:30",
        location="Big conference room + Zoom",
        notes="'this Thursday, 12:30–1:30', posted Mon Mar 9; plugged again in #engineering.",
    ),
    GoldEvent(
        "q2-planning-kickoff",
        "Q2 planning kickoff",
        "meeting",
        "2026-03-19 14:30",
        ("q2-announce", "q2-moved1", "q2-moved2"),
        end="2026-03-19 16:30",
        status="rescheduled",
        previous_starts=("2026-03-17 13:00", "2026-03-19 14:00"),
        location="Hudson room + Google Meet",
        notes="Moved twice in the thread: Tue 1pm → 'Thursday 2pm' → 'Thursday 2:30–4:30pm'.",
    ),
    GoldEvent(
        "board-meeting",
        "Board meeting",
        "meeting",
        "2026-03-18 09:00",
        ("board-announce",),
        end="2026-03-18 12:00",
    ),
    GoldEvent(
        "sprint-6-retro",
        "Sprint 6 retro",
        "meeting",
        "2026-03-20 15:00",
        ("retro20-announce", "retro20-cancelled"),
        status="cancelled",
        notes="'Friday 3pm as usual', cancelled in the thread the day before.",
    ),
    GoldEvent(
        "meet-beacon-webinar",
        "Customer webinar: Meet Beacon",
        "meeting",
        "2026-03-19 13:00",
        ("webinar-announce", "webinar-reminder"),
        end="2026-03-19 13:45",
        url="https://lumenlabs.io/webinars/meet-beacon",
        notes="'1pm ET / 10am PT', 45 min.",
    ),
    GoldEvent(
        "expense-reports-due",
        "February expense reports due",
        "deadline",
        "2026-03-06",
        ("expenses-announce", "expenses-reminder"),
        notes="'EOD Friday', posted Tue Mar 3.",
    ),
    GoldEvent(
        "security-training-due",
        "Security awareness training due",
        "deadline",
        "2026-03-13",
        ("sectraining-announce", "sectraining-reminder"),
        url="https://training.knowbe4.com/lumenlabs",
    ),
    GoldEvent(
        "q1-self-reviews-due",
        "Q1 self-reviews due",
        "deadline",
        "2026-03-27",
        ("selfreview-announce",),
        url="https://lumenlabs.latticehq.com/reviews/q1-2026",
        notes="'due in two weeks', posted Fri Mar 13, so Fri Mar 27.",
    ),
    GoldEvent(
        "kubecon-eu-2026",
        "KubeCon + CloudNativeCon Europe 2026",
        "conference",
        "2026-03-23",
        ("kubecon-announce",),
        end="2026-03-26",
        timezone="Europe/Amsterdam",
        location="Amsterdam",
        notes="Multi-day, all-day; 'end' is the last day.",
    ),
    GoldEvent(
        "nyc-data-engineering-meetup-41",
        "NYC Data Engineering Meetup #41 (hosted)",
        "conference",
        "2026-03-18 18:30",
        ("meetup-announce", "meetup-general", "meetup-reminder", "meetup-dayof"),
        end="2026-03-18 21:00",
        location="Lumen Labs office, 5th floor",
        url="https://www.meetup.com/nyc-data-engineering/events/309412877/",
        notes="Announced in #events-and-meetups and again in #general two weeks later.",
    ),
    GoldEvent(
        "kubernetes-berlin-meetup-talk",
        "Felix speaks at the Kubernetes Berlin meetup",
        "conference",
        "2026-03-19 19:00",
        ("berlin-announce",),
        timezone=BERLIN,
        location="betahaus Kreuzberg, Berlin",
        url="https://www.meetup.com/kubernetes-berlin/events/309877215/",
    ),
    GoldEvent(
        "dataops-summit-2026",
        "DataOps Summit (Austin)",
        "conference",
        "2026-04-14",
        ("dataops-announce",),
        end="2026-04-15",
        timezone=CHICAGO,
        status="tentative",
        location="Austin, TX",
        notes="'very tentative': budget not approved.",
    ),
    GoldEvent(
        "beacon-launch",
        "Beacon public launch",
        "launch",
        "2026-03-18 09:00",
        ("beacon-announce", "beacon-reminder", "beacon-live"),
        timezone=LA,
        url="https://lumenlabs.io/blog/introducing-beacon",
        notes="'9am PT (noon ET)'; the reminder says 'tomorrow'.",
    ),
    GoldEvent(
        "nyc-office-closed",
        "NYC office closed (floor refinishing)",
        "announcement",
        "2026-03-16",
        ("officeclosed-announce", "officeclosed-reminder"),
        location="NYC office",
    ),
    GoldEvent(
        "pi-day-celebration",
        "Pi Day pie celebration",
        "other",
        "2026-03-13 15:14",
        ("piday-announce", "piday-reminder"),
        location="Office kitchen",
        notes="Pi Day itself is Saturday; the party is 'Friday at 3:14pm'.",
    ),
    GoldEvent(
        "post-release-happy-hour",
        "Post-4.13 happy hour",
        "other",
        "2026-03-12 18:00",
        ("happyhour-announce", "happyhour-confirm", "happyhour-live"),
        location="Pete's Tavern (upstairs)",
        notes="Proposed as a question, confirmed in the thread.",
    ),
    GoldEvent(
        "pricing-page-launch",
        "New pricing page launch",
        "launch",
        "2026-03-02",
        ("pricing-live",),
        notes="No date written: the page went live as it was posted, an event on the posting "
        "day (added with undated events, issue 14).",
    ),
    GoldEvent(
        "spring-hackathon",
        "Two-day hackathon",
        "other",
        "2026-04-02",
        ("hackathon-announce",),
        end="2026-04-03",
        status="tentative",
    ),
]

NON_EVENTS = [
    ("ne-dst-psa", "a clock-change PSA, not a company event"),
    ("ne-lunch-train", "an impromptu lunch outing"),
    ("ne-welcome", "a new-hire welcome"),
    ("ne-standup-omar", "a standup update that mentions a release"),
    ("ne-retro-link-question", "a question about a meeting, not an announcement"),
    ("ne-release-last-tuesday", "looks back at a past release ('last Tuesday')"),
    ("ne-no-meeting-tuesdays", "a recurring no-meeting policy"),
    ("ne-changelog-question", "a question about a past release"),
    ("ne-past-release", "states the date of a release from February"),
    ("ne-pd-flap-trigger", "an alert that auto-resolved and was judged not an incident"),
    ("ne-pd-flap-resolved", "the auto-resolution of that flapping alert"),
    ("ne-false-alarm-question", "'is the app slow?', which turned out to be a VPN"),
    ("ne-false-alarm", "the false alarm's conclusion"),
    ("ne-pg-still-on-question", "a question about the maintenance window"),
    ("ne-tls-question", "asks about a past certificate rotation date"),
    ("ne-sxsw", "an external conference nobody is attending"),
    ("ne-recording", "a recording of last month's meetup"),
    ("ne-lunch-order", "a lunch order"),
    ("ne-allhands-question", "'what time is the all-hands?' is a question"),
    ("ne-keynote", "'did anyone watch the keynote?'"),
    ("ne-ooo", "out-of-office note"),
    ("ne-game-night", "a past social evening"),
    ("ne-birthday", "a birthday"),
    ("ne-piday-saturday", "Pi Day greeting; the party was the day before"),
    ("ne-finale", "a TV finale"),
    ("ne-parade", "a city parade, commute advice"),
    ("ne-dentist", "a personal appointment"),
    ("ne-2019-migration", "reminisces about a migration in 2019"),
]


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _moment(value: str, tz: str) -> datetime | date:
    if len(value) == 10:
        return date.fromisoformat(value)
    moment = _local(date.fromisoformat(value[:10]), None, value[11:16], tz)
    return moment


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def gold_yaml(drafts: list[Draft], channels: dict[str, Channel]) -> str:
    labelled: dict[str, Draft] = {}
    for draft in drafts:
        if draft.label:
            if draft.label in labelled:
                raise ValueError(f"label {draft.label!r} is used twice")
            labelled[draft.label] = draft
    used: set[str] = set()
    lines = [
        "# Gold list for the Lumen Labs sample workspace: the events a careful human reader",
        "# takes away, after dedup and after following reschedules and cancellations.",
        "# Generated by build_sample.py from EVENTS and NON_EVENTS; edit it there.",
        "version: 1",
        'workspace: "Lumen Labs"',
        f"company_timezone: {COMPANY_TZ}",
        'window: {start: "2026-03-02", end: "2026-03-22"}',
        "events:",
    ]
    for event in EVENTS:
        start = _moment(event.start, event.timezone)
        lines += [
            f"  - id: {event.id}",
            f"    title: {_q(event.title)}",
            f"    category: {event.category}",
            f"    start: {_q(start.isoformat())}",
        ]
        if event.end:
            lines.append(f"    end: {_q(_moment(event.end, event.timezone).isoformat())}")
        lines += [
            f"    timezone: {event.timezone}",
            f"    all_day: {'false' if isinstance(start, datetime) else 'true'}",
            f"    status: {event.status}",
        ]
        if event.previous_starts:
            lines.append("    previous_starts:")
            lines += [
                f"      - {_q(_moment(value, event.timezone).isoformat())}"
                for value in event.previous_starts
            ]
        if event.location:
            lines.append(f"    location: {_q(event.location)}")
        if event.url:
            lines.append(f"    url: {_q(event.url)}")
        if event.notes:
            lines.append(f"    notes: {_q(event.notes)}")
        lines.append("    sources:")
        sources = sorted((labelled[label] for label in event.sources), key=lambda d: _ts_key(d.ts))
        for draft in sources:
            lines.append(f'      - {{channel: {draft.channel}, ts: "{draft.ts}"}}')
        used.update(event.sources)
    lines.append("non_events:")
    for label, why in NON_EVENTS:
        draft = labelled[label]
        lines.append(f'  - {{channel: {draft.channel}, ts: "{draft.ts}", why: {_q(why)}}}')
        used.add(label)
    unused = sorted(set(labelled) - used)
    if unused:
        raise ValueError(f"labels not used by the gold list: {unused}")
    return "\n".join(lines) + "\n"


def build(out_dir: Path) -> dict[str, int]:
    """Write ``workspace/`` and ``gold.yaml`` under ``out_dir``; return a few counts."""
    people = {person.handle: person for person in PEOPLE}
    channels = {channel.name: channel for channel in CHANNELS}
    drafts = parse_conversation(CONVERSATION, people)
    for draft in drafts:
        if draft.channel not in channels:
            raise ValueError(f"unknown channel #{draft.channel}")
        channel = channels[draft.channel]
        person = people[draft.author]
        members = channel.members
        if members is not None and not person.is_bot and draft.author not in members:
            raise ValueError(f"{draft.author} posts in #{draft.channel} but is not a member")
    assign_timestamps(drafts)
    renderer = Renderer(people, channels)

    workspace = out_dir / "workspace"
    if workspace.exists():
        shutil.rmtree(workspace)
    workspace.mkdir(parents=True)
    (workspace / "users.json").write_text(
        dump_json([user_json(person) for person in sorted(PEOPLE, key=lambda p: p.uid)])
    )
    (workspace / "channels.json").write_text(
        dump_json([channel_json(channel, people) for channel in CHANNELS])
    )
    days: dict[tuple[str, str], list[Draft]] = {}
    for draft in drafts:
        # Slack files a message, thread reply or not, under the UTC date of its own ts.
        day = datetime.fromtimestamp(int(draft.ts.split(".")[0]), tz=UTC).date().isoformat()
        days.setdefault((draft.channel, day), []).append(draft)
    for (channel_name, day), day_drafts in sorted(days.items()):
        folder = workspace / channel_name
        folder.mkdir(exist_ok=True)
        ordered = sorted(day_drafts, key=lambda d: _ts_key(d.ts))
        payload = [message_json(d, people, channels, renderer) for d in ordered]
        (folder / f"{day}.json").write_text(dump_json(payload))
    (out_dir / "gold.yaml").write_text(gold_yaml(drafts, channels))
    return {
        "channels": len(CHANNELS),
        "messages": len(drafts),
        "day_files": len(days),
        "events": len(EVENTS),
        "non_events": len(NON_EVENTS),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--out", type=Path, default=HERE, help="folder to write workspace/ and gold.yaml into"
    )
    args = parser.parse_args(argv)
    counts = build(args.out)
    print(", ".join(f"{value} {key.replace('_', ' ')}" for key, value in counts.items()))


if __name__ == "__main__":
    main()
