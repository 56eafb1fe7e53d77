"""``confianza worker deliver --channel …`` and ``confianza replay --from-dlq``.

Both read ``CONFIANZA_*`` settings (Kafka principal, metrics port, log format), the
subscriptions file (``--subscriptions`` or ``CONFIANZA_SUBSCRIPTIONS_FILE``) and the delivery
policy (``CONFIANZA_DELIVERY_*``, see ``policy.py``). Exit codes: 0 done, 1 replay left some
deliveries failed or a worker's stop overran ``--stop-timeout``, 2 configuration or
connection error.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from enum import StrEnum
from pathlib import Path

import typer
from aiokafka.errors import KafkaError
from kafka.errors import KafkaError as SyncKafkaError
from pydantic import ValidationError

from confianza.cli.common import EXIT_PARTIAL, fail, load_settings, stop_timeout_option
from confianza.consumers.policy import DeliveryPolicy
from confianza.consumers.replay import replay_from_dlq
from confianza.consumers.subscriptions import CHANNELS, SubscriptionError, load_subscriptions
from confianza.consumers.worker import DeliveryWorker, Topics, run_worker
from confianza.observability.server import (
    MetricsServerError,
    start_metrics_server,
    worker_metrics,
)
from confianza.schemas import topics as topic_names
from confianza.settings import get_settings

worker_app = typer.Typer(help="Long-running Confianza workers.", no_args_is_help=True)


ChannelName = StrEnum("ChannelName", {name: name for name in CHANNELS})


_AGO = re.compile(r"^([0-9]+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str) -> dt.datetime:
    """An RFC 3339 time, or an age such as ``30m``, ``2h``, ``7d`` (that long ago)."""
    match = _AGO.match(text.strip())
    if match:
        delta = dt.timedelta(**{_UNITS[match[2]]: int(match[1])})
        return dt.datetime.now(dt.UTC) - delta
    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter("use an RFC 3339 time or an age such as 30m, 2h, 7d") from None
    if when.tzinfo is None:
        raise typer.BadParameter("the time needs an offset, e.g. 2026-05-01T10:00:00-05:00")
    return when


def _subscriptions_path(option: Path | None) -> Path:
    path = option or get_settings().subscriptions_file
    if path is None:
        fail("no subscriptions file: pass --subscriptions or set CONFIANZA_SUBSCRIPTIONS_FILE")
    return path


def _policy() -> DeliveryPolicy:
    try:
        return DeliveryPolicy()
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"invalid CONFIANZA_DELIVERY_{str(first['loc'][0]).upper()}: {first['msg']}")


SUBSCRIPTIONS = typer.Option(
    None, "--subscriptions", help="Subscriptions YAML (default: $CONFIANZA_SUBSCRIPTIONS_FILE)."
)
ALERTS_TOPIC = typer.Option(topic_names.ALERTS, hidden=True)
DELIVERIES_TOPIC = typer.Option(topic_names.DELIVERIES, hidden=True)
DLQ_TOPIC = typer.Option(topic_names.DLQ_DELIVERY, hidden=True)


@worker_app.command("deliver")
def deliver(
    channel: ChannelName = typer.Option(..., "--channel", help="The channel this worker serves."),
    subscriptions: Path | None = SUBSCRIPTIONS,
    alerts_topic: str = ALERTS_TOPIC,
    deliveries_topic: str = DELIVERIES_TOPIC,
    dlq_topic: str = DLQ_TOPIC,
    stop_timeout: float = stop_timeout_option("CONFIANZA_DELIVERY_STOP_TIMEOUT"),
) -> None:
    """Deliver TLP-gated alerts on one channel until interrupted (consumer group
    confianza-deliver-<channel>)."""
    settings = load_settings()
    policy, path = _policy(), _subscriptions_path(subscriptions)
    if stop_timeout <= policy.shutdown_grace:
        fail(
            f"--stop-timeout ({stop_timeout:g} s) must be longer than "
            f"CONFIANZA_DELIVERY_SHUTDOWN_GRACE ({policy.shutdown_grace:g} s), the wait for "
            "deliveries in flight"
        )
    try:
        subs = load_subscriptions(path)
        worker = DeliveryWorker(
            settings.kafka,
            channel.value,
            subs,
            policy,
            Topics(alerts_topic, deliveries_topic, dlq_topic),
        )
        server = start_metrics_server(worker_metrics(settings.metrics, "deliver"), worker.ready)
    except (SubscriptionError, MetricsServerError) as exc:
        fail(str(exc))
    try:
        run_worker(worker, stop_timeout)
    except SubscriptionError as exc:
        fail(str(exc))
    except (KafkaError, SyncKafkaError, OSError) as exc:
        fail(f"Kafka: {type(exc).__name__}: {exc}")
    finally:
        server.stop()


def replay(
    from_dlq: bool = typer.Option(
        False, "--from-dlq", help="Replay dead letters from dlq.delivery.v1 (required)."
    ),
    subscriber: str | None = typer.Option(None, "--subscriber", help="Only this subscriber."),
    since: str | None = typer.Option(
        None, "--since", help="Only dead letters from this time on (RFC 3339, or 30m, 2h, 7d)."
    ),
    subscriptions: Path | None = SUBSCRIPTIONS,
    deliveries_topic: str = DELIVERIES_TOPIC,
    dlq_topic: str = DLQ_TOPIC,
) -> None:
    """Re-send deliveries that ended in the DLQ, gated again with today's subscriptions;
    each (alert, version, subscriber) is delivered at most once."""
    if not from_dlq:
        raise typer.BadParameter("say what to replay: --from-dlq")
    settings = load_settings()
    when = parse_since(since) if since else None
    policy, path = _policy(), _subscriptions_path(subscriptions)
    try:
        subs = load_subscriptions(path)
    except SubscriptionError as exc:
        fail(str(exc))
    topics = Topics(deliveries=deliveries_topic, dlq=dlq_topic)
    try:
        summary = asyncio.run(
            replay_from_dlq(settings.kafka, subs, policy, subscriber, when, topics)
        )
    except (KafkaError, SyncKafkaError, OSError) as exc:
        fail(f"Kafka: {type(exc).__name__}: {exc}")
    typer.echo(f"dead letters read: {summary.read}")
    for outcome, count in sorted(summary.outcomes.items()):
        typer.echo(f"  {outcome}: {count}")
    if summary.failed:
        raise typer.Exit(EXIT_PARTIAL)
