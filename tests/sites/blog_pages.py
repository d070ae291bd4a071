"""Pages of the Kropotkin blog: essays, "Continue reading" listings, static pages, 404."""

from __future__ import annotations

from collections.abc import Sequence

from tests.sites.blog_theme import SITE_NAME, Chrome, document, search_form
from tests.sites.content import slugify
from tests.sites.feeds import comment_id
from tests.sites.markup import comment_date, esc, iso, render_blocks, render_footnotes, wp_date
from tests.sites.model import Article


def essay_body(article: Article, uploads: str) -> str:
    """The full post content as WordPress stores it, more-tag anchor and notes included."""
    before = render_blocks(article.blocks[: article.more_at], uploads)
    after = render_blocks(article.blocks[article.more_at :], uploads)
    anchor = f'<p><span id="more-{article.post_id}"></span></p>' if article.more_at else ""
    return "\n".join(part for part in (before, anchor, after, _notes(article)) if part)


def essay_page(
    chrome: Chrome, article: Article, older: Article | None, newer: Article | None
) -> str:
    main = f"""<article id="post-{article.post_id}" class="{_post_class(article)}">
{_entry_header(chrome, article, single=True)}
<div class="entry-content">
{essay_body(article, chrome.url("/wp-content/uploads"))}
</div>
{_entry_footer(chrome, article)}
</article>
{_author_info(chrome, article)}
{_comments(chrome, article)}
{_post_navigation(older, newer)}"""
    head = f"""<link rel="canonical" href="{esc(article.url)}" />
<link rel='shortlink' href='{esc(chrome.url(f"/?p={article.post_id}"))}' />
<link rel="alternate" type="application/rss+xml" title="{SITE_NAME} &raquo; \
{esc(article.title)} Comments Feed" href="{esc(article.url)}feed/" />"""
    body_class = (
        f"post-template-default single single-post postid-{article.post_id} single-format-standard"
    )
    return document(chrome, f"{article.title} – {SITE_NAME}", head, body_class, main)


def listing_page(
    chrome: Chrome,
    *,
    title: str,
    heading: str,
    body_class: str,
    entries: Sequence[Article],
    canonical: str,
    older: str | None,
    newer: str | None,
) -> str:
    """A blog index or archive: excerpts up to the more tag, then "Continue reading"."""
    header = (
        f'<header class="page-header"><h1 class="page-title">{esc(heading)}</h1></header>'
        if heading
        else '<header class="page-header"><h2 class="page-title">Posts</h2></header>'
    )
    items = "\n".join(_entry(chrome, article) for article in entries)
    links = []
    if older:
        links.append(f'<div class="nav-previous"><a href="{esc(older)}">Older posts</a></div>')
    if newer:
        links.append(f'<div class="nav-next"><a href="{esc(newer)}">Newer posts</a></div>')
    navigation = (
        '<nav class="navigation posts-navigation" aria-label="Posts">'
        '<h2 class="screen-reader-text">Posts navigation</h2>'
        f'<div class="nav-links">{"".join(links)}</div></nav>'
        if links
        else ""
    )
    head = f'<link rel="canonical" href="{esc(canonical)}" />'
    return document(chrome, title, head, body_class, f"{header}\n{items}\n{navigation}")


def static_page(chrome: Chrome, page_id: int, title: str, paragraphs: Sequence[str]) -> str:
    text = "\n".join(f"<p>{esc(p)}</p>" for p in paragraphs)
    main = f"""<article id="post-{page_id}" class="post-{page_id} page type-page status-publish \
hentry"><header class="entry-header"><h1 class="entry-title">{esc(title)}</h1></header>
<div class="entry-content">{text}</div></article>"""
    return document(
        chrome,
        f"{title} – {SITE_NAME}",
        "",
        f"page-template-default page \
page-id-{page_id}",
        main,
    )


def not_found_page(chrome: Chrome) -> str:
    main = f"""<section class="error-404 not-found">
<header class="page-header"><h1 class="page-title">Oops! That page can&rsquo;t be found.</h1>\
</header>
<div class="page-content"><p>It looks like nothing was found at this location. Maybe try a \
search?</p>
{search_form(chrome)}</div></section>"""
    return document(chrome, f"Page not found – {SITE_NAME}", "", "error404", main)


