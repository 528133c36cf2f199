"""Titles people would write: a short noun phrase naming the thing.

"OLake Go v0.7.2 Released" -> "OLake Go v0.7.2 release"; "we're seeing an outage on
the package server" -> "Package server outage"; "HubSpot Developer AMA this Wednesday
at 12PM EST" -> "HubSpot Developer AMA"; "第47回Haskell-jpもくもく会の時間です" ->
"第47回Haskell-jpもくもく会". Never a cut-off sentence.

How: the sentence that names the event is cut into words (keeping case, versions and
names like "leaflet.js" whole, dates already blanked out); around the *head* (the
event word, from the lexicon) the words that name it are gathered: names, numbers and
modifiers to its left ("HubSpot Developer" AMA), a year, number or version to its
right (Developer Day "2017"), or what it is "of / on / for" ("outage on the package
server" reads "package server outage"). A verb head ("released", "launched", "closes")
takes its subject or object and the category's noun ("Themes Challenge" +
"deadline"). Without a head, the message's heading or first clause is trimmed to a
few words at a word boundary.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from slack_events_dagster.domain import lexicon as lx
from slack_events_dagster.domain.models import EventCategory

MAX_WORDS = 9
MAX_CHARS = 80

# A word as titles see it: versions, dotted names and hyphenated names stay whole.
_WORD = re.compile(r"[#@]?[\w][\w.+#&'’/-]*[\w+#]|[\w]")
# In Japanese text a word of Latin letters or digits ends where the kana or kanji begin
# ("GHC 9.0.2が" holds the version 9.0.2).
_LATIN = r"[^\W\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]"
_WORD_BESIDE_CJK = re.compile(
    rf"[#@]?{_LATIN}(?:{_LATIN}|[.+#&'’/-])*(?:{_LATIN}|[+#])|{_LATIN}|[\u3040-\u30ff\u3400-\u9fff]+"
)
_VERSION = re.compile(
    r"^v?\d+(?:\.\d+){1,3}(?:[-.]?(?:alpha|beta|rc|pre|preview)[.-]?\d*)?$|^v\d+$", re.I
)
_NUMBER = re.compile(r"^(?:#?\d{1,4}|(?:19|20)\d\d|q[1-4]|v\d+|\d+(?:st|nd|rd|th))$", re.I)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_CJK_BREAK = re.compile(r"(?:の時間|の|は|が|を|に|で|と|から|です|ます|、|。|！|!|\s)")

# Words that never name the thing: articles, pronouns, auxiliaries, prepositions.
_FUNCTION = frozenset(
    "a an the our your their its my this that these those next upcoming coming last is "
    "are was were be been being will would can could should may might must has have had "
    "do does did on at in for of with to from by and or but so as if than then we you i "
    "it they he she us them me here there what when where who how why which all any some "
    "each every about into onto over under up down out off just also very really now "
    "today tonight tomorrow please hey hi hello team folks everyone everybody guys all "
    "y'all friendly quick another more most other such via per along alongside across using "
    "since until during within without through "
    "we've we're we'll i'm i've i'll it's that's there's let's you're they're here's what's".split()
)
# Words that may stand in a name although lowercase ("live webinar", "data jam").
_MODIFIERS = frozenset(
    "live developer developers community monthly weekly annual online virtual public "
    "private open beta team product planning design data lightning tech quarterly sprint "
    "security maintenance hands-on intro introductory major minor partial scheduled "
    "planned special first second third final kickoff regional global local user users "
    "customer partner partners api cms crm ui ux app apps mobile web platform database "
    "server service services package website site network email dns login search summer "
    "winter spring fall autumn holiday spotlight education demo study reading book office "
    "code feature release release-candidate emergency hotfix patch".split()
)
# Verbs and other words that start a sentence without naming anything.
_VERBISH = frozenset(
    "join come check don't dont remember reminder note please save mark watch see "
    "register sign rsvp attend get excited happy glad proud thrilled announcing "
    "introducing welcome congrats congratulations heads fyi psa important big "
    "exciting good great awesome ok okay yes yep sure just "
    # discourse markers and call-outs: "Additionally AJ ...", "Calling all Developers!"
    "additionally furthermore moreover however anyway anyways finally meanwhile plus "
    "calling attention greetings".split()
)
# Heads that read best with what they are of/on ("package server outage", "FTP sunset").
_REORDER_HEADS = frozenset(
    "outage outages incident incidents downtime maintenance migration upgrade sunset "
    "deprecation removal release deadline freeze cutover launch rollout".split()
)
# Heads that are verbs: the title is the subject or object and the category's noun.
_VERB_HEADS = frozenset(
    "released releasing launched launching launches shipped ships closes closing close "
    "opened opens open live available out down deployed deploying rolled rolling "
    "introducing announcing unveiled unveiling published starting starts begins "
    "introduced enabled added supports unavailable degraded swapping swapped upgrading "
    "migrating replacing patching".split()
)
_LINKING = frozenset({"of", "for", "on", "about", "with", "in"})
# Event nouns that are verbs after "to", "will", "we'll": "to launch the storefront".
_DOABLE = frozenset("launch release sunset".split())
_TO_DO = frozenset("to will we'll we'd shall would can".split())
# Verbs of work on a thing, and the noun a title names that work by.
_WORK_NOUNS = {
    "swapping": "swap",
    "swapped": "swap",
    "upgrading": "upgrade",
    "migrating": "migration",
    "replacing": "replacement",
    "patching": "patching",
}
_KEEP_LINK_HEADS = frozenset(
    "webinar webinars ama talk talks workshop session sessions meetup meeting call review "
    "presentation lecture livestream webcast broadcast demo class course training bootcamp panel "
    "hangout registration registrations tickets rsvp rsvps signup signups".split()
)


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    begin: int
    end: int
    lower: str


def tokenize(text: str) -> list[Token]:
    return list(_tokens(text))


@functools.lru_cache(maxsize=4096)
def _tokens(text: str) -> tuple[Token, ...]:
    # Curly apostrophes read as straight ones ("we’ve" is "we've"); lengths do not change.
    # (Cached: a title and its sentence are read by several tests in a row.)
    found = []
    words = _WORD_BESIDE_CJK if _CJK.search(text) is not None else _WORD
    for match in words.finditer(text):
        word = match.group(0).replace("’", "'")
        found.append(Token(word, match.start(), match.end(), word.lower()))
    return tuple(found)


def named_by_its_thing(head: str) -> bool:
    """A head titled by what it is of: "the removal of stale assets" -> "Stale assets
    removal"."""
    return head.lower() in _REORDER_HEADS


