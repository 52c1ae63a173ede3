"""The README's figures are the committed files' figures (issue 17, item 9: a README you can trust).

Each row of FIGURES is a phrase of the README with a `{}` where a number stands (`{id}` for a name
such as a model version), and, per placeholder, the file and key it comes from and how the README
rounds it. The phrase must occur exactly once (whitespace and line breaks aside), so a figure is found
by its words, not by its position; a reworded sentence fails here with the phrase to update. Every file
named here is written by a command the README names: `make run` / `dvc repro` (metrics/*.json),
`make reference` (metrics/reference/*.json), `emoheal bento import` (metrics/onnx_parity.json),
`make bench` (benchmarks/results/*.json) and `make lock` (requirements/*.txt).

Fast: it reads JSON and text; nothing is run or loaded.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.helpers import ROOT, load_script

README = ROOT / "README.md"
NUMBER = r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"  # 0.874, 5,427, 1136 — never a trailing comma
IDENT = r"([\w.-]+)"

EMOTION = "metrics/emotion.json"
CORPUS = "metrics/corpus.json"
KG = "metrics/kg.json"
SESSIONS = "metrics/sessions.json"
SAFETY = "metrics/safety.json"
PARITY = "metrics/onnx_parity.json"
CORPUS_FULL = "metrics/reference/corpus_full.json"
RETRIEVAL_FULL = "metrics/reference/retrieval_full.json"


def bench(name: str) -> str:
    return f"benchmarks/results/{name}.json"


def pct(digits: int = 0) -> Callable[[float], str]:
    """A share written as a percentage: 0.4129 -> '41'."""
    return lambda v: f"{v * 100:.{digits}f}"


def pins(text: str) -> int:
    """Pinned requirements in a lock file."""
    return sum(1 for line in text.splitlines() if "==" in line and not line.lstrip().startswith("#"))


@dataclass(frozen=True)
class From:
    """Where a figure comes from: a file, a key path ('a/b/0', or a function of the loaded file), and
    the README's rounding (a format spec, or a function of the value)."""

    file: str
    key: str | Callable[[Any], Any]
    fmt: str | Callable[[Any], str] = ".3f"

    def value(self) -> Any:
        data = _load(self.file)
        if callable(self.key):
            return self.key(data)
        for part in self.key.split("/"):
            data = data[int(part)] if isinstance(data, list) else data[part]
        return data

    def text(self) -> str:
        value = self.value()
        return self.fmt(value) if callable(self.fmt) else format(value, self.fmt)

    def __str__(self) -> str:
        return f"{self.file}:{self.key if isinstance(self.key, str) else 'computed'}"


@functools.cache
def _load(file: str) -> Any:
    text = (ROOT / file).read_text(encoding="utf-8")
    return json.loads(text) if file.endswith(".json") else text


@functools.cache
def _readme() -> str:
    return " ".join(README.read_text(encoding="utf-8").split())


def E(key: str, fmt: Any = ".3f") -> From:  # noqa: N802 - one letter per file keeps the table readable
    return From(EMOTION, key, fmt)


def interval(who: str, metric: str) -> tuple[From, From]:
    """The low and high ends of a bootstrap interval in metrics/emotion.json's test.intervals."""
    return (E(f"test/intervals/{who}/{metric}/low"), E(f"test/intervals/{who}/{metric}/high"))


def CF(key: str, fmt: Any = ".3f") -> From:  # noqa: N802
    return From(CORPUS_FULL, key, fmt)


def DV(key: str, fmt: Any = ".3f") -> From:  # noqa: N802 - the full corpus's descriptors vs the score
    return CF(f"descriptors_vs_score/{key}", fmt)


def RF(key: str, fmt: Any = ".2f") -> From:  # noqa: N802
    return From(RETRIEVAL_FULL, key, fmt)


def retrieval_row(group: str, method: str) -> tuple[From, ...]:
    """match quadrant agreement | target Q4 P@1 / P@5 | arousal never rises, as the retrieval table has them."""
    base = f"{group}/{method}"
    return (RF(f"{base}/match_quadrant_agreement", ".3f"), RF(f"{base}/target_q4_precision_at_1"),
            RF(f"{base}/target_q4_precision_at_5"), RF(f"{base}/arousal_never_rises"))


