"""The pass-through relay: what the broker and the Python Kafka clients alone can do.

``python -m bench.lib.relay SOURCE TARGET GROUP [GO]`` consumes ``SOURCE`` and produces every record
unchanged (key, value, timestamp) to ``TARGET``, with the streams ingest loop's client settings
and batch cycle: an aiokafka consumer in group ``GROUP`` reading batches of up to 1,000
records, the streams producer (``new_producer``: idempotent, ``acks=all``, linger 5 ms), one
wait for the broker's acknowledgements per batch, then a commit. No parsing, no validation, no
state: the pipeline's figures are reported as a ratio to this process's. With ``GO`` (a file
path) it joins the group but reads nothing until that file exists, so several relays can be
started on a full topic and released together. Runs until SIGTERM; the connection comes from
``CONFIANZA_KAFKA__*``.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from aiokafka import AIOKafkaConsumer

from confianza.kafka import aiokafka_kwargs
from confianza.settings import KafkaSettings, get_settings
from confianza.streams.source import new_producer

BATCH = 1000


async def relay(
    kafka: KafkaSettings, source: str, target: str, group: str, go: Path | None = None
) -> None:
    """Copy ``source`` to ``target`` until cancelled (from the moment ``go`` exists)."""
    consumer = AIOKafkaConsumer(
        source,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=BATCH,
        **aiokafka_kwargs(kafka),
    )
    producer = new_producer(kafka)
    await producer.start()
    await consumer.start()
    try:
        while go is not None and not go.exists():
            await asyncio.sleep(0.02)
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=BATCH)
            if not batches:
                continue
            sends = [
                await producer.send(target, m.value, key=m.key, timestamp_ms=m.timestamp)
                for messages in batches.values()
                for m in messages
            ]
            await asyncio.gather(*sends)
            await consumer.commit({tp: ms[-1].offset + 1 for tp, ms in batches.items()})
    finally:
        await consumer.stop()
        await producer.stop()


def main() -> None:
    source, target, group = sys.argv[1:4]
    go = Path(sys.argv[4]) if len(sys.argv) > 4 else None
    loop = asyncio.new_event_loop()
    task = loop.create_task(relay(get_settings().kafka, source, target, group, go))
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        loop.run_until_complete(task)
    except asyncio.CancelledError:
        pass
    finally:
        loop.close()


if __name__ == "__main__":
    main()