def is_version(word: str) -> bool:
    return _VERSION.match(word) is not None


def _is_name(token: Token, *, sentence_start: bool) -> bool:
    """A word that can be part of the thing's name."""
    word = token.text
    lower = word.lower()
    if lower in _FUNCTION or lower in _VERBISH:
        return False
    if any(ch.isdigit() for ch in word):
        return True
    if word[0].isupper() or any(ch.isupper() for ch in word[1:]):
        # A capital at the start of a sentence says nothing unless it is a known modifier.
        return not sentence_start or lower in _MODIFIERS or word.isupper() or _mixed(word)
    return lower in _MODIFIERS


def _mixed(word: str) -> bool:
    return any(ch.isupper() for ch in word[1:])


def _head_index(tokens: Sequence[Token], head_begin: int) -> int | None:
    for index, token in enumerate(tokens):
        if token.begin <= head_begin < token.end or token.begin >= head_begin:
            return index
    return None


# Words between a subject and its verb ("the CLI [is now] available", "[has been] released").
_AUXILIARY = frozenset(
    "is are was were be been being has have had now just officially finally today also "
    "already currently gets got getting".split()
)
# Nouns that say how much or which kind, not what: "a new version of X" names X.
_GENERIC_OBJECT = frozenset(
    "version versions update updates set batch couple number bunch round change changes "
    "beta improvement improvements".split()
)


