"""OpenAI-compatible chat endpoint (vLLM's server in production).

vLLM batches whatever requests are in flight, so throughput comes from keeping
many requests open at once (`concurrency`, default 64), not from a batch API. Each
segment is one /v1/chat/completions request at temperature 0; a request that fails
with 429, 5xx, a timeout or a connection error is retried with exponential backoff,
and the batch fails with one clear EngineError (URL + last error) only after the
last retry. If the server could never be reached at all, that is EngineUnavailable.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
from typing import Any

import httpx

from ..injection import INJECTION_OPTIONS
from ..prompts import PROMPT_VERSION, build_messages
from .base import BatchResult, Engine, EngineError, EngineUnavailable, Usage
from .options import Option

DEFAULT_MODEL = "meta-llama/Llama-3.1-8B-Instruct"
DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class _Retryable(Exception):
    """One attempt failed in a way worth retrying."""

    def __init__(self, message: str, *, connected: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.connected = connected
        self.retry_after = retry_after


class OpenAIEngine(Engine):
    """Translate each segment with one chat completion, many requests in flight."""

    name = "openai"
    prompt_version = PROMPT_VERSION
    max_segment_chars = 4000
    # A request may pick a server only among OPENAI_ALLOWED_BASE_URLS (default: OPENAI_BASE_URL).
    request_options = (
        Option("base_url", str, allowed_by="OPENAI_ALLOWED_BASE_URLS"),
        Option("max_tokens", int, 1, 8192),
        Option("concurrency", int, 1, 256, help="requests in flight"),
        Option("timeout", float, 1, 600, help="seconds per request"),
        Option("max_retries", int, 0, 10),
        Option("backoff", float, 0, 60, help="first retry delay, seconds"),
        Option("max_backoff", float, 0, 600),
        Option("max_segment_chars", int, 1, 4000),
        *INJECTION_OPTIONS,  # any engine: errors put in on purpose after it translates
    )

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        concurrency: int = 64,
        timeout: float = 120.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_tokens: int = 1024,
        max_segment_chars: int | None = None,
    ) -> None:
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.api_key = api_key
        self.concurrency = max(1, concurrency)
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_tokens = max_tokens
        if max_segment_chars is not None:
            self.max_segment_chars = max_segment_chars

    def parameters(self) -> dict[str, Any]:
        return {"temperature": 0.0, "max_tokens": self.max_tokens, "base_url": self.base_url}

    def _translate_batch(self, texts: list[str], source: str, target: str) -> BatchResult:
        coroutine = self._translate_all(texts, source, target)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coroutine)
        # Called from inside an event loop (an async view, a notebook): run ours
        # in a thread rather than fail with "asyncio.run() cannot be called".
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, coroutine).result()

    async def _translate_all(self, texts: list[str], source: str, target: str) -> BatchResult:
        usage = Usage()
        outputs: list[str] = [""] * len(texts)
        semaphore = asyncio.Semaphore(self.concurrency)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        # trust_env=False: an HTTP(S)_PROXY meant for the internet must not
        # intercept calls to the vLLM server on the private network.
        async with httpx.AsyncClient(
            timeout=self.timeout, limits=limits, headers=headers, trust_env=False
        ) as client:

            async def one(index: int) -> None:
                async with semaphore:
                    outputs[index] = await self._complete(client, texts[index], source, target, usage)

            try:
                async with asyncio.TaskGroup() as group:
                    for index in range(len(texts)):
                        group.create_task(one(index))
            except* EngineError as failure:
                # The first final failure cancels the rest; report that one.
                raise failure.exceptions[0] from None
        return BatchResult(outputs=outputs, usage=usage)

    async def _complete(
        self, client: httpx.AsyncClient, text: str, source: str, target: str, usage: Usage
    ) -> str:
        body = {
            "model": self.model,
            "messages": build_messages(text, source, target),
            "temperature": 0.0,
            # Room for a French text ~1.5x the English; the cap stops runaway output.
            "max_tokens": min(self.max_tokens, 64 + len(text)),
        }
        ever_connected = False
        last_error = "no attempt made"
        for attempt in range(self.max_retries + 1):
            if attempt:
                usage.retries += 1
            try:
                usage.requests += 1
                return self._parse(await self._post(client, body), usage)
            except _Retryable as error:
                ever_connected = ever_connected or error.connected
                last_error = str(error)
                if attempt == self.max_retries:
                    break
                delay = min(self.max_backoff, self.backoff * 2**attempt) * (0.5 + random.random() / 2)
                await asyncio.sleep(max(delay, error.retry_after or 0.0))
        attempts = self.max_retries + 1
        if not ever_connected:
            raise EngineUnavailable(
                f"cannot reach {self.url} after {attempts} attempts ({last_error}): "
                f"is the server at {self.base_url} running?"
            )
        raise EngineError(f"{self.url} failed after {attempts} attempts; last error: {last_error}")

    async def _post(self, client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await client.post(self.url, json=body)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise _Retryable(f"connection failed: {exc!r}", connected=False) from exc
        except httpx.TimeoutException as exc:
            raise _Retryable(
                f"timeout after {self.timeout:g} s ({type(exc).__name__})", connected=True
            ) from exc
        except httpx.TransportError as exc:
            raise _Retryable(f"{type(exc).__name__}: {exc}", connected=True) from exc
        if response.status_code in RETRY_STATUSES:
            raise _Retryable(
                f"HTTP {response.status_code}: {response.text[:200]}",
                connected=True,
                retry_after=_retry_after(response),
            )
        if response.status_code != 200:
            # 400/401/404...: retrying cannot help; say what the server said.
            raise EngineError(f"{self.url} answered HTTP {response.status_code}: {response.text[:500]}")
        try:
            payload: dict[str, Any] = response.json()
        except ValueError as exc:
            raise _Retryable(f"invalid JSON from server: {response.text[:200]}", connected=True) from exc
        return payload

    def _parse(self, payload: dict[str, Any], usage: Usage) -> str:
        try:
            content = payload["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise EngineError(
                f"{self.url} returned no choices[0].message.content: {str(payload)[:300]}"
            ) from exc
        tokens = payload.get("usage") or {}
        usage.add_tokens(tokens.get("prompt_tokens"), tokens.get("completion_tokens"))
        return str(content or "").strip()


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (capped at 60 s), if it is a number."""
    try:
        return min(60.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None
