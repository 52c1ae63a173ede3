"""LightningModule: multi-label training (BCE or ASL, optional R-Drop) with per-layer learning
rates and warm-up."""

from __future__ import annotations

import random

import lightning as L
import numpy as np
import torch
from torch import nn

from emoheal.emotion.losses import rdrop_term
from emoheal.emotion.metrics import f1_summary
from emoheal.emotion.model import EmotionClassifier
from emoheal.emotion.optim import parameter_groups
from emoheal.emotion.thresholds import tune_thresholds

_DEV_GRID = np.round(np.arange(0.05, 0.951, 0.05), 3)


class EmotionLitModule(L.LightningModule):
    def __init__(
        self,
        classifier: EmotionClassifier,
        encoder_lr: float,
        head_lr: float,
        weight_decay: float = 0.01,
        warmup_ratio: float = 0.06,
        layer_lr_decay: float = 1.0,
        rdrop_alpha: float = 0.0,
        loss_fn: nn.Module | None = None,
    ):
        super().__init__()
        self.classifier = classifier
        self.save_hyperparameters(ignore=["classifier", "loss_fn"])
        self.loss_fn = loss_fn if loss_fn is not None else nn.BCEWithLogitsLoss()
        self._val_outputs: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    # Random-number state travels with each checkpoint, so a resumed run draws the
    # same dropout masks as an uninterrupted one and ends with the same weights.
    def on_save_checkpoint(self, checkpoint):
        checkpoint["rng_states"] = {
            "torch": torch.get_rng_state(),
            # plain types only: checkpoints are loaded with weights_only=True
            "numpy": [torch.from_numpy(state) if isinstance(state, np.ndarray) else state
                      for state in np.random.get_state()],
            "python": random.getstate(),
        }

    def on_load_checkpoint(self, checkpoint):
        states = checkpoint.get("rng_states")
        if states:
            torch.set_rng_state(states["torch"])
            np.random.set_state(tuple(x.numpy() if torch.is_tensor(x) else x for x in states["numpy"]))
            random.setstate(states["python"])

    def forward(self, input_ids, attention_mask):
        return self.classifier(input_ids, attention_mask)

    def training_step(self, batch, batch_idx):
        ids, mask, labels = batch["input_ids"], batch["attention_mask"], batch["labels"]
        if not self.hparams.rdrop_alpha:
            logits = self(ids, mask)
            loss = self.loss_fn(logits, labels.to(logits.dtype))
        else:
            # R-Drop: the batch twice in one pass (two dropout masks), both fitted, and kept close
            both = self(torch.cat([ids, ids]), torch.cat([mask, mask]))
            logits, again = both.chunk(2)
            target = labels.to(logits.dtype)
            loss = (0.5 * (self.loss_fn(logits, target) + self.loss_fn(again, target))
                    + self.hparams.rdrop_alpha * rdrop_term(logits, again))
        self.log("train/loss", loss, prog_bar=True, batch_size=len(logits))
        return loss

    def validation_step(self, batch, batch_idx):
        logits = self(batch["input_ids"], batch["attention_mask"]).float()
        self._val_outputs.append((batch["row"], logits.detach(), batch["labels"].float()))

    def on_validation_epoch_end(self):
        if not self._val_outputs:
            return
        rows = torch.cat([o[0] for o in self._val_outputs])
        logits = torch.cat([o[1] for o in self._val_outputs])
        labels = torch.cat([o[2] for o in self._val_outputs])
        self._val_outputs.clear()
        rows, logits, labels = self._gather(rows, logits, labels)
        probs = torch.sigmoid(logits).cpu().numpy()
        y = labels.cpu().numpy().astype(np.uint8)
        loss = float(nn.functional.binary_cross_entropy_with_logits(logits, labels))
        at_half = f1_summary(y, (probs >= 0.5).astype(np.uint8))
        # Per-label thresholds tuned on these same dev rows: optimistic as a
        # score, but it ranks checkpoints the way the deployed model is used.
        thresholds, _ = tune_thresholds(probs, y, _DEV_GRID)
        tuned = f1_summary(y, (probs >= thresholds).astype(np.uint8))
        # Every rank holds the same gathered numbers; sync_dist only averages equal values.
        self.log_dict({
            "val/loss": loss,
            "val/macro_f1": at_half["macro_f1"],
            "val/micro_f1": at_half["micro_f1"],
            "val/macro_f1_tuned": tuned["macro_f1"],
            "val/micro_f1_tuned": tuned["micro_f1"],
        }, prog_bar=False, sync_dist=True)

    def _gather(self, rows, logits, labels):
        """All ranks' dev predictions, in row order (each rank saw a disjoint shard)."""
        if self.trainer is None or self.trainer.world_size == 1:
            order = torch.argsort(rows)
            return rows[order], logits[order], labels[order]
        n = torch.tensor([len(rows)], device=self.device)
        width = int(self.all_gather(n).max())
        pad = width - len(rows)
        rows_p = torch.cat([rows.to(self.device), torch.full((pad,), -1, device=self.device, dtype=rows.dtype)])
        logits_p = torch.cat([logits, logits.new_zeros(pad, logits.shape[1])])
        labels_p = torch.cat([labels, labels.new_zeros(pad, labels.shape[1])])
        rows_g = self.all_gather(rows_p).reshape(-1)
        logits_g = self.all_gather(logits_p).reshape(-1, logits.shape[1])
        labels_g = self.all_gather(labels_p).reshape(-1, labels.shape[1])
        keep = rows_g >= 0
        rows_g, logits_g, labels_g = rows_g[keep], logits_g[keep], labels_g[keep]
        order = torch.argsort(rows_g)
        return rows_g[order], logits_g[order], labels_g[order]

    def _total_steps(self) -> int:
        trainer = self.trainer
        datamodule = trainer.datamodule
        if datamodule is None or not hasattr(datamodule, "train_batches_per_epoch"):
            return int(trainer.estimated_stepping_batches)
        per_epoch = -(-datamodule.train_batches_per_epoch() // trainer.accumulate_grad_batches)
        total = per_epoch * max(1, trainer.max_epochs or 1)
        return min(total, trainer.max_steps) if trainer.max_steps and trainer.max_steps > 0 else total

    def configure_optimizers(self):
        hp = self.hparams
        optimizer = torch.optim.AdamW(parameter_groups(
            self.classifier, hp.encoder_lr, hp.head_lr, hp.weight_decay, hp.layer_lr_decay))
        total = max(1, self._total_steps())
        warmup = int(hp.warmup_ratio * total)

        def schedule(step: int) -> float:
            # linear warm-up, then linear decay to zero at the last step
            if step < warmup:
                return (step + 1) / max(1, warmup)
            return max(0.0, (total - step) / max(1, total - warmup))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
