"""``mutualaid serve``: the feeds and the page over HTTP."""

from __future__ import annotations

import click

from aggregator.cli.context import AppContext, pass_app, stderr, warn_unset_publishing
from aggregator.publish.server import serve as serve_http


@click.command("serve")
@click.option("--host", help="Address to listen on (default: serve.host, 127.0.0.1).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    help="Port to listen on (default: serve.port, 8080; 0 picks a free one).",
)
@pass_app
def serve(app: AppContext, host: str | None, port: int | None) -> None:
    """Serve the feeds, the page and /healthz from the database until SIGTERM or Ctrl-C, which
    let requests in flight finish (serve.shutdown_timeout) and exit 0.

    Paths mirror `feed build`'s files (/feed.atom, /feed.rss, /feed.json, /index.html,
    /feeds/source/NAME.atom, /feeds/tag/TAG.atom; every feed also as .rss and .json), and take
    ?limit=N, ?source=NAME and ?tag=TAG. With output.archive.enabled, the archive's pages too
    (/articles/ID.html, /sources/NAME/, /tags/SLUG/, /archive/YYYY/MM/, /sources.opml).
    """
    settings = app.config.serve
    database = app.open_database()

    def ready(addresses: list[str]) -> None:
        where = " and ".join(addresses)
        stderr.print(f"serving {database.url} on {where} (Ctrl-C to stop)", highlight=False)
        warn_unset_publishing(app.config)

    try:
        serve_http(database, app.config, host or settings.host, _port(port, settings.port), ready)
    finally:
        database.close()


def _port(given: int | None, configured: int) -> int:
    return configured if given is None else given
