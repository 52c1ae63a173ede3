"""A small model from audio descriptors to valence and arousal, trained with Lightning on
EMOPIA's song-disjoint train split, chosen on val, reported on test — and applied to every
item, labelled or not, so the user's own media gets estimates too.

A softmax over EMOPIA's four quadrants (Q1 +valence/+arousal, Q2 -/+, Q3 -/-, Q4 +/-):
one joint head beat two independent valence and arousal heads in song-grouped
cross-validation on train+val (4Q 0.66 vs 0.65), because the valence cues differ between
high and low arousal. P(high valence) = p1 + p4, P(high arousal) = p1 + p2, and the
estimates on [-1, 1] are 2p - 1.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import lightning as L
import numpy as np
import pandas as pd
import torch
from torch import nn

from emoheal.corpus.features import feature_frame, feature_names, standardise, to_matrix

MODEL_FILE = "clip_emotion.pt"
META_FILE = "clip_emotion.json"


@dataclass(frozen=True)
class ClipEmotionSettings:
    hidden: int = 0  # 0 = (multinomial) logistic regression
    dropout: float = 0.2
    lr: float = 1e-2
    l2: float = 5e-3  # penalty on the weights (not biases), added to the loss
    max_epochs: int = 1500
    patience: int = 60  # epochs without a better val loss before stopping
    refit_on_val: bool = True  # after choosing the epoch count on val, retrain on train + val


def targets(quadrants: pd.Series) -> np.ndarray:
    """(valence high, arousal high) per item."""
    q = quadrants.to_numpy()
    return np.stack([np.isin(q, (1, 4)), np.isin(q, (1, 2))], axis=1).astype(np.float32)


def class_index(quadrants: pd.Series) -> np.ndarray:
    return quadrants.to_numpy().astype(np.int64) - 1


def quadrant_of(valence_high: np.ndarray, arousal_high: np.ndarray) -> np.ndarray:
    return np.where(arousal_high, np.where(valence_high, 1, 2), np.where(valence_high, 4, 3))


class ClipEmotionNet(nn.Module):
    def __init__(self, n_features: int, hidden: int, dropout: float):
        super().__init__()
        if hidden > 0:
            self.net = nn.Sequential(nn.Linear(n_features, hidden), nn.GELU(), nn.Dropout(dropout),
                                     nn.Linear(hidden, 4))
        else:
            self.net = nn.Linear(n_features, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ClipEmotionModule(L.LightningModule):
    """Full-batch training (EMOPIA's train split is 876 rows); keeps the weights of the best val loss."""

    def __init__(self, n_features: int, settings: ClipEmotionSettings):
        super().__init__()
        self.settings = settings
        self.model = ClipEmotionNet(n_features, settings.hidden, settings.dropout)
        self.loss = nn.CrossEntropyLoss()
        self.best_loss = float("inf")
        self.best_state: dict | None = None
        self.best_epoch = -1

    def _penalty(self) -> torch.Tensor:
        return sum((p ** 2).sum() for name, p in self.model.named_parameters() if name.endswith("weight"))

    def training_step(self, batch, _):
        x, y = batch
        loss = self.loss(self.model(x), y)
        self.log("train_loss", loss, on_epoch=True, on_step=False)
        return loss + self.settings.l2 * self._penalty()

    def validation_step(self, batch, _):
        x, y = batch
        logits = self.model(x)
        pred = logits.argmax(dim=1)
        high_v, high_a = (pred == 0) | (pred == 3), pred <= 1
        true_v, true_a = (y == 0) | (y == 3), y <= 1
        self.log_dict({"val_loss": self.loss(logits, y), "val_quadrant_acc": (pred == y).float().mean(),
                       "val_valence_acc": (high_v == true_v).float().mean(),
                       "val_arousal_acc": (high_a == true_a).float().mean()})

    def on_validation_epoch_end(self) -> None:
        loss = float(self.trainer.callback_metrics["val_loss"])
        if loss < self.best_loss:
            self.best_loss, self.best_epoch = loss, self.current_epoch
            self.best_state = copy.deepcopy(self.model.state_dict())

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.settings.lr)


def _loader(x: np.ndarray, y: np.ndarray):
    data = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    return torch.utils.data.DataLoader(data, batch_size=max(len(data), 1), shuffle=False)


