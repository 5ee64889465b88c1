"""In-process vLLM batch generation: the fastest path on a GPU worker.

`LLM.chat` takes the whole batch of conversations and schedules them itself, so
there is no HTTP or concurrency tuning here. vLLM is imported inside the
constructor only: CPU machines never install it, and importing this module there
must still work (the registry lists it, the tests import it).

No image of docker-compose.yml has vLLM in-process: vLLM pins its own torch and
transformers (0.34.0: torch==2.14.0, transformers<5.23), which requirements.txt
cannot share, so the GPU workers' image leaves it out and translation with vLLM
goes to the `vllm` service through the `openai` engine. This engine needs an
image built for vLLM's pins.
"""

from __future__ import annotations

from typing import Any

from ..injection import INJECTION_OPTIONS
from ..prompts import PROMPT_VERSION, build_messages
from .base import BatchResult, Engine, EngineUnavailable, Usage
from .hf import DTYPES
from .options import Option
from .openai import DEFAULT_MODEL

INSTALL_HINT = (
    "pip install vllm in an environment of its own (its torch/transformers pins differ from "
    "requirements.txt), or translate with the `openai` engine against the vllm server"
)


class VLLMEngine(Engine):
    """`vllm.LLM` loaded once per worker process; greedy decoding."""

    name = "vllm"
    prompt_version = PROMPT_VERSION
    max_segment_chars = 4000
    device = "cuda"
    local_model = True  # `model`: a directory under MODEL_ROOT (blank: DEFAULT_MODEL)
    # Not vLLM's other loader arguments (download_dir, trust_remote_code, ...): trusted callers only.
    request_options = (
        Option("max_tokens", int, 1, 8192),
        Option("dtype", str, choices=DTYPES),
        Option("gpu_memory_utilization", float, 0.1, 0.98),
        Option("max_model_len", int, 256, 131_072),
        Option("tensor_parallel_size", int, 1, 8),
        Option("max_segment_chars", int, 1, 4000),
        *INJECTION_OPTIONS,  # any engine: errors put in on purpose after it translates
    )

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        max_tokens: int = 1024,
        dtype: str = "auto",
        gpu_memory_utilization: float = 0.90,
        max_model_len: int = 4096,
        tensor_parallel_size: int = 1,
        max_segment_chars: int | None = None,
        **llm_options: Any,
    ) -> None:
        try:
            import vllm
        except ImportError as exc:
            raise EngineUnavailable(f"vllm is not installed ({exc}): {INSTALL_HINT}") from exc
        self.model = model
        self.max_tokens = max_tokens
        if max_segment_chars is not None:
            self.max_segment_chars = max_segment_chars
        self._vllm = vllm
        self._llm = vllm.LLM(
            model=model,
            dtype=dtype,
            gpu_memory_utilization=gpu_memory_utilization,
            max_model_len=max_model_len,
            tensor_parallel_size=tensor_parallel_size,
            **llm_options,
        )

    def parameters(self) -> dict[str, Any]:
        return {"temperature": 0.0, "max_tokens": self.max_tokens}

    def _translate_batch(self, texts: list[str], source: str, target: str) -> BatchResult:
        params = self._vllm.SamplingParams(temperature=0.0, max_tokens=self.max_tokens)
        conversations = [build_messages(text, source, target) for text in texts]
        results = self._llm.chat(conversations, params, use_tqdm=False)
        usage = Usage(requests=1, prompt_tokens=0, completion_tokens=0)
        outputs = []
        for result in results:
            completion = result.outputs[0]
            usage.add_tokens(len(result.prompt_token_ids or []), len(completion.token_ids))
            outputs.append(completion.text.strip())
        return BatchResult(outputs=outputs, usage=usage)
