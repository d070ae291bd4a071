"""Countercurrents pages: single article, AMP article, listings, static pages and errors."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from tests.sites import news_parts as parts
from tests.sites.content import slugify
from tests.sites.markup import (
    esc,
    iso,
    page_numbers,
    render_blocks,
    render_footnotes,
    wp_date,
)
from tests.sites.model import Article
from tests.sites.news_theme import (
    SITE_NAME,
    Chrome,
    ad_block,
    annual_box,
    channels_banner,
    document,
    newsletter_form,
    share_buttons,
    support_box,
)

ROBOTS_META = (
    '<meta name="robots" content="index, follow, max-image-preview:large, max-snippet:-1, '
    'max-video-preview:-1" />'
)


def article_page(
    chrome: Chrome, article: Article, related: Sequence[Article], neighbours: Sequence[Article]
) -> str:
    """The single-post page: the article inside every banner the real site shows."""
    terms = " ".join(
        [f"category-{slugify(c)}" for c in article.categories]
        + [f"tag-{slugify(t)}" for t in article.tags]
    )
    body_class = (
        f"post-template-default single single-post postid-{article.post_id} single-format-standard"
    )
    main = f"""{parts.crumbs(chrome, article)}
<article id="post-{article.post_id}" class="post-{article.post_id} post type-post \
status-publish format-standard has-post-thumbnail hentry {terms}" itemscope \
itemtype="https://schema.org/Article">
{parts.post_header(chrome, article)}
{share_buttons(article.url, article.title)}
<div class="td-post-content tagdiv-type">
<div class="entry-content">
{ad_block(2)}
{render_blocks(article.blocks, chrome.uploads(), _inline_ads)}
{parts.bio_box(article)}
{render_footnotes(article.footnotes)}
{support_box()}
{newsletter_form(chrome, 2)}
{channels_banner(chrome)}
</div>
</div>
<footer>
{parts.tags(chrome, article)}
{share_buttons(article.url, article.title)}
{parts.next_prev(neighbours)}
</footer>
</article>
{parts.related(related)}
{newsletter_form(chrome, 3)}
{annual_box(chrome)}
{parts.comments(chrome, article)}"""
    title = f"{article.title} | {SITE_NAME}"
    return document(chrome, title, _article_head(chrome, article), body_class, main)


def amp_page(chrome: Chrome, article: Article) -> str:
    """The AMP plugin's "reader mode" copy of an article, pointing back to the canonical page."""
    body = render_blocks(article.blocks, chrome.uploads())
    body = re.sub(r"<img ([^>]*)>", r'<amp-img \1 layout="responsive"></amp-img>', body)
    cats = ", ".join(
        f'<a href="{esc(chrome.url(f"/category/{slugify(c)}/"))}">{esc(c)}</a>'
        for c in article.categories
    )
    return f"""<!doctype html>
<html amp lang="en-US">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,minimum-scale=1,initial-scale=1">
<title>{esc(article.title)} &#8211; {SITE_NAME}</title>
<link rel="canonical" href="{esc(article.url)}">
<script async src="https://cdn.ampproject.org/v0.js"></script>
<script async custom-element="amp-ad" src="https://cdn.ampproject.org/v0/amp-ad-0.1.js"></script>
<style amp-boilerplate>body{{-webkit-animation:-amp-start 8s steps(1,end) 0s 1 normal both;\
animation:-amp-start 8s steps(1,end) 0s 1 normal both}}</style><noscript><style \
amp-boilerplate>body{{-webkit-animation:none;animation:none}}</style></noscript>
<style amp-custom>.amp-wp-header{{background:#c00}}.amp-wp-article{{max-width:840px}}</style>
{parts.json_ld(chrome, article)}
</head>
<body class="">
<header id="top" class="amp-wp-header"><div><a href="{esc(chrome.url("/"))}">\
<span class="amp-site-title">{SITE_NAME}</span></a></div></header>
<article class="amp-wp-article">
<header class="amp-wp-article-header">
<h1 class="amp-wp-title">{esc(article.title)}</h1>
<div class="amp-wp-meta amp-wp-byline"><span class="amp-wp-author author vcard">\
{esc(article.author)}</span></div>
<div class="amp-wp-meta amp-wp-posted-on"><time datetime="{iso(article.published)}">\
{wp_date(article.published)}</time></div>
</header>
<div class="amp-wp-article-content">
{body}
{parts.bio_box(article)}
{render_footnotes(article.footnotes)}
<amp-ad width="300" height="250" type="adsense" data-ad-client="ca-pub-8736925110413507" \
data-ad-slot="5100000011"></amp-ad>
</div>
<footer class="amp-wp-article-footer">
<div class="amp-wp-meta amp-wp-tax-category">Categories: {cats}</div>
<div class="amp-wp-meta amp-wp-comments-link"><a href="{esc(article.url)}#comments">\
Leave a Comment</a></div>
</footer>
</article>
<footer class="amp-wp-footer"><div><h2>{SITE_NAME}</h2><a href="#top" class="back-to-top">\
Back to top</a></div></footer>
</body>
</html>
"""


