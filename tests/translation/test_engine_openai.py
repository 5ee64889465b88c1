"""OpenAI-compatible engine: a real `transformers serve`, then fault injection.

The real-server tests serve a tiny Llama built here from a config, with a
tokenizer trained here: its output is noise, but greedy noise is deterministic,
which is enough to check that outputs come back in input order with usage. The
fault tests use a small http.server scripted to fail, stall or count requests.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from openai_server import Behaviour, ScriptedServer, echo, reply

from translation.engines import EngineError, EngineUnavailable, get_engine
from translation.engines.openai import OpenAIEngine
from translation.prompts import PROMPT_VERSION, build_messages, prompt_hash

REPO_ROOT = Path(__file__).resolve().parents[2]
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def served_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(base_url, model dir) of `transformers serve` on 127.0.0.1, stopped by its PID.

    The subprocess builds the tiny model, then runs the `transformers serve` CLI
    (see `__main__` below): one torch import instead of two. While it starts, we
    import transformers here too, for the hf engine test: both run at once.
    """
    if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None:
        pytest.fail('transformers serve needs its extras: pip install "transformers[serving]==5.24.0"')
    model_dir = tmp_path_factory.mktemp("tiny-llm")
    port = free_port()
    log_path = model_dir.parent / "serve.log"
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_DISABLE_UPDATE_CHECK": "1",
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "translation.tiny_llm", str(model_dir), str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        # Warm-up, see the docstring: what the hf engine test will load.
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, LlamaForCausalLM  # noqa: F401

        deadline = time.monotonic() + 120
        while not _healthy(port):
            if process.poll() is not None:
                pytest.fail(
                    f"transformers serve exited ({process.returncode}):\n{log_path.read_text()[-3000:]}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"transformers serve not ready after 120 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1", model_dir
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


QUESTIONS = [
    "What colour is the circle?",
    "Red.",
    "How many squares are there?",
    "What colour is the circle?",
]


@pytest.mark.slow  # shares the 10-30 s start of `transformers serve`
def test_real_server_returns_outputs_in_input_order_with_usage(served_model: tuple[str, Path]) -> None:
    served_llm, tiny_llm = served_model
    engine = get_engine("openai", model=str(tiny_llm), base_url=served_llm, max_tokens=6, concurrency=4)
    assert engine.prompt_version == PROMPT_VERSION
    result = engine.translate(QUESTIONS, "en", "fr")
    assert len(result.outputs) == 4
    singles = {text: engine.translate([text], "en", "fr").outputs[0] for text in set(QUESTIONS)}
    assert result.outputs == [singles[text] for text in QUESTIONS]
    assert len(set(result.outputs)) > 1  # different inputs, different (noisy) outputs
    assert result.usage.requests == 4
    assert result.usage.prompt_tokens and result.usage.prompt_tokens > 4 * 20
    assert result.usage.completion_tokens and 4 <= result.usage.completion_tokens <= 4 * 6


@pytest.mark.slow  # shares the 10-30 s start of `transformers serve`
def test_hf_engine_runs_the_same_prompt_locally(served_model: tuple[str, Path]) -> None:
    served_llm, tiny_llm = served_model
    served = OpenAIEngine(model=str(tiny_llm), base_url=served_llm, max_tokens=6).translate(
        QUESTIONS[:3], "en", "fr"
    )
    local = get_engine("hf", model=str(tiny_llm), device="cpu", max_new_tokens=6, batch_size=2)
    assert local.prompt_version == PROMPT_VERSION and local.device == "cpu"
    result = local.translate(QUESTIONS[:3], "en", "fr")
    assert result.outputs == served.outputs
    assert result.usage.completion_tokens and result.usage.completion_tokens <= 3 * 6


def test_hf_engine_accepts_local_directories_only(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match="local model directories only"):
        get_engine("hf", model="Helsinki-NLP/opus-mt-en-fr")


def test_prompt_is_versioned_and_asks_to_keep_structure() -> None:
    messages = build_messages("<image>\nWhat colour?", "en", "fr")
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "French" in messages[0]["content"] and "<image>" in messages[0]["content"]
    assert messages[1]["content"] == "<image>\nWhat colour?"
    assert len(prompt_hash()) == 64 and PROMPT_VERSION


# --- fault injection -------------------------------------------------------

@pytest.fixture
def scripted() -> Iterator[Callable[[Behaviour], ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(behaviour: Behaviour) -> ScriptedServer:
        servers.append(ScriptedServer(behaviour))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def fast_engine(url: str, **options: Any) -> OpenAIEngine:
    return OpenAIEngine(model="test", base_url=url, backoff=0.01, max_backoff=0.05, **options)


def test_server_errors_are_retried_until_success(scripted: Callable[[Behaviour], ScriptedServer]) -> None:
    def flaky(handler: BaseHTTPRequestHandler, body: dict[str, Any], n: int) -> None:
        if n <= 2:
            reply(handler, 500, {"error": "overloaded"})
        elif n == 3:
            reply(handler, 429, {"error": "slow down"}, {"Retry-After": "0"})
        else:
            echo(handler, body)

    server = scripted(flaky)
    result = fast_engine(server.url, max_retries=3).translate(["Red.", "", "Blue."], "en", "fr")
    assert result.outputs == ["fr:Red.", "", "fr:Blue."]  # stripped, in order, "" not sent
    assert result.usage.retries == 3 and server.requests == 5
    assert result.usage.prompt_tokens == 20 and result.usage.completion_tokens == 4


def test_persistent_failure_ends_in_an_engine_error_naming_url_and_error(
    scripted: Callable[[Behaviour], ScriptedServer],
) -> None:
    server = scripted(lambda handler, body, n: reply(handler, 503, {"error": "down for maintenance"}))
    with pytest.raises(EngineError, match="down for maintenance") as error:
        fast_engine(server.url, max_retries=2).translate(["Red."], "en", "fr")
    assert f"{server.url}/chat/completions" in str(error.value) and "HTTP 503" in str(error.value)
    assert not isinstance(error.value, EngineUnavailable)
    assert server.requests == 3


def test_a_stalled_server_times_out_and_is_retried(scripted: Callable[[Behaviour], ScriptedServer]) -> None:
    server = scripted(lambda handler, body, n: time.sleep(1.5))
    started = time.monotonic()
    with pytest.raises(EngineError, match="timeout"):
        fast_engine(server.url, max_retries=1, timeout=0.3).translate(["Red."], "en", "fr")
    assert server.requests == 2 and time.monotonic() - started < 1.5


def test_client_errors_are_not_retried(scripted: Callable[[Behaviour], ScriptedServer]) -> None:
    server = scripted(lambda handler, body, n: reply(handler, 404, {"error": "model 'test' not found"}))
    with pytest.raises(EngineError, match="HTTP 404.*not found"):
        fast_engine(server.url, max_retries=3).translate(["Red."], "en", "fr")
    assert server.requests == 1


def test_no_server_at_all_is_reported_as_unavailable() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(EngineUnavailable, match=f"is the server at {url} running"):
        fast_engine(url, max_retries=1).translate(["Red."], "en", "fr")


def test_many_requests_are_in_flight_at_once(scripted: Callable[[Behaviour], ScriptedServer]) -> None:
    def slow_echo(handler: BaseHTTPRequestHandler, body: dict[str, Any], n: int) -> None:
        time.sleep(0.2)
        echo(handler, body)

    server = scripted(slow_echo)
    texts = [f"Question {i}?" for i in range(24)]
    started = time.monotonic()
    result = fast_engine(server.url, concurrency=8).translate(texts, "en", "fr")
    assert result.outputs == [f"fr:{t}" for t in texts]
    assert 1 < server.max_in_flight <= 8
    assert time.monotonic() - started < 24 * 0.2 / 2
