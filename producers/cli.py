"""``confianza send`` and ``confianza simulate``: the partner side on the command line.

Credentials come from the environment, never from options: ``CONFIANZA_KAFKA__USERNAME``
(``partner-<id>``) and ``CONFIANZA_KAFKA__PASSWORD`` or ``CONFIANZA_KAFKA__PASSWORD_FILE``,
plus ``CONFIANZA_KAFKA__BOOTSTRAP_SERVERS``. Exit codes: 0 everything was sent (and, with
``--wait-receipts``, accepted or a known duplicate); 1 some records were rejected, failed or
got no receipt; 2 usage, input or connection error.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, BinaryIO, cast

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from confianza.cli.common import fail, load_settings
from confianza.producers.converters import Classification, EventDefaults
from confianza.producers.inputs import (
    FORMATS,
    Format,
    InputError,
    PeekableStream,
    detect_format,
    read_items,
)
from confianza.producers.sdk import Reporter, ReporterError
from confianza.producers.sending import Problem, Summary, send_items, wait_receipts
from confianza.producers.simulate import ConfigError, SimulationConfig, Traffic, generate
from confianza.producers.simulate.roster import ROSTER
from confianza.producers.simulate.run import (
    CredentialsError,
    load_credentials,
    open_reporters,
    send_traffic,
)
from confianza.schemas.taxonomy import SECTORS, SEVERITIES, is_rsit_pair
from confianza.schemas.tlp import Tlp, parse_tlp
from confianza.settings import KafkaSettings

LARGE_INPUT_BYTES = 1024 * 1024
MAX_ERRORS_SHOWN = 10
_LABELS = {
    "rejected": "rejected",
    "failed": "not sent",
    "server-rejected": "rejected by the server",
    "server-warning": "accepted with a warning",
    "no-receipt": "no receipt",
}


def _defaults(
    sector: str | None,
    rsit_class: str,
    rsit_type: str,
    tlp: str,
    severity: str,
    confidence: int,
) -> EventDefaults:
    """Conversion defaults from the options; a bad value is a usage error (exit 2)."""
    if sector is not None and sector not in SECTORS:
        fail(f"--sector {sector!r} is not one of {', '.join(SECTORS)}")
    if not is_rsit_pair(rsit_class, rsit_type):
        fail(f"--class {rsit_class!r} --type {rsit_type!r} is not an RSIT class and type")
    try:
        level: Tlp = parse_tlp(tlp)
    except ValueError as exc:
        fail(f"--tlp: {exc}")
    if severity not in SEVERITIES:
        fail(f"--severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    return EventDefaults(
        sector=sector,
        classification=Classification(rsit_class, rsit_type),
        tlp=level,
        severity=severity,
        confidence=confidence,
        reported_at=datetime.now(UTC),
    )


def _print_problem(problem: Problem) -> None:
    who = f"{problem.where} ({problem.event_id})" if problem.event_id else problem.where
    label = _LABELS[problem.kind]
    shown = problem.errors[:MAX_ERRORS_SHOWN]
    for error in shown:
        pointer = f"{error.pointer}: " if error.pointer else ""
        typer.echo(f"{who}: {label}: {pointer}{error.message}", err=True)
    if len(problem.errors) > len(shown):
        typer.echo(f"{who}: {label}: {len(problem.errors) - len(shown)} more errors", err=True)


def _print_summary(summary: Summary) -> None:
    title = "summary (dry run: nothing sent)" if summary.dry_run else "summary"
    rows = [
        ("read", summary.read),
        ("valid", summary.valid),
        ("sent", summary.sent),
        ("rejected locally", summary.rejected),
        ("failed", summary.failed),
        ("unsupported", len(summary.unsupported)),
    ]
    typer.echo(title)
    for name, value in rows:
        typer.echo(f"  {name:<17}{value}")
    for item in summary.unsupported:
        typer.echo(f"    - {item.where}: {item.reason}")
    if summary.waited_for_receipts:
        counts = ", ".join(f"{s} {summary.receipts[s]}" for s in ("accepted", "duplicate"))
        typer.echo(
            f"  {'receipts':<17}{counts}, rejected {summary.receipts['rejected']}, "
            f"missing {summary.missing_receipts} ({summary.receipt_warnings} with warnings)"
        )


def _open(source: str, stack: ExitStack) -> tuple[BinaryIO, str | None, int | None]:
    if source == "-":
        return sys.stdin.buffer, None, None
    path = Path(source)
    try:
        handle = stack.enter_context(path.open("rb"))
    except OSError as exc:
        fail(f"cannot read {source}: {exc.strerror}")
    return handle, path.name, path.stat().st_size


def send(
    source: Annotated[
        str, typer.Argument(help="File to send; - (the default) reads standard input.")
    ] = "-",
    partner: Annotated[
        str | None,
        typer.Option(help="Your partner id (e.g. bcp); events go to ingest.<id>.v1."),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option("--format", help="auto, json, ndjson, csv, misp or stix."),
    ] = "auto",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and report; send nothing.")
    ] = False,
    sector: Annotated[
        str | None,
        typer.Option(
            help="Affected sector for converted formats (CSV without a sector column, MISP, STIX)."
        ),
    ] = None,
    rsit_class: Annotated[
        str, typer.Option("--class", help="RSIT class when the source names none.")
    ] = "other",
    rsit_type: Annotated[
        str, typer.Option("--type", help="RSIT type when the source names none.")
    ] = "undetermined",
    tlp: Annotated[str, typer.Option(help="TLP when the source has no marking.")] = "amber",
    severity: Annotated[str, typer.Option(help="Severity hint for converted events.")] = "medium",
    confidence: Annotated[
        int, typer.Option(min=0, max=100, help="Confidence for converted events.")
    ] = 50,
    wait: Annotated[
        bool,
        typer.Option("--wait-receipts", help="Wait for the server's receipt of every event."),
    ] = False,
    receipt_timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds to wait for receipts.")
    ] = 60.0,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object.")
    ] = False,
) -> None:
    """Send incident events from a file or stdin: JSON, NDJSON, CSV, a MISP event or a STIX
    2.1 bundle. Every record is validated first; problems are reported per record."""
    settings = load_settings()
    if fmt != "auto" and fmt not in FORMATS:
        fail(f"--format {fmt!r} is not one of auto, {', '.join(FORMATS)}")
    defaults = _defaults(sector, rsit_class, rsit_type, tlp, severity, confidence)
    if not dry_run:
        if partner is None:
            fail("--partner is required (or use --dry-run)")
        if not settings.kafka.username or settings.kafka.password is None:
            fail(
                "set CONFIANZA_KAFKA__USERNAME (partner-<id>) and CONFIANZA_KAFKA__PASSWORD "
                "or CONFIANZA_KAFKA__PASSWORD_FILE"
            )
    with ExitStack() as stack:
        raw, name, size = _open(source, stack)
        try:
            stream = PeekableStream(raw)
            chosen = detect_format(stream, name) if fmt == "auto" else cast(Format, fmt)
        except InputError as exc:
            fail(str(exc))
        reporter: Reporter | None = None
        if not dry_run and partner is not None:
            try:
                reporter = stack.enter_context(Reporter(settings.kafka, partner))
            except (ReporterError, ValueError) as exc:
                fail(str(exc))
        console = Console(stderr=True)
        large = size is None or size >= LARGE_INPUT_BYTES
        progress = Progress(
            TextColumn("sending" if reporter else "validating"),
            BarColumn(),
            MofNCompleteColumn() if size is None else TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=console,
            disable=not (console.is_terminal and large),
        )
        task = progress.add_task("input", total=size)

        def advance() -> None:
            if size is None:
                progress.advance(task)
            else:
                progress.update(task, completed=raw.tell())

        try:
            with progress:
                summary, sent = send_items(
                    read_items(stream, chosen, defaults), reporter, _print_problem, advance
                )
        except InputError as exc:
            fail(str(exc))
        if wait and reporter is not None:
            wait_receipts(reporter, sent, summary, _print_problem, receipt_timeout)
    if json_output:
        typer.echo(orjson.dumps(summary.as_dict()).decode())
    else:
        _print_summary(summary)
    raise typer.Exit(summary.exit_code)


def _print_plan(traffic: Traffic, truth_path: Path) -> None:
    counts = traffic.config.counts()
    partners = ", ".join(p for p, _ in traffic.truth.partners)
    typer.echo(
        f"planned {counts['total']} records over {traffic.config.duration:g}s from "
        f"{len(traffic.truth.partners)} partners ({partners}): "
        f"{counts['campaign']} events in {len(traffic.truth.campaigns)} campaigns, "
        f"{counts['noise']} background, {counts['duplicates']} duplicates, "
        f"{counts['malformed']} malformed, {counts['oversize']} oversized"
    )
    for campaign in traffic.truth.campaigns:
        reporters = sorted({e.partner for e in campaign.events})
        typer.echo(
            f"  {campaign.id}: {campaign.target}, {len(campaign.events)} events from "
            f"{', '.join(reporters)}; {len(campaign.indicators)} indicators"
        )
    typer.echo(f"ground truth written to {truth_path}")


def simulate(
    partners: Annotated[
        int, typer.Option(min=2, max=len(ROSTER), help="How many partners of the roster take part.")
    ] = len(ROSTER),
    rate: Annotated[float, typer.Option(help="Records per second, all partners together.")] = 10.0,
    duration: Annotated[float, typer.Option(help="Seconds of traffic.")] = 60.0,
    campaigns: Annotated[int, typer.Option(min=0, help="Cross-sector campaigns.")] = 5,
    noise: Annotated[
        float, typer.Option(help="Fraction of well-formed events that are background noise.")
    ] = 0.6,
    seed: Annotated[int, typer.Option(help="Same seed and --start: same traffic.")] = 1,
    malformed: Annotated[float, typer.Option(help="Fraction of malformed records.")] = 0.02,
    oversize: Annotated[float, typer.Option(help="Fraction of records over 64 KiB.")] = 0.005,
    duplicates: Annotated[float, typer.Option(help="Fraction of events sent twice.")] = 0.03,
    truth: Annotated[Path, typer.Option(help="Where to write the ground truth JSON.")] = Path(
        "ground-truth.json"
    ),
    credentials_dir: Annotated[
        Path | None,
        typer.Option(
            help="Directory of partner-<id>.env files (confianza partners add --credentials-dir)."
        ),
    ] = None,
    start: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"],
            help="Pin the clock (UTC unless an offset is given) for identical output.",
        ),
    ] = None,
    partner_prefix: Annotated[
        str,
        typer.Option(
            help="Prefix of the partner ids (<prefix><roster id>), to keep "
            "a test run apart from the real roster."
        ),
    ] = "",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan and write the ground truth; send nothing.")
    ] = False,
) -> None:
    """Simulate partner traffic: background incidents, cross-sector campaigns, malformed,
    oversized and duplicate records, each partner with its own credentials; writes the ground
    truth for ``confianza eval``."""
    settings = load_settings()
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    config = SimulationConfig(
        partners=partners,
        rate=rate,
        duration=duration,
        campaigns=campaigns,
        noise=noise,
        seed=seed,
        malformed=malformed,
        oversize=oversize,
        duplicates=duplicates,
        start=start,
        partner_prefix=partner_prefix,
    )
    try:
        traffic = generate(config)
    except ConfigError as exc:
        fail(str(exc))
    credentials: dict[str, KafkaSettings] = {}
    if not dry_run:
        if credentials_dir is None:
            fail("--credentials-dir is required (or use --dry-run)")
        try:
            credentials = load_credentials(
                credentials_dir, [p for p, _ in traffic.truth.partners], settings.kafka
            )
        except CredentialsError as exc:
            fail(str(exc))
    with ExitStack() as stack:
        try:
            reporters = open_reporters(credentials, stack) if not dry_run else {}
        except ReporterError as exc:
            fail(str(exc))
        if start is None:
            # Connecting every partner takes seconds: plan from now, so reported_at is the
            # moment each record is really sent (same seed, same partners and records).
            traffic = generate(replace(config, start=datetime.now(UTC)))
        try:
            traffic.truth.write(truth)
        except OSError as exc:
            fail(f"cannot write the ground truth to {truth}: {exc.strerror}")
        _print_plan(traffic, truth)
        if dry_run:
            return
        console = Console(stderr=True)
        progress = Progress(
            TextColumn("simulating"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not console.is_terminal,
        )
        task = progress.add_task("records", total=len(traffic))
        with progress:
            report = send_traffic(traffic, reporters, lambda _: progress.advance(task))
    rate_done = report.attempted / report.elapsed_s if report.elapsed_s else 0.0
    sent = ", ".join(
        f"{k} {report.sent[k]}" for k in ("event", "duplicate", "malformed", "oversize")
    )
    typer.echo(
        f"sent {sum(report.sent.values())} of {len(traffic)} records in {report.elapsed_s:.1f}s "
        f"({rate_done:.1f}/s; {sent}); failed {report.failed}, unconfirmed "
        f"{report.unconfirmed}; most behind schedule {report.max_lag_s:.2f}s"
    )
    for error in report.errors:
        typer.echo(f"error: {error}", err=True)
    if report.failed or report.unconfirmed:
        raise typer.Exit(1)
