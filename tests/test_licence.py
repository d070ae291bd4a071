"""Licence detection on hand-written pages shaped like real ones, and which licences allow
republishing in full."""

from __future__ import annotations

import pytest

from aggregator.extract import parse_html
from aggregator.extract.licence import detect_licence
from aggregator.licences import (
    ALL_RIGHTS_RESERVED,
    MAX_DECLARED,
    OTHER,
    allows_full_republication,
    licence_from_text,
    licence_from_url,
)

PARAGRAPH = "<p>" + "Neighbours organised a food pantry and a rota of drivers. " * 8 + "</p>"

# A WordPress theme: the Creative Commons widget in the footer sidebar, badge and link.
WORDPRESS_FOOTER_WIDGET = f"""<!doctype html><html lang="en"><head><title>Pantry</title></head>
<body><article class="post"><h1>Pantry</h1><div class="entry-content">{PARAGRAPH}</div></article>
<footer id="colophon"><div class="widget widget_text"><div class="textwidget">
<a rel="license noopener" href="http://creativecommons.org/licenses/by-sa/4.0/">
<img alt="Creative Commons License" src="https://i.creativecommons.org/l/by-sa/4.0/88x31.png"></a>
This work is licensed under a <a rel="license" href="http://creativecommons.org/licenses/by-sa/4.0/">
Creative Commons Attribution-ShareAlike 4.0 International License</a>.</div></div></footer>
</body></html>"""

# Yoast-style JSON-LD: an @graph where the Article carries the licence as an object.
JSON_LD_GRAPH = f"""<html><head><script type="application/ld+json">
{{"@context": "https://schema.org", "@graph": [
  {{"@type": "WebSite", "name": "Commons", "license": "https://example.org/terms"}},
  {{"@type": ["Article", "BlogPosting"], "headline": "Pantry",
    "license": {{"@type": "CreativeWork", "url": "https://creativecommons.org/licenses/by-nc-nd/4.0/deed.en"}}}}
]}}
</script></head><body><article>{PARAGRAPH}</article></body></html>"""

# A CMS that writes its JSON-LD with a trailing comma and a raw line break in a string.
BROKEN_JSON_LD = f"""<html><head><script type="application/ld+json">
{{"@type": "NewsArticle", "headline": "Two
lines", "license": "https://creativecommons.org/publicdomain/zero/1.0/",}}
</script></head><body><article>{PARAGRAPH}</article></body></html>"""

META_COPYRIGHT = f"""<html><head><meta name="copyright" content="© 2024 The Daily Ledger. All
rights reserved."></head><body><article>{PARAGRAPH}</article></body></html>"""

DC_RIGHTS_CC = f"""<html><head><meta name="DC.rights" content="CC BY-NC 3.0"></head>
<body><article>{PARAGRAPH}</article></body></html>"""

NO_LICENCE = f"""<html><head><title>Pantry</title></head><body><article>{PARAGRAPH}
<a href="https://example.org/about">About us</a></article><footer>Built with love</footer>
</body></html>"""

LINK_IN_HEAD = f"""<html><head><link rel="License" href="https://www.gnu.org/licenses/fdl-1.3.html">
</head><body><article>{PARAGRAPH}</article></body></html>"""

# The article says its own licence; the footer badge is the site's default.
ARTICLE_OVER_FOOTER = f"""<html><body><article>{PARAGRAPH}<p>This essay is in the
<a href="https://creativecommons.org/publicdomain/mark/1.0/">public domain</a>.</p></article>
<footer><a rel="license" href="https://creativecommons.org/licenses/by-nd/4.0/">CC BY-ND</a>
</footer></body></html>"""

BADGE_ONLY = f"""<html><body><article>{PARAGRAPH}</article><div class="site-footer">
<img src="https://licensebuttons.net/l/by-nc-sa/3.0/88x31.png" alt="CC"></div></body></html>"""

JSON_LD_WINS = f"""<html><head><script type="application/ld+json">
{{"@type": "BlogPosting", "license": "Creative Commons Attribution 4.0 International"}}
</script><meta name="copyright" content="All rights reserved"></head>
<body><article>{PARAGRAPH}</article></body></html>"""


@pytest.mark.parametrize(
    ("page", "expected", "declared_part"),
    [
        (WORDPRESS_FOOTER_WIDGET, "CC-BY-SA-4.0", "creativecommons.org/licenses/by-sa/4.0"),
        (JSON_LD_GRAPH, "CC-BY-NC-ND-4.0", "by-nc-nd/4.0/deed.en"),
        (BROKEN_JSON_LD, "CC0-1.0", "publicdomain/zero/1.0"),
        (META_COPYRIGHT, ALL_RIGHTS_RESERVED, "© 2024 The Daily Ledger. All rights reserved."),
        (DC_RIGHTS_CC, "CC-BY-NC-3.0", "CC BY-NC 3.0"),
        (LINK_IN_HEAD, OTHER, "gnu.org/licenses/fdl-1.3"),
        (ARTICLE_OVER_FOOTER, "PDM", "publicdomain/mark/1.0"),
        (BADGE_ONLY, "CC-BY-NC-SA-3.0", "licensebuttons.net/l/by-nc-sa/3.0"),
        (JSON_LD_WINS, "CC-BY-4.0", "Creative Commons Attribution 4.0 International"),
    ],
)
def test_detects_the_declared_licence(page: str, expected: str, declared_part: str) -> None:
    licence = detect_licence(parse_html(page))
    assert licence is not None
    assert licence.id == expected
    assert declared_part in licence.declared


