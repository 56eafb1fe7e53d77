"""The SIEM channels: RFC 5424 syslog over UDP or TCP, and an append-only JSON-lines file.

``SyslogChannel`` keeps one TCP connection per subscriber (re-opened after an error, which
makes that attempt retryable) or sends one datagram per message over UDP (delivered once
handed to the socket: UDP has no acknowledgement). ``FileChannel`` appends one line per
notification and fsyncs before reporting it delivered.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from confianza.consumers.channel import Outcome
from confianza.consumers.gate import GatedAlert
from confianza.consumers.subscriptions import Subscriber
from confianza.consumers.syslog.format import json_line, octet_framed, syslog_message

MAX_UDP_BYTES = 65_000
_TARGET = re.compile(r"^(udp|tcp)://\[?([^\]]+?)\]?:([0-9]+)$")


class SyslogChannel:
    """RFC 5424 to ``udp://host:port`` or ``tcp://host:port`` (octet-counted frames)."""

    name = "syslog"

    def __init__(
        self, subscribers: Iterable[Subscriber], env: Mapping[str, str] | None = None
    ) -> None:
        del env
        self._targets: dict[str, tuple[str, str, int]] = {}
        for subscriber in subscribers:
            match = _TARGET.match(str(subscriber.target))
            if match is not None:
                self._targets[subscriber.id] = (match[1], match[2], int(match[3]))
        self._streams: dict[str, asyncio.StreamWriter] = {}
        self._udp: dict[str, asyncio.DatagramTransport] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def send(self, alert: GatedAlert, subscriber: Subscriber) -> Outcome:
        target = self._targets.get(subscriber.id)
        if target is None:
            return Outcome("permanent", error="subscriber not known to this syslog channel")
        message = syslog_message(alert, subscriber.id)
        proto, host, port = target
        lock = self._locks.setdefault(subscriber.id, asyncio.Lock())
        async with lock:
            try:
                if proto == "udp":
                    return await self._send_udp(subscriber, host, port, message)
                return await self._send_tcp(subscriber, host, port, message)
            except (OSError, TimeoutError) as exc:
                writer = self._streams.pop(subscriber.id, None)
                if writer is not None:
                    writer.close()
                return Outcome("retryable", error=f"syslog {proto}: {type(exc).__name__}")

    async def _send_udp(
        self, subscriber: Subscriber, host: str, port: int, message: bytes
    ) -> Outcome:
        if len(message) > MAX_UDP_BYTES:
            return Outcome(
                "permanent",
                error=f"message of {len(message)} bytes is too large for UDP; use tcp://",
            )
        transport = self._udp.get(subscriber.id)
        if transport is None or transport.is_closing():
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(
                asyncio.DatagramProtocol, remote_addr=(host, port)
            )
            self._udp[subscriber.id] = transport
        transport.sendto(message)
        return Outcome("delivered")

    async def _send_tcp(
        self, subscriber: Subscriber, host: str, port: int, message: bytes
    ) -> Outcome:
        writer = self._streams.get(subscriber.id)
        if writer is None or writer.is_closing():
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port), subscriber.timeout
            )
            self._streams[subscriber.id] = writer
        writer.write(octet_framed(message))
        await asyncio.wait_for(writer.drain(), subscriber.timeout)
        return Outcome("delivered")

    async def aclose(self) -> None:
        for writer in self._streams.values():
            writer.close()
        for transport in self._udp.values():
            transport.close()


class FileChannel:
    """Appends JSON lines to the subscriber's file (created with its folder if missing)."""

    name = "file"

    def __init__(
        self, subscribers: Iterable[Subscriber], env: Mapping[str, str] | None = None
    ) -> None:
        del subscribers, env
        self._locks: dict[str, asyncio.Lock] = {}

    @staticmethod
    def _append(path: Path, line: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    async def send(self, alert: GatedAlert, subscriber: Subscriber) -> Outcome:
        path = Path(str(subscriber.target))
        lock = self._locks.setdefault(str(path), asyncio.Lock())
        async with lock:
            try:
                await asyncio.to_thread(self._append, path, json_line(alert, subscriber.id))
            except OSError as exc:
                return Outcome("retryable", error=f"file: {exc.strerror or type(exc).__name__}")
        return Outcome("delivered")

    async def aclose(self) -> None:
        return None
