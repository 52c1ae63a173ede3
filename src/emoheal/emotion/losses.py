"""Multi-label losses over logits: binary cross-entropy, the asymmetric loss, distillation from
teachers' probabilities, R-Drop's term."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F


class AsymmetricLoss(nn.Module):
    """ASL (Ridnik et al., ICCV 2021), averaged over every (text, label) like BCE so the
    learning rates tuned for BCE still fit. Negatives' probabilities are shifted down by `clip`
    (an easy negative below it costs nothing) and focused by (p_m)^gamma_neg; positives by
    (1 - p)^gamma_pos. With gamma 0 and clip 0 it is BCE."""

    def __init__(self, gamma_neg: float = 4.0, gamma_pos: float = 0.0, clip: float = 0.05, eps: float = 1e-8):
        super().__init__()
        self.gamma_neg, self.gamma_pos, self.clip, self.eps = gamma_neg, gamma_pos, clip, eps

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        p = torch.sigmoid(logits.float())
        y = targets.float()
        p_neg = (p - self.clip).clamp(min=0) if self.clip > 0 else p
        log_pos = torch.log(p.clamp(min=self.eps))
        log_neg = torch.log((1 - p_neg).clamp(min=self.eps))
        # the focusing weights are constants for the gradient, as in the paper's reference code
        with torch.no_grad():
            w_pos = (1 - p) ** self.gamma_pos
            w_neg = p_neg ** self.gamma_neg
        return -(y * w_pos * log_pos + (1 - y) * w_neg * log_neg).mean()


class DistillationLoss(nn.Module):
    """(1 - weight) * the label loss + weight * BCE against the teachers' probabilities. Targets
    are the labels and the teachers' probabilities side by side ([n, 2 * labels]); targets as wide
    as the logits (dev's, with no teacher) get the label loss alone."""

    def __init__(self, label_loss: nn.Module, weight: float):
        super().__init__()
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"train.distill.weight must lie in [0, 1], got {weight}")
        self.label_loss, self.weight = label_loss, weight

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        width = logits.shape[-1]
        if targets.shape[-1] == width:
            return self.label_loss(logits, targets)
        labels, teachers = targets[..., :width], targets[..., width:]
        return ((1 - self.weight) * self.label_loss(logits, labels)
                + self.weight * F.binary_cross_entropy_with_logits(logits.float(), teachers.float()))


def build_loss(cfg: dict[str, Any]) -> nn.Module:
    if cfg["name"] == "bce":
        return nn.BCEWithLogitsLoss()
    if cfg["name"] == "asl":
        return AsymmetricLoss(cfg["gamma_neg"], cfg["gamma_pos"], cfg["clip"])
    raise ValueError(f"unknown loss {cfg['name']!r} (bce or asl)")


def bernoulli_kl(logits_p: torch.Tensor, logits_q: torch.Tensor) -> torch.Tensor:
    """Mean KL(p || q) between independent Bernoullis given by logits (per label, per text)."""
    p = torch.sigmoid(logits_p)
    return (p * (F.logsigmoid(logits_p) - F.logsigmoid(logits_q))
            + (1 - p) * (F.logsigmoid(-logits_p) - F.logsigmoid(-logits_q))).mean()


def rdrop_term(logits_a: torch.Tensor, logits_b: torch.Tensor) -> torch.Tensor:
    """R-Drop's consistency term (Liang et al., NeurIPS 2021): the symmetric KL between two
    dropout passes over the same batch."""
    a, b = logits_a.float(), logits_b.float()
    return 0.5 * (bernoulli_kl(a, b) + bernoulli_kl(b, a))