def listing_page(
    chrome: Chrome,
    *,
    title: str,
    heading: str,
    body_class: str,
    entries: Sequence[Article],
    page: int,
    pages: int,
    link: Callable[[int], str],
    feed: str = "",
) -> str:
    """Home, archive, author and search pages: ten teasers and the page numbers."""
    modules = [_module(chrome, article) for article in entries]
    if len(modules) > 5:
        modules.insert(5, ad_block(5))
    if not entries:
        modules = [
            '<div class="no-results td-pb-padding-side"><h2>No results for your search</h2>'
            "<p>Sorry, but nothing matched your search terms. Please try again with some "
            "different keywords.</p></div>"
        ]
    head = [ROBOTS_META, f'<link rel="canonical" href="{esc(link(page))}" />']
    if page > 1:
        head.append(f'<link rel="prev" href="{esc(link(page - 1))}" />')
    if page < pages:
        head.append(f'<link rel="next" href="{esc(link(page + 1))}" />')
    head += [
        '<meta property="og:locale" content="en_US" />',
        '<meta property="og:type" content="website" />',
        f'<meta property="og:title" content="{esc(title)}" />',
        f'<meta property="og:url" content="{esc(link(page))}" />',
        f'<meta property="og:site_name" content="{SITE_NAME}" />',
    ]
    if feed:
        head.append(
            f'<link rel="alternate" type="application/rss+xml" title="{SITE_NAME} &raquo; '
            f'{esc(heading)} Feed" href="{esc(feed)}" />'
        )
    main = f"""<div class="td-category-header td-container-wrap">
<h1 class="entry-title td-page-title"><span>{esc(heading)}</span></h1></div>
<div class="td-block-row">
{"".join(modules)}
</div>
<div class="page-nav td-pb-padding-side">
{page_numbers(page, pages, link)}
<span class="pages">Page {page} of {pages}</span></div>"""
    return document(chrome, title, "\n".join(head), body_class, main)


def static_page(
    chrome: Chrome, page_id: int, title: str, paragraphs: Sequence[str], extra: str = ""
) -> str:
    """A WordPress page (About, Contact …); ``extra`` is markup appended to its text."""
    text = "\n".join(f"<p>{esc(p)}</p>" for p in paragraphs) + extra
    main = f"""<article id="post-{page_id}" class="post-{page_id} page type-page status-publish \
hentry">
<div class="td-page-header"><h1 class="entry-title td-page-title"><span>{esc(title)}</span></h1>\
</div>
<div class="td-page-content tagdiv-type">
{text}
</div></article>"""
    body_class = f"page-template-default page page-id-{page_id}"
    return document(chrome, f"{title} - {SITE_NAME}", ROBOTS_META, body_class, main)


def not_found_page(chrome: Chrome) -> str:
    latest = "".join(_module(chrome, article) for article in chrome.latest[:4])
    main = f"""<div class="td-404-head"><div class="td-404-title">Ooops... Error 404</div>
<div class="td-404-sub-title">Sorry, but the page you are looking for doesn't exist.</div>
<div class="td-404-sub-sub-title">You can go to the <a href="{esc(chrome.url("/"))}">\
HOMEPAGE</a></div></div>
<h4 class="td-related-title"><span>OUR LATEST POSTS</span></h4>
<div class="td-block-row">{latest}</div>"""
    head = '<meta name="robots" content="noindex, follow" />'
    return document(chrome, f"Page not found - {SITE_NAME}", head, "error404", main)


