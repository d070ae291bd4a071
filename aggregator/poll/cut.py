"""A feed document cut after its first N entries, before feedparser reads it.

feedparser reads a document whole, at about a hundred times the cost of a bare lxml parse, and
only then does the poller keep the first ``polling.max_items_per_feed`` entries: a feed that
never trims its archive (100,000 items, 7.5 MB) cost half a minute and 300 MB on every poll.
Cut first, and the parse costs what the entries kept cost.

The cut is made on the bytes, by a lenient scan that knows just enough XML to find entries: it
skips CDATA sections, comments, processing instructions and declarations whole, reads quoted
attribute values, and tracks the elements open around the entries. Inside an entry it only
looks for the entry's end (or a new entry), so an entry's markup costs one regex search, not a
Python step per tag. The document is cut where entry N+1 starts; after it comes either the
original tail of the document (what follows the last entry, when it is short and closes exactly
the elements open at the cut: channel elements written after the items survive), or end tags
for the open elements. A well-formed document stays well-formed, with its first N entries
byte for byte; a malformed one stays malformed in the same way, for feedparser's lenient parser
to read as before. Nothing is cut unless the document has more than N entries.

Entries are ``item`` and ``entry`` elements (RSS 0.9x/2.0 and RSS 1.0/RDF items, Atom entries),
unprefixed or with a prefix bound to a namespace feedparser reads as a feed's own: the same
elements feedparser starts an entry on. Expects ASCII-compatible bytes (UTF-8, or a legacy
encoding feedparser decodes): a UTF-16 document has no ``<`` byte followed by a name, so it is
never cut.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

# What feedparser reads as a feed's own namespace (its ``namespaces`` mapped to '').
FEED_NAMESPACES = frozenset(
    {
        b"http://backend.userland.com/rss",
        b"http://blogs.law.harvard.edu/tech/rss",
        b"http://purl.org/rss/1.0/",
        b"http://my.netscape.com/rdf/simple/0.9/",
        b"http://purl.org/atom/ns#",
        b"http://www.w3.org/2005/Atom",
        b"http://purl.org/rss/1.0/modules/rss091#",
    }
)
ENTRY_NAMES = (b"item", b"entry")
# The original tail is kept only when it is short; longer, end tags close the document instead.
MAX_TAIL = 64 * 1024

_NAME = rb"[A-Za-z_][\w.:-]*"
# Skipped whole; an unterminated one runs to the end (so no search scans the rest twice).
_OPAQUE = rb"<!\[CDATA\[.*?(?:\]\]>|\Z)|<!--.*?(?:-->|\Z)|<\?.*?(?:\?>|\Z)"
# Quoted values never cross a ``<`` (XML forbids it there): a stray quote costs one tag, not
# a scan to the end.
_ATTRIBUTES = rb"""(?:[^<>"']|"[^"<]*"|'[^'<]*')*"""
# Between entries: every tag counts, for the elements open around the entries.
_TOKEN = re.compile(
    rb"(?P<opaque>" + _OPAQUE + rb")|<![^<>]*>?"
    rb"|</(?P<end>" + _NAME + rb")\s*>"
    rb"|<(?P<start>" + _NAME + rb")" + _ATTRIBUTES + rb"(?P<close>/?)>",
    re.DOTALL,
)
# Inside an entry: only its end, or the start of another entry, matter.
_IN_ENTRY = re.compile(
    _OPAQUE + rb"|<(?P<slash>/?)(?P<name>(?:[A-Za-z_][\w.-]*:)?(?:item|entry))(?=[\s/>])",
    re.DOTALL,
)
_START_TAG = re.compile(rb"<" + _NAME + _ATTRIBUTES + rb"(/?)>", re.DOTALL)
_END_TAG_REST = re.compile(rb"\s*>")
# The count of entries in the whole document: entry start tags outside CDATA and comments.
_ENTRY_START = re.compile(
    rb"<!\[CDATA\[.*?(?:\]\]>|\Z)|<!--.*?(?:-->|\Z)|<((?:[A-Za-z_][\w.-]*:)?(?:item|entry))[\s/>]",
    re.DOTALL,
)
_NAMESPACE = re.compile(rb"""\sxmlns:([\w.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


@dataclass(frozen=True)
class Cut:
    """A document cut after its first entries, and how many entries the whole of it lists."""

    body: bytes
    listed: int


def first_entries(body: bytes, limit: int) -> Cut | None:
    """``body`` cut after its first ``limit`` entries; None when it has no more than that."""
    if body.count(b"item") + body.count(b"entry") <= limit:
        return None  # a quick bound: most feeds end here, at the cost of two byte searches
    counts = Counter(_ENTRY_START.findall(body))
    counts.pop(b"", None)  # CDATA sections and comments
    if sum(counts.values()) <= limit:
        return None
    scan = _Scan(body, limit)
    start = scan.run()
    if start is None:
        return None
    listed = sum(count for name, count in counts.items() if scan.is_entry(name))
    tail = _tail(body, start, scan)
    ending = tail if tail is not None else b"".join(b"</%s>" % name for name in reversed(scan.open))
    return Cut(body[:start] + ending, max(listed, limit + 1))


class _Scan:
    """Walks the document up to the start of entry ``limit + 1``."""

    def __init__(self, body: bytes, limit: int) -> None:
        self.body = body
        self.limit = limit
        self.open: list[bytes] = []  # elements open here, outermost first
        self.prefixes: set[bytes] = set()  # bound to a feed namespace
        self.entries = 0

    def is_entry(self, name: bytes) -> bool:
        prefix, _, local = name.rpartition(b":")
        return local in ENTRY_NAMES and (not prefix or prefix in self.prefixes)

    def run(self) -> int | None:
        """Where entry ``limit + 1`` starts (``open`` then holds what is open there), or None."""
        position = 0
        while (token := _TOKEN.search(self.body, position)) is not None:
            position = token.end()
            if token["end"] is not None:
                self._close(token["end"])
            elif token["start"] is not None:
                name = token["start"]
                if b"xmlns:" in token[0]:
                    self._bind(token[0])
                if not self.is_entry(name):
                    if not token["close"]:
                        self.open.append(name)
                    continue
                self.entries += 1
                if self.entries > self.limit:
                    return token.start()
                if token["close"]:
                    continue
                position, cut = self._entry(name, position)
                if cut is not None:
                    return cut
        return None

    def _entry(self, name: bytes, position: int) -> tuple[int, int | None]:
        """Past the entry open at ``position``: (where it ends, None), or (_, where entry
        ``limit + 1`` starts) when that is inside it (a malformed document nesting entries)."""
        while (token := _IN_ENTRY.search(self.body, position)) is not None:
            position = token.end()
            found = token["name"]
            if found is None or not self.is_entry(found):
                continue
            if token["slash"]:
                if found == name:
                    rest = _END_TAG_REST.match(self.body, position)
                    return (rest.end() if rest else position), None
                continue
            self.entries += 1
            if self.entries > self.limit:
                self.open.append(name)
                return position, token.start()
            tag = _START_TAG.match(self.body, token.start())
            if tag is not None:
                position = tag.end()
                if not tag[1]:
                    name = found  # the entry left open is taken as ended by this one
        return len(self.body), None

    def _close(self, name: bytes) -> None:
        """Close ``name`` and whatever was left open inside it; a stray end tag changes nothing."""
        for depth in range(len(self.open) - 1, -1, -1):
            if self.open[depth] == name:
                del self.open[depth:]
                return

    def _bind(self, tag: bytes) -> None:
        for prefix, double, single in _NAMESPACE.findall(tag):
            if (double or single) in FEED_NAMESPACES:
                self.prefixes.add(prefix)
            else:
                self.prefixes.discard(prefix)


def _tail(body: bytes, start: int, scan: _Scan) -> bytes | None:
    """What follows the document's last entry, if it is short and closes exactly what is open
    at the cut; else None."""
    end = _last_entry_end(body, start, scan)
    if end is None or len(body) - end > MAX_TAIL:
        return None
    tail = body[end:]
    open_ = list(scan.open)
    for token in _TOKEN.finditer(tail):
        if token["end"] is not None:
            if not open_ or open_.pop() != token["end"]:
                return None
        elif token["start"] is not None:
            if scan.is_entry(token["start"]) or not open_:
                return None
            if not token["close"]:
                open_.append(token["start"])
    return tail if not open_ else None


def _last_entry_end(body: bytes, start: int, scan: _Scan) -> int | None:
    """Where the last entry's end tag ends, found from the end of the document."""
    best = None
    for name in {
        *ENTRY_NAMES,
        *(prefix + b":" + local for prefix in scan.prefixes for local in ENTRY_NAMES),
    }:
        found = body.rfind(b"</" + name, start)
        while found >= 0:
            rest = _END_TAG_REST.match(body, found + 2 + len(name))
            if rest is not None:
                best = max(best or 0, rest.end())
                break
            found = body.rfind(b"</" + name, start, found)
    return best
