"""Calls to action: the short lines a site puts around (and inside) every article.

"Sign up for our newsletter", "Share this post", "Advertisement", "Related articles": trafilatura
keeps them when they sit in the article's container, and learned boilerplate only removes them
once a source has shown them twice. A block is dropped here when it is short and opens with such
words; a longer block that happens to start so (an essay's "Subscribers keep joining…") stays.

Measured on the 790 articles of the development corpus (README, "Extraction quality"): of the 157
short lines these words open in what was extracted before this step, 149 are not in the reviewed
text and 8 are (a podcast's own "Subscribe to …", a "Learn more" heading). The post's own
furniture (reading times, bylines and dates alone, "Related: …"), sales sign-offs, labelled ads
and short newsletter appeals, added later, dropped 56 more lines there, none in the reviewed text.
The cues are English words: in the corpus no call to action left in a non-English page, and
furniture named in markup is removed whatever the language (``furniture.py``).
"""

from __future__ import annotations

import re

MAX_CALL_WORDS = 14
# A date as bylines write it: 2026-05-01, 1.5.2026, 1 May 2026, May 1st, 2026.
_DATE = (
    r"(?:\d{1,4}[./-]\d{1,2}[./-]\d{1,4}"
    r"|(?:\d{1,2}(?:st|nd|rd|th)?\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
    r"(?:\s+\d{1,2}(?:st|nd|rd|th)?,?)?\s+\d{4})"
)
# Longer than this, a block is no call to action (and no pattern reads a long line of one token).
MAX_CALL_CHARACTERS = 400
CALL_TO_ACTION = re.compile(
    r"^\W*(?:"
    # newsletters, subscriptions, sign-ups
    # (an article's own "Sign up to deliver groceries" or "Subscribe to the rent strike" stays:
    # only a sign-up for mail, or one standing alone, is the site's)
    r"(?:sign up|subscribe)\b(?:\W*$|.*\b(?:newsletters?|mailing list|e-?mails?|inbox|digest)\b)"
    r"|join (?:our|the|my)\b.*\b(?:newsletter|mailing list)"
    r"|(?:our |the )?newsletters?\W*$|get the (?:latest|best)\b.*\b(?:inbox|newsletter|delivered)"
    # sharing and following
    r"|share this (?:article|post|story|page)|share\W*$|follow us(?: on\b|\W*$)"
    r"|share on (?:facebook|twitter|x|linkedin|whatsapp|telegram|reddit|e-?mail|mastodon"
    r"|bluesky|threads|pinterest|tumblr)\b"
    # advertising and sales
    r"|(?:skip )?(?:advertisement\W*)+$|(?:advertisement|sponsored)\s*:"
    r"|book a (?:demo|call)\W*$|start (?:your )?free trial"
    r"|request a (?:quote|demo)\W*$"
    # the site's own pages and other articles
    r"|privacy policy\W*$|terms (?:of use|of service|(?:&|and) conditions)\W*$"
    r"|cookie (?:notice|policy)\W*$|copyright\W*$|back to (?:blog|blogs|all posts)\W*$"
    r"|related (?:articles|posts|searches|companies|stories)\W*$"
    r"|you (?:may|might) (?:also )?(?:like|be interested)"
    # labels standing alone: a table of contents, a "read more" button, a tag box's title
    r"|(?:table of contents|read more|learn more|written by|tags|trending|related"
    r"|get in touch|contact us)\W*$"
    # a post's own furniture: its reading time, a byline or publication date on a line of its
    # own, a page counter, a link to another post ("Related: …", "Next article: …")
    r"|\d+\s*(?:-\s*)?min(?:ute)?s?\.?\s+read(?:ing)?(?: time)?\W*$"
    # a name alone ("Written by Kropotkin in 1902" is a sentence), a date alone
    r"|written by(?:\s+(?-i:[A-Z])[\w.'’-]*){1,3}\W*$"
    r"|published(?:\s+on)?:?\s+"
    + _DATE
    + r"(?:,?\s+(?:at\s+)?\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\.?)?)?\W*$"
    r"|page \d+ of \d+\W*$"
    # a title, not a sentence: no full stop but inside a word (U.S., a URL)
    r"|related(?: posts?| articles?| stories)?\s*:\s*\S(?:[^.]|\.(?=\S))*$"
    r"|(?:next|previous) (?:article|post|story)\s*:"
    # sales: a sign-off that asks for a call or an order (a bare "Get started" heads a how-to)
    r"|(?:get started|contact us|get in touch)(?: today| now| with (?:us|our team))\W*$"
    r"|get (?:a|your) free (?:quote|estimate|consultation|demo|trial)\b"
    r"|subscribe to (?:get access|this site|us)\W*$"
    r")",
    re.IGNORECASE,
)


# A short paragraph asking for a newsletter sign-up anywhere in it ("Want more? Sign up for our
# newsletter, The Digest, and …"): the mail sign-up is its point.
MAX_SIGNUP_WORDS = 24
NEWSLETTER_SIGNUP = re.compile(
    r"\b(?:sign up|subscribe|join)\b[^.!?]{0,40}\b(?:our|my) (?:free )?(?:\w+ )?"
    r"(?:newsletter|mailing list)\b",
    re.IGNORECASE,
)


def is_call_to_action(text: str) -> bool:
    """``text`` (one block's) is a short call to action, not part of the article."""
    if len(text) > MAX_CALL_CHARACTERS:
        return False
    words = len(text.split())
    if words <= MAX_CALL_WORDS and CALL_TO_ACTION.match(text):
        return True
    return words <= MAX_SIGNUP_WORDS and bool(NEWSLETTER_SIGNUP.search(text))
