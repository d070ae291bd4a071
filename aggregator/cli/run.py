"""``mutualaid run``: the daemon (or, with ``--once``, one full cycle)."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

import click
from prometheus_client import make_wsgi_app
from rich.table import Table
from rich.text import Text

from aggregator.cli.context import AppContext, json_option, pass_app, print_json, stderr, stdout
from aggregator.daemon import CycleReport, Daemon, WorkResult
from aggregator.logs import log_jobs
from aggregator.publish import PublishApp
from aggregator.publish.httpd import AppServer
from aggregator.publish.server import make_app_server
from aggregator.storage.running import mark_interrupted

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@click.command("run")
@click.option("--once", is_flag=True, help="Run one full cycle (poll, crawl, rebuild) and exit.")
@click.option("--serve", "serve_http", is_flag=True, help="Also serve the feeds and /metrics.")
@click.option("--host", help="With --serve: address to listen on (default: serve.host).")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="With --serve: port (default: serve.port)."
)
@json_option
@pass_app
def run(
    app: AppContext,
    once: bool,
    serve_http: bool,
    host: str | None,
    port: int | None,
    as_json: bool,
) -> None:
    """Poll each source on its interval, crawl on the slower crawl schedule, and rebuild the
    feeds after every run that stored something, until SIGTERM or Ctrl-C.

    Only one daemon runs per database; a manual poll or crawl beside it skips the sources the
    daemon is working on. The schedule lives in the database, so a restart resumes it.
    """
    database = app.open_database()
    daemon = Daemon(database, app.config)
    server: AppServer | None = None
    serving: threading.Thread | None = None
    try:
        mark_interrupted(database)  # runs a killed daemon or crawl left "running"
        if once:
            report = daemon.run_once()
            _print_cycle(report, as_json)
            if report.failed:  # a cron job must notice
                raise click.exceptions.Exit(1)
            return
        if serve_http:
            settings = app.config.serve
            application = _with_metrics(PublishApp(database, app.config), daemon)
            server = make_app_server(
                application, host or settings.host, _port(port, settings.port), settings
            )
            serving = threading.Thread(target=server.run, name="serve", daemon=True)
            serving.start()
            where = " and ".join(server.urls())
            stderr.print(f"serving on {where} (metrics at /metrics)", highlight=False)
        stderr.print(f"daemon running on {database.url} (SIGTERM or Ctrl-C stops it)")
        log_jobs()
        daemon.run_forever()
    finally:
        if server is not None:
            _stop_serving(server, serving)
        if daemon.unfinished:
            _exit_now()
        database.close()


def _exit_now() -> NoReturn:
    """End the process although a job's thread still runs (stuck past the stop bound): Python
    would wait for it at exit. Its open transaction rolls back, as after a kill."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _with_metrics(app: Wsgi, daemon: Daemon) -> Wsgi:
    metrics = make_wsgi_app(daemon.metrics.registry)

    def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/metrics":
            return metrics(environ, start_response)  # type: ignore[no-any-return]
        return app(environ, start_response)

    return dispatch


def _stop_serving(server: AppServer, serving: threading.Thread | None) -> None:
    """Requests in flight get ``shutdown_timeout``; the thread a little more to close up."""
    server.stop()
    if serving is not None:
        serving.join(server.shutdown_timeout + 5)
    server.close()


def _port(given: int | None, configured: int) -> int:
    return configured if given is None else given


def _print_cycle(report: CycleReport, as_json: bool) -> None:
    summary = report.summary()
    if as_json:
        print_json({"results": [_as_dict(result) for result in report.results], **summary})
        return
    table = Table(title="One cycle")
    for column in ("what", "source", "status", "new", "updated", "note"):
        table.add_column(column, overflow="fold")
    for result in report.results:
        table.add_row(
            result.kind,
            result.source or "-",
            result.status,
            str(result.counts.get("new", "")),
            str(result.counts.get("updated", "")),
            Text(result.error or ""),
        )
    stdout.print(table)
    stdout.print(
        f"jobs: {summary['jobs_ok']} ok, {summary['jobs_failed']} failed; articles: "
        f"{summary['articles_new']} new, {summary['articles_updated']} updated",
        highlight=False,
    )


def _as_dict(result: WorkResult) -> dict[str, Any]:
    return {
        "kind": result.kind,
        "source": result.source,
        "status": result.status,
        "counts": dict(result.counts),
        "error": result.error,
        "next_check_at": result.next_check_at,
        "seconds": round(result.seconds, 3),
    }
