"""Pieces of a Countercurrents article page: head metadata, byline, bio, tags, related posts
and comments."""

from __future__ import annotations

import json
from collections.abc import Sequence

from tests.sites.content import slugify
from tests.sites.feeds import comment_id
from tests.sites.markup import comment_date, esc, iso, teaser, wp_date
from tests.sites.model import Article
from tests.sites.news_theme import SITE_NAME, TAGLINE, Chrome


def json_ld(chrome: Chrome, article: Article) -> str:
    """Yoast's schema graph with a NewsArticle node."""
    person = chrome.url(f"/#/schema/person/{slugify(article.author)}")
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {
                "@type": "NewsArticle",
                "@id": f"{article.url}#article",
                "isPartOf": {"@id": article.url},
                "author": {"name": article.author, "@id": person},
                "headline": article.title,
                "datePublished": iso(article.published),
                "dateModified": iso(article.modified),
                "mainEntityOfPage": {"@id": article.url},
                "wordCount": article.word_count,
                "commentCount": len(article.comments),
                "publisher": {"@id": chrome.url("/#organization")},
                "keywords": list(article.tags),
                "articleSection": list(article.categories),
                "inLanguage": "en-US",
            },
            {
                "@type": "WebPage",
                "@id": article.url,
                "url": article.url,
                "name": f"{article.title} | {SITE_NAME}",
                "datePublished": iso(article.published),
            },
            {
                "@type": "Organization",
                "@id": chrome.url("/#organization"),
                "name": SITE_NAME,
                "url": chrome.url("/"),
                "description": TAGLINE,
            },
            {
                "@type": "Person",
                "@id": person,
                "name": article.author,
                "url": chrome.url(f"/author/{slugify(article.author)}/"),
            },
        ],
    }
    data = json.dumps(graph, ensure_ascii=False).replace("</", "<\\/")
    return f'<script type="application/ld+json" class="yoast-schema-graph">{data}</script>'


def crumbs(chrome: Chrome, article: Article) -> str:
    category = article.categories[0] if article.categories else "Uncategorized"
    return f"""<div class="td-crumb-container"><div class="entry-crumbs">\
<span><a title="" class="entry-crumb" href="{esc(chrome.url("/"))}">Home</a></span> \
<i class="td-icon-right td-bread-sep"></i> <span><a class="entry-crumb" \
href="{esc(chrome.url(f"/category/{slugify(category)}/"))}">{esc(category)}</a></span> \
<i class="td-icon-right td-bread-sep td-bred-no-url-last"></i> \
<span class="td-bred-no-url-last">{esc(article.title)}</span></div></div>"""


def post_header(chrome: Chrome, article: Article) -> str:
    categories = "".join(
        f'<li class="entry-category"><a href="{esc(chrome.url(f"/category/{slugify(c)}/"))}">'
        f"{esc(c)}</a></li>"
        for c in article.categories
    )
    author_url = chrome.url(f"/author/{slugify(article.author)}/")
    return f"""<div class="td-post-header">
<ul class="td-category">{categories}</ul>
<header class="td-post-title">
<h1 class="entry-title">{esc(article.title)}</h1>
<div class="td-module-meta-info">
<div class="td-post-author-name"><div class="td-author-by">By</div> \
<a href="{esc(author_url)}">{esc(article.author)}</a><div class="td-author-line"> - </div></div>
<span class="td-post-date"><time class="entry-date updated td-module-date" \
datetime="{iso(article.published)}">{wp_date(article.published)}</time></span>
<div class="td-post-comments"><a href="#comments"><i class="td-icon-comments"></i>\
{len(article.comments)}</a></div>
<div class="td-post-views"><i class="td-icon-views"></i><span \
class="td-nr-views-{article.post_id}">{article.post_id % 997 + 41}</span></div>
</div>
</header>
</div>"""


def bio_box(article: Article) -> str:
    """The author note Countercurrents pastes at the end of every article, in two styles."""
    if article.post_id % 2:
        return f'<div class="author-bio-box"><p><em>{esc(article.author_bio)}</em></p></div>'
    return (
        '<p class="has-background" style="background-color:#eeeeee">'
        f"<strong>{esc(article.author_bio)}</strong></p>"
    )