def noun_phrase(
    sentence: str,
    head_begin: int,
    head_text: str,
    category: EventCategory,
    *,
    verb: bool = False,
) -> str | None:
    """The words of ``sentence`` that name the event whose head word starts at
    ``head_begin``; None when they are only the head (a title needs more)."""
    # A noun phrase never runs across a line break (nor across " / ", a line break read
    # aloud by some exports).
    line_start = sentence.rfind("\n", 0, head_begin) + 1
    line_end = sentence.find("\n", head_begin)
    sentence = sentence[line_start : line_end if line_end >= 0 else len(sentence)]
    head_begin -= line_start
    tokens = words_of(sentence)
    index = _head_index(tokens, head_begin)
    if index is None:
        return None
    head_end = head_begin + len(head_text)
    width = max(1, sum(1 for t in tokens[index:] if t.begin < head_end))
    head_tokens = tokens[index : index + width]
    severity = _severity(tokens, index, sentence)
    if severity is not None:
        return severity
    if not head_tokens:
        return None
    head_lower = " ".join(t.lower for t in head_tokens)
    noun = lx.CATEGORY[category].noun
    host = _host(tokens, index)
    if host:
        # "the R user's group is having a talk tomorrow": who holds it names it.
        held = [t for t in head_tokens if t.lower not in _HOSTED_ARTICLES]
        return _join([*host, *held, *_right_extra(tokens, index + width)])
    if index >= 2 and [t.lower for t in tokens[index - 2 : index]] == ["out", "of"]:
        # "The Loki plugin is now out of beta": what leaves the beta, and that it does.
        leaving = _subject(tokens, index - 2)
        if leaving:
            return _join([*leaving, *tokens[index - 2 : index + width]])
    released = _versioned(tokens, index)
    if released is not None:
        return released + ("" if noun in released.lower() else " " + _release_noun(category))
    if width == 1 and index and tokens[index - 1].lower in _TO_DO and head_lower in _DOABLE:
        # "we have decided to launch the Marketplace storefront experience for themes",
        # "we will release the new editor": the noun is a verb here, and what it acts on
        # names the event.
        done = _object(tokens, index + 1)
        if done:
            return _join(done) + " " + noun
    if verb or head_lower in _VERB_HEADS or head_lower.split()[-1] in _VERB_HEADS:
        work = _WORK_NOUNS.get(head_lower.split()[-1])
        if work is not None:
            # "our ISP is swapping the fiber line": the work done on the thing, named by
            # who does it when that is a name ("ISP fiber line swap").
            done_on = _object(tokens, index + width)
            if done_on:
                who = [t for t in _subject(tokens, index) if t.text[:1].isupper()][-2:]
                return _join([*who, *done_on]) + " " + work
        thing = _subject(tokens, index) or _object(tokens, index + width)
        if not thing:
            return None
        named = thing[-1].lower in _GENERIC_OBJECT or lx.EVENT_WORDS.any_in(
            [thing[-1].lower], {thing[-1].lower}
        )
        return _join(thing) if named else _join(thing) + " " + noun
    left = _left_name(tokens, index)
    right = _right_extra(tokens, index + width)
    if not right and all(t.text[:1].isupper() for t in head_tokens):
        # A head that is a name goes on with the names after it: "PyCon Lisbon 2026",
        # "Chicago HubSpot User Groups Developer Focused HUG event".
        right = _right_name(tokens, index + width) or _named_kind(tokens, index + width)
    of_phrase = _of_phrase(tokens, index + width + len(right))
    last = head_lower.split()[-1]
    if of_phrase and last in _REORDER_HEADS and not left:
        return _join([*of_phrase, *head_tokens, *right])
    if of_phrase and last in _KEEP_LINK_HEADS:
        link = tokens[index + width + len(right)]
        return _join([*left, *head_tokens, *right]) + " " + link.text + " " + _join(of_phrase)
    if left or right:
        return _join([*left, *head_tokens, *right])
    # The event word alone: "Developer Day", "AMA", "Meetup".
    return _join(head_tokens)


