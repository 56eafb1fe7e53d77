"""``confianza topics|partners|services``: provisioning as code against the broker.

These commands connect as the admin principal (``CONFIANZA_KAFKA__*``). Credentials they
create are shown once, on stdout or in a 0600 env file (``--credentials-dir``); never logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from confianza import provision
from confianza.cli.common import fail, load_settings, operator_errors
from confianza.provision.partners import PARTNER_SECTORS, Credentials
from confianza.provision.roster import RosterError, load_roster, sync_registry

topics_app = typer.Typer(help="Topics from the declarative topic file.", no_args_is_help=True)
partners_app = typer.Typer(
    help="Onboard, list, rotate and remove reporting partners.", no_args_is_help=True
)
services_app = typer.Typer(
    help="Service principals (streams, deliver, ops) and their ACLs.", no_args_is_help=True
)

CredentialsDir = Annotated[
    Path | None,
    typer.Option(
        help="Write <principal>.env (mode 0600) here instead of printing the credentials."
    ),
]


def _hand_over(credentials: Credentials, directory: Path | None) -> None:
    if directory is None:
        typer.echo(credentials.env(), nl=False)
        return
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{credentials.username}.env"
    target.touch(mode=0o600)
    target.chmod(0o600)
    target.write_text(credentials.env(), encoding="utf-8")
    typer.echo(f"credentials of {credentials.username} written to {target}")


@topics_app.command("apply")
def topics_apply(
    file: Annotated[
        Path | None, typer.Option(help="Topic file (default: the packaged topics.yaml).")
    ] = None,
) -> None:
    """Create or update the shared topics and every partner's topics; safe to re-run."""
    settings = load_settings()
    with operator_errors():
        report = provision.apply_topics(settings.kafka, file or settings.topics_file)
    for label in ("created", "grown", "reconfigured"):
        for name in getattr(report, label):
            typer.echo(f"{label:>12}  {name}")
    typer.echo(
        f"{len(report.created)} created, {len(report.grown)} grown, "
        f"{len(report.reconfigured)} reconfigured, {len(report.unchanged)} unchanged"
    )


@partners_app.command("add")
def partners_add(
    partner: Annotated[str, typer.Argument(help="Partner id, e.g. bcp or pnp-divindat.")],
    sector: Annotated[str, typer.Option(help=f"One of: {', '.join(PARTNER_SECTORS)}.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    credentials_dir: CredentialsDir = None,
) -> None:
    """Create the partner's SCRAM user, ingest/receipts topics, ACLs and registry entry."""
    settings = load_settings()
    with operator_errors():
        credentials = provision.add_partner(settings.kafka, partner, sector, name)
    typer.echo(f"partner {partner} ({sector}) onboarded", err=True)
    _hand_over(credentials, credentials_dir)


@partners_app.command("list")
def partners_list() -> None:
    """Every partner in the registry with its sector and status."""
    settings = load_settings()
    with operator_errors():
        records = provision.list_partners(settings.kafka)
    for record in records:
        typer.echo(f"{record.partner:<28} {record.sector:<11} {record.status:<8} {record.name}")
    if not records:
        typer.echo("no partners yet; add one with `confianza partners add`")


@partners_app.command("rotate")
def partners_rotate(
    partner: Annotated[str, typer.Argument(help="Partner id.")],
    credentials_dir: CredentialsDir = None,
) -> None:
    """Issue a new password; the old one stops working."""
    settings = load_settings()
    with operator_errors():
        credentials = provision.rotate_credentials(settings.kafka, partner)
    _hand_over(credentials, credentials_dir)


@partners_app.command("remove")
def partners_remove(
    partner: Annotated[str, typer.Argument(help="Partner id.")],
    delete_topics: Annotated[
        bool, typer.Option(help="Also delete its topics (default: keep them as evidence).")
    ] = False,
) -> None:
    """Revoke the partner's credential and ACLs and mark it removed in the registry."""
    settings = load_settings()
    with operator_errors():
        provision.remove_partner(settings.kafka, partner, delete_topics=delete_topics)
    typer.echo(f"partner {partner} removed")


@services_app.command("add")
def services_add(
    service: Annotated[str, typer.Argument(help="streams, deliver or ops.")],
    credentials_dir: CredentialsDir = None,
) -> None:
    """Create (or re-key) a service principal and apply its least-privilege ACLs."""
    settings = load_settings()
    with operator_errors():
        credentials = provision.add_service(settings.kafka, service)
    _hand_over(credentials, credentials_dir)


@partners_app.command("sync")
def partners_sync(
    roster: Annotated[Path, typer.Argument(help="Roster file, e.g. deploy/partners.yaml.")],
    prune: Annotated[
        bool, typer.Option(help="Mark active partners that the roster lacks as removed.")
    ] = False,
) -> None:
    """Bring the partner registry in line with a roster; credentials, ACLs and topics untouched.

    For clusters where KafkaUser/KafkaTopic resources (Strimzi) own those: see deploy/README.md.
    """
    settings = load_settings()
    try:
        entries = load_roster(roster)
    except RosterError as exc:
        fail(str(exc))
    with operator_errors():
        report = sync_registry(settings.kafka, entries, prune=prune)
    for label in ("added", "updated", "removed"):
        for partner in getattr(report, label):
            typer.echo(f"{label:>9}  {partner}")
    for partner in report.not_in_roster:
        typer.echo(f"active partner {partner} is not in the roster (--prune marks it removed)")
    typer.echo(
        f"{len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.removed)} removed, {len(report.unchanged)} unchanged"
    )