def login_page(chrome: Chrome) -> str:
    return f"""<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="UTF-8"><meta name='robots' content='noindex, \
noarchive' /><title>Log In &lsaquo; {SITE_NAME} &#8212; WordPress</title></head>
<body class="login no-js login-action-login wp-core-ui"><div id="login"><h1><a \
href="https://wordpress.org/">Powered by WordPress</a></h1>
<form name="loginform" id="loginform" action="{esc(chrome.url("/wp-login.php"))}" method="post">
<p><label for="user_login">Username or Email Address</label><input type="text" name="log" \
id="user_login" /></p><p><label for="user_pass">Password</label><input type="password" \
name="pwd" id="user_pass" /></p><p class="submit"><input type="submit" name="wp-submit" \
value="Log In" /></p></form></div></body></html>
"""


def _entry(chrome: Chrome, article: Article) -> str:
    uploads = chrome.url("/wp-content/uploads")
    shown = article.blocks[: article.more_at] if article.more_at else article.blocks
    more = (
        f'<p><a href="{esc(article.url)}#more-{article.post_id}" class="more-link">Continue '
        f'reading<span class="screen-reader-text"> “{esc(article.title)}”</span></a></p>'
        if article.more_at
        else ""
    )
    return f"""<article id="post-{article.post_id}" class="{_post_class(article)}">
{_entry_header(chrome, article, single=False)}
<div class="entry-content">
{render_blocks(shown, uploads)}
{more}
</div>
</article>"""


def _post_class(article: Article) -> str:
    terms = [f"category-{slugify(c)}" for c in article.categories]
    terms += [f"tag-{slugify(t)}" for t in article.tags]
    return (
        f"post-{article.post_id} post type-post status-publish format-standard hentry "
        + " ".join(terms)
    )


def _entry_header(chrome: Chrome, article: Article, single: bool) -> str:
    updated = (
        f'<time class="updated" datetime="{iso(article.modified)}">{wp_date(article.modified)}'
        "</time>"
        if article.modified != article.published
        else ""
    )
    author_url = chrome.url(f"/author/{slugify(article.author)}/")
    title = (
        f'<h1 class="entry-title">{esc(article.title)}</h1>'
        if single
        else f'<h2 class="entry-title"><a href="{esc(article.url)}" rel="bookmark">'
        f"{esc(article.title)}</a></h2>"
    )
    return f"""<header class="entry-header">
<div class="entry-meta"><span class="posted-on"><span class="screen-reader-text">Posted on\
</span> <a href="{esc(article.url)}" rel="bookmark"><time class="entry-date published" \
datetime="{iso(article.published)}">{wp_date(article.published)}</time>{updated}</a></span>\
<span class="byline"> by <span class="author vcard"><a class="url fn n" \
href="{esc(author_url)}">{esc(article.author)}</a></span></span></div>
{title}
</header>"""


def _entry_footer(chrome: Chrome, article: Article) -> str:
    cats = ", ".join(
        f'<a href="{esc(chrome.url(f"/category/{slugify(c)}/"))}" rel="category tag">{esc(c)}</a>'
        for c in article.categories
    )
    tags = ", ".join(
        f'<a href="{esc(chrome.url(f"/tag/{slugify(t)}/"))}" rel="tag">{esc(t)}</a>'
        for t in article.tags
    )
    return f"""<footer class="entry-footer"><span class="cat-tags-links"><span \
class="cat-links"><span class="screen-reader-text">Categories</span>{cats}</span><span \
class="tags-links"><span class="screen-reader-text">Tags</span>{tags}</span></span></footer>"""


def _author_info(chrome: Chrome, article: Article) -> str:
    if not article.author_bio:
        return ""
    url = chrome.url(f"/author/{slugify(article.author)}/")
    return f"""<div class="author-info"><div class="author-avatar"><img alt='' \
src='https://secure.gravatar.com/avatar/{article.post_id}?s=42&#038;d=mm&#038;r=g' \
class='avatar avatar-42 photo' height='42' width='42' /></div>
<div class="author-description"><h2 class="author-title"><span class="author-heading">\
Author:</span> {esc(article.author)}</h2>
<p class="author-bio">{esc(article.author_bio)} <a class="author-link" href="{esc(url)}" \
rel="author">View all posts by {esc(article.author)}</a></p></div></div>"""


