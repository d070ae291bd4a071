"""The countercurrents.org look: a Newspaper-theme frame with its banners, widgets and ads.

Everything here is boilerplate a good extractor must throw away; ``news_pages`` puts the
articles inside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from tests.sites.markup import esc
from tests.sites.model import Article

SITE_NAME = "Countercurrents"
TAGLINE = "Educate! Educate! Educate!"
MENU = ("World", "India", "Environment", "Economy", "Palestine", "Culture", "Activism")
PATREON = "https://www.patreon.com/countercurrents"


@dataclass(frozen=True)
class Chrome:
    """What the frame around every page needs to know about the site right now."""

    base_url: str
    today: datetime
    latest: tuple[Article, ...]
    picks: tuple[Article, ...]  # "Editor's Picks", linked through /go/ tracking redirects

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def uploads(self) -> str:
        return self.url("/wp-content/uploads/2024/01")


def document(chrome: Chrome, title: str, head: str, body_class: str, main: str) -> str:
    """A full page: head, header, main column, sidebar and footer."""
    return f"""<!doctype html >
<!--[if IE 8]>    <html class="ie8" lang="en"> <![endif]-->
<html lang="en-US">
<head>
<title>{esc(title)}</title>
<meta charset="UTF-8" />
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="pingback" href="{esc(chrome.url("/xmlrpc.php"))}" />
{head}
<link rel="alternate" type="application/rss+xml" title="{SITE_NAME} &raquo; Feed" \
href="{esc(chrome.url("/feed/"))}" />
<link rel='stylesheet' id='td-theme-css' \
href='{esc(chrome.url("/wp-content/themes/Newspaper/style.css?ver=12.6.2"))}' type='text/css' \
media='all' />
<script type="text/javascript" \
src="{esc(chrome.url("/wp-includes/js/jquery/jquery.min.js?ver=3.7.1"))}" id="jquery-core-js">\
</script>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-3BZ8H2Y1XQ"></script>
<script>window.dataLayer = window.dataLayer || [];function gtag(){{dataLayer.push(arguments);}}
gtag('js', new Date());gtag('config', 'G-3BZ8H2Y1XQ');</script>
<style id="td-theme-inline">.td-header-wrap{{background:#fff}}.code-block{{clear:both}}</style>
</head>
<body class="{esc(body_class)} td-standard-pack global-block-template-1 td-full-layout" \
itemscope="itemscope" itemtype="https://schema.org/WebPage">
<div class="td-scroll-up"><i class="td-icon-menu-up"></i></div>
<div id="td-outer-wrap" class="td-theme-wrap">
{header(chrome)}
{ad_block(1)}
<div class="td-main-content-wrap td-container-wrap">
<div class="td-container">
<div class="td-pb-row">
<div class="td-pb-span8 td-main-content" role="main">
<div class="td-ss-main-content">
{main}
</div>
</div>
{sidebar(chrome)}
</div>
</div>
</div>
{footer(chrome)}
</div>
<script type="text/javascript">var tdBlocksArray = []; var td_ajax_url = \
"{esc(chrome.url("/wp-admin/admin-ajax.php?td_theme_name=Newspaper&v=12.6.2"))}";</script>
<script type="text/javascript" \
src="{esc(chrome.url("/wp-content/themes/Newspaper/js/tagdiv_theme.min.js?ver=12.6.2"))}">\
</script>
</body>
</html>
"""


def header(chrome: Chrome) -> str:
    items = [f'<li class="menu-item menu-item-home"><a href="{esc(chrome.url("/"))}">Home</a></li>']
    items += [
        f'<li class="menu-item menu-item-type-taxonomy menu-item-object-category">'
        f'<a href="{esc(chrome.url(f"/category/{name.lower()}/"))}">{esc(name)}</a></li>'
        for name in MENU
    ]
    items.append(
        f'<li class="menu-item"><a href="{esc(chrome.url("/about-us/"))}">About Us</a></li>'
    )
    return f"""<div class="td-header-wrap td-header-style-1">
<div class="td-header-top-menu-full td-container-wrap">
<div class="top-bar-style-1">
<div class="td-header-sp-top-menu"><div class="td_data_time">{chrome.today:%A, %B} \
{chrome.today.day}, {chrome.today.year}</div>
<ul class="top-header-menu"><li><a href="{esc(chrome.url("/contact-us/"))}">Contact Us</a></li>
<li><a href="{esc(chrome.url("/support/"))}">Donate</a></li>
<li><a href="{esc(chrome.url("/wp-admin/"))}">Log In</a></li></ul></div>
<div class="td-header-sp-top-widget">
<span class="td-social-icon-wrap"><a target="_blank" \
href="https://www.facebook.com/countercurrents" title="Facebook">Facebook</a></span>
<span class="td-social-icon-wrap"><a target="_blank" href="https://twitter.com/countercurrents" \
title="Twitter">Twitter</a></span>
<span class="td-social-icon-wrap"><a target="_blank" href="https://t.me/countercurrents" \
title="Telegram">Telegram</a></span></div>
</div></div>
<div class="td-banner-wrap-full td-logo-wrap-full td-container-wrap">
<div class="td-header-sp-logo">
<a class="td-main-logo" href="{esc(chrome.url("/"))}">
<img class="td-retina-data" src="{esc(chrome.url("/wp-content/uploads/2019/01/cc-logo.png"))}" \
alt="{SITE_NAME}" title="{SITE_NAME}" width="300" height="90"/>
<span class="td-visual-hidden">{SITE_NAME}</span></a></div></div>
<div class="td-header-menu-wrap-full td-container-wrap">
<div id="td-header-menu" role="navigation">
<div class="menu-main-container"><ul id="menu-main" class="sf-menu">
{"".join(items)}
</ul></div>
<div class="header-search-wrap"><form method="get" class="td-search-form" \
action="{esc(chrome.url("/"))}"><input class="needsclick td-widget-search-input" type="text" \
value="" name="s" /><input class="wpb_button td-search-button" type="submit" \
value="Search" /></form></div>
</div></div>
</div>"""


def ad_block(number: int) -> str:
    """An AdSense unit wrapped the way the Ad Inserter plugin does."""
    return f"""<div class="code-block code-block-{number}" style="margin: 8px auto; \
text-align: center; display: block; clear: both;">
<script async src="https://pagead2.googlesyndication.com/pagead/js/adsbygoogle.js?\
client=ca-pub-8736925110413507" crossorigin="anonymous"></script>
<ins class="adsbygoogle" style="display:block" data-ad-client="ca-pub-8736925110413507" \
data-ad-slot="{5100000000 + number}" data-ad-format="auto" data-full-width-responsive="true">\
</ins>
<script>(adsbygoogle = window.adsbygoogle || []).push({{}});</script></div>"""


def support_box() -> str:
    return f"""<div class="code-block code-block-7" style="margin: 8px 0; clear: both;">
<div style="border: 2px solid #c00; padding: 12px;">
<h3>Support Countercurrents</h3>
<p>Countercurrents is answerable only to our readers. Support honest journalism because we \
have no PLANET B.</p>
<p><a class="patreon-button" href="{PATREON}" target="_blank" rel="noopener">\
Become a Patron at Patreon</a></p>
</div></div>"""


def newsletter_form(chrome: Chrome, number: int) -> str:
    action = chrome.url("/wp-admin/admin-post.php?action=mailpoet_subscription_form")
    return f"""<div class="mailpoet_form_popup_overlay"></div>
<div id="mailpoet_form_{number}" class="mailpoet_form mailpoet_form_html">
<h2 class="mailpoet-heading">Join Our Newsletter</h2>
<form target="_self" method="post" action="{esc(action)}" class="mailpoet_form_form" novalidate>
<input type="hidden" name="data[form_id]" value="{number}" />
<input type="email" class="mailpoet_text" name="data[form_field_email]" title="Email Address" \
value="" placeholder="Email Address *" />
<input type="submit" class="mailpoet_submit" value="Subscribe!" />
<div class="mailpoet_message"><p class="mailpoet_validate_success" style="display:none;">\
Check your inbox or spam folder now to confirm your subscription.</p></div>
</form></div>"""


def channels_banner(chrome: Chrome) -> str:
    whatsapp = esc(chrome.url("/wp-content/uploads/2023/10/whatsapp.png"))
    telegram = esc(chrome.url("/wp-content/uploads/2023/10/telegram.png"))
    return f"""<div class="code-block code-block-8" style="margin: 8px auto; text-align: center;">
<h3>Join our WhatsApp and Telegram Channels</h3>
<p>Get CounterCurrents updates on our WhatsApp and Telegram Channels</p>
<p><a href="https://whatsapp.com/channel/0029VaAcMGbFy72DpqW8w22y" target="_blank">\
<img src="{whatsapp}" alt="WhatsApp" \
width="150"></a> <a href="https://t.me/countercurrents" target="_blank">\
<img src="{telegram}" alt="Telegram" \
width="150"></a></p></div>"""


def annual_box(chrome: Chrome) -> str:
    return f"""<div class="code-block code-block-9" style="margin: 8px 0; clear: both;">
<h3>Annual Subscription</h3>
<p>Join Countercurrents Annual Fund Raising Campaign and help us</p>
<p><a href="{esc(chrome.url("/support/"))}" class="button">Subscribe</a></p></div>"""


def share_buttons(page_url: str, page_title: str) -> str:
    url, title = quote(page_url, safe=""), quote(page_title)
    links = [
        ("facebook", f"https://www.facebook.com/sharer.php?u={url}", "Facebook"),
        ("twitter", f"https://twitter.com/intent/tweet?text={title}&url={url}", "Twitter"),
        ("whatsapp", f"https://api.whatsapp.com/send?text={title}%20{url}", "WhatsApp"),
        ("telegram", f"https://telegram.me/share/url?url={url}&text={title}", "Telegram"),
        ("mail", f"mailto:?subject={title}&body={url}", "Email"),
        ("print", "#", "Print"),
    ]
    buttons = "\n".join(
        f'<a class="td-social-sharing-button td-social-sharing-button-js td-social-network '
        f'td-social-{network}" href="{esc(href)}" title="{label}"><div class="td-social-but-text">'
        f"{label}</div></a>"
        for network, href, label in links
    )
    return f"""<div class="td-post-sharing td-ps-bg td-ps-notext td-post-sharing-style1">
<div class="td-post-sharing-visible"><div class="td-social-share-text">\
<div class="td-social-but-text">Share</div></div>
{buttons}
</div></div>"""


def latest_list(chrome: Chrome) -> str:
    rows = "\n".join(
        f'<li><a href="{esc(a.url)}">{esc(a.title)}</a></li>' for a in chrome.latest[:8]
    )
    return f"<ul>\n{rows}\n</ul>"


def sidebar(chrome: Chrome) -> str:
    picks = "\n".join(
        f'<li><a href="{esc(chrome.url(f"/go/{a.slug}"))}">{esc(a.title)}</a></li>'
        for a in chrome.picks
    )
    return f"""<div class="td-pb-span4 td-main-sidebar" role="complementary">
<div class="td-ss-main-sidebar">
<aside id="custom_html-3" class="widget_text td_block_template_1 widget widget_custom_html">\
<div class="textwidget custom-html-widget">{support_box()}</div></aside>
<aside id="recent-posts-2" class="td_block_template_1 widget widget_recent_entries">
<h4 class="block-title"><span>Latest News</span></h4>
{latest_list(chrome)}
</aside>
<aside id="custom_html-5" class="widget_text td_block_template_1 widget widget_custom_html">\
{ad_block(4)}</aside>
<aside id="text-9" class="td_block_template_1 widget widget_text">
<h4 class="block-title"><span>Editor's Picks</span></h4>
<ul>
{picks}
</ul></aside>
</div></div>"""


def footer(chrome: Chrome) -> str:
    return f"""<div class="td-footer-wrapper td-container-wrap">
<div class="td-container"><div class="td-pb-row">
<div class="td-pb-span4"><aside class="widget widget_text"><div class="block-title">\
<span>About</span></div><div class="textwidget"><p>{SITE_NAME}: an independent news site \
publishing since 2002. {TAGLINE}</p></div></aside></div>
<div class="td-pb-span4"><aside class="widget widget_recent_entries"><div class="block-title">\
<span>Latest News</span></div>
{latest_list(chrome)}
</aside></div>
<div class="td-pb-span4"><aside class="widget widget_nav_menu"><div class="block-title">\
<span>Site</span></div><ul class="menu">
<li><a href="{esc(chrome.url("/about-us/"))}">About Us</a></li>
<li><a href="{esc(chrome.url("/contact-us/"))}">Contact Us</a></li>
<li><a href="{esc(chrome.url("/support/"))}">Support Us</a></li>
<li><a href="{esc(chrome.url("/private/editorial-calendar/"))}">Editorial Calendar</a></li>
<li><a href="{esc(chrome.url("/loop/a"))}">Archive (2002–2016)</a></li>
<li><a href="{esc(chrome.url("/sitemap.xml"))}">Sitemap</a></li>
</ul></aside></div>
</div></div></div>
<div class="td-sub-footer-container td-container-wrap">
<div class="td-container"><div class="td-pb-row">
<div class="td-pb-span td-sub-footer-copy">&copy; {SITE_NAME} {chrome.today.year}. \
All rights reserved.</div>
</div></div></div>"""