def server_error_page() -> str:
    """WordPress's fatal-error screen, served with status 500."""
    return """<!DOCTYPE html>
<html lang="en-US">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
<meta name="viewport" content="width=device-width">
<meta name='robots' content='max-image-preview:large, noindex, follow' />
<title>WordPress &rsaquo; Error</title>
</head>
<body id="error-page">
<div class="wp-die-message"><p>There has been a critical error on this website.</p>\
<p><a href="https://wordpress.org/documentation/article/faq-troubleshooting/">Learn more about \
troubleshooting WordPress.</a></p></div></body>
</html>
"""


def forbidden_page() -> str:
    """What nginx says when /wp-admin/ is locked to the office network."""
    return """<html>
<head><title>403 Forbidden</title></head>
<body>
<center><h1>403 Forbidden</h1></center>
<hr><center>nginx</center>
</body>
</html>
"""


def _inline_ads(index: int) -> str:
    return ad_block(3) if index == 2 else ""


def _article_head(chrome: Chrome, article: Article) -> str:
    figures = [block for block in article.blocks if block.kind == "figure"]
    image = (
        f'<meta property="og:image" content="{esc(chrome.uploads())}/{esc(figures[0].image)}" />'
        if figures
        else ""
    )
    minutes = max(1, round(article.word_count / 220))
    return f"""{ROBOTS_META}
<link rel="canonical" href="{esc(article.url)}" />
<meta property="og:locale" content="en_US" />
<meta property="og:type" content="article" />
<meta property="og:title" content="{esc(article.title)}" />
<meta property="og:description" content="{esc(article.summary)}" />
<meta property="og:url" content="{esc(article.url)}" />
<meta property="og:site_name" content="{SITE_NAME}" />
<meta property="article:publisher" content="https://www.facebook.com/countercurrents" />
<meta property="article:published_time" content="{iso(article.published)}" />
<meta property="article:modified_time" content="{iso(article.modified)}" />
{image}
<meta name="author" content="{esc(article.author)}" />
<meta name="twitter:card" content="summary_large_image" />
<meta name="twitter:label1" content="Written by" />
<meta name="twitter:data1" content="{esc(article.author)}" />
<meta name="twitter:label2" content="Est. reading time" />
<meta name="twitter:data2" content="{minutes} minutes" />
{parts.json_ld(chrome, article) if article.json_ld else ""}
<link rel="amphtml" href="{esc(article.url)}amp/" />
<link rel='shortlink' href='{esc(chrome.url(f"/?p={article.post_id}"))}' />"""


def _module(chrome: Chrome, article: Article) -> str:
    """One teaser on a listing page."""
    author_url = chrome.url(f"/author/{slugify(article.author)}/")
    thumb = chrome.url(f"/wp-content/uploads/2024/01/thumb-{article.post_id}-218x150.jpg")
    return f"""<div class="td_module_10 td_module_wrap td-animation-stack">
<div class="td-module-thumb"><a href="{esc(article.url)}" rel="bookmark" class="td-image-wrap" \
title="{esc(article.title)}"><img width="218" height="150" class="entry-thumb" \
src="{esc(thumb)}" alt="" title="{esc(article.title)}" /></a></div>
<div class="item-details">
<h3 class="entry-title td-module-title"><a href="{esc(article.url)}" rel="bookmark" \
title="{esc(article.title)}">{esc(article.title)}</a></h3>
<div class="td-module-meta-info">
<span class="td-post-author-name"><a href="{esc(author_url)}">{esc(article.author)}</a> \
<span>-</span> </span>
<span class="td-post-date"><time class="entry-date updated td-module-date" \
datetime="{iso(article.published)}">{wp_date(article.published)}</time></span>
<span class="td-module-comments"><a href="{esc(article.url)}#respond">\
{len(article.comments)}</a></span>
</div>
<div class="td-excerpt">{esc(article.summary)} [&hellip;]</div>
<div class="td-read-more"><a href="{esc(article.url)}">Read More</a></div>
</div>
</div>
"""
