"""The `safety` stage: train the risk classifier on the curated corpus, choose its features and
thresholds on grouped cross-validation, measure the whole screen where nothing was chosen.

1. export the frozen sentence encoder (all-MiniLM-L6-v2) to ONNX in the model folder;
2. the training texts: the curated corpus, plus ordinary comments sampled from the GoEmotions
   train split as extra negatives (everyday text the curated hard negatives do not cover);
   every text and its sentences are embedded once;
3. (search.py) for each candidate setting (config `selection.candidates`), the risk head's out-of-fold
   scores from folds that keep each paraphrase family whole; keep the candidate with the best recall at
   the `high` operating point (`selection.false_alarm` of hard negatives, `selection.ordinary_false_alarm`
   of ordinary texts), then fit its `severe` head on the same folds;
4. thresholds on the chosen candidate's out-of-fold scores, recall first (`evaluation.choose_thresholds`);
5. the final classifier on all training texts -> classifier.npz / classifier.json;
6. measure the whole screen (patterns + classifier + the emotion detector's distress signals):
   on the out-of-fold scores, on the frozen held-out file, and on the GoEmotions test comments
   (ordinary text, with the hand review of what it flags `high`). None of these chose anything.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emoheal.safety import corpus as corpus_io
from emoheal.safety.classifier import (
    HEADS,
    META_FILE,
    WEIGHTS_FILE,
    Folded,
    Scaler,
    text_scores,
)
from emoheal.safety.corpus import Example
from emoheal.safety.encoder import SentenceEncoder, export_encoder
from emoheal.safety.evaluation import (
    Corpus,
    choose_thresholds,
    detector_signals,
    grouped_folds,
    levels_array,
    misses,
    pattern_floor,
    report,
)
from emoheal.safety.patterns import Rules, load_rules
from emoheal.safety.screen import Thresholds
from emoheal.safety.search import Embedded, Selection, fit_heads, select_candidate
from emoheal.utils.hashing import sha256_file, sha256_json
from emoheal.utils.io import write_json

log = logging.getLogger(__name__)


def ordinary_examples(prepared: str | Path, n: int, seed: int, rules: Rules) -> list[Example]:
    """`n` comments of the GoEmotions train split (never dev or test) as ordinary negatives, leaving
    out any comment a risk pattern matches (a few Reddit comments really are about self-harm)."""
    from emoheal.data.prepared import read_prepared

    if n <= 0:
        return []
    train = read_prepared(prepared, "train")
    train = train.sample(frac=1.0, random_state=seed)
    keep = [(str(i), t) for i, t in zip(train["id"], train["text"]) if not rules.match(t)][:n]
    return [Example(f"ordinary-{i}", f"ordinary-{i}", "ordinary", "en", ("plain",), t, "goemotions/train")
            for i, t in keep]


def _floor(rules: Rules, texts: list[str]) -> np.ndarray:
    return pattern_floor([tuple((p.id, p.level) for p in rules.match(t)) for t in texts])


def flat(measured: dict[str, Any]) -> dict[str, Any]:
    """A report with its two headline rates as plain numbers (`recall`, `false_alarm_high`, each with
    `_ci95`, `_k`, `_n`), so a script reads them without digging."""
    out = {k: v for k, v in measured.items() if k not in ("recall", "false_alarm_high")}
    for key in ("recall", "false_alarm_high"):
        rate = measured[key]
        out.update({key: rate["rate"], f"{key}_ci95": rate["ci95"], f"{key}_k": rate["k"], f"{key}_n": rate["n"]})
    return out


def build_safety(params: dict[str, Any], predictor: Any = None) -> dict[str, Any]:
    """Train, choose, save and measure; returns the metrics document (metrics/safety.json).
    `predictor`: the emotion detector for the distress layer (default: the model at paths.model)."""
    cfg, seed = params["safety"], int(params["seed"])
    data_folder, out = Path(cfg["data"]), Path(cfg["model"])
    started = time.perf_counter()
    texts = training_texts(params, data_folder, seed)
    if predictor is None:  # loaded before the export, so a missing emotion model fails at once
        from emoheal.emotion.predictor import EmotionPredictor

        predictor = EmotionPredictor(params["paths"]["model"])

    # 1-2. the sentence encoder, and every training text embedded once
    encoder_info, encoder = _sentence_encoder(cfg["encoder"], out)
    embedded = Embedded(texts.corpus.texts, encoder, int(cfg["classifier"]["max_segments"]))
    folds = grouped_folds(texts.corpus, int(cfg["cv"]["folds"]), seed)

    # 3. candidates on grouped CV
    selection = select_candidate(embedded, texts.corpus, folds, cfg, seed)

    # 4. thresholds, recall first, on out-of-fold scores with the patterns
    floor = _floor(texts.rules, texts.corpus.texts)
    chosen = choose_thresholds(selection.oof[:, 0], selection.oof[:, 1], floor, texts.corpus, cfg["thresholds"])
    thresholds = Thresholds.from_dict(chosen)

    # 5. the final classifier on every training text
    final = save_final(out, embedded, texts, selection, chosen, encoder_info, data_folder, seed)

    # 6. measure the whole screen
    measured = measure_screen(params, texts, selection, final, floor, thresholds, encoder, predictor)
    spec, select = selection.spec, cfg["selection"]
    return {
        "model": {"version": final.version, "features": spec.to_dict(), "fit": selection.fit_args,
                  "thresholds": final.thresholds, "thresholds_met_on_cv": chosen["met"],
                  "encoder": {k: encoder_info[k] for k in ("name", "layers", "pooling", "dim", "max_length")},
                  "emotion_model": getattr(predictor, "version", None)},
        "heldout": measured["heldout"],
        "grouped_cv": {"folds": int(cfg["cv"]["folds"]), "grouped_by": "paraphrase family",
                       **measured["grouped_cv"]},
        "selection": {"criterion": f"mean recall over risk categories where at most {select['false_alarm']:.1%} of "
                                   f"hard negatives and {select['ordinary_false_alarm']:.1%} of ordinary texts score "
                                   "higher (out-of-fold)",
                      "candidates": selection.tried},
        "goemotions_test": measured["goemotions_test"],
        "seconds": round(time.perf_counter() - started, 1),
    }


@dataclass(frozen=True)
class TrainingTexts:
    """The curated corpus and the ordinary comments added to it (together: `corpus`, what the
    classifier trains on), the frozen held-out file, and the risk patterns."""

    curated: list[Example]
    ordinary: list[Example]
    corpus: Corpus
    heldout: Corpus
    rules: Rules


def training_texts(params: dict[str, Any], data_folder: Path, seed: int) -> TrainingTexts:
    """Step 2's texts, refusing a corpus that shares a text with the held-out file."""
    categories = corpus_io.load_categories(data_folder)
    curated = corpus_io.sample_families(corpus_io.load_corpus(data_folder),
                                        params["safety"].get("families_per_category"), seed)
    heldout = Corpus(corpus_io.load_heldout(data_folder), categories)
    leaked = corpus_io.leaks(curated, heldout.examples)
    if leaked:
        raise corpus_io.CorpusError(f"held-out texts also in the training corpus: {', '.join(leaked[:10])}")
    rules = load_rules(str(data_folder))
    ordinary = ordinary_examples(params["paths"]["prepared"], int(params["safety"]["ordinary"]["n"]), seed, rules)
    return TrainingTexts(curated, ordinary, Corpus(curated + ordinary, categories), heldout, rules)