def words_of(text: str) -> list[Token]:
    """The tokens of ``text`` without mentions: "@Mike Tandon" (a display name of two
    words) is no name of an event, its second word neither."""
    tokens = tokenize(text)
    kept: list[Token] = []
    tail = 0
    for index, token in enumerate(tokens):
        if _is_mention(token.text):
            tail = 2  # the capitalized words right after it belong to the name
            continue
        if tail and token.text[:1].isupper() and token.begin == tokens[index - 1].end + 1:
            tail -= 1
            continue
        tail = 0
        kept.append(token)
    return kept


def _is_mention(word: str) -> bool:
    """ "@Ana", "#general" (a channel), but not "#41" (a number)."""
    return word.startswith("@") or (word.startswith("#") and not word[1:2].isdigit())


_SEVERITY = re.compile(r"^(?:sev|p)-?[0-4]$", re.IGNORECASE)


def _severity(tokens: Sequence[Token], index: int, sentence: str) -> str | None:
    """ "Declaring SEV2: API p95 latency 4s+ since ..." -> "SEV2: API p95 latency 4s+"."""
    if not _SEVERITY.match(tokens[index].text):
        return None
    rest = symbols_stripped(sentence[tokens[index].end :]).lstrip(" *:-\u2013\u2014")
    clause = re.split(r"[.!?;](?=\s|$)|\s+since\b", rest, maxsplit=1)[0]
    from slack_events_dagster.llm.rules.clauses import clean_title  # (it reads titles)

    words = clean_title(clause)
    return f"{tokens[index].text.upper()}: {words}" if words else None


def _release_noun(category: EventCategory) -> str:
    return lx.CATEGORY[category].noun if category is not EventCategory.OTHER else "release"


def _versioned(tokens: Sequence[Token], index: int) -> str | None:
    """ "OLake Go v0.7.2", "Local HubL server 1.0.14", "version (1.0.0) of the CLI"."""
    versions = [i for i, token in enumerate(tokens) if is_version(token.text)]
    if not versions:
        return None
    near = [i for i in versions if abs(i - index) <= 10]
    if not near:
        return None
    # Of several versions near the head the highest is the new one ("change in 4.12 ...
    # hotfix ... a 4.12.1 out today", "upgrading 14 to 16").
    at = max(near, key=lambda i: (_version_key(tokens[i].text), -abs(i - index)))
    name = [t for t in _left_name(tokens, at) if t.lower not in ("version", "v")]
    if not name:
        # "Mobile Chat SDK for iOS has been updated to v1.0.5", "ggplot2 is now at 3.0":
        # the thing is the subject of the move to the version.
        name = _moved_to(tokens, at)
    if not name:
        # "a new version (1.0.0) of the CLI", "version 2.0 of ggplot2"
        name = _of_phrase(tokens, at + 1)
    if not name:
        # "a new version of ggplot2 is out! Version 2.0 has ..."
        for position, token in enumerate(tokens[:-2]):
            if token.lower == "version" and tokens[position + 1].lower == "of":
                name = _noun_run(tokens, position + 2, limit=3)
                break
    if not name:
        if re.fullmatch(r"v\d+", tokens[at].lower):
            return None  # "(v2)" alone names nothing
        return tokens[at].text  # "2.8 is live on both stores": the version is the name
    return _join([*name, tokens[at]])


_MOVED_TO = frozenset("updated upgraded bumped moved released promoted now".split())
_MOVE_AUXILIARY = frozenset("has have been was were is are just now".split())


