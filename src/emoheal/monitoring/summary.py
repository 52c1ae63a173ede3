"""A monitoring summary (monitor.json, built by `run_monitor`) as lines for a terminal
(`emoheal monitor`): the window, each test with its meaning, the study answers and the notes."""

from __future__ import annotations

from typing import Any


def summary_lines(summary: dict[str, Any]) -> list[str]:
    records = summary["records"]
    lines = [f"{records['n']} records since {summary['window']['start'] or 'the beginning'} "
             f"({records['answered']} answered by the model) vs {summary['reference']['n']} reference records"]
    for test in summary["tests"]:
        lines.append(f"  {test['status']:<8} {test['name']}: {test['meaning']}")
        if test["status"] != "SUCCESS" and test["detail"]:
            lines.append(f"           {test['detail']}")
    study = summary["feedback"]["study"]
    if study["n"]:
        r = study["correlation"]
        lines.append(f"  study answers: n={study['n']}, reflected {study['reflected_mean']}, "
                     f"calmer {study['calmer_mean']}, r={r['r']} "
                     f"(95% CI {r['ci95']}; the paper reported {study['paper_r']})")
    lines.extend(f"  note: {note}" for note in summary.get("notes", []))
    return lines
