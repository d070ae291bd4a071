"""The peterkropotkin.org look: a Twenty Seventeen frame with its sidebar widgets."""

from __future__ import annotations

from dataclasses import dataclass

from tests.sites.markup import esc

SITE_NAME = "Peter Kropotkin"
TAGLINE = "Kropotkin today: mutual aid, geography and anarchism"
GLOBAL_JS = "/wp-content/themes/twentyseventeen/assets/js/global.js?ver=20211130"
SUBMISSIONS = (
    "Abiding by the Kropotkin principles of mutual aid, community and solidarity this website is "
    "intended to be a cooperative enterprise. We welcome contributions of any kind; essays, "
    "reviews, criticisms, general ideas, related news, book releases, academic writing, abstracts "
    "or relevant websites."
)
COLLOQUIUM_SPEAKERS = (
    "Prof. Valeria de Marcos USP Department of Geography",
    "Prof. Fábio Betioli Contel AGB São Paulo,",
    "Prof. Adriano Gonçalves Skoda, Biblioteca Terra Livre",
    "Prof. Heike Jöns, History and Philosophy of Geography Research Group (HPGRG/RGS-IBG)",
    "Prof. Federico Ferretti, IGU Commission History of Geography",
)


@dataclass(frozen=True)
class Chrome:
    """What the frame needs: the site address and the sidebar lists, already as links."""

    base_url: str
    recent: tuple[tuple[str, str], ...]  # (url, title)
    months: tuple[tuple[str, str], ...]  # (url, "March 2021")
    categories: tuple[tuple[str, str, int], ...]  # (url, name, count)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"


def document(chrome: Chrome, title: str, head: str, body_class: str, main: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en-GB" class="no-js no-svg">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="profile" href="https://gmpg.org/xfn/11">
<title>{esc(title)}</title>
<meta name='robots' content='max-image-preview:large' />
<link rel='dns-prefetch' href='//fonts.googleapis.com' />
<link rel="alternate" type="application/rss+xml" title="{SITE_NAME} &raquo; Feed" \
href="{esc(chrome.url("/feed/"))}" />
<link rel="alternate" type="application/rss+xml" title="{SITE_NAME} &raquo; Comments Feed" \
href="{esc(chrome.url("/comments/feed/"))}" />
{head}
<link rel='stylesheet' id='twentyseventeen-style-css' \
href='{esc(chrome.url("/wp-content/themes/twentyseventeen/style.css?ver=20231107"))}' \
media='all' />
<meta name="generator" content="WordPress 6.4.3" />
</head>
<body class="{esc(body_class)} has-sidebar colors-light">
<div id="page" class="site">
<a class="skip-link screen-reader-text" href="#content">Skip to content</a>
{_masthead(chrome)}
<div class="site-content-contain">
<div id="content" class="site-content">
<div class="wrap">
<div id="primary" class="content-area">
<main id="main" class="site-main">
{main}
</main>
</div>
{sidebar(chrome)}
</div>
</div>
<footer id="colophon" class="site-footer">
<div class="wrap">
<div class="site-info"><a class="privacy-policy-link" \
href="{esc(chrome.url("/about/"))}">About this site</a><span role="separator" \
aria-hidden="true"></span><a href="https://wordpress.org/" class="imprint">Proudly powered by \
WordPress</a></div>
</div>
</footer>
</div>
</div>
<script src="{esc(chrome.url(GLOBAL_JS))}" id="twentyseventeen-global-js"></script>
</body>
</html>
"""


def _masthead(chrome: Chrome) -> str:
    menu = [
        ("/", "Home"),
        ("/kropotkin-today/", "Kropotkin Today"),
        ("/call-out-for-submissions/", "Call out for submissions"),
        ("/about/", "About"),
        ("/contact/", "Contact"),
    ]
    items = "\n".join(
        f'<li class="menu-item menu-item-type-post_type"><a href="{esc(chrome.url(path))}">'
        f"{esc(label)}</a></li>"
        for path, label in menu
    )
    return f"""<header id="masthead" class="site-header">
<div class="custom-header"><div class="site-branding"><div class="wrap">
<div class="site-branding-text">
<p class="site-title"><a href="{esc(chrome.url("/"))}" rel="home">{SITE_NAME}</a></p>
<p class="site-description">{esc(TAGLINE)}</p>
</div></div></div></div>
<div class="navigation-top"><div class="wrap">
<nav id="site-navigation" class="main-navigation" aria-label="Top Menu">
<button class="menu-toggle" aria-controls="top-menu" aria-expanded="false">Menu</button>
<div class="menu-top-container"><ul id="top-menu" class="menu">
{items}
</ul></div></nav></div></div>
</header>"""


def search_form(chrome: Chrome) -> str:
    return f"""<form role="search" method="get" class="search-form" \
action="{esc(chrome.url("/"))}">
<label for="search-form-1"><span class="screen-reader-text">Search for:</span></label>
<input type="search" id="search-form-1" class="search-field" placeholder="Search &hellip;" \
value="" name="s" />
<button type="submit" class="search-submit"><span class="screen-reader-text">Search</span>\
</button></form>"""


def sidebar(chrome: Chrome) -> str:
    speakers = "\n".join(f"<p>{esc(name)}</p>" for name in COLLOQUIUM_SPEAKERS)
    recent = _links(chrome.recent)
    months = _links(chrome.months)
    categories = "\n".join(
        f'<li class="cat-item"><a href="{esc(url)}">{esc(name)}</a> ({count})</li>'
        for url, name, count in chrome.categories
    )
    return f"""<aside id="secondary" class="widget-area" aria-label="Blog Sidebar">
<section id="search-2" class="widget widget_search">{search_form(chrome)}</section>
<section id="text-2" class="widget widget_text"><h2 class="widget-title">Call out for \
submissions</h2><div class="textwidget"><p>{esc(SUBMISSIONS)}</p>
<p><a href="{esc(chrome.url("/contact/"))}">Get in touch here</a></p></div></section>
<section id="text-3" class="widget widget_text"><h2 class="widget-title">Relive the \
International Colloquium ‘Peter Kropotkin: Activism and Scholarship’ organized by University \
of São Paulo</h2><div class="textwidget"><p><strong>Opening Event</strong></p>
<p><a href="https://www.youtube.com/watch?v=kq0Xq2Z7v1E">Youtube link:</a></p>
{speakers}</div></section>
<section id="recent-posts-2" class="widget widget_recent_entries">
<h2 class="widget-title">Recent Posts</h2><nav aria-label="Recent Posts"><ul>
{recent}
</ul></nav></section>
<section id="archives-2" class="widget widget_archive"><h2 class="widget-title">Archives</h2>\
<nav aria-label="Archives"><ul>
{months}
</ul></nav></section>
<section id="categories-2" class="widget widget_categories"><h2 class="widget-title">\
Categories</h2><nav aria-label="Categories"><ul>
{categories}
</ul></nav></section>
<section id="meta-2" class="widget widget_meta"><h2 class="widget-title">Meta</h2>\
<nav aria-label="Meta"><ul>
<li><a href="{esc(chrome.url("/wp-login.php"))}">Log in</a></li>
<li><a href="{esc(chrome.url("/feed/"))}">Entries feed</a></li>
<li><a href="{esc(chrome.url("/comments/feed/"))}">Comments feed</a></li>
<li><a href="https://wordpress.org/">WordPress.org</a></li>
</ul></nav></section>
</aside>"""


def _links(pairs: tuple[tuple[str, str], ...]) -> str:
    return "\n".join(f'<li><a href="{esc(url)}">{esc(label)}</a></li>' for url, label in pairs)