def _moved_to(tokens: Sequence[Token], at: int) -> list[Token]:
    """The subject of "X has been updated to v1.0.5" / "X is now at 3.0" (empty when the
    version is not what something moved to)."""
    position = at - 1
    if position < 1 or tokens[position].lower not in ("to", "at"):
        return []
    position -= 1
    if tokens[position].lower not in _MOVED_TO:
        return []
    while position > 0 and tokens[position - 1].lower in _MOVE_AUXILIARY:
        position -= 1
    subject: list[Token] = []
    position -= 1
    while position >= 0 and len(subject) < 6:
        token = tokens[position]
        joins = token.lower in ("for", "of") and bool(subject)
        if not joins and (token.lower in _FUNCTION or token.lower in _VERBISH):
            break
        subject.insert(0, token)
        position -= 1
    while subject and subject[0].lower in ("for", "of"):
        subject = subject[1:]
    return subject


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:4])


def _left_name(tokens: Sequence[Token], index: int) -> list[Token]:
    """Name words right before ``index``; a capitalized first word of the sentence counts
    when it leads straight into the name ("Openvis Conf", "Houston Hackathon")."""
    name: list[Token] = []
    position = index - 1
    while position >= 0 and len(name) < 5:
        token = tokens[position]
        if not _is_name(token, sentence_start=position == 0):
            if position == 0 and _opens_a_name(token):
                name.insert(0, token)
            break
        name.insert(0, token)
        position -= 1
    return name


def _opens_a_name(token: Token) -> bool:
    """A capitalized first word of the sentence that may begin a name ("Houston
    Hackathon"), not an adverb, an interjection or a linking word that is capitalized only
    because it opens the sentence ("Actively outage", "Yup outage", "Since launch")."""
    lower = token.lower
    if not token.text[:1].isupper() or lower in _FUNCTION or lower in _VERBISH:
        return False
    return not _names_no_thing(lower)


def _names_no_thing(lower: str) -> bool:
    """An adverb, interjection or linking word: never part of what a title names ("We're
    actively investigating", "it's being rolled out slowly", "Yup, back up")."""
    if lower in _NO_NAME:
        return True
    return lower.endswith("ly") and len(lower) > 4 and "-" not in lower and lower not in _NOMINAL_LY


# Interjections and the like: never a name's word.
_NO_NAME = frozenset(
    "yup yeah yea yah nope nah thanks thank thx ty lol haha got gotta having seems looks "
    "sounds sorry oh ah wow hmm ugh aha alright actually still already again".split()
)
# Linking words: no name when they open the sentence ("Since launch, ...").
_SUBORDINATORS = frozenset(
    "since because while after before until unless though although once well".split()
)
# Words ending in -ly that are names or name their kind ("Weekly sync", "Italy meetup").
_NOMINAL_LY = frozenset(
    "weekly monthly daily yearly quarterly biweekly bimonthly nightly hourly early family "
    "italy assembly rally holly emily kelly billy molly sally lily".split()
)


def _right_extra(tokens: Sequence[Token], index: int) -> list[Token]:
    """A year, number or version right after the head: "Developer Day 2017", "Meetup #3"."""
    extra: list[Token] = []
    while index < len(tokens) and len(extra) < 2:
        token = tokens[index]
        if not (_NUMBER.match(token.text) or is_version(token.text)):
            break
        extra.append(token)
        index += 1
    return extra


_HOSTING = frozenset("having hosting holding running throwing organizing organising".split())
_HOSTED_ARTICLES = frozenset("a an another its their his her".split())


def _host(tokens: Sequence[Token], index: int) -> list[Token]:
    """Who "is having / hosting / holding a" the event at ``index`` (empty otherwise)."""
    # The head may begin with its article ("a talk" is one lexicon phrase).
    position = index if tokens[index].lower in _HOSTED_ARTICLES else index - 1
    while position >= 0 and (
        tokens[position].lower in _MODIFIERS or _NUMBER.match(tokens[position].text)
    ):
        position -= 1  # "is hosting a monthly meetup"
    if position < 2 or tokens[position].lower not in _HOSTED_ARTICLES:
        return []
    if tokens[position - 1].lower not in _HOSTING:
        return []
    if tokens[position - 2].lower not in ("is", "are", "will", "be"):
        return []
    host = _subject(tokens, position - 1)
    return [t for t in host if t.lower not in ("we", "i", "you", "they")]


