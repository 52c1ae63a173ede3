"""A `SessionPlan` as lines for a terminal (`emoheal kg plan`): per stage its span, emotional
coordinates, musical targets, the text prompt, the summary and every rule that moved a target.
Kept apart from planner.py, which is about planning, not showing."""

from __future__ import annotations

from emoheal.kg.planner import SessionPlan


def plan_lines(plan: SessionPlan) -> list[str]:
    lines = [f"{plan.goal} session, {plan.minutes:g} min ({plan.graph_version})"]
    for st in plan.stages:
        t = st.targets
        lines.append(f"  {st.name:<6} {st.start_minute:5.1f}-{st.end_minute:5.1f} min  valence {st.valence:+.2f} "
                     f"arousal {st.arousal:+.2f}  {t['tempo_bpm']:.0f} BPM, major {t['mode_major']:.2f}, "
                     f"{t['loudness_lufs']:.0f} LUFS ({t['dynamics']}), {t['density_onsets_per_s']:.1f} onsets/s")
        lines.append(f"         \"{st.prompt}\"")
        lines.append(f"         {st.explanation['summary']}")
        # the `target` rule only restates the goal's valence and arousal, already on the stage line
        lines.extend(f"         rule {rule['rule']}: {rule['detail']}"
                     for rule in st.explanation["rules"] if rule["rule"] != "target")
    return lines