def tags(chrome: Chrome, article: Article) -> str:
    links = "".join(
        f'<li><a href="{esc(chrome.url(f"/tag/{slugify(t)}/"))}">{esc(t)}</a></li>'
        for t in article.tags
    )
    return f"""<div class="td-post-source-tags"><ul class="td-tags td-post-small-box clearfix">\
<li><span>TAGS</span></li>{links}</ul></div>"""


def next_prev(neighbours: Sequence[Article]) -> str:
    cells = []
    for label, article in zip(("Previous article", "Next article"), neighbours, strict=False):
        if article is not None:
            cells.append(
                f'<div class="td-block-span6 td-post-next-prev-content"><span>{label}</span>'
                f'<a href="{esc(article.url)}">{esc(article.title)}</a></div>'
            )
    return f'<div class="td-block-row td-post-next-prev">{"".join(cells)}</div>'


def related(related: Sequence[Article]) -> str:
    items = "".join(
        f"""<div class="td-related-span4"><div class="td_module_related_posts td-animation-stack \
td_mod_related_posts"><div class="item-details"><h3 class="entry-title td-module-title">\
<a href="{esc(a.url)}" rel="bookmark" title="{esc(a.title)}">{esc(a.title)}</a></h3>\
<div class="td-excerpt">{esc(teaser(a.text))}</div></div></div></div>"""
        for a in related
    )
    return f"""<div class="td_block_wrap td_block_related_posts td_with_ajax_pagination \
td-pb-border-top td_block_template_1">
<h4 class="td-related-title td-block-title"><a id="related" class="td-related-left \
td-cur-simple-item" href="#">Related Posts</a></h4>
<div class="td_block_inner">{items}</div></div>"""


def comments(chrome: Chrome, article: Article) -> str:
    rows = []
    for index, comment in enumerate(article.comments):
        cid = comment_id(article, index)
        rows.append(f"""<li class="comment even thread-even depth-1" id="li-comment-{cid}">
<article><footer><img alt='' \
src='https://secure.gravatar.com/avatar/{cid}?s=50&#038;d=mm&#038;r=g' \
class='avatar avatar-50 photo' height='50' width='50' />\
<cite>{esc(comment.author)}</cite>\
<a class="comment-link" href="#li-comment-{cid}"><time datetime="{iso(comment.date)}">\
{comment_date(comment.date)}</time></a></footer>
<div class="comment-content"><p>{esc(comment.text)}</p></div>
<div class="comment-meta" id="comment-{cid}"><a rel='nofollow' class='comment-reply-link' \
href='#comment-{cid}'>Reply</a></div></article></li>""")
    listing = ""
    if rows:
        listing = f"""<div class="td-comments-title-wrap td_block_template_1"><h4 \
class="block-title"><span>{len(rows)} COMMENTS</span></h4></div>
<ol class="comment-list">{"".join(rows)}</ol>"""
    action = chrome.url("/wp-comments-post.php")
    return f"""<div class="comments" id="comments">
{listing}
<div id="respond" class="comment-respond"><h3 id="reply-title" class="comment-reply-title">\
LEAVE A REPLY</h3>
<form action="{esc(action)}" method="post" id="commentform" class="comment-form">
<div class="comment-form-input-wrap td-form-comment"><textarea placeholder="Comment:" \
id="comment" name="comment" cols="45" rows="8"></textarea></div>
<div class="comment-form-input-wrap td-form-author"><input id="author" name="author" \
placeholder="Name:*" type="text" value="" size="30" /></div>
<div class="comment-form-input-wrap td-form-email"><input id="email" name="email" \
placeholder="Email:*" type="text" value="" size="30" /></div>
<p class="form-submit"><input name="submit" type="submit" id="submit" class="submit" \
value="Post Comment" /><input type='hidden' name='comment_post_ID' value='{article.post_id}' \
id='comment_post_ID' /></p>
</form></div></div>"""
