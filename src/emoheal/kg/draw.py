"""Drawings of the compiled graph: a PNG for reports and a self-contained interactive HTML
page (inline SVG and a few lines of script, no CDN) that an analyst opens in a browser:
hover for the sources, click a node to see its edges, filter by kind or name."""

from __future__ import annotations

import html
import io
import json
from pathlib import Path
from typing import Any

# Columns, left to right, follow the data flow of a plan.
_COLUMN = {"emotion": 0, "gems": 1, "parameter": 2, "timbre": 2, "goal": 3, "stage": 4}
_COLOUR = {"emotion": "#e07a5f", "gems": "#3d85c6", "parameter": "#6aa84f", "timbre": "#76a5af",
           "goal": "#8e7cc3", "stage": "#f1c232"}
_EDGE_COLOUR = {"evokes": "#e07a5f", "aims_at": "#8e7cc3", "sets": "#9e9e9e", "prefers": "#38761d",
                "avoids": "#cc0000", "defines": "#8e7cc3", "precedes": "#bf9000"}
_FAMILY_ORDER = ("joy", "surprise", "neutral", "sadness", "fear", "anger", "disgust")


def layout(graph: dict[str, Any], width: float = 1400, height: float = 1100) -> dict[str, tuple[float, float]]:
    """Deterministic layered positions: one column per node type."""
    columns: dict[int, list[dict]] = {}
    for node in graph["nodes"]:
        columns.setdefault(_COLUMN[node["type"]], []).append(node)
    columns[0].sort(key=lambda n: (_FAMILY_ORDER.index(n["family"]), n["label"]))
    pos: dict[str, tuple[float, float]] = {}
    margin_x, margin_y = 110, 40
    step_x = (width - 2 * margin_x) / (len(_COLUMN) - 2)
    for col, nodes in columns.items():
        step_y = (height - 2 * margin_y) / max(len(nodes) - 1, 1)
        offset = 0 if len(nodes) > 1 else (height - 2 * margin_y) / 2
        for i, node in enumerate(nodes):
            pos[node["id"]] = (margin_x + col * step_x, margin_y + offset + i * step_y)
    return pos


def _edge_width(edge: dict) -> float:
    if edge["kind"] == "avoids":
        return 1.0
    return 0.4 + 3.0 * abs(edge.get("weight", 0.3))


