"""Model presets: the tiny model learns the world, the paper model is assembled from local files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from PIL import Image
from transformers import LlavaForConditionalGeneration, MistralConfig, MistralForCausalLM, SiglipVisionModel

from training import presets
from training.presets import build_preset, build_tiny, load_model, paper_config, save_model
from training.recipes import LANGUAGE_MODEL_LINEAR, part_of


@pytest.fixture(scope="module")
def tiny(small_world: Path):
    return build_tiny(small_world / "corpus" / "english.txt")


def test_tiny_preset_has_the_measured_architecture(tiny) -> None:
    model, processor = tiny
    vision, text = model.config.vision_config, model.config.text_config
    assert (vision.image_size, vision.patch_size, vision.hidden_size, vision.num_hidden_layers) == (64, 8, 64, 2)
    assert (vision.num_attention_heads, vision.intermediate_size, vision.vision_use_head) == (2, 256, False)
    assert (text.hidden_size, text.num_hidden_layers, text.num_attention_heads) == (128, 2, 4)
    assert (text.num_key_value_heads, text.intermediate_size, text.tie_word_embeddings) == (2, 512, False)
    assert model.config.vision_feature_select_strategy == "full"
    assert model.config.image_seq_length == 64
    assert not torch.equal(model.lm_head.weight, model.get_input_embeddings().weight)


def test_processor_expands_one_image_into_64_tokens_and_the_model_runs(tiny, small_world: Path) -> None:
    model, processor = tiny
    image = Image.open(small_world / "images" / "000000.png")
    inputs = processor(text=["USER: <image>\nWhat colour is the circle? ASSISTANT:"], images=[image], return_tensors="pt")
    assert (inputs["input_ids"] == processor.image_token_id).sum() == 64
    assert type(processor.image_processor).__name__ == "SiglipImageProcessorPil"
    with torch.no_grad():
        logits = model(**inputs).logits
    assert logits.shape == (1, inputs["input_ids"].shape[1], len(processor.tokenizer))


def test_tokenizer_knows_the_image_token_and_french_words(tiny) -> None:
    tokenizer = tiny[1].tokenizer
    assert tokenizer.tokenize("<image>") == ["<image>"]
    assert tokenizer.pad_token == "<pad>" and tokenizer.eos_token == "</s>"
    # French comes from apertium's translation of the corpus: whole words, not bytes.
    assert tokenizer.tokenize(" cercle rouge") == ["Ġcercle", "Ġrouge"]


def test_tokenizer_is_cached_by_corpus_content(small_world: Path, tmp_path: Path, monkeypatch) -> None:
    corpus = small_world / "corpus" / "english.txt"
    first = presets.tiny_tokenizer(corpus, cache_dir=tmp_path)

    def no_apertium(*args, **kwargs):
        raise AssertionError("a cached tokenizer must not be trained again")

    monkeypatch.setattr(presets, "french_sample", no_apertium)
    assert presets.tiny_tokenizer(corpus, cache_dir=tmp_path).get_vocab() == first.get_vocab()
    other = tmp_path / "other.txt"
    other.write_text(corpus.read_text() + "one more line\n")
    with pytest.raises(AssertionError, match="must not be trained"):
        presets.tiny_tokenizer(other, cache_dir=tmp_path)


def test_same_seed_gives_the_same_weights(small_world: Path, tiny) -> None:
    again, _ = build_tiny(small_world / "corpus" / "english.txt", seed=0)
    other, _ = build_tiny(small_world / "corpus" / "english.txt", seed=1)
    weights = tiny[0].state_dict()
    assert all(torch.equal(weights[k], v) for k, v in again.state_dict().items())
    assert not torch.equal(weights["lm_head.weight"], other.state_dict()["lm_head.weight"])


def test_save_and_load_round_trip(tiny, tmp_path: Path) -> None:
    model, processor = tiny
    save_model(model, processor, tmp_path / "model")
    loaded, loaded_processor = load_model(tmp_path / "model")
    weights = loaded.state_dict()
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    assert type(loaded_processor.image_processor).__name__ == "SiglipImageProcessorPil"
    assert loaded_processor.image_processor.size == {"height": 64, "width": 64}
    messages = [{"role": "user", "content": "<image>\nHow many?"}, {"role": "assistant", "content": "2"}]
    assert loaded_processor.tokenizer.apply_chat_template(messages, tokenize=False) == (
        processor.tokenizer.apply_chat_template(messages, tokenize=False)
    )


def test_unknown_preset_and_missing_paper_weights_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown model preset 'huge'.*tiny, paper"):
        build_preset("huge")
    with pytest.raises(FileNotFoundError, match="OpenHermes-2.5-Mistral-7B"):
        build_preset("paper", language_model_dir=tmp_path / "lm", vision_tower_dir=tmp_path / "siglip")
    with pytest.raises(FileNotFoundError, match="not a model directory"):
        load_model(tmp_path)


def test_paper_architecture_is_mistral_7b_with_siglip_so400m() -> None:
    config = paper_config()
    text, vision = config.text_config, config.vision_config
    assert (text.model_type, text.hidden_size, text.num_hidden_layers, text.num_key_value_heads) == (
        "mistral", 4096, 32, 8,
    )
    assert (vision.hidden_size, vision.num_hidden_layers, vision.patch_size, vision.image_size) == (1152, 27, 14, 384)
    assert config.image_seq_length == 729
    with torch.device("meta"):
        model = LlavaForConditionalGeneration(config)
    total = sum(p.numel() for p in model.parameters())
    assert 7.5e9 < total < 7.8e9  # 7.24B Mistral + 0.43B SigLIP + 21M projector
    # LoRA's target regex picks Mistral's 7 linear layers x 32 blocks and nothing in SigLIP.
    targets = [name for name, _ in model.named_modules() if re.fullmatch(LANGUAGE_MODEL_LINEAR, name)]
    assert len(targets) == 7 * 32 and all(part_of(name + ".weight") == "language_model" for name in targets)
    assert any(name.endswith("vision_tower.encoder.layers.0.self_attn.q_proj") for name, _ in model.named_modules())


def test_assemble_joins_a_local_language_model_and_vision_tower(tiny, tmp_path: Path) -> None:
    """The paper preset's path, with miniature stand-ins for the downloaded weights."""
    tokenizer = tiny[1].tokenizer
    lm_dir, vision_dir = tmp_path / "lm", tmp_path / "siglip"
    language = MistralForCausalLM(MistralConfig(
        vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=1, intermediate_size=128,
    ))
    language.save_pretrained(lm_dir)
    tokenizer.save_pretrained(lm_dir)
    vision = SiglipVisionModel(tiny[0].config.vision_config)
    vision.save_pretrained(vision_dir)
    tiny[1].image_processor.save_pretrained(vision_dir)

    model, processor = presets.build_paper(lm_dir, vision_dir, dtype=torch.float32)
    assert processor.tokenizer.tokenize("<image>") == ["<image>"]
    assert model.config.text_config.model_type == "mistral"
    vision_weights = vision.state_dict()
    assert all(torch.equal(v, vision_weights[k]) for k, v in model.model.vision_tower.state_dict().items())
    assert all(p.device.type == "cpu" for p in [*model.parameters(), *model.buffers()])  # none left on meta
    inputs = processor(
        text=["USER: <image>\nHow many? ASSISTANT:"], images=[Image.new("RGB", (64, 64), "white")], return_tensors="pt"
    )
    with torch.no_grad():
        assert model(**inputs).logits.shape[-1] >= len(processor.tokenizer)
