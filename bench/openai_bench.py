"""`openai` engine throughput against a live `transformers serve` (tiny local model).

Starts `python -m translation.tiny_llm DIR PORT` on 127.0.0.1, then translates the
same N world sentences with 1, 8 and 64 requests in flight and prints requests/s and
completion tokens/s for each, showing whether the client keeps the server busy.

    python bench/openai_bench.py [--requests 128] [--max-tokens 16]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SENTENCES = [
    "What colour is the big circle?", "How many squares are there in the image?",
    "Is there a red triangle on the left?", "Write a terse but informative summary of the picture.",
    "a small blue star at the top and a big yellow square in the centre.", "What word is written in the image?",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port: int, process: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"transformers serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    sys.exit("transformers serve did not become healthy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=128)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--continuous-batching", action="store_true", help="Serve with continuous batching.")
    args = parser.parse_args()
    from translation.engines import get_engine

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_UPDATE_CHECK": "1", "PYTHONPATH": str(ROOT)}
        server = subprocess.Popen(
            [sys.executable, "-m", "translation.tiny_llm", tmp, str(port)]
            + (["--continuous-batching"] if args.continuous_batching else []),
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_healthy(port, server)
            texts = [f"{SENTENCES[i % len(SENTENCES)]} ({i})" for i in range(args.requests)]
            for in_flight in args.in_flight:
                engine = get_engine(
                    "openai", model=tmp, base_url=f"http://127.0.0.1:{port}/v1",
                    concurrency=in_flight, max_tokens=args.max_tokens,
                )  # fmt: skip
                engine.translate(texts[:4], "en", "fr")  # warm-up
                started = time.perf_counter()
                result = engine.translate(texts, "en", "fr")
                seconds = time.perf_counter() - started
                tokens = result.usage.completion_tokens or 0
                print(f"{in_flight:3d} in flight: {len(texts) / seconds:7.1f} requests/s, "
                      f"{tokens / seconds:8.1f} completion tokens/s ({seconds:.1f} s for {len(texts)})")
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
