"""Scrapy spiders: the crawling front end for sites whose feeds carry too little.

One generic spider (``spider``) reads a source's ``crawl:`` block: listings to page through,
sitemaps, and which links are articles. Article pages become ``aggregator.items.FetchedItem``
and go, through the item pipeline (``pipeline``), to the same ingest core as feed entries.

Pure parts: ``listing``, ``sitemaps`` and ``discovery`` (reading pages; the last finds a
WordPress site's articles for a ``crawl: {}`` block), ``plan`` (what to fetch, when to stop
paging), ``retry`` and ``robots`` (their decisions as functions). I/O: ``spider``, ``pipeline``,
``extraction`` (worker processes), ``known`` and ``runs`` (the database), ``shared`` (Redis).
``process`` starts a crawl in a child process from a parent that never imports Scrapy, and
``run`` is what that child runs. Every Scrapy setting is in ``settings``. The outbound gate
shared with the feed poller: ``outbound`` (URLs and resolved addresses), ``credentials``
(redirects to another origin) and ``encodings`` (decompression under the size cap).
"""