def _right_name(tokens: Sequence[Token], index: int) -> list[Token]:
    """Capitalized words (at most two), then a year or number, after a named head, all in
    one run of the sentence."""
    name: list[Token] = []
    while index < len(tokens) and len(name) < 2:
        token = tokens[index]
        if not token.text[:1].isupper() or not _is_name(token, sentence_start=False):
            break
        if name and token.begin - name[-1].end > 1:
            break
        name.append(token)
        index += 1
    extra = _right_extra(tokens, index)
    return [*name, *extra] if extra else []


def _named_kind(tokens: Sequence[Token], index: int) -> list[Token]:
    """Capitalized words (at most four) ending in an event word, in one run after a named
    head: "[User Groups] Developer Focused HUG event"."""
    name: list[Token] = []
    while index < len(tokens) and len(name) < 5:
        token = tokens[index]
        if name and token.begin - name[-1].end > 1:
            return []
        if token.lower == "event" or lx.EVENT_WORDS.any_in([token.lower], {token.lower}):
            return [*name, token] if name else []
        if not token.text[:1].isupper() or not _is_name(token, sentence_start=False):
            return []
        name.append(token)
        index += 1
    return []


def _noun_run(tokens: Sequence[Token], position: int, limit: int = 5) -> list[Token]:
    """Words from ``position`` on that can be a noun phrase ("package server", "HubL
    Transpiler and JavaScript linting functionality"), without leading articles."""
    while position < len(tokens) and tokens[position].lower in _DETERMINERS:
        position += 1
    phrase: list[Token] = []
    while position < len(tokens) and len(phrase) < limit:
        token = tokens[position]
        lower = token.lower
        if phrase and phrase[-1].lower in _INNER and lower in _DETERMINERS:
            position += 1  # "version of [the] Follow Me module"
            continue
        capitalized_name = (
            bool(phrase) and token.text[:1].isupper() and phrase[-1].text[:1].isupper()
        )
        if (
            lower in _FUNCTION
            and not capitalized_name
            and not (phrase and lower in _INNER and position + 1 < len(tokens))
        ):
            break
        if lower in _VERBISH or lower in _VERB_HEADS or lower in _AUXILIARY:
            break
        if _names_no_thing(lower) and (position == 0 or not token.text[:1].isupper()):
            break
        phrase.append(token)
        position += 1
    while phrase and (phrase[-1].lower in _FUNCTION or phrase[-1].lower in _INNER):
        phrase.pop()
    return phrase


_DETERMINERS = frozenset("the a an our your their its this these those some".split())
_INNER = frozenset({"and", "of", "&", "for", "with"})


def _of_phrase(tokens: Sequence[Token], index: int) -> list[Token]:
    """What the head is of / on / for: "outage on [the package server]"."""
    if index >= len(tokens) or tokens[index].lower not in _LINKING:
        return []
    return _noun_run(tokens, index + 1, limit=6)


def _object(tokens: Sequence[Token], index: int) -> list[Token]:
    """What a verb head acts on: "launched [our integration with Shopify]", "released [a
    new version of the Follow Me module]" (the module, not the version), "launching [an
    update to our CMS Developer Documentation]" (the documentation's update)."""
    while index < len(tokens) and tokens[index].lower in ("new", "updated", "two", "a", "an"):
        index += 1
    phrase = _noun_run(tokens, index, limit=6)
    for position, token in enumerate(phrase):
        if token.lower not in _GENERIC_OBJECT:
            continue
        at = tokens.index(token)
        if at + 1 < len(tokens) and tokens[at + 1].lower in ("of", "to", "for"):
            named = _noun_run(tokens, at + 2, limit=5)
            if named:
                kind = [] if token.lower.startswith("version") else [token]
                return [*phrase[:position], *named, *kind] if position else [*named, *kind]
    return phrase


