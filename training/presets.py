"""Model presets: a LLaVA-architecture model and its processor, ready to train.

Every preset is transformers' `LlavaForConditionalGeneration` (SigLIP vision tower,
projector, Llama/Mistral language model) with a `LlavaProcessor` whose image
processor is the PIL one (torchvision breaks transformers imports on our machines).

- `tiny`: built from a config (random weights) with a byte-level BPE tokenizer
  trained here on the world's English corpus plus an apertium French translation of
  a sample of it, so French finetuning data tokenises sensibly. It learns the
  miniature world on 2 CPU cores in minutes (shared/notes/tiny-vlm-measurements.md).
- `paper`: OpenHermes-2.5-Mistral-7B + SigLIP so400m-patch14-384 assembled from local
  directories the user downloaded; nothing here ever contacts a model hub.

`load_model(dir)` reads back anything `save_model` wrote (a stage's output).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoTokenizer,
    LlamaConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaProcessor,
    PreTrainedTokenizerFast,
    SiglipImageProcessorPil,
    SiglipVisionConfig,
    SiglipVisionModel,
)

PRESETS: tuple[str, ...] = ("tiny", "paper")
IMAGE_TOKEN = "<image>"
PAPER_LANGUAGE_MODEL = "teknium/OpenHermes-2.5-Mistral-7B"
PAPER_VISION_TOWER = "google/siglip-so400m-patch14-384"

# LLaVA v1's conversation format without its system prompt (64 image tokens already
# dominate the tiny model's sequences). The {% generation %} markers tell
# `apply_chat_template(return_assistant_tokens_mask=True)` which characters are
# answers: data.py learns exactly those, generate.py prompts up to "ASSISTANT:".
# Content may be a string or a list of {"type": "image"|"text"} parts (processor style).
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['content'] is string -%}{%- set text = message['content'] -%}"
    "{%- else -%}{%- set text = namespace(v='') -%}"
    "{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' -%}{%- set text.v = text.v + '<image>\n' -%}"
    "{%- else -%}{%- set text.v = text.v + part['text'] -%}{%- endif -%}"
    "{%- endfor -%}{%- set text = text.v -%}{%- endif -%}"
    "{%- if message['role'] == 'user' -%}USER: {{ text }} ASSISTANT:"
    "{%- else -%}{% generation %} {{ text }}{{ eos_token }}{% endgeneration %}"
    "{%- endif -%}"
    "{%- endfor -%}"
)

TINY_VOCAB_SIZE = 1024
TINY_FRENCH_LINES = 800  # distinct corpus lines translated for the tokenizer (~2 s of apertium)
TINY_TOKENIZER_VERSION = 3  # bump when the tokenizer recipe changes: invalidates caches
_SPECIAL_TOKENS = ["<pad>", "<s>", "</s>", "<unk>", IMAGE_TOKEN]


def default_cache_dir() -> Path:
    return Path(os.environ.get("RELECTURE_CACHE_DIR", Path.home() / ".cache" / "relecture"))


# --- tokenizer ---------------------------------------------------------------------


def french_sample(lines: list[str], n: int = TINY_FRENCH_LINES, seed: int = 0) -> list[str]:
    """Apertium's French for a seeded sample of distinct lines (pivot through Spanish)."""
    distinct = sorted(set(lines))
    sample = random.Random(seed).sample(distinct, min(n, len(distinct)))
    try:
        result = subprocess.run(
            "apertium -u eng-spa | apertium -u es-fr",
            shell=True, input="\n".join(sample), capture_output=True, text=True, check=True,
        )
    except subprocess.CalledProcessError as error:
        raise RuntimeError(
            "apertium failed while making French text for the tiny tokenizer "
            f"(install the Debian packages apertium apertium-eng-spa apertium-fr-es): {error.stderr}"
        ) from error
    return [line for line in result.stdout.splitlines() if line.strip()]


def _train_tokenizer(texts: list[str]) -> PreTrainedTokenizerFast:
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=TINY_VOCAB_SIZE,
        special_tokens=_SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        extra_special_tokens={"image_token": IMAGE_TOKEN},
        chat_template=CHAT_TEMPLATE,
    )