def session_row(prefix: str, repeat_fmt: str) -> tuple[From, ...]:
    """A row of the sessions table (metrics/sessions.json: `system` or `baselines/<name>`)."""
    columns = (("minutes_filled", ".3f"), ("arousal_never_rises", ".2f"), ("p95_tempo_step_bpm", ".1f"),
               ("p95_key_distance", ".0f"), ("p95_loudness_step_lu", ".1f"), ("repeat_share", repeat_fmt),
               ("catalogue_coverage", ".3f"), ("path_fit", ".1f"), ("match_agreement", ".3f"),
               ("target_calm_share", ".2f"))
    return tuple(From(SESSIONS, f"{prefix}/{key}", fmt) for key, fmt in columns)


TIMBRE_ROWS = (("piano", "piano (as annotated)"), ("strings", "strings"), ("ambient_pad", "ambient pad"),
               ("harp", "harp"), ("acoustic_guitar", "nylon guitar"))


def timbre_row(tag: str) -> tuple[From, ...]:
    """quadrant | arousal | valence of the chosen model, then the piano-only model's quadrant | arousal."""
    return (From(CORPUS, f"timbre_robustness/{tag}/quadrant_acc"), From(CORPUS, f"timbre_robustness/{tag}/arousal_acc"),
            From(CORPUS, f"timbre_robustness/{tag}/valence_acc"),
            From(CORPUS, f"timbre_models/piano_only/test/{tag}/quadrant_acc"),
            From(CORPUS, f"timbre_models/piano_only/test/{tag}/arousal_acc"))


def S(key: str, fmt: Any = ".3f") -> From:  # noqa: N802
    return From(SAFETY, key, fmt)


def wilson(key: str, value: str = "rate", ci: str = "ci95") -> tuple[From, ...]:
    """rate [low, high] as the safety table writes a Wilson interval."""
    return (S(f"{key}/{value}"), S(f"{key}/{ci}/0"), S(f"{key}/{ci}/1"))


def serving(scenario: str, figure: str, fmt: str = ".1f", side: str = "service") -> From:
    return From(bench("serving"), f"{side}/scenarios/{scenario}/{figure}", fmt)


def latency_row(scenario: str) -> tuple[From, ...]:
    """p50 ms | p99 ms | req/s of one scenario of the serving table."""
    return (serving(scenario, "p50_ms"), serving(scenario, "p99_ms"), serving(scenario, "throughput_rps", ".0f"))


def _all_asked(data: dict) -> int | None:
    """'All N hedged statements were asked' holds only when every one was."""
    asked = data["heldout"]["ambiguous_asked"]
    return asked["k"] if asked["k"] == asked["n"] else None


