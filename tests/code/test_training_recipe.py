"""The fine-tuning recipe's parts: the asymmetric loss, R-Drop's term, layer-wise learning rates,
frozen word embeddings, and the dev score that compares recipes without grading thresholds on
the rows they were tuned on."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from emoheal.emotion.devscore import crossfit_predictions, dev_scores
from emoheal.emotion.losses import AsymmetricLoss, DistillationLoss, build_loss, rdrop_term
from emoheal.emotion.model import EmotionClassifier
from emoheal.emotion.optim import freeze_word_embeddings, layer_depth, parameter_groups


def tiny_classifier(layers: int = 3) -> EmotionClassifier:
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=layers, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32)
    return EmotionClassifier(BertModel(config), 4, "mean")


def test_asl_with_no_focusing_and_no_margin_is_bce():
    logits, targets = torch.randn(8, 5), (torch.rand(8, 5) > 0.7).float()
    asl = AsymmetricLoss(gamma_neg=0.0, gamma_pos=0.0, clip=0.0)
    assert asl(logits, targets).item() == pytest.approx(nn.BCEWithLogitsLoss()(logits, targets).item(), rel=1e-5)


def test_asl_ignores_easy_negatives_and_keeps_hard_ones():
    asl = AsymmetricLoss(gamma_neg=4.0, gamma_pos=0.0, clip=0.05)
    easy = torch.logit(torch.tensor([[0.03]]))  # below the margin: free
    hard = torch.logit(torch.tensor([[0.9]]))
    assert asl(easy, torch.zeros(1, 1)).item() == 0.0
    assert asl(hard, torch.zeros(1, 1)).item() > 0.5
    # a positive costs what BCE charges it (gamma_pos 0)
    assert asl(hard, torch.ones(1, 1)).item() == pytest.approx(-np.log(0.9), rel=1e-4)


def test_build_loss_names():
    assert isinstance(build_loss({"name": "bce"}), nn.BCEWithLogitsLoss)
    assert isinstance(build_loss({"name": "asl", "gamma_neg": 2, "gamma_pos": 0, "clip": 0.0}), AsymmetricLoss)
    with pytest.raises(ValueError, match="unknown loss"):
        build_loss({"name": "hinge"})


def test_distillation_with_bce_equals_training_on_the_mixed_target():
    """BCE is linear in its target, so labels and teachers kept apart give what one soft target
    (1 - w) * label + w * teacher gives; dev's targets (no teacher) get the label loss alone."""
    torch.manual_seed(1)
    logits, labels, teachers = torch.randn(8, 5), (torch.rand(8, 5) > 0.7).float(), torch.rand(8, 5)
    loss = DistillationLoss(nn.BCEWithLogitsLoss(), 0.5)
    mixed = nn.BCEWithLogitsLoss()(logits, 0.5 * labels + 0.5 * teachers)
    assert loss(logits, torch.cat([labels, teachers], dim=1)).item() == pytest.approx(mixed.item(), rel=1e-5)
    assert loss(logits, labels).item() == pytest.approx(nn.BCEWithLogitsLoss()(logits, labels).item())
    with pytest.raises(ValueError, match="distill.weight"):
        DistillationLoss(nn.BCEWithLogitsLoss(), 1.5)


def test_distillation_with_asl_pulls_towards_the_teacher_not_towards_one():
    """ASL on a mixed soft target has its optimum far above the target (the focusing silences
    the negative side): a student trained so scored dev macro-F1 0.08. With the teachers kept
    apart, the optimum for a label nobody ticked stays at the teacher's probability."""
    asl = AsymmetricLoss(gamma_neg=4.0, gamma_pos=0.0, clip=0.05)
    grid = torch.logit(torch.linspace(0.01, 0.99, 99)).unsqueeze(1)
    teacher = torch.full_like(grid, 0.2)

    def best_p(loss_fn, targets):
        costs = torch.stack([loss_fn(g.unsqueeze(0), t.unsqueeze(0)) for g, t in zip(grid, targets)])
        return torch.sigmoid(grid[costs.argmin()]).item()

    mixed_optimum = best_p(asl, 0.5 * torch.zeros_like(grid) + 0.5 * teacher)
    apart_optimum = best_p(DistillationLoss(asl, 0.5), torch.cat([torch.zeros_like(grid), teacher], dim=1))
    assert mixed_optimum > 0.4  # a label nobody ticked, its target 0.1, pushed near one half
    assert apart_optimum == pytest.approx(0.2, abs=0.011)  # the teacher's own probability


def test_rdrop_term_is_a_symmetric_divergence():
    a, b = torch.randn(6, 4), torch.randn(6, 4)
    assert rdrop_term(a, a).item() == pytest.approx(0.0, abs=1e-7)
    assert rdrop_term(a, b).item() > 0
    assert rdrop_term(a, b).item() == pytest.approx(rdrop_term(b, a).item(), rel=1e-6)


