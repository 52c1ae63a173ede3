"""A session (the dict `SessionRunner.run` returns) as lines for a terminal (`emoheal session`):
the safety answer first, then the stages with their narratives, the timeline and the mix."""

from __future__ import annotations

from typing import Any

_ANSWERED_LEVELS = ("high", "medium", "low")  # levels whose answer carries a message and crisis resources


def session_lines(number: int, session: dict[str, Any]) -> list[str]:
    safety = session["safety"]
    waiting = bool(safety.get("check_in")) and safety["check_in"]["answer"] is None
    head = f"session {session['session_id'][:8]}" if session["stages"] else "no session"
    lines = [f"[{number}] {head} ({session['goal']})"]
    if safety["level"] in _ANSWERED_LEVELS and safety["message"] and not waiting:
        lines.append(f"    {safety['message']}")
    if waiting:
        lines.append(f"    {safety['check_in']['question']}")
        lines.append("    (answer with --check-in yes or --check-in no; the music starts only after an answer)")
    if safety["level"] in _ANSWERED_LEVELS:
        lines.extend(f"      - {r['name']} ({r['contact']}): {r['how']}" for r in safety["resources"])
    if session.get("notice"):
        lines.append(f"    {session['notice']}")
    if session["stages"]:
        lines.extend(_stage_lines(session))
    return lines


def _stage_lines(session: dict[str, Any]) -> list[str]:
    lines = [f"    {session['prelude']}"]
    for st in session["stages"]:
        tracks = st.get("tracks") or []
        if not st["item"]:
            what = f"(no suitable item: {st.get('reason') or 'nothing fits'})"
        elif len(tracks) > 1:
            what = f"{len(tracks)} tracks, from {st['item']['title']}"
        else:
            what = st["item"]["title"]
        lines.append(f"    {st['name']:<6} {st['minutes']:.0f} min  {what}")
        lines.append(f"           {st['narrative']}")
    lines.append(f"    {session['epilogue']}")
    timeline = session.get("timeline")
    if timeline:
        lines.append(f"    {timeline['tracks']} tracks, {timeline['filled_s'] / 60:.1f} of "
                     f"{timeline['requested_s'] / 60:.1f} min (seed {timeline['seed']})"
                     + (f"; short: {timeline['reason']}" if timeline.get("reason") else ""))
    return lines


def mix_line(rendered: dict[str, Any]) -> str:
    """The rendered mix (`render_mix`'s answer): where, how long, and how many tracks stayed silent."""
    silent = (f"; {len(rendered['skipped'])} track(s) silent: file missing or unreadable" if rendered["skipped"]
              else "")
    return f"    mix: {rendered['path']} ({rendered['duration_s'] / 60:.1f} min, {rendered['rate']} Hz{silent})"