FIGURES: list[tuple[str, tuple[From, ...]]] = [
    # the emotion model (metrics/emotion.json, `make run`)
    ("| quickstart, GoEmotions official test split ({} texts) |", (E("test/rows", ","),)),
    ("| MiniLM fine-tuned (asymmetric loss, 2 epochs) with its TF-IDF part, every choice made on dev "
     "| **{}** [{}, {}] | **{}** [{}, {}] |",
     (E("test/macro_f1"), *interval("model", "macro_f1"), E("test/micro_f1"), *interval("model", "micro_f1"))),
    ("| same model, one threshold 0.5 | {} | |", (E("test/macro_f1_at_0.5"),)),
    ("| TF-IDF + logistic regression, thresholds tuned on dev (same run) | {} [{}, {}] | {} [{}, {}] |",
     (E("baselines/tfidf_logreg/test/macro_f1"), *interval("baseline", "macro_f1"),
      E("baselines/tfidf_logreg/test/micro_f1"), *interval("baseline", "micro_f1"))),
    ("| the model with thresholds tuned on the test split itself (optimistic; only to set beside published "
     "figures tuned that way) | {} | {} |",
     (E("test/test_tuned_thresholds/macro_f1"), E("test/test_tuned_thresholds/micro_f1"))),
    ("The model's gain over the baseline: macro-F1 +{} [+{}, +{}]",
     (E("test/intervals/gain_over_baseline/macro_f1/estimate"), *interval("gain_over_baseline", "macro_f1"))),
    ("The logits mix the encoder's with a TF-IDF logistic regression's at a weight of {}, chosen by",
     (E("dev/lexical_weight", "g"),)),
    ("Ekman-group macro-F1 {}, sentiment-group {}; calibration error (ECE) {} → {} after per-label scaling",
     (E("test/ekman/macro_f1"), E("test/sentiment/macro_f1"), E("test/ece_uncalibrated", ".4f"),
      E("test/ece_calibrated", ".4f"))),
    ("the same commit gives the same model version (`{id}`)", (E("model_version", "s"),)),
    ("single-text latency is {}× the previous model's",
     (From(bench("emotion_inference"), "latency_ratio_vs_reference_batch1", ".3f"),)),
    # the knowledge graph
    ("how many distinct match states the emotions give ({} of {} for sleep)",
     (From(KG, "audit/sleep/distinct_match_states", "d"), From(KG, "audit/sleep/one_hot_plans", "d"))),
    ("A plan takes ~{} ms (median;", (From(bench("kg_plan"), "plan/median_us", lambda us: f"{us / 1000:.2f}"),)),
    # the full corpus (`make reference`)
    ("# all {} items: EMOPIA clips × timbres + composed pieces ({} h of audio) → metrics/reference/",
     (CF("corpus/items", ","), CF("corpus/audio_hours", ".1f"))),
    ("| audio descriptor vs the score ({} clips) | agreement |", (DV("items", ","),)),
    ("| onset density vs score onsets per second (Spearman) | **{}** |",
     (DV("spearman/onset_density_vs_score_onsets"),)),
    ("| mode (major/minor) agreement with the symbolic key estimate | **{}** (key {}) |",
     (DV("mode_agreement"), DV("key_agreement"))),
    ("| pitch centroid vs score pitch centroid (Spearman) | {} (about +{} semitones: partials lift it) |",
     (DV("spearman/pitch_centroid_vs_score"), DV("pitch_centroid_mean_error_semitones", ".0f"))),
    ("| loudness before normalisation vs mean MIDI velocity (Spearman) | {} |",
     (DV("spearman/loudness_before_normalisation_vs_velocity"),)),
    ("| clip emotion, EMOPIA test split ({} clips, song-disjoint) |", (CF("emotion/test/items", "d"),)),
    ("| from audio descriptors | **{}** | **{}** | **{}** |",
     (CF("emotion/test/arousal_accuracy"), CF("emotion/test/valence_accuracy"),
      CF("emotion/test/quadrant_accuracy"))),
    ("| same model on the score's features (MIDI onsets, pitch, velocity, mode) | {} | {} | {} |",
     (CF("emotion/score_features_reference/arousal_accuracy"), CF("emotion/score_features_reference/valence_accuracy"),
      CF("emotion/score_features_reference/quadrant_accuracy"))),
    ("| majority class of train | {} | {} | {} |",
     (CF("emotion/test/majority_baseline/arousal"), CF("emotion/test/majority_baseline/valence"),
      CF("emotion/test/majority_baseline/quadrant"))),
    ("; {} clips on 2 cores): rendering {}× real time, description {}× — at that pace the full corpus renders "
     "in ~{} min and is described in ~{} min (in piano alone",
     (From(bench("corpus_speed"), "clips", "d"), From(bench("corpus_speed"), "all_cores/render_x_realtime", ".0f"),
      From(bench("corpus_speed"), "all_cores/describe_x_realtime", ".0f"),
      From(bench("corpus_speed"), "full_corpus_estimate_minutes/render", ".1f"),
      From(bench("corpus_speed"), "full_corpus_estimate_minutes/describe", ".1f"))),
    # CLaMP 3
    ("the audio path handles ~{} s of audio per second and a text query takes ~{} ms",
     (From(bench("clamp3_speed"), "audio_seconds_per_second/padded", ".0f"),
      From(bench("clamp3_speed"), "text_query_ms/unpadded_median", ".0f"))),
    ("(the last run: ~{} min on 2 cores)",
     (From("metrics/reference/run.json", "wall_seconds", lambda s: f"{round(s / 60)}"),)),
    # retrieval on the full corpus (`make reference`)
    ("(`metrics/reference/retrieval_full.json`, rewritten by `make reference`; {} clips, goal {id})",
     (RF("index_items", ","), RF("goal", "s"))),
    ("| 28 one-hot emotions | **system** | **{}** | **{}** / {} | **{}** | | | random | {} | {} / {} | {} |",
     retrieval_row("one_hot", "system") + retrieval_row("one_hot", "random")),
    ("| 500 detected (test texts) | **system** | **{}** | **{}** / {} | **{}** | "
     "| | nearest valence/arousal | {} | {} / {} | {} | | | random | {} | {} / {} | {} |",
     retrieval_row("detected", "system") + retrieval_row("detected", "va_nearest")
     + retrieval_row("detected", "random")),
    ("Chance: Q4 {}, quadrant agreement {}.",
     (RF("one_hot/chance/target_q4", ".3f"), RF("one_hot/chance/match_quadrant", ".3f"))),
    ("A session takes {} ms at 1k items and {} ms at 10k",
     (From(bench("retrieval_speed"), "sessions/1000/score_every_item/median_ms", ".0f"),
      From(bench("retrieval_speed"), "sessions/10000/faiss_candidates/median_ms", ".0f"))),
    # sequenced sessions (metrics/sessions.json, quickstart corpus)
    ("detected in {} GoEmotions test texts ({} sessions) through the system and three baselines",
     (From(SESSIONS, "sessions/detected", "d"), From(SESSIONS, "system/sessions", "d"))),
    ("Quickstart corpus ({} items, ~{} h: `metrics/corpus.json`)",
     (From(SESSIONS, "index_items", "d"), From(CORPUS, "corpus/audio_hours", ".1f"))),
    ("| **system** | **{}** | **{}** | {} / {} / {} | **{}** | **{}** | **{}** | {} | **{}** |",
     session_row("system", ".0f")),
    ("| one_per_stage | {} | {} | {} / {} / {} | {} | {} | {} | {} | {} |",
     session_row("baselines/one_per_stage", ".2f")),
    ("| random | {} | {} | {} / {} / {} | {} | {} | {} | {} | {} |", session_row("baselines/random", ".0f")),
    ("| va_sorted | {} | {} | {} / {} / {} | {} | {} | {} | {} | {} |", session_row("baselines/va_sorted", ".0f")),
    ("less often than a single best clip ({} vs {})",
     (From(SESSIONS, "system/match_agreement", ".2f"),
      From(SESSIONS, "baselines/one_per_stage/match_agreement", ".2f"))),
    ("the price of variety (coverage {} vs {})",
     (From(SESSIONS, "system/catalogue_coverage", ".2f"),
      From(SESSIONS, "baselines/one_per_stage/catalogue_coverage", ".2f"))),
    ("{} % of the tracks trimmed to end a stage end at a cut point",
     (From(SESSIONS, "system/trims_at_cut_point", pct()),)),
    ("(on the 500 detected sessions alone: path fit {}, match agreement {}, coverage {})",
     (From(SESSIONS, "by_set/detected/system/path_fit", ".1f"),
      From(SESSIONS, "by_set/detected/system/match_agreement", ".2f"),
      From(SESSIONS, "by_set/detected/system/catalogue_coverage", ".2f"))),
    ("A 60-minute session (about {} tracks) at 10,000 items takes {} ms median, {} ms p99 on 2 cores, "
     "one item per stage {} ms",
     (From(bench("session_speed"), "sizes/10000/tracks_per_session", ".0f"),
      From(bench("session_speed"), "sizes/10000/sequence/p50_ms", ".1f"),
      From(bench("session_speed"), "sizes/10000/sequence/p99_ms", ".1f"),
      From(bench("session_speed"), "sizes/10000/one_per_stage/p50_ms", ".1f"))),
    ("so the cost stays that of about 10k candidates: {} ms median at 1M items",
     (From(bench("session_speed"), "sizes/1000000/sequence/p50_ms", ".1f"),)),
    # the crisis screen (metrics/safety.json, `dvc repro safety`)
    ("rewritten by `dvc repro safety` in ~{} min on 2 cores — its `seconds`",
     (S("seconds", lambda s: f"{s / 60:.0f}"),)),
    ("| crisis screen, model `{id}` |", (S("model/version", "s"),)),
    ("| **frozen held-out file** ({} risk statements, {} hard negatives, other writers, never used for a choice) "
     "| **{}** [{}, {}] ({}/{}) | **{}** [{}, {}] ({}/{}) |",
     (S("heldout/n/risk", "d"), S("heldout/n/safe", "d"),
      *wilson("heldout", "recall", "recall_ci95"), S("heldout/recall_k", "d"), S("heldout/recall_n", "d"),
      *wilson("heldout", "false_alarm_high", "false_alarm_high_ci95"),
      S("heldout/false_alarm_high_k", "d"), S("heldout/false_alarm_high_n", "d"))),
    ("| the curated patterns alone on the same file (the screen before this layer; same run) "
     "| {} [{}, {}] ({}/{}) | {} [{}, {}] ({}/{}) |",
     (*wilson("heldout/patterns_only", "recall", "recall_ci95"),
      S(lambda d: round(d["heldout"]["patterns_only"]["recall"] * d["heldout"]["n"]["risk"]), "d"),
      S("heldout/n/risk", "d"),
      *wilson("heldout/patterns_only", "false_alarm_high", "false_alarm_high_ci95"),
      S(lambda d: round(d["heldout"]["patterns_only"]["false_alarm_high"] * d["heldout"]["n"]["safe"]), "d"),
      S("heldout/n/safe", "d"))),
    ("| grouped cross-validation by family ({} risk texts, {} hard negatives) | {} [{}, {}]; each category ≥ {} "
     "| {} [{}, {}] |",
     (S("grouped_cv/n/risk", ","), S("grouped_cv/n/safe", ","),
      *wilson("grouped_cv", "recall", "recall_ci95"),
      S(lambda d: min(c["recall"]["rate"] for c in d["grouped_cv"]["by_category"].values() if "recall" in c)),
      *wilson("grouped_cv", "false_alarm_high", "false_alarm_high_ci95"))),
    ("| GoEmotions test, {} ordinary Reddit comments, whole screen with the emotion model | — "
     "| {} flagged ({} %), reviewed by hand: {} real risk statements",
     (S("goemotions_test/n", ","), S("goemotions_test/flagged_high", "d"),
      S("goemotions_test/flagged_high_share", pct(2)), S("goemotions_test/real_risk_in_flagged", "d"))),
    ("(grouped CV: {} and {}; preparatory acts and attempts {}; {} of all held-out risk statements)",
     (*(S(f"grouped_cv/by_category/{c}/recall_high/rate", ".2f") for c in ("intent", "plan", "behaviour")),
      S("heldout/recall_high/rate", ".2f"))),
    ("All {} hedged held-out statements were asked; Chinese held-out statements {}/{}.",
     (S(_all_asked, "d"), S("heldout/by_language/zh/recall/k", "d"), S("heldout/by_language/zh/recall/n", "d"))),
    ("The screen adds **{} ms per text** (median, one core, int8; patterns alone {} ms",
     (From(bench("safety_screen"), "added_median_ms", ".1f"),
      From(bench("safety_screen"), "patterns_only/median_ms", ".2f"))),
    ("the check-in question is asked of {} % of the held-out hard negatives, {} % of the GoEmotions test comments "
     "(`metrics/safety.json`) and {} of the {} ordinary bedtime sentences",
     (S("heldout/false_alarm_check_in/rate", pct()), S("goemotions_test/flagged_check_in_share", pct()),
      From(bench("safety_screen"), "ordinary_sentences/medium", "d"), From(bench("safety_screen"), "texts", "d"))),
    # packaging and serving
    ("({} of lock.txt's {} pins, same versions;",
     (From("requirements/serving.txt", pins, "d"), From("requirements/lock.txt", pins, "d"))),
    ("| `/detect`, 1 client | {} | {} | {} |", latency_row("detect_c1")),
    ("| `/detect`, 8 clients | {} | {} | {} ({}× the baseline) |",
     (*latency_row("detect_c8"), serving("detect_c8", "throughput_vs_baseline", ".2f"))),
    ("| `/session`, 1 client | {} | {} | {} |", latency_row("session_c1")),
    ("| `/session`, 8 clients | {} | {} | {} |", latency_row("session_c8")),
    ("| baseline `/detect`, 1 / 8 clients | {} / {} | {} / {} | {} / {} |",
     tuple(serving(scenario, figure, fmt, side="baseline")
           for figure, fmt in (("p50_ms", ".1f"), ("p99_ms", ".1f"), ("throughput_rps", ".0f"))
           for scenario in ("detect_c1", "detect_c8"))),
    ("| crisis screen per text (patterns + classifier, 1 thread) | {} |",
     (From(bench("serving"), "safety_screen/added_median_ms", ".1f"),)),
    ("{} requests, **{} failures**, p50 {} ms, p99 {} ms (`/session` p99 {} ms;",
     (From(bench("serving"), "locust/requests", ","), From(bench("serving"), "locust/failures", "d"),
      From(bench("serving"), "locust/p50_ms", ".0f"), From(bench("serving"), "locust/p99_ms", ".0f"),
      From(bench("serving"), lambda d: d["locust"]["by_request"]["POST /session"]["p99_ms"], ".0f"))),
    # timbres and composed music (metrics/corpus.json, metrics/sessions.json, the corpus benchmark)
    ("Quickstart (`make run`; chosen: the {id} model, mean quadrant accuracy over the timbres on val {} vs {})",
     (From(CORPUS, "timbre_models/chosen", "s"),
      From(CORPUS, lambda d: d["timbre_models"][d["timbre_models"]["chosen"]]["val_mean_quadrant_acc"], ".3f"),
      From(CORPUS, lambda d: min(v["val_mean_quadrant_acc"] for k, v in d["timbre_models"].items()
                                 if isinstance(v, dict) and "val_mean_quadrant_acc" in v), ".3f"))),
    *[(f"| {label} | {{}} | {{}} | {{}} | {{}} | {{}} |", timbre_row(tag)) for tag, label in TIMBRE_ROWS],
    ("Measured tempo within 10 % of the composed one (octave-folded) for {} % of {} pieces, mode for {} % and key "
     "for {} %; of the {} composed for a clearly calm stage (Q4), {} % are estimated Q4 ({} % of the {} composed "
     "for any quadrant;",
     (From(CORPUS, "composed/tempo_within_10pct", pct()), From(CORPUS, "composed/pieces", "d"),
      From(CORPUS, "composed/mode_agreement", pct()), From(CORPUS, "composed/key_agreement", pct()),
      From(CORPUS, "composed/calm_q4/pieces", "d"), From(CORPUS, "composed/calm_q4/quadrant_agreement", pct()),
      From(CORPUS, "composed/quadrant_agreement", pct()), From(CORPUS, "composed/pieces_for_a_quadrant", "d"))),
    ("in the {} one-hot sleep sessions of {} minutes, {} % of the target stage's tracks sound in one of its "
     "timbres ({} % over all {} sessions) and {} tracks in a timbre their stage avoids",
     (From(SESSIONS, "sessions/one_hot", "d"), From(SESSIONS, "minutes", "d"),
      From(SESSIONS, "by_set/one_hot/system/target_timbre_share", pct()),
      From(SESSIONS, "system/target_timbre_share", pct()), From(SESSIONS, "system/sessions", "d"),
      From(SESSIONS, "system/avoided_timbre_tracks", "d"))),
    ("rendering in the five timbres runs at {}× to {}× real time on 2 cores ({}× for the piano as written, same "
     "run); the composer writes {} pieces' MIDI in {} ms and composes and renders them at {}× real time",
     (From(bench("corpus_speed"), lambda d: min(v["render_x_realtime"] for v in d["by_timbre"].values()), ".0f"),
      From(bench("corpus_speed"), lambda d: max(v["render_x_realtime"] for v in d["by_timbre"].values()), ".0f"),
      From(bench("corpus_speed"), "all_cores/render_x_realtime", ".0f"),
      From(bench("corpus_speed"), "composed/pieces", "d"),
      From(bench("corpus_speed"), "composed/compose_midi_ms", ".0f"),
      From(bench("corpus_speed"), "composed/compose_and_render_x_realtime", ".0f"))),
    ("Loading only the samples a piece plays renders {}× faster than loading the whole soundfont first",
     (From(bench("corpus_speed"), "sample_loading/speedup", ".2f"),)),
    # `make run` from a fresh clone (`make bench-run`)
    ("`make run` from a fresh clone of commit {id} took {} min (`benchmarks/results/fresh_clone_run.json`, "
     "rewritten by `make bench-run`): setup {}, the corpus stages {}, fine-tuning {} and the crisis screen's "
     "stage {} min",
     (From(bench("fresh_clone_run"), lambda d: d["commit"][:7], "s"),
      From(bench("fresh_clone_run"), "total_minutes", ".1f"),
      From(bench("fresh_clone_run"), "minutes/setup", ".1f"),
      From(bench("fresh_clone_run"), "corpus_stages_minutes", ".1f"),
      From(bench("fresh_clone_run"), "training_minutes", ".1f"),
      From(bench("fresh_clone_run"), "minutes/safety", ".1f"))),
    # the recipes tried on dev (metrics/emotion_candidates.json, `make candidates`)
    ("lexical part, the chosen recipe's dev macro-F1 was {} under seed 42 (shipped), {} and {}",
     tuple(From("metrics/emotion_candidates.json", f"{name}/dev/with_lexical/macro_f1", ".4f")
           for name in ("asl", "asl_seed43", "asl_seed44"))),
    ("under seeds 43 and 44; R-Drop on it gave {} and the three seeds distilled into one MiniLM {} "
     "(micro {} against {})",
     tuple(From("metrics/emotion_candidates.json", f"{name}/dev/with_lexical/{metric}", ".4f")
           for name, metric in (("asl_rdrop", "macro_f1"), ("asl_distill", "macro_f1"),
                                ("asl_distill", "micro_f1"), ("asl", "micro_f1")))),
    ("timings aside; reproduced: {id}).",
     (From(bench("fresh_clone_run"), "emotion/reproduces_committed", lambda ok: "yes" if ok else "no"),)),
    # the store on SQLite vs PostgreSQL (benchmarks/store_latency.py)
    ("`/session` p99 at 8 clients was {} ms on SQLite and {} ms on PostgreSQL (ratio {}; goal at most 1.5)",
     (From(bench("store_latency"), "stores/sqlite/session_c8/p99_ms", ".1f"),
      From(bench("store_latency"), "stores/postgresql/session_c8/p99_ms", ".1f"),
      From(bench("store_latency"), "session_p99_ratio_postgresql_to_sqlite", ".2f"))),
    # the ONNX int8 parity check (`emoheal bento import`)
    ("keeps the test split's macro-F1 ({} vs {} eager: `metrics/onnx_parity.json`",
     (From(PARITY, "parity/macro_f1/onnx-int8", ".4f"), From(PARITY, "parity/macro_f1/torch", ".4f"))),
]