def _sentence_encoder(enc_cfg: dict[str, Any], out: Path) -> tuple[dict[str, Any], SentenceEncoder]:
    """Step 1: export the packaged MiniLM into the model folder; (its export record, the encoder)."""
    from emoheal.emotion.backbone import resolve_pretrained_path

    source = resolve_pretrained_path({"name": "safety encoder", "source": "package", "package": enc_cfg["package"]})
    info = export_encoder(source, out, int(enc_cfg["max_length"]), list(enc_cfg["layers"]),
                          list(enc_cfg["pooling"]), quantize=enc_cfg["quantize"] == "int8")
    return info, SentenceEncoder(out, threads=int(enc_cfg["threads"]))


@dataclass(frozen=True)
class FinalClassifier:
    """The saved classifier (classifier.npz) and what the screen needs of classifier.json."""

    coef: np.ndarray
    intercept: np.ndarray
    scaler: Scaler | None
    thresholds: dict[str, float]
    version: str


def save_final(out: Path, embedded: Embedded, texts: TrainingTexts, selection: Selection, chosen: dict[str, Any],
               encoder_info: dict[str, Any], data_folder: Path, seed: int) -> FinalClassifier:
    """Step 5: both heads fitted on every training text, written to classifier.npz and classifier.json
    (whose version hashes the weights, thresholds, features and encoder)."""
    spec, fit_args, corpus = selection.spec, selection.fit_args, texts.corpus
    everything = np.arange(len(corpus.examples))
    scaler = embedded.scaler(everything, spec)
    final = fit_heads(embedded.features(embedded.whole, spec, scaler), corpus, everything, fit_args, seed)
    coef = np.stack([np.asarray(m.coef_, dtype=np.float32).ravel() for m in final])
    intercept = np.asarray([float(m.intercept_[0]) for m in final])
    stored = {"center": scaler.center, "scale": scaler.scale} if scaler is not None else {}
    np.savez(out / WEIGHTS_FILE, coef=coef, intercept=intercept, heads=np.asarray(HEADS), **stored)
    threshold_values = {k: chosen[k] for k in ("severe", "confirm", "check_in", "low", "distress", "intense")}
    curated = texts.curated
    meta = {
        "features": spec.to_dict(), "fit": fit_args, "thresholds": threshold_values,
        "weights_sha256": sha256_file(out / WEIGHTS_FILE), "encoder": encoder_info,
        "corpus": {"texts": len(curated), "families": len({e.family for e in curated}),
                   "ordinary": len(texts.ordinary),
                   "sha256": sha256_json([[e.id, e.category, e.text] for e in corpus.examples])},
        "heldout_sha256": corpus_io.file_sha256(data_folder / "heldout.csv"),
    }
    meta["version"] = "safety-" + sha256_json({k: meta[k] for k in ("weights_sha256", "thresholds", "features",
                                                                      "encoder")})[:12]
    write_json(out / META_FILE, meta)
    return FinalClassifier(coef, intercept, scaler, threshold_values, meta["version"])


