"""A tiny local chat model, and `transformers serve` running it: the OpenAI-compatible
server that the `openai` engine's tests and benchmark talk to (no hub, no GPU).

    python -m translation.tiny_llm MODEL_DIR PORT [SERVE FLAGS]  # build the model, serve it on 127.0.0.1
"""

from __future__ import annotations

import sys
from pathlib import Path

from .prompts import SYSTEM_PROMPT

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}</s>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def build_tiny_llm(directory: Path) -> Path:
    """A 2-layer LlamaForCausalLM with a byte-level BPE tokenizer and a chat template."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<unk>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    corpus = [SYSTEM_PROMPT, "What colour is the circle?", "De quelle couleur est le cercle ?"]
    tokenizer.train_from_iterator(corpus * 20, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<unk>"
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(directory)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        initializer_range=0.2,  # the default 0.02 answers the same whatever the question
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id,
        eos_token_id=config.eos_token_id,
        pad_token_id=config.pad_token_id,
        do_sample=False,
    )
    model.save_pretrained(directory)
    return directory


def serve(directory: Path, port: int, extra: list[str] | None = None) -> int:
    """Build the model into `directory`, then run the real `transformers serve` CLI
    (`extra`: more CLI flags, e.g. --continuous-batching)."""
    build_tiny_llm(directory)
    from transformers.cli.transformers import main

    sys.argv = ["transformers", "serve", str(directory), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"]
    sys.argv += extra or []
    return main()


if __name__ == "__main__":
    sys.exit(serve(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]))
