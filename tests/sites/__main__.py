"""Serve both test sites in the foreground: ``python -m tests.sites [--extra-articles N]``.

With ``--write-config DIR`` it also writes ``DIR/config.yaml``, the repository's configuration
pointed at these sites (see ``tests.sites.localconfig``), once both sites answer.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from tests.sites.blog_site import build_blog_site
from tests.sites.localconfig import local_config
from tests.sites.news_site import build_news_site


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.sites", description=__doc__)
    parser.add_argument("--news-port", type=int, default=0, help="port for the news site")
    parser.add_argument("--blog-port", type=int, default=0, help="port for the blog")
    parser.add_argument("--extra-articles", type=int, default=0, help="synthetic news articles")
    parser.add_argument("--seed", type=int, default=1, help="seed for the synthetic articles")
    parser.add_argument(
        "--write-config", type=Path, metavar="DIR", help="write DIR/config.yaml for these sites"
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop as Ctrl-C does, closing both
    news = build_news_site(args.extra_articles, args.seed, port=args.news_port)
    blog = build_blog_site(port=args.blog_port)
    print(f"news: {news.base_url}/  ({len(news.articles)} articles, feed {news.feed_url})")
    print(f"blog: {blog.base_url}/  ({len(blog.articles)} essays, feed {blog.feed_url})")
    if args.write_config:
        path = local_config({"news": news.base_url, "blog": blog.base_url}, args.write_config)
        print(f"config: {path}")
    print("Ctrl-C to stop.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        news.close()
        blog.close()


if __name__ == "__main__":
    main()
