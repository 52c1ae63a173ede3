"""`emoheal session`: words to three-stage music sessions, the crisis screen first."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from emoheal.cli._io import add_text_arguments, load_settings_file, print_lines, read_texts
from emoheal.cli.errors import UsageError

_MIX_FORMATS = {".flac": "flac", ".ogg": "ogg", ".opus": "ogg"}  # --render's suffix to render_mix's format


def register(sub: argparse._SubParsersAction) -> None:
    session = sub.add_parser("session", help="words to a three-stage music session (safety screen first)")
    add_text_arguments(session)
    session.add_argument("--goal", default="sleep", help="sleep (default), calm or uplift")
    session.add_argument("--minutes", type=float, help="session length (default 20)")
    session.add_argument("--lang", help="narrative language: en or zh (default: the text's)")
    session.add_argument("--locale", default=os.environ.get("EMOHEAL_LOCALE"),
                         help="crisis resources for this country (US, UK, IE, CA, AU, CN; default: serving.locale)")
    session.add_argument("--json", action="store_true", help="print a JSON list, one session per text, in order")
    session.add_argument("--user", help="a local name on this machine: personalise from, and record to, "
                         "--store (the API knows a person by a token instead: POST /users)")
    session.add_argument("--store", default=os.environ.get("EMOHEAL_STORE_URL"),
                         help="where sessions and ratings go: an SQLite file or a database URL "
                              "(default: EMOHEAL_STORE_URL, else none: nothing stored)")
    # the models default to the pipeline's outputs as --params names them (paths.*, safety.model)
    session.add_argument("--model", help="the emotion model folder (default: paths.model)")
    session.add_argument("--graph", help="the compiled graph (default: graph.json in paths.kg)")
    session.add_argument("--index", help="the retrieval index (default: index/ in paths.corpus)")
    session.add_argument("--safety-model", default=os.environ.get("EMOHEAL_SAFETY_MODEL"),
                         help="the crisis screen's risk classifier (default: safety.model)")
    session.add_argument("--seed", type=int, help="the same seed gives the same sequence of tracks "
                         "(default: a fresh one, printed)")
    session.add_argument("--render", metavar="PATH", help="also render the whole session to one audio file "
                         "(.flac, or .ogg/.opus for Opus), cross-fades applied, loudness-normalised")
    session.add_argument("--params", default="params.yaml",
                         help="composed params: the models' paths, the `retrieval` section that lays out the "
                              "tracks, the text limit and locale in `serving` (default: params.yaml)")
    session.add_argument("--check-in", choices=("yes", "no"),
                         help="your answer to the check-in question: are you thinking about harming yourself "
                              "right now? (asked at a terminal when the screen is unsure)")
    session.set_defaults(func=session_command)


def session_command(args: argparse.Namespace) -> int:
    """Words to sessions, one per text, in order. A text the screen is unsure about gets the
    check-in question first: asked at a terminal, else printed (answer it with --check-in)."""
    from emoheal.session.runner import RunnerPaths, SessionRunner, check_seed, check_text
    from emoheal.session.text import mix_line, session_lines

    texts = read_texts(args)
    settings = load_settings_file(args.params)
    for text in texts:  # bad input fails before any model loads
        check_text(text, settings.serving.max_text_chars)
    check_seed(args.seed)
    render_format = _render_format(args.render, len(texts))
    outputs = RunnerPaths.from_params(settings)
    paths = RunnerPaths(args.model or outputs.model, args.graph or outputs.graph, args.index or outputs.index,
                        args.safety_model or outputs.safety)
    runner = SessionRunner.from_params(settings, paths, store=args.store,
                                       **({"locale": args.locale} if args.locale else {}))
    if args.user is not None and runner.store is None:
        raise UsageError("--user needs --store: where its sessions and ratings go")
    profile = runner.store.people.local(args.user) if args.user is not None else None
    sessions = [_run_one(runner, text, args, profile) for text in texts]
    rendered = None
    if args.render and sessions[0]["stages"]:
        rendered = _render(runner, sessions[0], args.render, render_format)
        sessions[0]["mix"] = rendered
    if args.json:
        print(json.dumps(sessions, ensure_ascii=False, indent=2, default=float))
        return 0
    for i, s in enumerate(sessions, start=1):
        print_lines(session_lines(i, s))
    if rendered is not None:
        print(mix_line(rendered))
    elif args.render:
        print("    (no mix: there is no session to render)")
    return 0


def _run_one(runner: Any, text: str, args: argparse.Namespace, profile: str | None) -> dict:
    """One text's session; when the screen asks the check-in question and someone is at the
    terminal (and no JSON is wanted), ask it and run again with the answer."""
    session = runner.run(text, args.goal, args.minutes, args.lang, user=profile, check_in=args.check_in,
                         seed=args.seed)
    check_in = session["safety"].get("check_in")
    if not args.json and check_in and check_in["answer"] is None:
        answer = _ask_check_in(check_in)
        if answer is not None:
            session = runner.run(text, args.goal, args.minutes, args.lang, user=profile, check_in=answer,
                                 seed=args.seed)
    return session


def _render(runner: Any, session: dict, path: str, render_format: str | None) -> dict:
    from emoheal.session.mix import render_mix, timeline_tracks

    audio = dict(zip(runner.index.items["id"], runner.index.items["audio_path"]))
    return render_mix(timeline_tracks(session), lambda i: Path(audio[i]) if audio.get(i) else None,
                      path, render_format)


def _ask_check_in(question: dict) -> str | None:
    """The check-in question at a terminal: 'yes', 'no', or None when nobody can answer here."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return None
    while True:
        try:
            reply = input(f"    {question['question']} [yes/no] ").strip().lower()
        except EOFError:
            return None
        if reply in ("y", "yes", "n", "no"):
            return "yes" if reply.startswith("y") else "no"


def _render_format(path: str | None, texts: int) -> str | None:
    """The mix format from --render's suffix (.flac, or .ogg/.opus for Opus in Ogg)."""
    from emoheal.session.runner import SessionInputError

    if path is None:
        return None
    if texts != 1:
        raise SessionInputError("--render makes one file: give exactly one text", "invalid_input", "render")
    suffix = Path(path).suffix.lower()
    if suffix not in _MIX_FORMATS:
        raise SessionInputError(f"--render {path}: the file must end in .flac, .ogg or .opus", "invalid_input",
                                "render")
    return _MIX_FORMATS[suffix]
