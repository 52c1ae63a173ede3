"""The optimiser's parameter groups: the head's learning rate, the encoder's with layer-wise
decay, and no weight decay on biases and norms."""

from __future__ import annotations

import re

from torch import nn

_NO_DECAY = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")
_LAYER = re.compile(r"\.layer\.(\d+)\.")


def freeze_word_embeddings(classifier: nn.Module) -> int:
    """Stop training the encoder's token embedding table; returns how many weights that froze.
    The table is a third of MiniLM's weights yet each step touches only the rows of its batch's
    tokens, so freezing it spares the optimiser most of its work for little loss of fit."""
    table = classifier.encoder.get_input_embeddings().weight
    table.requires_grad_(False)
    return table.numel()


def layer_depth(name: str, num_layers: int) -> int:
    """How far below the top an encoder parameter sits: 0 for the last layer (and for anything
    above the layers, such as a pooler), num_layers for the embeddings."""
    match = _LAYER.search(name)
    if match:
        return num_layers - 1 - int(match.group(1))
    return num_layers if "embeddings" in name else 0


def parameter_groups(classifier: nn.Module, encoder_lr: float, head_lr: float, weight_decay: float,
                     layer_lr_decay: float = 1.0) -> list[dict]:
    """AdamW groups: the head at head_lr; an encoder parameter at encoder_lr * decay**depth (layer-wise
    learning-rate decay: lower layers, which hold general language, move less); biases and norms
    without weight decay. Frozen parameters are left out."""
    num_layers = classifier.encoder.config.num_hidden_layers
    groups: dict[tuple[float, float], list] = {}
    for name, param in classifier.named_parameters():
        if not param.requires_grad:
            continue
        if name.startswith("head."):
            lr = head_lr
        else:
            lr = encoder_lr * layer_lr_decay ** layer_depth(name, num_layers)
        decay = 0.0 if any(name.endswith(suffix) for suffix in _NO_DECAY) else weight_decay
        groups.setdefault((lr, decay), []).append(param)
    return [{"params": params, "lr": lr, "weight_decay": decay} for (lr, decay), params in groups.items()]