def test_a_page_without_a_licence_has_none() -> None:
    assert detect_licence(parse_html(NO_LICENCE)) is None


def test_unreadable_json_ld_is_passed_over() -> None:
    page = f"""<html><head><script type="application/ld+json">{{"license": [</script>
    <meta name="dcterms.rights" content="CC-BY-SA-4.0"></head><body>{PARAGRAPH}</body></html>"""
    licence = detect_licence(parse_html(page))
    assert licence is not None and licence.id == "CC-BY-SA-4.0"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://creativecommons.org/licenses/by/4.0/", "CC-BY-4.0"),
        ("//creativecommons.org/licenses/by-nc-sa/2.5/es/", "CC-BY-NC-SA-2.5"),
        ("http://creativecommons.org/licenses/by-sa/3.0/legalcode", "CC-BY-SA-3.0"),
        ("https://creativecommons.org/licenses/by-nd/4.0", "CC-BY-ND-4.0"),
        ("https://creativecommons.org/publicdomain/zero/1.0/deed.fr", "CC0-1.0"),
        ("https://i.creativecommons.org/p/zero/1.0/88x31.png", "CC0-1.0"),
        ("https://i.creativecommons.org/p/mark/1.0/88x31.png", "PDM"),
        (
            "https://mirrors.creativecommons.org/presskit/buttons/88x31/png/by-nc.png",
            "CC-BY-NC-4.0",
        ),
        ("https://creativecommons.org/about/", None),
        ("https://example.org/licence", None),
    ],
)
def test_names_licence_urls(url: str, expected: str | None) -> None:
    licence = licence_from_url(url)
    assert (licence.id if licence else None) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Creative Commons Attribution-NonCommercial-ShareAlike 4.0", "CC-BY-NC-SA-4.0"),
        ("Creative Commons Attribution-NoDerivatives 4.0 International", "CC-BY-ND-4.0"),
        ("cc by 2.0", "CC-BY-2.0"),
        ("CC0", "CC0-1.0"),
        ("Copyright 2023 Jane Doe", ALL_RIGHTS_RESERVED),
        ("Free to share", OTHER),
        ("   ", None),
    ],
)
def test_names_licence_texts(text: str, expected: str | None) -> None:
    licence = licence_from_text(text)
    assert (licence.id if licence else None) == expected


def test_a_copyright_meta_naming_only_its_holder_is_a_notice() -> None:
    page = f"""<html><head><meta name="copyright" content="Redfin"></head>
    <body>{PARAGRAPH}</body></html>"""
    licence = detect_licence(parse_html(page))
    assert licence is not None and (licence.id, licence.declared) == (ALL_RIGHTS_RESERVED, "Redfin")
    named = licence_from_text("Redfin")
    assert named is not None and named.id == OTHER  # the same words elsewhere say nothing


def test_the_declaration_is_capped() -> None:
    licence = licence_from_text("All rights reserved. " * 100)
    assert licence is not None and len(licence.declared) == MAX_DECLARED


@pytest.mark.parametrize(
    ("licence_id", "allowed"),
    [
        ("CC-BY-4.0", True),
        ("CC-BY-SA-4.0", True),
        ("CC-BY-NC-3.0", True),
        ("CC-BY-NC-SA-2.5", True),
        ("CC0-1.0", True),
        ("PDM", True),
        ("CC-BY-ND-4.0", False),
        ("CC-BY-NC-ND-4.0", False),
        (ALL_RIGHTS_RESERVED, False),
        (OTHER, False),
        (None, False),
        ("", False),
    ],
)
def test_which_licences_allow_full_republication(licence_id: str | None, allowed: bool) -> None:
    assert allows_full_republication(licence_id) is allowed


def test_body_classes_do_not_make_an_article_s_licence_site_wide() -> None:
    """WordPress puts "has-sidebar" on <body>: the article's own link still comes first."""
    page = f"""<html><body class="has-sidebar footer-widgets"><article>{PARAGRAPH}
    <a href="https://creativecommons.org/licenses/by/4.0/">CC BY</a></article>
    <aside><a rel="license" href="https://creativecommons.org/licenses/by-nd/4.0/">site</a></aside>
    </body></html>"""
    licence = detect_licence(parse_html(page))
    assert licence is not None and licence.id == "CC-BY-4.0"


COPYRIGHT_META = '<meta name="copyright" content="© 2024 Daily News. All rights reserved.">'


@pytest.mark.parametrize(
    "body",
    [
        # A photo's licence in the article's JSON-LD, on its ImageObject.
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "H", "image":'
        ' {"@type": "ImageObject", "url": "https://x.example/a.jpg",'
        ' "license": "https://creativecommons.org/licenses/by-sa/4.0/"}}</script>'
        "<article><p>Text.</p></article>",
        # A photo credit in a caption inside the article.
        '<article><figure><img src="a.jpg"><figcaption>Photo: <a href='
        '"https://creativecommons.org/licenses/by/2.0/">CC BY 2.0</a></figcaption></figure>'
        "<p>Text.</p></article>",
    ],
)
def test_a_picture_s_licence_is_not_the_article_s(body: str) -> None:
    page = f"<html><head>{COPYRIGHT_META}</head><body>{body}</body></html>"
    licence = detect_licence(parse_html(page))
    assert licence is not None and licence.id == "all-rights-reserved"


def test_public_domain_said_of_pictures_is_no_licence() -> None:
    meta = '<meta name="dc.rights" content="Images in the public domain.">'
    page = f"<html><head>{meta}</head><body><article><p>Text.</p></article></body></html>"
    licence = detect_licence(parse_html(page))
    assert licence is None or licence.id != "PDM"