def _notes(article: Article) -> str:
    """Numbered notes when the text has ``[n]`` markers, else an author–date reference list."""
    if not article.footnotes:
        return ""
    if any(f"[{n}]" in article.text for n in range(1, len(article.footnotes) + 1)):
        return "<hr />\n" + render_footnotes(article.footnotes)
    rows = "\n".join(f"<p>{esc(note)}</p>" for note in article.footnotes)
    return f"<h3>References</h3>\n{rows}"


def _comments(chrome: Chrome, article: Article) -> str:
    rows = []
    for index, comment in enumerate(article.comments):
        cid = comment_id(article, index)
        rows.append(f"""<li id="comment-{cid}" class="comment even thread-even depth-1">
<article id="div-comment-{cid}" class="comment-body"><footer class="comment-meta">\
<div class="comment-author vcard"><b class="fn">{esc(comment.author)}</b> <span \
class="says">says:</span></div><div class="comment-metadata"><a \
href="{esc(article.url)}#comment-{cid}"><time datetime="{iso(comment.date)}">\
{comment_date(comment.date)}</time></a></div></footer>
<div class="comment-content"><p>{esc(comment.text)}</p></div>
<div class="reply"><a rel="nofollow" class="comment-reply-link" \
href="{esc(article.url)}?replytocom={cid}#respond">Reply</a></div></article></li>""")
    title = ""
    if rows:
        replies = "One Reply" if len(rows) == 1 else f"{len(rows)} Replies"
        title = f'<h2 class="comments-title">{replies} to “{esc(article.title)}”</h2>'
    return f"""<div id="comments" class="comments-area">
{title}
{'<ol class="comment-list">' + "".join(rows) + "</ol>" if rows else ""}
<div id="respond" class="comment-respond"><h3 id="reply-title" class="comment-reply-title">\
Leave a Reply</h3><form action="{esc(chrome.url("/wp-comments-post.php"))}" method="post" \
id="commentform" class="comment-form" novalidate><p class="comment-notes"><span \
id="email-notes">Your email address will not be published.</span> Required fields are marked \
<span class="required">*</span></p><p class="comment-form-comment"><label \
for="comment">Comment <span class="required">*</span></label> <textarea id="comment" \
name="comment" cols="45" rows="8" maxlength="65525" required></textarea></p>
<p class="comment-form-author"><label for="author">Name</label> <input id="author" \
name="author" type="text" value="" size="30" /></p>
<p class="comment-form-email"><label for="email">Email</label> <input id="email" name="email" \
type="email" value="" size="30" /></p>
<p class="form-submit"><input name="submit" type="submit" id="submit" class="submit" \
value="Post Comment" /> <input type='hidden' name='comment_post_ID' \
value='{article.post_id}' id='comment_post_ID' /></p></form></div></div>"""


def _post_navigation(older: Article | None, newer: Article | None) -> str:
    cells = []
    if older is not None:
        cells.append(
            f'<div class="nav-previous"><a href="{esc(older.url)}" rel="prev"><span '
            'class="screen-reader-text">Previous Post</span><span aria-hidden="true" '
            f'class="nav-subtitle">Previous</span> <span class="nav-title">{esc(older.title)}'
            "</span></a></div>"
        )
    if newer is not None:
        cells.append(
            f'<div class="nav-next"><a href="{esc(newer.url)}" rel="next"><span '
            'class="screen-reader-text">Next Post</span><span aria-hidden="true" '
            f'class="nav-subtitle">Next</span> <span class="nav-title">{esc(newer.title)}'
            "</span></a></div>"
        )
    return (
        '<nav class="navigation post-navigation" aria-label="Posts"><h2 '
        'class="screen-reader-text">Post navigation</h2>'
        f'<div class="nav-links">{"".join(cells)}</div></nav>'
    )