def tiny_tokenizer(corpus: Path, cache_dir: Path | None = None, french: bool = True) -> PreTrainedTokenizerFast:
    """The tiny preset's tokenizer for a corpus, trained once and cached on disk.

    The cache key hashes the corpus bytes and the recipe version, so a regenerated
    world with different text gets its own tokenizer and a rerun costs one load.
    `french=False` skips apertium (GPU machines without the Debian packages).
    """
    data = Path(corpus).read_bytes()
    recipe = f"|v{TINY_TOKENIZER_VERSION}|{TINY_VOCAB_SIZE}|{TINY_FRENCH_LINES if french else 0}"
    key = hashlib.sha256(data + recipe.encode())
    target = (cache_dir or default_cache_dir()) / "tokenizers" / key.hexdigest()[:20]
    if (target / "tokenizer.json").exists():
        return PreTrainedTokenizerFast.from_pretrained(str(target))
    english = [line for line in data.decode("utf-8").splitlines() if line.strip()]
    french = french_sample(english) if french else []
    # BPE merges follow frequencies: repeat the French sample to about a third of the
    # English text, or French words stay split into bytes.
    repeats = max(1, len(english) // (3 * max(1, len(french))))
    # The chat template's words appear in every sequence: one token each, not six letters.
    template_lines = ["USER: ASSISTANT:"] * max(1, len(english) // 10)
    tokenizer = _train_tokenizer(english + french * repeats + template_lines)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=target.parent))  # write, then rename: readers never see half a file
    tokenizer.save_pretrained(str(scratch))
    try:
        os.rename(scratch, target)
    except OSError:  # another process cached the same key first: same content
        shutil.rmtree(scratch, ignore_errors=True)
    return tokenizer


# --- processor and model -----------------------------------------------------------


def make_processor(tokenizer: Any, image_size: int, patch_size: int) -> LlavaProcessor:
    image_processor = SiglipImageProcessorPil(size={"height": image_size, "width": image_size})
    return LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=patch_size,
        vision_feature_select_strategy="full",
        num_additional_image_tokens=0,
        chat_template=CHAT_TEMPLATE,
        image_token=IMAGE_TOKEN,
    )