def _subject(tokens: Sequence[Token], index: int) -> list[Token]:
    """The noun phrase before a verb head, across auxiliaries: "[A/B testing website
    pages] is now live", "[The HubL Transpiler and JavaScript linting] is now available"."""
    position = index - 1
    while position >= 0 and (
        tokens[position].lower in _AUXILIARY or _names_no_thing(tokens[position].lower)
    ):
        position -= 1  # "[The new editor features] are gradually rolling out"
    end = position + 1
    while position >= 0:
        lower = tokens[position].lower
        inner = lower in _INNER and position > 0 and position + 1 < end
        if (
            (lower in _FUNCTION and not inner)
            or lower in _VERBISH
            or lower in _VERB_HEADS
            or (
                (_names_no_thing(lower) or (position == 0 and lower in _SUBORDINATORS))
                and (position == 0 or not tokens[position].text[:1].isupper())
            )
        ):
            break
        position -= 1
    phrase = list(tokens[position + 1 : end])
    while phrase and (phrase[0].lower in _DETERMINERS or phrase[0].lower in _INNER):
        phrase = phrase[1:]
    if not phrase or all(t.lower in _FUNCTION or t.lower in ("we", "i") for t in phrase):
        return []
    return phrase[-6:]


def _join(tokens: Sequence[Token]) -> str:
    return " ".join(token.text for token in tokens)


_CLOSING = re.compile(r"[」』]")
# Written onto the event word (関数型まつり2025), or a year after a space
# (関数型まつり 2026).
_ATTACHED = re.compile(r"[0-9A-Za-z][0-9A-Za-z.-]*|[ \u3000](?:19|20)\d\d(?![0-9A-Za-z])")


def cjk_bracketed(text: str, head_begin: int) -> str | None:
    """The name in brackets around a Japanese event word: 「第46回 Haskell-jp もくもく会」."""
    opening = max(text.rfind("「", 0, head_begin), text.rfind("『", 0, head_begin))
    if opening < 0 or any(mark in text[opening:head_begin] for mark in "」』\n"):
        return None
    closing = _CLOSING.search(text, head_begin)
    if closing is None or "\n" in text[head_begin : closing.start()]:
        return None
    return text[opening + 1 : closing.start()].strip() or None


def cjk_phrase(text: str, head_begin: int, head_text: str) -> str | None:
    """The run of CJK text around a Japanese event word, cut at particles and punctuation
    (a number or name written right after it belongs to it, and so does a year after a
    space: 関数型まつり2025, 関数型まつり 2026)."""
    start = head_begin
    while (
        start > 0 and _CJK_BREAK.match(text, start - 1) is None and text[start - 1] not in "「『(（"
    ):
        start -= 1
    end = head_begin + len(head_text)
    attached = _ATTACHED.match(text, end)
    if attached is not None:
        end = attached.end()
    phrase = text[start:end].strip(" 　:：")
    return phrase if len(phrase) > len(head_text) else None


_HIRAGANA = re.compile(r"[\u3040-\u309f]")


def cjk_name(text: str, head_begin: int, head_text: str) -> str | None:
    """The name a Japanese event noun carries before it or written onto it, without a
    tag to say so: 第33回Haskell-jpもくもく会, 並列・並行Haskell勉強会, 関数型まつり 2026. Not
    for a verbal noun, nor after kana words ("いつもどおり関数型まつり")."""
    if head_text in lx.JA_VERBAL_EVENT_WORDS:
        return None
    phrase = cjk_phrase(text, head_begin, head_text)
    if phrase is None or _HIRAGANA.search(phrase[: phrase.find(head_text)]):
        return None
    return phrase


# -- fallback: a heading or first clause, trimmed -----------------------------------------

_TRIM = re.compile(
    r"^[\s:,;.!?\-\u2013\u2014|*_~()\[\]\"'\u201c\u201d\u2018\u2019\u300c\u300d]+"
    r"|[\s:,;.!?\-\u2013\u2014|*_~(\[\"'\u201c\u201d\u2018\u300c]+$"
)


