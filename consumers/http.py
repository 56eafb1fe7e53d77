"""The HTTP client of the webhook and chat channels: one pooled aiohttp session per channel.

aiohttp rather than httpx: measured on this project's 2-core machine against the local
receiver, httpx 0.28 delivered ~600 requests/s on one connection and fell to ~130/s at 32 to 128
concurrent connections, while aiohttp sustained ~4,000/s at any of those concurrencies; the
delivery target is 5,000/s from one process. ``post`` makes one attempt and classifies the
answer with ``outcome_for_status``; redirects are never followed, and cookies a receiver sets
are never kept or sent back: every delivery stands alone.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import aiohttp

from confianza.consumers.channel import Outcome, outcome_for_status

MAX_CONNECTIONS = 256
MAX_RESPONSE_BYTES = 64 * 1024  # what is read of a receiver's answer; the rest is discarded
USER_AGENT = "Confianza-Webhooks/1"


@functools.lru_cache(maxsize=64)
def _timeout(seconds: float) -> aiohttp.ClientTimeout:
    """The whole-request timeout, built once per value (subscribers share a few)."""
    return aiohttp.ClientTimeout(total=seconds)


class HttpPoster:
    """A lazily opened, pooled session (opened inside the worker's event loop)."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS),
                cookie_jar=aiohttp.DummyCookieJar(),
                headers={"user-agent": USER_AGENT},
            )
        return self._session

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> Outcome:
        """POST ``body`` once; the outcome of the answer, a timeout or a connection error."""
        try:
            async with self._open().post(
                url,
                data=body,
                headers={**headers, "content-type": "application/json"},
                timeout=_timeout(timeout),
                allow_redirects=False,
            ) as response:
                await response.content.read(MAX_RESPONSE_BYTES)
                return outcome_for_status(response.status, response.headers.get("retry-after"))
        except TimeoutError:
            return Outcome("retryable", error=f"timeout after {timeout:g} s")
        except aiohttp.ClientError as exc:
            return Outcome("retryable", error=f"connection error: {type(exc).__name__}")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
