"""A local transformers model: seq2seq (Marian-like) or a causal chat model.

For machines without vLLM: greedy, batched `generate` on CPU or CUDA. Only local
directories are accepted (there is no model hub on the workers); a seq2seq model
translates the raw text and has no prompt, a causal model gets the same versioned
chat prompt as the other LLM engines through its chat template.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..injection import INJECTION_OPTIONS
from ..prompts import PROMPT_VERSION, build_messages
from .base import BatchResult, Engine, EngineUnavailable, Usage
from .options import Option

DTYPES = ("auto", "float32", "float16", "bfloat16")
DEVICES = ("auto", "cpu", "cuda", *(f"cuda:{n}" for n in range(8)))


class HFEngine(Engine):
    """transformers `generate` over sub-batches of `batch_size` segments."""

    name = "hf"
    max_segment_chars = 2000
    local_model = True  # `model`: a directory under MODEL_ROOT
    request_options = (
        Option("device", str, choices=DEVICES),
        Option("dtype", str, choices=DTYPES),
        Option("batch_size", int, 1, 256, help="segments per generate call"),
        Option("max_new_tokens", int, 1, 4096),
        Option("max_segment_chars", int, 1, 2000),
        *INJECTION_OPTIONS,  # any engine: errors put in on purpose after it translates
    )

    def __init__(
        self,
        model: str,
        device: str = "auto",
        batch_size: int = 16,
        max_new_tokens: int = 256,
        dtype: str = "auto",
        max_segment_chars: int | None = None,
    ) -> None:
        path = Path(model)
        if not (path / "config.json").is_file():
            raise EngineUnavailable(
                f"hf engine loads local model directories only; {model!r} has no config.json "
                "(copy the model there, e.g. with `hf download` on a machine with internet)"
            )
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = "cuda" if device.startswith("cuda") else "cpu"
        self.model = str(path)
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        if max_segment_chars is not None:
            self.max_segment_chars = max_segment_chars
        config = AutoConfig.from_pretrained(path, local_files_only=True)
        self.seq2seq = bool(getattr(config, "is_encoder_decoder", False))
        self.prompt_version = None if self.seq2seq else PROMPT_VERSION
        self._tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        if not self.seq2seq:
            # Decoder-only models continue the right end of the prompt: pad left.
            self._tokenizer.padding_side = "left"
            if self._tokenizer.pad_token is None:
                self._tokenizer.pad_token = self._tokenizer.eos_token
        loader = AutoModelForSeq2SeqLM if self.seq2seq else AutoModelForCausalLM
        loaded: Any = loader.from_pretrained(path, local_files_only=True, dtype=dtype)
        self._model = loaded.to(device).eval()
        self._torch = torch
        self._device_name = device

    def parameters(self) -> dict[str, Any]:
        return {"do_sample": False, "max_new_tokens": self.max_new_tokens}

    def _prompts(self, texts: list[str], source: str, target: str) -> list[str]:
        if self.seq2seq:
            return texts
        return [
            str(
                self._tokenizer.apply_chat_template(
                    build_messages(text, source, target), tokenize=False, add_generation_prompt=True
                )
            )
            for text in texts
        ]

    def _translate_batch(self, texts: list[str], source: str, target: str) -> BatchResult:
        prompts = self._prompts(texts, source, target)
        usage = Usage(prompt_tokens=0, completion_tokens=0)
        outputs: list[str] = []
        for start in range(0, len(prompts), self.batch_size):
            chunk = prompts[start : start + self.batch_size]
            # The chat template already wrote the special tokens.
            encoded = self._tokenizer(
                chunk, return_tensors="pt", padding=True, add_special_tokens=self.seq2seq
            ).to(self._device_name)
            with self._torch.inference_mode():
                generated = self._model.generate(
                    **encoded,
                    do_sample=False,
                    max_new_tokens=self.max_new_tokens,
                    pad_token_id=self._tokenizer.pad_token_id,
                )
            if not self.seq2seq:
                generated = generated[:, encoded["input_ids"].shape[1] :]
            usage.requests += 1
            pad = self._tokenizer.pad_token_id
            usage.add_tokens(int(encoded["attention_mask"].sum()), int((generated != pad).sum()))
            outputs += [t.strip() for t in self._tokenizer.batch_decode(generated, skip_special_tokens=True)]
        return BatchResult(outputs=outputs, usage=usage)