@dataclass
class ClipEmotionModel:
    """The trained model with its standardisation, ready to apply to any descriptor rows."""

    net: ClipEmotionNet
    mean: np.ndarray
    scale: np.ndarray
    settings: ClipEmotionSettings
    meta: dict

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        x = torch.from_numpy(to_matrix(features[feature_names()], self.mean, self.scale))
        self.net.eval()
        with torch.no_grad():
            quads = torch.softmax(self.net(x), dim=1).numpy().astype(np.float64)
        pv, pa = quads[:, 0] + quads[:, 3], quads[:, 0] + quads[:, 1]
        return pd.DataFrame({
            "id": features.index, "valence": 2 * pv - 1, "arousal": 2 * pa - 1,
            "p_valence_high": pv, "p_arousal_high": pa,
            **{f"p_q{i + 1}": quads[:, i] for i in range(4)},
            # the quadrant of the reported valence and arousal signs, so the three never disagree
            # (argmax of the joint is no better: 0.660 vs 0.653 in grouped CV)
            "quadrant_pred": quadrant_of(pv > 0.5, pa > 0.5),
        })

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        torch.save(self.net.state_dict(), folder / MODEL_FILE)
        meta = {**self.meta, "features": feature_names(), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "settings": asdict(self.settings)}
        (folder / META_FILE).write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, folder: str | Path) -> ClipEmotionModel:
        folder = Path(folder)
        if not (folder / META_FILE).is_file():
            raise FileNotFoundError(f"{folder} holds no clip-emotion model: run `dvc repro corpus_emotion`")
        meta = json.loads((folder / META_FILE).read_text())
        if meta["features"] != feature_names():
            raise ValueError(f"{folder}: the model was trained on other features; retrain it")
        settings = ClipEmotionSettings(**meta["settings"])
        net = ClipEmotionNet(len(meta["features"]), settings.hidden, settings.dropout)
        net.load_state_dict(torch.load(folder / MODEL_FILE, weights_only=True))
        return cls(net, np.array(meta["mean"]), np.array(meta["scale"]), settings, meta)


def train_clip_emotion(features: pd.DataFrame, labels: pd.DataFrame, settings: ClipEmotionSettings, seed: int,
                       logger=None, judge=None) -> ClipEmotionModel:
    """`features` indexed by id; `labels` with id, quadrant, split (train / val / test): the rows
    it trains and selects on. `judge(model) -> dict`, when given, measures the model chosen on val
    before any refit sees val (kept as meta["judged_at_selection"]), e.g. on val in every timbre."""
    L.seed_everything(seed, workers=True, verbose=False)
    labelled = labels.dropna(subset=["quadrant"]).set_index("id")
    train_ids = labelled.index[labelled["split"] == "train"].intersection(features.index)
    val_ids = labelled.index[labelled["split"] == "val"].intersection(features.index)
    if len(train_ids) == 0:
        raise ValueError("no labelled training items: render EMOPIA's train split first")
    if len(val_ids) == 0:
        val_ids = train_ids  # a tiny subset without val clips: select on train (reported as such)
    mean, scale = standardise(features.loc[train_ids])
    x_train = to_matrix(features.loc[train_ids], mean, scale)
    x_val = to_matrix(features.loc[val_ids], mean, scale)
    y_train = class_index(labelled.loc[train_ids, "quadrant"])
    y_val = class_index(labelled.loc[val_ids, "quadrant"])
    module = ClipEmotionModule(x_train.shape[1], settings)
    early = L.pytorch.callbacks.EarlyStopping("val_loss", patience=settings.patience, mode="min")
    trainer = L.Trainer(max_epochs=settings.max_epochs, accelerator="cpu", devices=1, deterministic=True,
                        logger=logger or False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, callbacks=[early], log_every_n_steps=1)
    trainer.fit(module, _loader(x_train, y_train), _loader(x_val, y_val))
    if module.best_state is not None:
        module.model.load_state_dict(module.best_state)
    meta = {"train_items": len(train_ids), "val_items": len(val_ids), "best_epoch": module.best_epoch,
            "best_val_loss": module.best_loss, "selected_on": "val" if val_ids is not train_ids else "train",
            "refit_on_train_and_val": False}
    if val_ids is not train_ids:  # what the chosen model scores on val, before val is seen in a refit
        chosen = ClipEmotionModel(module.model, mean, scale, settings, {})
        meta["val_at_selection"] = evaluate(chosen.predict(features.loc[val_ids]), labels, "val")
        if judge is not None:
            meta["judged_at_selection"] = judge(chosen)
    if settings.refit_on_val and val_ids is not train_ids:
        # the same recipe for the chosen number of epochs on all the labelled data but test
        ids = train_ids.append(val_ids)
        mean, scale = standardise(features.loc[ids])
        x_all = to_matrix(features.loc[ids], mean, scale)
        y_all = class_index(labelled.loc[ids, "quadrant"])
        L.seed_everything(seed, workers=True, verbose=False)
        module = ClipEmotionModule(x_all.shape[1], settings)
        trainer = L.Trainer(max_epochs=meta["best_epoch"] + 1, accelerator="cpu", devices=1, deterministic=True,
                            logger=False, enable_checkpointing=False, enable_progress_bar=False,
                            enable_model_summary=False, limit_val_batches=0)
        trainer.fit(module, _loader(x_all, y_all))
        meta["refit_on_train_and_val"] = True
    return ClipEmotionModel(module.model, mean, scale, settings, meta)


