"""The classifier: a transformers encoder, a pooling step, a 28-way multi-label head."""

from __future__ import annotations

import torch
from torch import nn
from transformers import PreTrainedModel

POOLINGS = ("mean", "cls")


class EmotionClassifier(nn.Module):
    """Returns one logit per label; sigmoid gives independent probabilities.

    Pooling follows how the encoder was pre-trained: sentence-embedding models
    such as MiniLM were trained on the mean over tokens; XLM-R on its pooler
    over <s> (the "cls" path).
    """

    def __init__(self, encoder: PreTrainedModel, num_labels: int, pooling: str, dropout: float = 0.1):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.encoder = encoder
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, num_labels)

    def pool(self, output, attention_mask: torch.Tensor) -> torch.Tensor:
        if self.pooling == "mean":
            hidden = output.last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        pooled = getattr(output, "pooler_output", None)
        return pooled if pooled is not None else output.last_hidden_state[:, 0]

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        output = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        return self.head(self.dropout(self.pool(output, attention_mask)))
