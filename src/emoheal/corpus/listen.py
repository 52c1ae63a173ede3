"""A listening page for the corpus (plots/corpus/listen.html): the same EMOPIA clips side by side
in every rendered timbre, and the composed pieces per goal and stage — each with a player, what it
was meant to be and what was measured, so a person can hear what the corpus holds.

The players point at the FLAC files where the pipeline wrote them (relative links: the page works
in the checkout that ran `make run`, and in any browser that plays FLAC — Chromium and Firefox do).
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

import pandas as pd

QUADRANT_WORDS = {1: "happy, lively (Q1)", 2: "tense, agitated (Q2)", 3: "sad, low (Q3)", 4: "calm, content (Q4)"}
CLIPS_PER_QUADRANT = 1


def _player(audio_path: str, page_dir: Path) -> str:
    src = os.path.relpath(Path(audio_path).resolve(), page_dir.resolve())
    return f'<audio controls preload="none" src="{html.escape(src)}"></audio>'


def _estimated(estimates: pd.DataFrame, item_id: str) -> str:
    if item_id not in estimates.index:
        return "not estimated"
    row = estimates.loc[item_id]
    return f"Q{int(row['quadrant_pred'])} (valence {row['valence']:+.2f}, arousal {row['arousal']:+.2f})"


def timbre_table(manifest: pd.DataFrame, estimates: pd.DataFrame, page_dir: Path) -> str:
    """One row per chosen test clip (one a quadrant), one column per timbre."""
    emopia = manifest[(manifest["source"] == "emopia") & manifest["timbre"].notna()]
    timbres = list(dict.fromkeys(emopia["timbre"]))
    complete = emopia.groupby("source_id")["timbre"].nunique() == len(timbres)
    pool = emopia[emopia["source_id"].isin(complete[complete].index) & (emopia["timbre"] == "piano")]
    pool = pool.sort_values(["split", "id"], key=lambda c: c.map({"test": 0, "val": 1, "train": 2}) if c.name ==
                            "split" else c)
    chosen = pool.groupby("quadrant", sort=True).head(CLIPS_PER_QUADRANT)
    by_render = emopia.set_index(["source_id", "timbre"])
    head = "".join(f"<th>{html.escape(t.replace('_', ' '))}</th>" for t in timbres)
    rows = []
    for clip in chosen.itertuples():
        cells = []
        for t in timbres:
            r = by_render.loc[(clip.source_id, t)]
            cells.append(f"<td>{_player(r['audio_path'], page_dir)}<br><small>estimated "
                         f"{html.escape(_estimated(estimates, r['id']))}</small></td>")
        label = QUADRANT_WORDS.get(int(clip.quadrant), "")
        rows.append(f"<tr><th>{html.escape(str(clip.source_id))}<br><small>annotated on piano: {label}"
                    f"</small></th>{''.join(cells)}</tr>")
    return f"<table><tr><th>clip</th>{head}</tr>{''.join(rows)}</table>"


def composed_table(manifest: pd.DataFrame, descriptors: pd.DataFrame, estimates: pd.DataFrame,
                   page_dir: Path) -> str:
    pieces = manifest[manifest["source"] == "composed"]
    d = descriptors.set_index("id") if len(descriptors) else pd.DataFrame()
    rows = []
    for piece in pieces.itertuples():
        spec = json.loads(piece.composition)
        intent = spec["intent"]
        measured = "not described"
        if piece.id in d.index:
            m = d.loc[piece.id]
            measured = f"{m['tempo_bpm']:.0f} BPM, {m['key']}"
        rows.append(
            f"<tr><td>{html.escape(intent['goal'])} / {html.escape(intent['stage'])}</td>"
            f"<td>{_player(piece.audio_path, page_dir)}</td>"
            f"<td>{html.escape(spec['key'])}, {spec['tempo_bpm']:g} BPM, "
            f"{html.escape(piece.timbre.replace('+', ' + '))}, {spec['seconds']:.0f} s; "
            f"meant Q{intent['quadrant']}</td>"
            f"<td>{html.escape(measured)}; estimated {html.escape(_estimated(estimates, piece.id))}</td></tr>")
    head = "<tr><th>goal / stage</th><th>listen</th><th>composed</th><th>measured</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>" if rows else "<p>No composed pieces in this corpus.</p>"


def write_listen_page(manifest: pd.DataFrame, descriptors: pd.DataFrame, estimates: pd.DataFrame,
                      path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    est = estimates.set_index("id") if len(estimates) else pd.DataFrame()
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>EmoHeal corpus: a listening check</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:80em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.4em;vertical-align:top;text-align:left}}audio{{width:14em}}</style></head>
<body><h1>What the corpus holds: a listening check</h1>
<p>Made by the <code>corpus_emotion</code> stage from <code>models/corpus/</code>. The players link to the
rendered FLAC files, so the page plays in the checkout that ran <code>make run</code>.</p>
<h2>One clip in every timbre</h2>
<p>EMOPIA clips (one per quadrant, from the song-disjoint test split when it holds them) rendered from the same
MIDI in each General MIDI program of <code>data/corpus/gm_programs.csv</code>. The quadrant was annotated
listening to the piano; the estimate is the clip-emotion model's for each render.</p>
{timbre_table(manifest, est, path.parent)}
<h2>Composed pieces</h2>
<p>Written by the rule-based composer for the calm and guide stages of each goal (licence: generated), with what
they were composed for and what was measured from the audio.</p>
{composed_table(manifest, descriptors, est, path.parent)}
</body></html>
"""
    path.write_text(page)
    return path