def _pattern(phrase: str) -> re.Pattern:
    parts = re.split(r"(\{\}|\{id\})", " ".join(phrase.split()))
    return re.compile("".join(NUMBER if p == "{}" else IDENT if p == "{id}" else re.escape(p) for p in parts))


@pytest.mark.parametrize("phrase, sources", FIGURES, ids=[phrase[:60] for phrase, _ in FIGURES])
def test_readme_figure_matches_its_file(phrase, sources):
    pattern = _pattern(phrase)
    assert pattern.groups == len(sources), "the test's own table: one source per placeholder"
    found = pattern.findall(_readme())
    assert len(found) == 1, (f"README.md holds {len(found)} matches of {phrase!r}, not one: "
                             "reworded? update the phrase in FIGURES")
    shown = found[0] if isinstance(found[0], tuple) else (found[0],)
    wrong = [f"README says {got}, {source} gives {source.text()}"
             for got, source in zip(shown, sources, strict=True) if got != source.text()]
    assert not wrong, f"in {phrase!r}:\n" + "\n".join(wrong)


def test_every_file_the_figures_come_from_is_named_in_the_readme():
    """A reader can find where each figure comes from (and the command that rewrites it)."""
    readme = README.read_text(encoding="utf-8")
    files = sorted({source.file for _, sources in FIGURES for source in sources})
    assert [f for f in files if f not in readme] == []


