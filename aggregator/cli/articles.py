"""``mutualaid articles``: what was collected, and why each piece is published or held back."""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

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
    stderr,
    stdout,
)
from aggregator.curation import (
    VERDICTS,
    DecisionFileError,
    DecisionRecord,
    Verdict,
    dump_decisions,
    parse_decisions,
)
from aggregator.errors import MutualAidError
from aggregator.publish.explain import (
    ArticleLine,
    ArticleQuery,
    ArticleReport,
    State,
    article_html,
    article_state,
    explain_article,
    find_article,
    list_articles,
)
from aggregator.publish.select import PublishPolicy
from aggregator.publish.write import PublishError, write_atomic
from aggregator.storage import decisions
from aggregator.storage.decisions import DecisionRow


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
@click.option(
    "--html", "as_html", is_flag=True, help="Print the article's stored (sanitised) HTML instead."
)
@json_option
@pass_app
def show(app: AppContext, key: str, as_html: bool, as_json: bool) -> None:
    """Explain one article: extraction, relevance, where it was seen, how copies matched."""
    if as_html and as_json:
        raise click.UsageError("--html and --json are two outputs: give one")
    policy = PublishPolicy.from_config(app.config)
    profile = app.config.topic.profile()
    database = app.open_database()
    try:
        with database.session() as session:
            article_id = find_article(session, key)
            report = body = None
            if article_id is not None and as_html:
                body = article_html(session, article_id)
            elif article_id is not None:
                report = explain_article(session, policy, profile, article_id)
    finally:
        database.close()
    if body is not None:
        sys.stdout.write(body + "\n")
        return
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
        title=f"published: score {threshold:g}+, a keep-all source, or a curator (pub/pin/hold)",
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
    """yes/no by score, all by a keep-all source, pub/pin/hold by a curator's decision."""
    if line.decision is not None:
        short = {"publish": "pub", "pin": "pin", "hold": "hold"}[line.decision]
        return Text(short, style="green" if line.published else "red")
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
    if report.decision is not None:
        lines += _decision_lines(report.decision)
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


# --- A curator's decisions ------------------------------------------------------------------

_VERDICT_HELP: dict[Verdict, str] = {
    "publish": "Publish an article whatever its score (a curator's decision).",
    "hold": "Never publish an article, whatever its score (a curator's decision).",
    "pin": "Publish an article whatever its score and keep it from retention's purges.",
}


def _verdict_command(verdict: Verdict) -> click.Command:
    @click.command(verdict, help=_VERDICT_HELP[verdict])
    @click.argument("key", metavar="ID|URL")
    @click.option("--note", help="Why, in a few words (shown by 'articles show', exported).")
    @click.option("--by", "by", metavar="NAME", help="Who decides (default: your login name).")
    @json_option
    @pass_app
    def command(app: AppContext, key: str, note: str | None, by: str | None, as_json: bool) -> None:
        _change_decision(app, key, (verdict, note, by or _login()), as_json)

    return command


for _verdict in VERDICTS:
    articles.add_command(_verdict_command(_verdict))


@articles.command("undecide")
@click.argument("key", metavar="ID|URL")
@json_option
@pass_app
def undecide(app: AppContext, key: str, as_json: bool) -> None:
    """Clear the curator's decision about an article: its score decides again."""
    _change_decision(app, key, None, as_json)


def _login() -> str | None:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name to be found (a bare container)
        return None


def _change_decision(
    app: AppContext,
    key: str,
    decided: tuple[Verdict, str | None, str | None] | None,
    as_json: bool,
) -> None:
    """Record ``decided`` (verdict, note, who) about the article ``key``, or clear its decision
    (None), then print the article's state."""
    policy = PublishPolicy.from_config(app.config)
    database = app.open_database()
    try:
        with database.write_session() as session:
            article_id = find_article(session, key)
            if article_id is None:
                raise NoSuchArticleError(key)
            if decided is None:
                decisions.clear(session, article_id)
            else:
                verdict, note, by = decided
                decisions.decide(session, article_id, verdict, datetime.now(UTC), note, by)
        with database.session() as session:
            line = article_state(session, policy, article_id)
            decision = decisions.decision_of(session, article_id)
    finally:
        database.close()
    assert line is not None  # just found, and kept by the decision's own transaction
    if as_json:
        print_json({"line": line, "decision": decision})
        return
    for text in _state_lines(line, decision):
        stdout.print(text, markup=False, highlight=False, soft_wrap=True)


def _state_lines(line: ArticleLine, decision: DecisionRow | None) -> list[str]:
    verdict = "published" if line.published else "held back"
    return [f"#{line.id} {line.title}", f"  {verdict}: {line.reason}", *_decision_lines(decision)]


def _decision_lines(decision: DecisionRow | None) -> list[str]:
    if decision is None:
        return ["  no curator's decision: the score decides"]
    when = decision.decided_at.strftime("%Y-%m-%d %H:%M UTC")
    who = decision.by or "a curator"
    lines = [f"  decision: {decision.decision}, by {who}, {when} ({ago(decision.decided_at)})"]
    if decision.note:
        lines.append(f"  note: {decision.note}")
    if decision.decision == "pin":
        lines.append("  pinned: retention never purges it")
    return lines


@articles.group("decisions")
def decisions_group() -> None:
    """Export curators' decisions to JSON, or import them (to rebuild an instance)."""


@decisions_group.command("export")
@click.argument("file", default="-", metavar="[FILE|-]")
@pass_app
def export_decisions(app: AppContext, file: str) -> None:
    """Write every decision as JSON to FILE, or to standard output (- or nothing)."""
    database = app.open_database()
    try:
        with database.session() as session:
            found = decisions.every_decision(session)
    finally:
        database.close()
    records = [
        DecisionRecord(
            item.row.url, cast(Verdict, item.row.decision), item.row.decided_at,
            item.row.note, item.title, item.row.by,
        )
        for item in found
    ]  # fmt: skip
    text = dump_decisions(records, datetime.now(UTC))
    if file == "-":
        sys.stdout.write(text)
        return
    try:
        write_atomic(Path(file), text.encode("utf-8"))
    except OSError as exc:
        raise PublishError(f"cannot write {file}: {exc.strerror or exc}") from None
    stderr.print(f"exported {len(records)} decisions to {file}", markup=False, highlight=False)


@decisions_group.command("import")
@click.argument("file", metavar="FILE|-")
@json_option
@pass_app
def import_decisions(app: AppContext, file: str, as_json: bool) -> None:
    """Store the decisions of an exported FILE (- for standard input), matching each article by
    its canonical URL or the URL of any sighting of it. A file with anything wrong stores
    nothing; importing the same file again changes nothing."""
    records = parse_decisions(_read(file), file)
    database = app.open_database()
    try:
        with database.write_session() as session:
            found = decisions.articles_at(session, [record.url for record in records])
            decisions.restore(
                session, [(found[record.url], record) for record in records if record.url in found]
            )
    finally:
        database.close()
    unknown = sorted({record.url for record in records if record.url not in found})
    report = {"matched": len(records) - len(unknown), "unknown": len(unknown), "urls": unknown}
    if as_json:
        print_json(report)
        return
    stdout.print(
        f"imported {report['matched']} decisions; {len(unknown)} named no stored article",
        markup=False,
        highlight=False,
    )
    for url in unknown:
        stdout.print(f"  unknown: {url}", markup=False, highlight=False, soft_wrap=True)


def _read(file: str) -> str:
    if file == "-":
        return sys.stdin.read()
    try:
        return Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DecisionFileError(f"{file}: cannot read ({exc})") from None
