"""CLaMP 3's sizes. The defaults are the official SAAS constants; an oracle fixture's
config.json gives tiny ones."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class Clamp3Config:
    # text encoder: XLM-RoBERTa-base
    text_vocab_size: int = 250002
    text_hidden_size: int = 768
    text_layers: int = 12
    text_heads: int = 12
    text_intermediate_size: int = 3072
    text_max_positions: int = 514
    text_layer_norm_eps: float = 1e-5
    text_pad_id: int = 1
    max_text_length: int = 128  # tokens per segment, <s> and </s> included
    # audio encoder: a BERT over MERT vectors fed as inputs_embeds
    audio_hidden_size: int = 768
    audio_layers: int = 12
    audio_heads: int = 12
    audio_intermediate_size: int = 3072
    max_audio_length: int = 128  # rows per segment, the two zero boundary rows included
    # symbolic encoder (M3): patches of characters, one-hot over 128, then a BERT
    patch_size: int = 64
    patch_length: int = 512
    symbolic_hidden_size: int = 768
    symbolic_layers: int = 12
    symbolic_heads: int = 12
    symbolic_intermediate_size: int = 3072
    # the joint space
    joint_size: int = 768
    bert_layer_norm_eps: float = 1e-12

    @classmethod
    def from_fixture(cls, path: str | Path) -> Clamp3Config:
        """Sizes from an oracle folder's config.json (its text/audio/symbolic configs and constants)."""
        c = json.loads(Path(path).read_text())
        t, a = c["text_model"]["config"], c["audio_model"]["config"]
        s, k = c["symbolic_model"]["config"], c["constants"]
        return cls(
            text_vocab_size=t["vocab_size"], text_hidden_size=t["hidden_size"], text_layers=t["num_hidden_layers"],
            text_heads=t["num_attention_heads"], text_intermediate_size=t["intermediate_size"],
            text_max_positions=t["max_position_embeddings"], text_layer_norm_eps=t["layer_norm_eps"],
            text_pad_id=t["pad_token_id"], max_text_length=k["MAX_TEXT_LENGTH"]["value"],
            audio_hidden_size=a["hidden_size"], audio_layers=a["num_hidden_layers"],
            audio_heads=a["num_attention_heads"],
            audio_intermediate_size=a["intermediate_size"], max_audio_length=a["max_position_embeddings"],
            patch_size=k["PATCH_SIZE"]["value"], patch_length=s["max_position_embeddings"],
            symbolic_hidden_size=s["hidden_size"], symbolic_layers=s["num_hidden_layers"],
            symbolic_heads=s["num_attention_heads"], symbolic_intermediate_size=s["intermediate_size"],
            joint_size=k["CLAMP3_HIDDEN_SIZE"]["value"], bert_layer_norm_eps=a["layer_norm_eps"],
        )

    @classmethod
    def from_dict(cls, values: dict) -> Clamp3Config:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown CLaMP 3 settings: {', '.join(sorted(unknown))}")
        return cls(**values)
