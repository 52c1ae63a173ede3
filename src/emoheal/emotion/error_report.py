"""The error analysis as one self-contained HTML page (no scripts, no external files)."""

from __future__ import annotations

from html import escape
from pathlib import Path

import numpy as np

from emoheal.emotion.error_analysis import ErrorAnalysis, LabelCalibration

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left;
vertical-align:top}th{background:#f4f4f4}.num{text-align:right;font-variant-numeric:tabular-nums}
.ex{font-size:13px;color:#333}.lab{font-size:12px;color:#555}.note{background:#fff8e1;padding:.6em 1em}
svg{background:#fafafa}
"""
_TEXT_CHARS = 220


def _reliability_svg(cal: LabelCalibration, size: int = 90) -> str:
    """Predicted probability (x) against observed rate (y); the diagonal is perfect calibration."""
    points = " ".join(f"{p * size:.1f},{(1 - r) * size:.1f}" for p, r, _ in cal.bins)
    dots = "".join(f'<circle cx="{p * size:.1f}" cy="{(1 - r) * size:.1f}" r="{1.5 + min(n, 400) ** 0.5 / 6:.1f}" '
                   f'fill="#3366cc" fill-opacity=".6"/>' for p, r, n in cal.bins)
    return (f'<svg width="{size}" height="{size}" role="img" aria-label="reliability of {escape(cal.label)}">'
            f'<line x1="0" y1="{size}" x2="{size}" y2="0" stroke="#bbb" stroke-dasharray="3"/>'
            f'<polyline points="{points}" fill="none" stroke="#3366cc"/>{dots}</svg>')


def _example(row: int, texts: list[str], y: np.ndarray, probs: np.ndarray, thresholds: np.ndarray,
             labels: list[str]) -> str:
    text = texts[row]
    if len(text) > _TEXT_CHARS:
        text = text[:_TEXT_CHARS] + "…"
    truth = ", ".join(labels[j] for j in np.flatnonzero(y[row])) or "(none)"
    predicted = ", ".join(f"{labels[j]} {probs[row, j]:.2f}" for j in np.argsort(-probs[row])
                          if probs[row, j] >= thresholds[j]) or "(none)"
    return (f'<div class="ex">“{escape(text)}”<br><span class="lab">dev row {row} · annotated: {escape(truth)} · '
            f'predicted: {escape(predicted)}</span></div>')


def render(analysis: ErrorAnalysis, texts: list[str], y: np.ndarray, probs: np.ndarray, thresholds: np.ndarray,
           model_version: str) -> str:
    labels = analysis.labels

    def ex(row: int) -> str:
        return _example(row, texts, y, probs, thresholds, labels)

    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>EmoHeal emotion model: "
             f"error analysis</title><style>{_STYLE}</style></head><body>",
             f"<h1>Where the emotion model still fails</h1><p>Model <code>{escape(model_version)}</code>, "
             f"{analysis.rows:,} GoEmotions <b>dev</b> texts. Written by the <code>error_analysis</code> stage "
             "(<code>make run</code> / <code>dvc repro error_analysis</code>).</p>",
             "<p class='note'>Dev only: the thresholds and temperature were tuned on these rows, so the figures "
             "are in-sample and describe the shape of the errors. The unbiased scores are test's, in "
             "<code>metrics/emotion.json</code>.</p>",
             "<h2>Labels most read as another</h2><p>Texts whose annotated label was missed while another label, "
             "not annotated, was predicted. Share: of the texts carrying the first label.</p>",
             "<table><tr><th>annotated</th><th>read as</th><th class='num'>texts</th><th class='num'>share</th>"
             "<th>clearest examples</th></tr>"]
    for c in analysis.confusions:
        shown = "".join(ex(r) for r in c.examples[:2])
        parts.append(f"<tr><td>{escape(c.true)}</td><td>{escape(c.read_as)}</td><td class='num'>{c.rows}</td>"
                     f"<td class='num'>{c.share_of_true:.1%}</td><td>{shown}</td></tr>")
    parts.append("</table><h2>Kinds of failure</h2>")
    for f in analysis.failures:
        parts.append(f"<h3>{escape(f.name)}: {f.rows:,} texts ({f.rows / max(analysis.rows, 1):.1%})</h3>"
                     f"<p>{escape(f.what)}.</p>{''.join(ex(r) for r in f.examples)}")
    parts.append("<h2>Calibration and F1 per label</h2><p>Temperature-scaled probabilities in ten bins: the "
                 "curve should follow the dashed diagonal (dot size: texts in the bin). ECE: the texts-weighted "
                 "gap between predicted probability and observed rate. Sorted by F1, weakest first.</p>"
                 "<table><tr><th>label</th><th class='num'>support</th><th class='num'>threshold</th>"
                 "<th class='num'>precision</th><th class='num'>recall</th><th class='num'>F1</th>"
                 "<th class='num'>ECE</th><th>reliability</th></tr>")
    for cal in sorted(analysis.calibration, key=lambda c: c.f1):
        parts.append(f"<tr><td>{escape(cal.label)}</td><td class='num'>{cal.support}</td>"
                     f"<td class='num'>{cal.threshold:.2f}</td><td class='num'>{cal.precision:.3f}</td>"
                     f"<td class='num'>{cal.recall:.3f}</td><td class='num'>{cal.f1:.3f}</td>"
                     f"<td class='num'>{cal.ece:.4f}</td><td>{_reliability_svg(cal)}</td></tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts)


def write_report(path: str | Path, html: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