def evaluate(estimates: pd.DataFrame, labels: pd.DataFrame, split: str = "test") -> dict:
    """Accuracy on `split` next to chance and the majority class of the train split."""
    lab = labels.dropna(subset=["quadrant"]).set_index("id")
    test = lab[lab["split"] == split].join(estimates.set_index("id"), how="inner")
    train = lab[lab["split"] == "train"]
    if test.empty:
        return {"items": 0}
    y = targets(test["quadrant"])
    pv, pa = test["p_valence_high"].to_numpy() > 0.5, test["p_arousal_high"].to_numpy() > 0.5
    y_train = targets(train["quadrant"]) if len(train) else y
    major_v, major_a = y_train[:, 0].mean() >= 0.5, y_train[:, 1].mean() >= 0.5
    major_q = int(train["quadrant"].mode().iloc[0]) if len(train) else 1
    q = test["quadrant"].astype(int).to_numpy()
    return {
        "items": int(len(test)),
        "valence_accuracy": round(float((pv == (y[:, 0] > 0.5)).mean()), 4),
        "arousal_accuracy": round(float((pa == (y[:, 1] > 0.5)).mean()), 4),
        "quadrant_accuracy": round(float((test["quadrant_pred"].to_numpy() == q).mean()), 4),
        "chance": {"valence": 0.5, "arousal": 0.5, "quadrant": 0.25},
        "majority_baseline": {
            "valence": round(float(((y[:, 0] > 0.5) == major_v).mean()), 4),
            "arousal": round(float(((y[:, 1] > 0.5) == major_a).mean()), 4),
            "quadrant": round(float((q == major_q).mean()), 4),
        },
    }


def estimate_all(model: ClipEmotionModel, descriptors: pd.DataFrame, windows: pd.DataFrame,
                 manifest: pd.DataFrame) -> pd.DataFrame:
    return model.predict(feature_frame(descriptors, windows, manifest))


SCORE_FEATURES = ("score_onsets_per_s", "score_notes_per_s", "score_pitch_centroid_midi", "score_velocity_mean",
                  "score_mode_major")


def symbolic_reference(scores: pd.DataFrame, labels: pd.DataFrame, seed: int) -> dict:
    """What the same kind of model reaches from the score itself (MIDI onsets, notes, pitch,
    velocity, mode) — the ceiling the audio estimate is compared with, in the same run."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = scores.set_index("id")[list(SCORE_FEATURES)].join(labels.set_index("id")).dropna(subset=["quadrant"])
    fit = data[data["split"].isin(["train", "val"])]
    if fit.empty or fit["quadrant"].nunique() < 4:
        return {"items": 0}
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=5000, random_state=seed))
    model.fit(fit[list(SCORE_FEATURES)], fit["quadrant"].astype(int))
    probs = model.predict_proba(data[list(SCORE_FEATURES)])  # classes 1..4 in order
    pv, pa = probs[:, 0] + probs[:, 3], probs[:, 0] + probs[:, 1]
    estimates = pd.DataFrame({"id": data.index, "p_valence_high": pv, "p_arousal_high": pa,
                              "quadrant_pred": quadrant_of(pv > 0.5, pa > 0.5)})
    result = evaluate(estimates, labels, "test")
    result.pop("chance", None)
    result.pop("majority_baseline", None)
    return {**result, "features": list(SCORE_FEATURES), "fitted_on": "train+val"}
