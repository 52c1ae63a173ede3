"""The CLaMP 3 network: three encoders and their projections, with upstream's parameter
names so an official state dict loads strictly. Pooling is the masked mean of the last
hidden states; there is no normalisation inside (retrieval takes cosines outside)."""

from __future__ import annotations

import torch
from torch import nn
from transformers import BertConfig, BertModel, XLMRobertaConfig, XLMRobertaModel

from emoheal.encoder.clamp3.config import Clamp3Config

SYMBOLIC_CLASSES = 128  # characters are one-hot over 128 classes in the M3 patch encoder


def _bert(hidden: int, layers: int, heads: int, intermediate: int, positions: int, eps: float) -> BertModel:
    config = BertConfig(vocab_size=1, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                        intermediate_size=intermediate, max_position_embeddings=positions, type_vocab_size=2,
                        layer_norm_eps=eps, hidden_act="gelu", pad_token_id=0)
    config._attn_implementation = "eager"  # the oracle's arithmetic; SDPA differs in the last bits
    return BertModel(config, add_pooling_layer=True)  # the pooler is unused but its keys are in the checkpoint


class M3PatchEncoder(nn.Module):
    """Symbolic branch: a patch of `patch_size` character ids → one-hot(128) → Linear → BERT."""

    def __init__(self, c: Clamp3Config):
        super().__init__()
        self.patch_size = c.patch_size
        self.patch_embedding = nn.Linear(c.patch_size * SYMBOLIC_CLASSES, c.symbolic_hidden_size)
        self.base = _bert(c.symbolic_hidden_size, c.symbolic_layers, c.symbolic_heads, c.symbolic_intermediate_size,
                          c.patch_length, c.bert_layer_norm_eps)

    def forward(self, patches: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        one_hot = nn.functional.one_hot(patches.long(), SYMBOLIC_CLASSES).to(self.patch_embedding.weight.dtype)
        embeds = self.patch_embedding(one_hot.flatten(start_dim=2))
        return self.base(inputs_embeds=embeds, attention_mask=mask).last_hidden_state


def masked_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1)


class Clamp3Model(nn.Module):
    def __init__(self, config: Clamp3Config = Clamp3Config()):
        super().__init__()
        c = self.config = config
        text_config = XLMRobertaConfig(
            vocab_size=c.text_vocab_size, hidden_size=c.text_hidden_size, num_hidden_layers=c.text_layers,
            num_attention_heads=c.text_heads, intermediate_size=c.text_intermediate_size,
            max_position_embeddings=c.text_max_positions, type_vocab_size=1, layer_norm_eps=c.text_layer_norm_eps,
            hidden_act="gelu", pad_token_id=c.text_pad_id, bos_token_id=0, eos_token_id=2)
        text_config._attn_implementation = "eager"
        self.text_model = XLMRobertaModel(text_config, add_pooling_layer=True)
        self.text_proj = nn.Linear(c.text_hidden_size, c.joint_size)
        # registration order = upstream's state-dict order (text, symbolic, audio)
        self.symbolic_model = M3PatchEncoder(c)
        self.symbolic_proj = nn.Linear(c.symbolic_hidden_size, c.joint_size)
        self.audio_model = _bert(c.audio_hidden_size, c.audio_layers, c.audio_heads, c.audio_intermediate_size,
                                 c.max_audio_length, c.bert_layer_norm_eps)
        self.audio_proj = nn.Linear(c.audio_hidden_size, c.joint_size)

    # last hidden states (the "non-global" outputs)
    def text_hidden(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.text_model(input_ids=ids, attention_mask=mask).last_hidden_state

    def audio_hidden(self, rows: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.audio_model(inputs_embeds=rows, attention_mask=mask).last_hidden_state

    # pooled and projected (the "global" outputs), one vector per padded segment
    def get_text_features(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.text_proj(masked_mean(self.text_hidden(ids, mask), mask))

    def get_audio_features(self, rows: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.audio_proj(masked_mean(self.audio_hidden(rows, mask), mask))

    def get_symbolic_features(self, patches: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.symbolic_proj(masked_mean(self.symbolic_model(patches, mask), mask))