def measure_screen(params: dict[str, Any], texts: TrainingTexts, selection: Selection, final: FinalClassifier,
                   floor: np.ndarray, thresholds: Thresholds, encoder: SentenceEncoder,
                   predictor: Any) -> dict[str, Any]:
    """Step 6: the whole screen (patterns + classifier + the detector's distress signals) on the
    out-of-fold scores, the held-out file and the GoEmotions test comments; none of them chose
    anything. Returns the metrics document's `heldout`, `grouped_cv` and `goemotions_test` parts."""
    from emoheal.safety.review import goemotions_flags

    corpus, heldout, rules, spec, oof = texts.corpus, texts.heldout, texts.rules, selection.spec, selection.oof
    distress, intense = detector_signals(predictor, corpus.texts)
    cv_levels = levels_array(oof[:, 0], oof[:, 1], floor, thresholds, distress, intense)
    folded = Folded.of(final.coef, final.intercept, spec, final.scaler, encoder.dim)
    held = text_scores(encoder.encode, heldout.texts, spec, folded)
    h_distress, h_intense = detector_signals(predictor, heldout.texts)
    held_levels = levels_array(held[:, 0], held[:, 1], _floor(rules, heldout.texts), thresholds, h_distress,
                               h_intense)
    everyday = goemotions_flags(params, params["safety"],
                                lambda batch: text_scores(encoder.encode, batch, spec, folded),
                                rules, thresholds, predictor)
    cv_report, held_report = report(cv_levels, corpus), report(held_levels, heldout)
    # the baseline in the same run: the curated patterns alone (what the screen was before this layer)
    alone = report(_floor(rules, heldout.texts), heldout)
    patterns_only = {"recall": alone["recall"]["rate"], "recall_ci95": alone["recall"]["ci95"],
                     "false_alarm_high": alone["false_alarm_high"]["rate"],
                     "false_alarm_high_ci95": alone["false_alarm_high"]["ci95"]}
    return {
        "heldout": {**flat(held_report), "note": "frozen file written before any tuning; never used for a choice",
                    "misses": misses(held_levels, heldout), "patterns_only": patterns_only},
        "grouped_cv": {**flat(cv_report),
                       "recall_by_category": {c: v["recall"]["rate"] for c, v in cv_report["by_category"].items()
                                              if "recall" in v},
                       "misses": misses(cv_levels, corpus)},
        "goemotions_test": everyday,
    }
