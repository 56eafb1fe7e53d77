"""A small local webhook receiver: verifies signatures, dedupes by ``webhook-id``, records.

Used by the demo, the tests and the benchmark as the far end of the webhook and chat channels;
also a reference for partners writing their own. It runs an aiohttp server on 127.0.0.1 in a
background thread, so synchronous and asynchronous callers use it alike::

    with WebhookReceiver(secret) as receiver:     # secret: "whsec_…" (None: chat, unsigned)
        url = receiver.url("/bcp")                 # the subscriber's target
        ...
        receiver.wait_for(10)                      # until 10 distinct deliveries arrived

Every request is checked with ``verify()`` (401 when it fails: counted in ``rejected``). A
``webhook-id`` seen before is answered 200 and counted in ``duplicates``, not recorded again.
``script(path, [500, 200, …])`` makes a path answer with those statuses in turn (the last one
repeats); an entry may be ``(429, {"Retry-After": "1"})`` or ``"hang"`` (never answers until the
receiver stops). ``python -m confianza.consumers.webhook.receiver`` runs one in the foreground
and appends each accepted delivery to a JSON-lines file (it keeps only the ids in memory:
``keep=False``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from aiohttp import web

from confianza.consumers.webhook.signing import WebhookVerificationError, verify

Scripted = int | tuple[int, Mapping[str, str]] | str
MAX_BODY_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Received:
    """One accepted delivery: its id, path, parsed JSON body and arrival time (Unix s)."""

    webhook_id: str | None
    path: str
    body: Any
    raw: bytes
    headers: Mapping[str, str]
    at: float


@dataclass
class _State:
    deliveries: list[Received] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    requests: int = 0
    duplicates: int = 0
    rejected: int = 0
    scripts: dict[str, list[Scripted]] = field(default_factory=dict)
    per_path: Counter[str] = field(default_factory=Counter)


class WebhookReceiver:
    """A verifying webhook endpoint on 127.0.0.1 (see the module docstring)."""

    def __init__(
        self,
        secret: str | Mapping[str, str] | None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tolerance: int = 300,
        out: Path | None = None,
        on_delivery: Callable[[Received], None] | None = None,
        keep: bool = True,
    ) -> None:
        self._secret = secret
        self._host = host
        self._port = port
        self._tolerance = tolerance
        self._out = out
        self._out_file: BinaryIO | None = None
        self._on_delivery = on_delivery
        self._keep = keep
        self._state = _State()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._hanging: asyncio.Event | None = None
        self.port = port

    # --- what the caller reads --------------------------------------------------------
    @property
    def deliveries(self) -> list[Received]:
        with self._lock:
            return list(self._state.deliveries)

    @property
    def duplicates(self) -> int:
        with self._lock:
            return self._state.duplicates

    @property
    def rejected(self) -> int:
        with self._lock:
            return self._state.rejected

    @property
    def requests(self) -> int:
        with self._lock:
            return self._state.requests

    def ids(self, path: str | None = None) -> list[str | None]:
        """The ``webhook-id`` of every accepted delivery (to ``path``, if given), in order."""
        return [d.webhook_id for d in self.deliveries if path is None or d.path == path]

    def url(self, path: str = "/") -> str:
        return f"http://{self._host}:{self.port}{path}"

    def script(self, path: str, answers: Sequence[Scripted]) -> None:
        """Answer requests to ``path`` with these statuses in turn; the last one repeats."""
        with self._lock:
            self._state.scripts[path] = list(answers)

    def wait_for(self, count: int, timeout: float = 30.0, path: str | None = None) -> bool:
        """Block until at least ``count`` deliveries (to ``path``) arrived; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                counts = self._state.per_path
                have = len(self._state.deliveries) if path is None else counts[path]
                if have >= count:
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)

    # --- serving ------------------------------------------------------------------------
    def _secret_for(self, path: str) -> str | None:
        if self._secret is None or isinstance(self._secret, str):
            return self._secret
        return self._secret.get(path)

    def _next_answer(self, path: str) -> Scripted:
        with self._lock:
            answers = self._state.scripts.get(path)
            if not answers:
                return 200
            return answers.pop(0) if len(answers) > 1 else answers[0]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        path = request.path
        with self._lock:
            self._state.requests += 1
        answer = self._next_answer(path)
        if answer == "hang":
            assert self._hanging is not None
            await self._hanging.wait()
            return web.Response(status=503)
        status, extra = (answer, {}) if isinstance(answer, int) else answer  # type: ignore[misc]
        webhook_id = request.headers.get("webhook-id")
        secret = self._secret_for(path)
        if secret is not None:
            try:
                verify(request.headers, body, secret, tolerance=self._tolerance)
            except WebhookVerificationError as exc:
                with self._lock:
                    self._state.rejected += 1
                return web.Response(status=401, text=str(exc))
        if not 200 <= int(status) < 300:
            return web.Response(status=int(status), headers=dict(extra))
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            return web.Response(status=400, text="body is not JSON")
        received = Received(webhook_id, path, parsed, body, dict(request.headers), time.time())
        with self._changed:
            if webhook_id is not None and webhook_id in self._state.seen:
                self._state.duplicates += 1
                return web.Response(status=int(status))
            if webhook_id is not None:
                self._state.seen.add(webhook_id)
            if self._keep:
                self._state.deliveries.append(received)
            self._state.per_path[path] += 1
            self._changed.notify_all()
        if self._out_file is not None:
            line = {
                "webhook_id": webhook_id,
                "path": path,
                "received_at": received.at,
                "body": parsed,
            }
            self._out_file.write(orjson.dumps(line) + b"\n")
            self._out_file.flush()
        if self._on_delivery is not None:
            self._on_delivery(received)
        return web.Response(status=int(status))

    async def _start(self) -> None:
        self._hanging = asyncio.Event()
        if self._out is not None:
            self._out_file = self._out.open("ab")
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.create_server((self._host, self._port), reuse_port=False)
        self.port = int(sock.getsockname()[1])
        await web.SockSite(self._runner, sock).start()

    async def _stop(self) -> None:
        if self._hanging is not None:
            self._hanging.set()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._out_file is not None:
            self._out_file.close()

    def start(self) -> WebhookReceiver:
        """Serve from a daemon thread; returns when the port is bound."""
        loop = asyncio.new_event_loop()
        self._loop = loop
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._start())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="webhook-receiver", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop serving (hanging requests are released) and join the thread."""
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """Run a receiver in the foreground until interrupted (the demo's far end)."""
    parser = argparse.ArgumentParser(description="Local verifying webhook receiver.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--secret-env", help="environment variable holding the whsec_ secret")
    parser.add_argument("--out", type=Path, help="append accepted deliveries here (JSON lines)")
    args = parser.parse_args(argv)
    secret = os.environ.get(args.secret_env) if args.secret_env else None
    if args.secret_env and not secret:
        parser.error(f"environment variable {args.secret_env} is not set")
    receiver = WebhookReceiver(secret, host=args.host, port=args.port, out=args.out, keep=False)
    receiver.start()
    print(f"listening on {receiver.url()}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        receiver.stop()


if __name__ == "__main__":
    main()