def test_every_metrics_or_benchmark_file_the_readme_names_exists():
    readme = README.read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:metrics|benchmarks/results)/[\w./-]+\.json)`", readme))
    # run.json appears with the first `make reference` (it records that run)
    missing = sorted(p for p in named - {_reference_script().RUN_FILE} if not (ROOT / p).is_file())
    assert missing == []


def test_the_figures_describe_one_emotion_model():
    """The quoted retrieval, session, safety and parity figures were measured with the model the emotion
    table describes; after a retrain, each file names the command that brings it up to date."""
    version = _load(EMOTION)["model_version"]
    others = {SESSIONS + " (dvc repro)": _load(SESSIONS)["model_version"],
              SAFETY + " (dvc repro safety)": _load(SAFETY)["model"]["emotion_model"],
              PARITY + " (make bento-models)": _load(PARITY)["model_version"],
              RETRIEVAL_FULL + " (make reference)": _load(RETRIEVAL_FULL)["model_version"]}
    assert {name: v for name, v in others.items() if v != version} == {}, f"metrics/emotion.json: {version}"


# ---- the commands behind the files ----------------------------------------------------------------------


@functools.cache
def _reference_script():
    """pipelines/reference.py as a module (it is a script, not part of the package)."""
    return load_script("pipelines/reference.py", "reference_script")


def test_make_reference_writes_every_reference_file():
    """No file under metrics/reference/ that no command writes (they were once copied in by hand)."""
    script = _reference_script()
    written = {*script.COPIES.values(), script.RUN_FILE}
    present = {p.relative_to(ROOT).as_posix() for p in (ROOT / "metrics" / "reference").iterdir()}
    assert present <= written, f"not written by `make reference`: {sorted(present - written)}"
    assert set(script.COPIES) == {CORPUS, "metrics/retrieval.json"}  # the stages' own metrics files
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^reference: .*\n\t\$\(BIN\)/python pipelines/reference\.py$", makefile, re.M)


def test_reference_runs_the_full_corpus_as_a_temp_experiment():
    script = _reference_script()
    command = script.experiment_command("reference-full-x")
    assert command[:4] == ["dvc", "exp", "run", "--temp"]  # a temporary copy: the workspace is left alone
    assert "corpus=full" in command and {"corpus_emotion", "evaluate_retrieval"} <= set(command)


def test_reference_finds_its_experiment_by_name():
    script = _reference_script()
    refs = ("1111111 refs/exps/ab/cdef/reference-full-1\n"
            "2222222 refs/exps/ab/cdef/reference-full-2\n"
            "3333333 refs/exps/12/3456/other\n")
    assert script.find_experiment(refs, "reference-full-2") == "2222222"
    with pytest.raises(SystemExit, match="found 0"):
        script.find_experiment(refs, "reference-full-3")


def test_parity_metrics_keep_the_measurement_and_skip_a_missing_one(tmp_path):
    from emoheal.bento.parity_metrics import PARITY_FILE, parity_metrics, write_parity_metrics

    parity = {"rows": 3, "macro_f1": {"torch": 0.5, "onnx-int8": 0.51}}
    bundle = {"registered_model": "m", "registry_version": "2", "alias": "champion", "run_id": "r",
              "model_version": "v", "runtime": "onnx-int8", "tracking_uri": "sqlite:////somewhere", "parity": parity}
    content = parity_metrics(bundle)
    assert content["parity"] == parity and content["runtime"] == "onnx-int8" and content["registry_version"] == "2"
    assert "tracking_uri" not in content  # a path on the machine that ran it: no figure, and it would churn
    assert write_parity_metrics(bundle, tmp_path) == tmp_path / PARITY_FILE
    assert json.loads((tmp_path / PARITY_FILE).read_text()) == content
    # --no-onnx, or no test split: nothing measured, so a committed file stays as it was
    assert write_parity_metrics({**bundle, "parity": None}, tmp_path / "other") is None
    assert not (tmp_path / "other").exists()


def test_the_committed_parity_file_is_what_the_import_writes():
    from emoheal.bento.parity_metrics import PROVENANCE_KEYS

    committed = _load(PARITY)
    assert set(committed) == {*PROVENANCE_KEYS, "runtime", "command", "parity"}
    assert committed["parity"]["rows"] == _load(EMOTION)["test"]["rows"]  # the whole test split