def test_layer_depth_counts_down_from_the_top():
    assert layer_depth("encoder.encoder.layer.2.attention.self.query.weight", 3) == 0
    assert layer_depth("encoder.encoder.layer.0.output.dense.bias", 3) == 2
    assert layer_depth("encoder.embeddings.word_embeddings.weight", 3) == 3
    assert layer_depth("encoder.pooler.dense.weight", 3) == 0


def test_layer_wise_rates_and_no_decay_groups():
    model = tiny_classifier(layers=3)
    groups = parameter_groups(model, encoder_lr=1e-4, head_lr=1e-3, weight_decay=0.01, layer_lr_decay=0.5)
    lr_of = {id(p): g["lr"] for g in groups for p in g["params"]}
    decay_of = {id(p): g["weight_decay"] for g in groups for p in g["params"]}
    named = dict(model.named_parameters())
    assert lr_of[id(named["head.weight"])] == 1e-3
    assert lr_of[id(named["encoder.encoder.layer.2.output.dense.weight"])] == pytest.approx(1e-4)
    assert lr_of[id(named["encoder.encoder.layer.0.output.dense.weight"])] == pytest.approx(1e-4 * 0.25)
    assert lr_of[id(named["encoder.embeddings.word_embeddings.weight"])] == pytest.approx(1e-4 * 0.125)
    assert decay_of[id(named["encoder.encoder.layer.1.output.dense.bias"])] == 0.0
    assert decay_of[id(named["encoder.encoder.layer.1.output.LayerNorm.weight"])] == 0.0
    assert decay_of[id(named["head.weight"])] == 0.01
    # every trainable weight in exactly one group
    assert sorted(lr_of) == sorted(id(p) for p in model.parameters())


def test_without_decay_the_encoder_has_one_rate():
    groups = parameter_groups(tiny_classifier(), 1e-4, 1e-3, 0.01, layer_lr_decay=1.0)
    assert sorted({g["lr"] for g in groups}) == [1e-4, 1e-3]


def test_frozen_word_embeddings_do_not_move_while_the_rest_trains():
    model = tiny_classifier()
    frozen = freeze_word_embeddings(model)
    assert frozen == 50 * 16
    table = model.encoder.embeddings.word_embeddings.weight.detach().clone()
    layer = model.encoder.encoder.layer[0].output.dense.weight.detach().clone()
    groups = parameter_groups(model, 1e-2, 1e-2, 0.01)
    assert all(p is not model.encoder.embeddings.word_embeddings.weight for g in groups for p in g["params"])
    optimizer = torch.optim.AdamW(groups)
    ids = torch.randint(0, 50, (4, 7))
    for _ in range(3):
        loss = model(ids, torch.ones_like(ids)).pow(2).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    assert torch.equal(model.encoder.embeddings.word_embeddings.weight, table)
    assert not torch.equal(model.encoder.encoder.layer[0].output.dense.weight, layer)


def _dev(n: int = 2000, labels: int = 6, noise: float = 1.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, labels)) < np.linspace(0.3, 0.03, labels)).astype(np.uint8)
    logits = (y.astype(float) * 2 - 1) * 2.0 + rng.normal(0, noise * 2.0, y.shape) - 1.0
    return logits, y


def test_cross_fitting_is_below_the_in_sample_score_and_tracks_model_quality():
    grid = np.round(np.arange(0.05, 0.951, 0.05), 3)
    good, y = _dev(noise=0.6)
    poor, _ = _dev(noise=1.5)
    g, p = dev_scores(good, y, grid), dev_scores(poor, y, grid)
    assert g["macro_f1"] > p["macro_f1"] + 0.1 and g["micro_f1"] > p["micro_f1"] + 0.1
    for s in (g, p):
        assert s["macro_f1"] <= s["macro_f1_in_sample"] + 1e-9
    # a model of pure noise: in-sample thresholds still find something, cross-fitting less
    noise = np.random.default_rng(3).normal(size=y.shape)
    n = dev_scores(noise, y, grid)
    assert n["macro_f1"] < n["macro_f1_in_sample"]


def test_cross_fitted_predictions_are_reproducible_and_cover_every_row():
    logits, y = _dev(n=500)
    grid = np.round(np.arange(0.05, 0.951, 0.05), 3)
    a = crossfit_predictions(logits, y, grid, folds=5, seed=1)
    assert a.shape == y.shape and set(np.unique(a)) <= {0, 1}
    assert np.array_equal(a, crossfit_predictions(logits, y, grid, folds=5, seed=1))