def versioned_title(text: str, category: EventCategory, near: int | None = None) -> str | None:
    """ "TLS 1.3 release" from "We've enabled TLS 1.3 support": the version near ``near``
    (a character position; the first version when None) with the name before it."""
    tokens = words_of(text)
    versions = [index for index, token in enumerate(tokens) if is_version(token.text)]
    if not versions:
        return None
    anchor = versions[0]
    if near is not None:
        anchor = next((i for i, t in enumerate(tokens) if t.end > near), versions[0])
    found = _versioned(tokens, anchor)
    return found + " " + _release_noun(category) if found else None


def status_page_title(url: str) -> str | None:
    """ "HubSpot incident" from status.HubSpot.com/incidents/..., "Cloudflare" from
    cloudflarestatus.com."""
    match = re.search(r"//(?:www\.)?(?:status\.(?P<a>[\w-]+)|(?P<b>[\w-]+?)status)\.", url)
    if match is None:
        return None
    name = match["a"] or match["b"]
    return (name if any(ch.isupper() for ch in name) else name.capitalize()) + " incident"


_BROADCAST = re.compile(r"(?<![\w@])@(?:here|channel|everyone)\b", re.IGNORECASE)
# Words that join a title to what came before it: "Also Developer Day 2017", "So the demo".
_LEAD_FILLER = re.compile(
    r"^(?:(?:also|and|so|plus|btw|anyway|ok|okay)\b[\s,:\-\u2013\u2014]+|(?:a|an)\s+(?=\S))",
    re.I,
)


# "#ops-maintenance: Postgres 16 upgrade" (a cross-post's source) names the channel.
_CHANNEL_LEAD = re.compile(r"^#[\w.-]+\s*[:\-\u2013\u2014]\s*(?=\S)")
# "4.12 goes", "Beta is": a verb left at the end of a cut clause.
_TRAILING_VERB = re.compile(r"\s+(?:goes|went|gets|got|is|are|was|were)$", re.IGNORECASE)


def finish(title: str) -> str:
    """Tidy a title: no pictographs, no broadcast mentions (@here, @channel), no edge
    punctuation, first letter up, at most MAX_CHARS."""
    title = _BROADCAST.sub(" ", title)
    title = _TRIM.sub("", re.sub(r"\s+", " ", symbols_stripped(title)))
    title = _LEAD_FILLER.sub("", _CHANNEL_LEAD.sub("", title))
    title = _TRAILING_VERB.sub("", title)
    if title.count('"') % 2 or title.count("“") != title.count("”"):
        # 'Customer webinar: "Meet Beacon' (cut inside a quote): no half quotes.
        title = re.sub(r'\s*["“”]\s*', " ", title).strip()
    if len(title) > MAX_CHARS:
        cut = title[: MAX_CHARS - 1]
        title = cut[: cut.rfind(" ")] if " " in cut else cut
        title = _TRIM.sub("", title)
    if title and title[0].islower() and not _mixed(title.split(" ", 1)[0]):
        title = title[0].upper() + title[1:]
    return title


def is_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


def symbols_stripped(text: str) -> str:
    """Text without pictographs (emoji, flags) and their joiners; letters and digits stay."""
    if text.isascii():
        return text
    return _HIGH_RUN.sub(_keep_letters, text)


# Characters above U+2000, where pictographs and their joiners are.
_HIGH_RUN = re.compile("[\u2001-\U0010ffff]+")


def _keep_letters(run: re.Match[str]) -> str:
    return "".join(
        ch for ch in run.group(0) if ch not in "\ufe0f\u200d" and unicodedata.category(ch) != "So"
    )


@functools.lru_cache(maxsize=8192)
def _generic(words: str) -> bool:
    """Only words that say what kind of thing, or nothing ("Scheduled maintenance")."""
    tokens = lx.words(words.lower())
    return bool(tokens) and all(
        t in _FUNCTION or t in _VERBISH or t in _MODIFIERS or lx.EVENT_WORDS.any_in([t], {t})
        for t in tokens
    )