def draw_png(graph: dict[str, Any], path: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    pos = layout(graph)
    fig, ax = plt.subplots(figsize=(16, 12.5), dpi=90)
    for edge in graph["edges"]:
        (x0, y0), (x1, y1) = pos[edge["from"]], pos[edge["to"]]
        ax.plot([x0, x1], [y0, y1], color=_EDGE_COLOUR[edge["kind"]], alpha=0.35 if edge["kind"] != "sets" else 0.12,
                linewidth=_edge_width(edge) if edge["kind"] != "sets" else 0.5,
                linestyle="--" if edge["kind"] == "avoids" else "-", zorder=1)
    for node in graph["nodes"]:
        x, y = pos[node["id"]]
        ax.scatter([x], [y], s=140, color=_COLOUR[node["type"]], edgecolors="black", linewidths=0.5, zorder=2)
        right = node["type"] in ("emotion",)
        ax.text(x + (-10 if right else 10), y, node["label"], ha="right" if right else "left", va="center",
                fontsize=8, zorder=3)
    ax.invert_yaxis()
    ax.axis("off")
    handles = [Line2D([0], [0], marker="o", color="w", markerfacecolor=c, markersize=9, label=t)
               for t, c in _COLOUR.items()]
    handles += [Line2D([0], [0], color=c, label=k, linestyle="--" if k == "avoids" else "-")
                for k, c in _EDGE_COLOUR.items()]
    ax.legend(handles=handles, loc="lower center", ncol=7, fontsize=8, frameon=False, bbox_to_anchor=(0.5, -0.04))
    ax.set_title(f"EmoHeal knowledge graph {graph['hash'][:12]}: emotions -> GEMS -> musical parameters and "
                 "timbres <- goals -> stages", fontsize=11)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    # a 128-colour palette keeps the git-tracked image small (~5x) with no visible loss
    from PIL import Image

    Image.open(buffer).convert("RGB").quantize(colors=128).save(path, optimize=True)


def _tooltip(item: dict, skip: tuple[str, ...]) -> str:
    return "\n".join(f"{k}: {v}" for k, v in item.items() if k not in skip)


_SCRIPT = """
const svg = document.getElementById('kg');
const panel = document.getElementById('details');
const edges = [...svg.querySelectorAll('line')];
const nodes = [...svg.querySelectorAll('g.node')];
function applyFilters() {
  const kinds = new Set([...document.querySelectorAll('input[data-kind]')].filter(c => c.checked)
    .map(c => c.dataset.kind));
  const q = document.getElementById('search').value.trim().toLowerCase();
  edges.forEach(e => e.style.display = kinds.has(e.dataset.kind) ? '' : 'none');
  nodes.forEach(n => n.style.opacity = (!q || n.dataset.id.toLowerCase().includes(q)) ? 1 : 0.15);
}
function select(id) {
  const mine = edges.filter(e => e.dataset.from === id || e.dataset.to === id);
  const near = new Set([id, ...mine.flatMap(e => [e.dataset.from, e.dataset.to])]);
  edges.forEach(e => e.classList.toggle('dim', !mine.includes(e)));
  nodes.forEach(n => n.classList.toggle('dim', !near.has(n.dataset.id)));
  const node = nodes.find(n => n.dataset.id === id);
  const rows = mine.map(e => `<li><b>${e.dataset.kind}</b> ${e.dataset.from} &rarr; ${e.dataset.to}` +
    (e.dataset.weight ? ` (weight ${e.dataset.weight})` : '') + (e.dataset.value ? ` (value ${e.dataset.value})` : '') +
    `<br><small>${e.dataset.source || ''}</small></li>`).join('');
  panel.innerHTML = `<h2>${id}</h2><pre>${node.querySelector('title').textContent}</pre>` +
    `<h3>${mine.length} edges</h3><ul>${rows}</ul>`;
}
nodes.forEach(n => {
  n.addEventListener('click', () => select(n.dataset.id));
  n.addEventListener('keydown', ev => { if (ev.key === 'Enter' || ev.key === ' ') select(n.dataset.id); });
});
document.querySelectorAll('input').forEach(i => i.addEventListener('input', applyFilters));
document.getElementById('reset').addEventListener('click', () => {
  edges.forEach(e => e.classList.remove('dim')); nodes.forEach(n => n.classList.remove('dim'));
  panel.innerHTML = '<p>Click a node to list its edges and their sources.</p>';
});
"""


def draw_html(graph: dict[str, Any], path: str | Path) -> None:
    width, height = 1400, 1100
    pos = layout(graph, width, height)
    esc = html.escape
    lines = []
    for edge in graph["edges"]:
        (x0, y0), (x1, y1) = pos[edge["from"]], pos[edge["to"]]
        attrs = {"data-from": edge["from"], "data-to": edge["to"], "data-kind": edge["kind"],
                 "data-source": edge.get("source", "")}
        if "weight" in edge:
            attrs["data-weight"] = f"{edge['weight']:g}"
        if "value" in edge:
            attrs["data-value"] = f"{edge['value']:g}"
        data = " ".join(f'{k}="{esc(str(v))}"' for k, v in attrs.items())
        dash = ' stroke-dasharray="5,4"' if edge["kind"] == "avoids" else ""
        lines.append(f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" '
                     f'stroke="{_EDGE_COLOUR[edge["kind"]]}" stroke-width="{_edge_width(edge):.2f}"{dash} {data}>'
                     f"<title>{esc(_tooltip(edge, ()))}</title></line>")
    circles = []
    for node in graph["nodes"]:
        x, y = pos[node["id"]]
        anchor, dx = ("end", -11) if node["type"] == "emotion" else ("start", 11)
        circles.append(
            f'<g class="node" tabindex="0" role="button" aria-label="{esc(node["id"])}" data-id="{esc(node["id"])}">'
            f'<title>{esc(_tooltip(node, ()))}</title>'
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="8" fill="{_COLOUR[node["type"]]}" stroke="#222"/>'
            f'<text x="{x + dx:.1f}" y="{y + 4:.1f}" text-anchor="{anchor}">{esc(node["label"])}</text></g>')
    kinds = "".join(f'<label><input type="checkbox" data-kind="{k}" checked> '
                    f'<span style="color:{c}">{k}</span></label> ' for k, c in _EDGE_COLOUR.items())
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>EmoHeal knowledge graph {graph['hash'][:12]}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0; display: flex; flex-wrap: wrap; }}
#main {{ flex: 3 1 800px; }} #details {{ flex: 1 1 300px; padding: 1em; max-height: 100vh; overflow: auto; }}
header {{ padding: .5em 1em; }} svg {{ width: 100%; height: auto; }}
line {{ opacity: .45; }} line.dim {{ opacity: .04; }} g.dim {{ opacity: .2; }}
g.node {{ cursor: pointer; }} g.node:focus circle {{ stroke-width: 3; }}
text {{ font-size: 12px; }} pre {{ white-space: pre-wrap; font-size: 12px; }} li {{ margin-bottom: .4em; }}
</style></head><body>
<div id="main"><header><h1>Knowledge graph <code>{graph['hash'][:12]}</code></h1>
<p>{len(graph['nodes'])} nodes, {len(graph['edges'])} edges. Columns: emotions &rarr; GEMS factors &rarr;
musical parameters and timbres &larr; goals &rarr; stages. Hover for sources; click a node for its edges.</p>
<p><label>Find node <input id="search" type="search" placeholder="e.g. fear"></label>
<button id="reset" type="button">Clear selection</button> {kinds}</p></header>
<svg id="kg" viewBox="0 0 {width} {height}" role="img" aria-label="knowledge graph">
<g>{''.join(lines)}</g><g>{''.join(circles)}</g></svg></div>
<aside id="details" aria-live="polite"><p>Click a node to list its edges and their sources.</p></aside>
<script type="application/json" id="graph-meta">{esc(json.dumps({'hash': graph['hash']}))}</script>
<script>{_SCRIPT}</script>
</body></html>
"""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(page, encoding="utf-8")
