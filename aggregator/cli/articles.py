"""``mutualaid articles``: what was collected, and why each piece is published or held back."""

from __future__ import annotations

import click
from rich.table import Table
from rich.text import Text

from aggregator.cli.context import (
    AppContext,
    ago,
    json_option,
    parse_since,
    pass_app,
    print_json,
    stdout,
)
from aggregator.errors import MutualAidError
from aggregator.publish.explain import (
    ArticleLine,
    ArticleQuery,
    ArticleReport,
    State,
    explain_article,
    find_article,
    list_articles,
)
from aggregator.publish.select import PublishPolicy


class NoSuchArticleError(MutualAidError):
    exit_code = 1

    def __init__(self, key: str) -> None:
        super().__init__(f"no stored article is {key!r} (an id, or the URL of any sighting)")


@click.group("articles", invoke_without_command=True)
@click.option("--source", help="Only articles seen at this source.")
@click.option("--published", "state", flag_value="published", help="Only published articles.")
@click.option(
    "--held-back", "state", flag_value="held", help="Only articles the topic filter held back."
)
@click.option("--all", "state", flag_value="all", default=True, help="Both (the default).")
@click.option("--since", help="Published on or after DATE (2024-05-01), or within 30d.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@json_option
@pass_app
@click.pass_context
def articles(
    ctx: click.Context,
    app: AppContext,
    source: str | None,
    state: State,
    since: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List stored articles, newest first: date, source, score, and published or why not.

    'articles show ID|URL' explains one article.
    """
    if ctx.invoked_subcommand is not None:
        return
    if source is not None:
        app.source(source)
    query = ArticleQuery(source, state, parse_since(since), limit)
    policy = PublishPolicy.from_config(app.config)
    database = app.open_database()
    try:
        with database.session() as session:
            found = list_articles(session, policy, query)
    finally:
        database.close()
    if as_json:
        print_json(found)
        return
    if not found:
        stdout.print("no stored articles match", highlight=False)
        return
    stdout.print(_table(found, policy.threshold))


@articles.command("show")
@click.argument("key", metavar="ID|URL")
@json_option
@pass_app
def show(app: AppContext, key: str, as_json: bool) -> None:
    """Explain one article: extraction, relevance, where it was seen, how copies matched."""
    policy = PublishPolicy.from_config(app.config)
    profile = app.config.topic.profile()
    database = app.open_database()
    try:
        with database.session() as session:
            article_id = find_article(session, key)
            report = None
            if article_id is not None:
                report = explain_article(session, policy, profile, article_id)
    finally:
        database.close()
    if report is None:
        raise NoSuchArticleError(key)
    if as_json:
        print_json(report)
        return
    for line in _explanation(report):
        stdout.print(line, markup=False, highlight=False, soft_wrap=True)


def _table(found: list[ArticleLine], threshold: float) -> Table:
    """Short columns of fixed width, so that the title takes what is left of 80 characters."""
    table = Table(
        title=f"published: a score of {threshold:g} or more, or a source that keeps all",
        title_justify="left",
        show_edge=False,
        pad_edge=False,
    )
    source_width = min(max(len(line.source) for line in found), 16)
    widths = {"id": max(2, *(len(str(line.id)) for line in found)), "date": 10}
    widths |= {"source": max(source_width, 6), "score": 5, "pub": 4}
    for column, width in widths.items():
        right = column in ("id", "score")
        table.add_column(
            column, min_width=width, no_wrap=True, justify="right" if right else "left"
        )
    table.add_column("title", overflow="ellipsis", ratio=1)
    for line in found:
        table.add_row(
            str(line.id),
            line.published_at.strftime("%Y-%m-%d") if line.published_at else "-",
            Text(line.source, overflow="ellipsis"),
            f"{line.score:.1f}" if line.score is not None else "-",
            _published_cell(line),
            Text(line.title, no_wrap=True, overflow="ellipsis"),
        )
    return table


def _published_cell(line: ArticleLine) -> Text:
    if not line.published:
        return Text("no", style="yellow")
    return Text("yes" if line.reason.startswith("score") else "all", style="green")


def _explanation(report: ArticleReport) -> list[str]:
    line = report.line
    when = line.published_at.strftime("%Y-%m-%d %H:%M UTC") if line.published_at else "no date"
    if report.date_estimated:
        when += " (estimated: the page gave no usable date, so the time first seen)"
    lines = [
        f"#{line.id} {line.title}",
        f"  {line.url}",
        f"  by {report.author or 'no author given'} · {when} · {line.words:,} words"
        + (f" · {report.language}" if report.language else ""),
    ]
    if report.tags:
        lines.append(f"  tags: {', '.join(report.tags)}")
    lines.append(f"  {_licence_line(report)}")
    verdict = "published" if line.published else "held back"
    lines += ["", f"{verdict}: {line.reason}"]
    lines += _relevance_lines(report)
    lines += ["", *_extraction_lines(report)]
    lines += ["", f"seen at ({len(report.sightings)}):"]
    for seen in report.sightings:
        lines.append(
            f"  {seen.source}: {seen.matched_by}; first {ago(seen.first_seen_at)}, "
            f"last {ago(seen.last_seen_at)}"
        )
        lines.append(f"    {seen.url}")
    lines.append(f"stored {ago(report.first_seen_at)}, last changed {ago(report.last_changed_at)}")
    return lines


def _licence_line(report: ArticleReport) -> str:
    """The licence the page declares, and how the source's terms publish the article."""
    if report.licence is None:
        licence = "licence: none declared"
    else:
        licence = f"licence: {report.licence} ({_cut(report.licence_declared or '', 70)})"
    return f"{licence} · republished: {report.republished}"


def _relevance_lines(report: ArticleReport) -> list[str]:
    if not report.terms:
        return [f"relevance: no topic term found (threshold {report.threshold:g})"]
    terms = [
        f"{match.term} ×{match.count}"
        + (f" (weight {match.weight:g})" if match.weight is not None else " (not in profile)")
        for match in report.terms
    ]
    score = f"{report.line.score:.2f}" if report.line.score is not None else "none"
    return [
        f"relevance: score {score}, threshold {report.threshold:g}",
        *(f"  {term}" for term in terms),
    ]


def _extraction_lines(report: ArticleReport) -> list[str]:
    if report.extracted_from is None:
        return ["extraction: not recorded (stored by an earlier version)"]
    lines = [f"extraction: from the {report.extracted_from}"]
    lines += [f"  rule: {note}" for note in report.rules_applied] or ["  no site rule applied"]
    if report.learned_removed:
        lines.append(f"  learned boilerplate removed ({len(report.learned_removed)}):")
        lines += [f"    {_cut(text, 70)}" for text in report.learned_removed]
    return lines


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