def tiny_config(vocab_size: int, image_token_index: int, pad_token_id: int) -> LlavaConfig:
    """The measured configuration (tiny-vlm-measurements.md); 64 image tokens."""
    vision = SiglipVisionConfig(
        image_size=64, patch_size=8, hidden_size=64, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=256, vision_use_head=False,
    )
    text = LlamaConfig(
        vocab_size=vocab_size, hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, intermediate_size=512, tie_word_embeddings=False,
        max_position_embeddings=1024, pad_token_id=pad_token_id,
    )
    # Layer -1: with two vision layers, LLaVA's -2 would leave the last one untrained.
    return LlavaConfig(
        vision_config=vision, text_config=text, image_token_index=image_token_index,
        image_seq_length=64, vision_feature_select_strategy="full", vision_feature_layer=-1,
    )


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed weight initialisation without disturbing the caller's random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def build_tiny(
    corpus: Path, *, seed: int = 0, cache_dir: Path | None = None, french: bool = True
) -> tuple[LlavaForConditionalGeneration, LlavaProcessor]:
    """A randomly initialised tiny LLaVA (same seed, same weights) and its processor."""
    tokenizer = tiny_tokenizer(corpus, cache_dir, french)
    config = tiny_config(len(tokenizer), tokenizer.convert_tokens_to_ids(IMAGE_TOKEN), tokenizer.pad_token_id)
    with _seeded(seed):
        model = LlavaForConditionalGeneration(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model, make_processor(tokenizer, image_size=64, patch_size=8)


def paper_config(vocab_size: int = 32003, image_token_index: int = 32002) -> LlavaConfig:
    """The paper preset's architecture, from the two models' published configs.

    Lets tests and capacity planning reason about the 7B model without its weights;
    `assemble` reads the real configs from the local directories instead.
    """
    vision = SiglipVisionConfig(
        image_size=384, patch_size=14, hidden_size=1152, num_hidden_layers=27,
        num_attention_heads=16, intermediate_size=4304, vision_use_head=False,
    )
    text = AutoConfig.for_model(
        "mistral", vocab_size=vocab_size, hidden_size=4096, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=8, intermediate_size=14336,
        max_position_embeddings=32768, rope_theta=10000.0, sliding_window=4096,
        tie_word_embeddings=False, rms_norm_eps=1e-5,
    )
    # LLaVA-1.5 reads the second-to-last vision layer, all 729 patches (no CLS in SigLIP).
    return LlavaConfig(
        vision_config=vision, text_config=text, image_token_index=image_token_index,
        image_seq_length=(384 // 14) ** 2, vision_feature_select_strategy="full",
        vision_feature_layer=-2, projector_hidden_act="gelu",
    )


def assemble(
    language_model_dir: Path, vision_tower_dir: Path, *, dtype: torch.dtype = torch.bfloat16, seed: int = 0
) -> tuple[LlavaForConditionalGeneration, LlavaProcessor]:
    """A LLaVA model from a local causal LM and a local SigLIP, with a fresh projector.

    The tokenizer gains `<image>` (and a pad token if it has none); the embeddings
    grow to match. Only local files are read (`local_files_only`).
    """
    tokenizer = AutoTokenizer.from_pretrained(str(language_model_dir), local_files_only=True)
    tokenizer.add_special_tokens({"additional_special_tokens": [IMAGE_TOKEN]})
    if tokenizer.pad_token is None:  # LLaVA-1.5 pads with unk for Llama-family tokenizers
        tokenizer.pad_token = tokenizer.unk_token or tokenizer.eos_token
    tokenizer.chat_template = CHAT_TEMPLATE
    language = AutoModelForCausalLM.from_pretrained(str(language_model_dir), dtype=dtype, local_files_only=True)
    vision = SiglipVisionModel.from_pretrained(str(vision_tower_dir), dtype=dtype, local_files_only=True)
    vision_config = vision.config
    config = LlavaConfig(
        vision_config=vision_config, text_config=language.config,
        image_token_index=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        image_seq_length=(vision_config.image_size // vision_config.patch_size) ** 2,
        vision_feature_select_strategy="full", vision_feature_layer=-2,
    )
    with _seeded(seed), torch.device("meta"):
        model = LlavaForConditionalGeneration(config)
    model.model.vision_tower = vision  # the module class Llava builds for a SigLIP vision config
    model.model.language_model = language.model
    model.lm_head = language.lm_head
    with _seeded(seed):
        projector = type(model.model.multi_modal_projector)(config).to(dtype)
    model.model.multi_modal_projector = projector
    _add_token_rows(model, len(tokenizer))
    model.config.text_config.vocab_size = len(tokenizer)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    image_processor = SiglipImageProcessorPil.from_pretrained(str(vision_tower_dir), local_files_only=True)
    processor = LlavaProcessor(
        image_processor=image_processor, tokenizer=tokenizer, patch_size=vision_config.patch_size,
        vision_feature_select_strategy="full", num_additional_image_tokens=0,
        chat_template=CHAT_TEMPLATE, image_token=IMAGE_TOKEN,
    )
    return model, processor


def _add_token_rows(model: LlavaForConditionalGeneration, vocab_size: int) -> None:
    """Grow the embeddings for new tokens, initialised to the mean row (LLaVA's
    smart_tokenizer_and_embedding_resize); cheaper and steadier in bf16 than sampling."""
    old = model.get_input_embeddings().weight.shape[0]
    model.resize_token_embeddings(vocab_size, mean_resizing=False)
    with torch.no_grad():
        for weight in (model.get_input_embeddings().weight, model.get_output_embeddings().weight):
            weight[old:] = weight[:old].mean(dim=0, keepdim=True)


def build_paper(
    language_model_dir: Path, vision_tower_dir: Path, **kwargs: Any
) -> tuple[LlavaForConditionalGeneration, LlavaProcessor]:
    """The study's model from local copies of PAPER_LANGUAGE_MODEL and PAPER_VISION_TOWER."""
    for path, name in ((language_model_dir, PAPER_LANGUAGE_MODEL), (vision_tower_dir, PAPER_VISION_TOWER)):
        if not (Path(path) / "config.json").exists():
            raise FileNotFoundError(f"{path}: no config.json; download {name} there first (weights are never fetched here)")
    return assemble(Path(language_model_dir), Path(vision_tower_dir), **kwargs)


def build_preset(name: str, **kwargs: Any) -> tuple[LlavaForConditionalGeneration, LlavaProcessor]:
    """`tiny` takes corpus=, seed=, cache_dir=; `paper` takes language_model_dir=, vision_tower_dir=."""
    if name == "tiny":
        return build_tiny(**kwargs)
    if name == "paper":
        return build_paper(**kwargs)
    raise ValueError(f"unknown model preset {name!r}; expected one of {', '.join(PRESETS)}")


def save_model(model: LlavaForConditionalGeneration, processor: LlavaProcessor, directory: Path) -> Path:
    """Write weights, config and processor so `load_model(directory)` restores both."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory


def load_model(
    directory: Path, *, dtype: torch.dtype | None = None
) -> tuple[LlavaForConditionalGeneration, LlavaProcessor]:
    """A LLaVA checkpoint directory (ours or any local llava-hf style one) and its processor."""
    directory = Path(directory)
    if not (directory / "config.json").exists():
        raise FileNotFoundError(f"{directory}: not a model directory (no config.json)")
    model = LlavaForConditionalGeneration.from_pretrained(str(directory), dtype=dtype, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
    image_processor = SiglipImageProcessorPil.from_pretrained(str(directory), local_files_only=True)
    processor = LlavaProcessor.from_pretrained(
        str(directory), tokenizer=tokenizer, image_processor=image_processor, local_files_only=True
    )
    if processor.chat_template is None:
        processor.chat_template = CHAT_TEMPLATE
    if tokenizer.chat_template is None:
        tokenizer.chat_template = processor.chat_template
    return model, processor
