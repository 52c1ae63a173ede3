"""The `emoheal` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC
from pathlib import Path

from emoheal import __version__

EXIT_USAGE = 2


def _read_texts(args: argparse.Namespace) -> list[str]:
    texts = list(args.text)
    if args.file:
        path = Path(args.file)
        if str(path) == "-":
            lines = sys.stdin.read().splitlines()
        elif not path.is_file():
            raise SystemExit(f"emoheal: error: file not found: {path}")
        else:
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except UnicodeDecodeError:
                raise SystemExit(f"emoheal: error: {path} is not UTF-8 text") from None
        # one text per line; blank lines separate nothing and are skipped
        texts.extend(line for line in lines if line.strip())
    if not texts:
        raise SystemExit("emoheal: error: give at least one TEXT or --file")
    return texts


def cmd_detect(args: argparse.Namespace) -> int:
    from emoheal.emotion.artifacts import ModelFolderError
    from emoheal.emotion.predictor import EmotionPredictor, InvalidTextError, validate_texts

    texts = _read_texts(args)
    try:
        validate_texts(texts)  # before loading the model: bad input fails at once
        predictor = EmotionPredictor(args.model)
        predictions = predictor.predict(texts)
    except InvalidTextError as exc:
        print(f"emoheal: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ModelFolderError as exc:
        print(f"emoheal: error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([p.to_dict() for p in predictions], ensure_ascii=False, indent=2))
        return 0
    for i, p in enumerate(predictions, start=1):
        top = sorted(p.probabilities.items(), key=lambda kv: -kv[1])[:3]
        shown = ", ".join(f"{k} {v:.2f}" for k, v in top)
        note = " (truncated to the model's window)" if p.truncated else ""
        print(f"[{i}] {', '.join(p.labels) or '(none above threshold)'}  — top: {shown}{note}")
    calibrated = "" if predictor.calibrated else " (uncalibrated: no thresholds.json)"
    print(f"model {predictions[0].model_version}{calibrated}")
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    from hydra.errors import HydraException

    from emoheal.config import compose_params, write_params

    try:
        params = compose_params(args.overrides, args.config_dir)
    except (HydraException, FileNotFoundError) as exc:
        print(f"emoheal: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.output == "-":
        import yaml

        print(yaml.safe_dump(params, sort_keys=False), end="")
    else:
        write_params(params, args.output)
        print(f"wrote {args.output} (profile {params.get('profile')}, backbone {params['backbone']['name']})")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    import mlflow
    from mlflow import MlflowClient

    from emoheal.tracking.aliases import promote
    from emoheal.tracking.runs import tracking_uri

    mlflow.set_tracking_uri(tracking_uri())
    result = promote(MlflowClient(), args.model, args.metric, args.margin, dry_run=args.dry_run)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        verb = "would promote" if args.dry_run and result.promoted else ("promoted" if result.promoted else "kept")
        print(f"{verb}: {result.reason}")
    return 0 if result.promoted else 1


def cmd_bento_import(args: argparse.Namespace) -> int:
    from emoheal.bento.store import BundleError, import_models
    from emoheal.utils.io import load_params

    if not Path(args.params).is_file():
        print(f"emoheal: error: {args.params} not found: run `make params` (or `emoheal params -o params.yaml`)",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        tags = import_models(load_params(args.params), alias=args.alias, onnx=not args.no_onnx)
    except BundleError as exc:
        print(f"emoheal: error: {exc}", file=sys.stderr)
        return 1
    for part, tag in tags.items():
        print(f"imported {part}: {tag}")
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    """Exit 0 when every critical test passed, 1 when one failed, 2 when the monitor cannot run."""
    from datetime import datetime

    from emoheal.monitoring.monitor import MonitorInputError, run_monitor
    from emoheal.utils.io import load_params

    if not Path(args.params).is_file():
        print(f"emoheal: error: {args.params} not found: run `make params` (or `emoheal params -o params.yaml`)",
              file=sys.stderr)
        return EXIT_USAGE
    params = load_params(args.params)
    cfg = params["monitoring"]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = Path(args.out or Path(cfg["out_dir"]) / stamp)
    try:
        result = run_monitor(args.records or cfg["records_db"], args.reference or params["paths"]["monitoring"], out,
                             cfg, args.since or cfg["window"], log_mlflow=not args.no_mlflow)
    except (MonitorInputError, FileNotFoundError) as exc:
        print(f"emoheal: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    summary = result.summary
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        records = summary["records"]
        print(f"{records['n']} records since {summary['window']['start'] or 'the beginning'} "
              f"({records['answered']} answered by the model) vs {summary['reference']['n']} reference records")
        for test in summary["tests"]:
            print(f"  {test['status']:<8} {test['name']}: {test['meaning']}")
            if test["status"] != "SUCCESS" and test["detail"]:
                print(f"           {test['detail']}")
        study = summary["feedback"]["study"]
        if study["n"]:
            r = study["correlation"]
            print(f"  study answers: n={study['n']}, reflected {study['reflected_mean']}, "
                  f"calmer {study['calmer_mean']}, r={r['r']} "
                  f"(95% CI {r['ci95']}; the paper reported {study['paper_r']})")
        for note in summary.get("notes", []):
            print(f"  note: {note}")
        print(f"report: {out}/drift.html, {out}/monitor.json" + (" (logged to MLflow)" if not args.no_mlflow else ""))
    return 0 if result.passed else 1


def cmd_metrics(args: argparse.Namespace) -> int:
    """The headline figures of an evaluation, readable in a terminal."""
    path = Path(args.file)
    if not path.is_file():
        print(f"emoheal: error: {path} not found: run the pipeline first (make run)", file=sys.stderr)
        return 1
    m = json.loads(path.read_text(encoding="utf-8"))
    t = m["test"]
    print(f"model {m['model_version']} ({m['profile']} profile), thresholds {m['thresholds']}")
    print(f"  test ({t['rows']} texts): macro-F1 {t['macro_f1']:.4f}  micro-F1 {t['micro_f1']:.4f}  "
          f"weighted-F1 {t['weighted_f1']:.4f}")
    print(f"  Ekman groups macro-F1 {t['ekman']['macro_f1']:.4f}  sentiment macro-F1 {t['sentiment']['macro_f1']:.4f}")
    print(f"  calibration error (ECE) {t['ece_uncalibrated']:.4f} -> {t['ece_calibrated']:.4f} with temperature")
    for name, base in m.get("baselines", {}).items():
        print(f"  baseline {name}: macro-F1 {base['test']['macro_f1']:.4f}  micro-F1 {base['test']['micro_f1']:.4f}")
    worst = sorted(m["per_label"].items(), key=lambda kv: kv[1]["f1"])[:3]
    print("  weakest labels: " + ", ".join(f"{k} {v['f1']:.2f} (n={v['support']})" for k, v in worst))
    return 0


def _read_emotions(value: str) -> object:
    """--emotions takes JSON, @FILE with JSON, or '-' for JSON on stdin."""
    if value == "-":
        text = sys.stdin.read()
    elif value.startswith("@"):
        path = Path(value[1:])
        if not path.is_file():
            raise ValueError(f"file not found: {path}")
        text = path.read_text(encoding="utf-8")
    else:
        text = value
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--emotions is not valid JSON ({exc.msg} at character {exc.pos}); "
                         """expected e.g. '{"fear": 0.8, "nervousness": 0.4}'""") from None
    # `emoheal detect --json TEXT | emoheal kg plan --emotions -`: take the detector's probabilities
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict) and "probabilities" in value[0]:
        value = value[0]
    elif isinstance(value, list) and value and all(isinstance(v, dict) and "probabilities" in v for v in value):
        raise ValueError(f"--emotions holds {len(value)} detections: plan one text at a time")
    if isinstance(value, dict) and isinstance(value.get("probabilities"), dict):
        value = value["probabilities"]
    return value


def cmd_kg_plan(args: argparse.Namespace) -> int:
    from emoheal.kg import GraphFileError, PlanInputError, load_planner

    try:
        emotions = _read_emotions(args.emotions)
        planner = load_planner(args.graph)
        plan = planner.plan(emotions, args.goal, args.minutes)
    except (ValueError, PlanInputError) as exc:
        print(f"emoheal: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except GraphFileError as exc:
        print(f"emoheal: error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(plan.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print(f"{plan.goal} session, {plan.minutes:g} min ({plan.graph_version})")
    for st in plan.stages:
        t = st.targets
        print(f"  {st.name:<6} {st.start_minute:5.1f}-{st.end_minute:5.1f} min  valence {st.valence:+.2f} "
              f"arousal {st.arousal:+.2f}  {t['tempo_bpm']:.0f} BPM, major {t['mode_major']:.2f}, "
              f"{t['loudness_lufs']:.0f} LUFS ({t['dynamics']}), {t['density_onsets_per_s']:.1f} onsets/s")
        print(f"         \"{st.prompt}\"")
        print(f"         {st.explanation['summary']}")
        for rule in st.explanation["rules"]:
            if rule["rule"] != "target":
                print(f"         rule {rule['rule']}: {rule['detail']}")
    return 0


def cmd_kg_show(args: argparse.Namespace) -> int:
    from emoheal.kg.graph import GraphFileError, read_graph, summarise

    try:
        graph = read_graph(args.graph)
    except GraphFileError as exc:
        print(f"emoheal: error: {exc}", file=sys.stderr)
        return 1
    summary = summarise(graph)
    goals = [n for n in graph["nodes"] if n["type"] == "goal"]
    stages = sorted((n for n in graph["nodes"] if n["type"] == "stage"), key=lambda n: n["order"])
    if args.json:
        print(json.dumps({"version": summary.version, "hash": graph["hash"], "nodes": summary.nodes,
                          "edges": summary.edges, "goals": [g["label"] for g in goals],
                          "stages": [{k: s[k] for k in ("label", "share", "progress", "curve")} for s in stages],
                          "planner": graph["planner"], "inputs": graph["inputs"]}, indent=2))
        return 0
    print(f"knowledge graph {summary.version}")
    print("  nodes: " + ", ".join(f"{k} {v}" for k, v in summary.nodes.items()))
    print("  edges: " + ", ".join(f"{k} {v}" for k, v in summary.edges.items()))
    families: dict[str, list[str]] = {}
    for n in graph["nodes"]:
        if n["type"] == "emotion":
            families.setdefault(n["family"], []).append(n["label"])
    print("  emotions by family: " + "; ".join(f"{k} {len(v)}" for k, v in families.items()))
    print("  stages: " + ", ".join(f"{s['label']} {s['share']:.0%} (progress {s['progress']:g}, {s['curve']})"
                                   for s in stages))
    for g in goals:
        sets = {e["to"].removeprefix("param:"): e for e in graph["edges"]
                if e["from"] == g["id"] and e["kind"] == "sets"}
        tempo = sets["tempo_bpm"]
        print(f"  goal {g['label']}: valence {g['valence']:+.2f} arousal {g['arousal']:+.2f}, "
              f"{tempo['low']:g}-{tempo['high']:g} BPM, tempo step <= {g['max_tempo_step_bpm']:g} BPM, "
              f"ceiling {g['loudness_ceiling_lufs']:g} LUFS, arousal {g['arousal_direction']}")
    print(f"  planner: {json.dumps(graph['planner'])}")
    return 0


def cmd_kg_validate(args: argparse.Namespace) -> int:
    from emoheal.kg.compile import load_validated_rules
    from emoheal.kg.rules import KGValidationError

    try:
        rules = load_validated_rules(args.rules, args.raw)
    except KGValidationError as exc:
        print(f"emoheal: {exc}", file=sys.stderr)
        return 1
    counts = ", ".join(f"{len(rows)} {name}" for name, rows in rules.tables.items())
    print(f"{args.rules}: valid ({counts})")
    return 0


def cmd_clamp3_verify(args: argparse.Namespace) -> int:
    """Recompute an oracle folder's cases with our CLaMP 3 and compare (atol 1e-5)."""
    from emoheal.encoder.clamp3.checkpoint import CheckpointError
    from emoheal.encoder.clamp3.verify import TOLERANCE, FixtureError, check_full_keys, verify_fixture

    folder = Path(args.fixture)
    try:
        results = verify_fixture(folder)
    except (FixtureError, CheckpointError) as exc:
        print(f"emoheal: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    failed = 0
    for r in results:
        status = "ok" if r.ok else "FAIL"
        plan = "" if r.plan_matches else "  (segment plan differs)"
        print(f"{status:4}  {r.name:<18} max abs error {r.max_abs_error:.3e} over {r.tensors} tensor(s){plan}")
        failed += not r.ok
    keys = Path(args.keys) if args.keys else folder / "keys_full.json"
    if keys.is_file():
        problems = check_full_keys(keys)
        for line in problems[:20]:
            print(f"FAIL  full-size keys: {line}")
        if not problems:
            print(f"ok    full-size model (meta device) has exactly the keys and shapes of {keys.name}")
        failed += bool(problems)
    print(f"{len(results) - sum(not r.ok for r in results)}/{len(results)} cases within {TOLERANCE:g}"
          + ("" if not failed else f"; {failed} check(s) failed"))
    return 1 if failed else 0


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


def _print_session(i: int, s: dict) -> None:
    safety = s["safety"]
    waiting = bool(safety.get("check_in")) and safety["check_in"]["answer"] is None
    head = f"session {s['session_id'][:8]}" if s["stages"] else "no session"
    print(f"[{i}] {head} ({s['goal']})")
    if safety["level"] in ("high", "medium", "low") and safety["message"] and not waiting:
        print(f"    {safety['message']}")
    if waiting:
        print(f"    {safety['check_in']['question']}")
        print("    (answer with --check-in yes or --check-in no; the music starts only after an answer)")
    if safety["level"] in ("high", "medium", "low"):
        for r in safety["resources"]:
            print(f"      - {r['name']} ({r['contact']}): {r['how']}")
    if s.get("notice"):
        print(f"    {s['notice']}")
    if s["stages"]:
        print(f"    {s['prelude']}")
        for st in s["stages"]:
            tracks = st.get("tracks") or []
            if not st["item"]:
                what = f"(no suitable item: {st.get('reason') or 'nothing fits'})"
            elif len(tracks) > 1:
                what = f"{len(tracks)} tracks, from {st['item']['title']}"
            else:
                what = st["item"]["title"]
            print(f"    {st['name']:<6} {st['minutes']:.0f} min  {what}")
            print(f"           {st['narrative']}")
        print(f"    {s['epilogue']}")
        timeline = s.get("timeline")
        if timeline:
            print(f"    {timeline['tracks']} tracks, {timeline['filled_s'] / 60:.1f} of "
                  f"{timeline['requested_s'] / 60:.1f} min (seed {timeline['seed']})"
                  + (f"; short: {timeline['reason']}" if timeline.get("reason") else ""))


def cmd_session(args: argparse.Namespace) -> int:
    """Words to sessions, one per text, in order. A text the screen is unsure about gets the
    check-in question first: asked at a terminal, else printed (answer it with --check-in)."""
    from emoheal.retrieval.config import sequence_settings_from_params
    from emoheal.safety.encoder import SafetyModelError
    from emoheal.session.runner import RunnerPaths, SessionInputError, SessionRunner, check_seed, check_text

    texts = _read_texts(args)
    try:
        for text in texts:  # bad input fails before any model loads
            check_text(text)
        check_seed(args.seed)
        render_format = _render_format(args.render, len(texts))
        sequence = sequence_settings_from_params(args.params)
        runner = SessionRunner(RunnerPaths(args.model, args.graph, args.index, args.safety_model),
                               locale=args.locale, feedback_db=args.feedback_db, sequence=sequence)
        sessions = []
        for text in texts:
            session = runner.run(text, args.goal, args.minutes, args.lang, user=args.user, check_in=args.check_in,
                                 seed=args.seed)
            check_in = session["safety"].get("check_in")
            if not args.json and check_in and check_in["answer"] is None:
                answer = _ask_check_in(check_in)
                if answer is not None:
                    session = runner.run(text, args.goal, args.minutes, args.lang, user=args.user, check_in=answer,
                                         seed=args.seed)
            sessions.append(session)
    except SessionInputError as exc:
        print(f"emoheal: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (FileNotFoundError, SafetyModelError) as exc:
        print(f"emoheal: error: {exc}", file=sys.stderr)
        return 1
    rendered = None
    if args.render and sessions[0]["stages"]:
        from emoheal.session.mix import MixError, render_mix, timeline_tracks

        audio = dict(zip(runner.index.items["id"], runner.index.items["audio_path"]))
        try:
            rendered = render_mix(timeline_tracks(sessions[0]), lambda i: Path(audio[i]) if audio.get(i) else None,
                                  args.render, render_format)
        except MixError as exc:
            print(f"emoheal: error: {exc}", file=sys.stderr)
            return 1
        sessions[0]["mix"] = rendered
    if args.json:
        print(json.dumps(sessions, ensure_ascii=False, indent=2, default=float))
        return 0
    for i, s in enumerate(sessions, start=1):
        _print_session(i, s)
    if rendered is not None:
        print(f"    mix: {rendered['path']} ({rendered['duration_s'] / 60:.1f} min, {rendered['rate']} Hz"
              + (f"; {len(rendered['skipped'])} track(s) silent: file missing or unreadable" if rendered["skipped"]
                 else "") + ")")
    elif args.render:
        print("    (no mix: there is no session to render)")
    return 0


def _render_format(path: str | None, texts: int) -> str | None:
    """The mix format from --render's suffix (.flac, or .ogg/.opus for Opus in Ogg)."""
    from emoheal.session.runner import SessionInputError

    if path is None:
        return None
    if texts != 1:
        raise SessionInputError("--render makes one file: give exactly one text", "invalid_input", "render")
    suffix = Path(path).suffix.lower()
    formats = {".flac": "flac", ".ogg": "ogg", ".opus": "ogg"}
    if suffix not in formats:
        raise SessionInputError(f"--render {path}: the file must end in .flac, .ogg or .opus", "invalid_input",
                                "render")
    return formats[suffix]


def cmd_safety_screen(args: argparse.Namespace) -> int:
    """The crisis screen alone: a level, the scores and the reasons (pattern ids) per text, in order."""
    from emoheal.safety.encoder import SafetyModelError
    from emoheal.safety.screen import CrisisScreen
    from emoheal.session.runner import SessionInputError, check_text

    texts = _read_texts(args)
    try:
        for text in texts:
            check_text(text)
        screen = CrisisScreen(args.model)
    except SessionInputError as exc:
        print(f"emoheal: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SafetyModelError as exc:
        print(f"emoheal: error: {exc}", file=sys.stderr)
        return 1
    results = [screen.decide(a, locale=args.locale).to_dict() for a in screen.assess_many(texts)]
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
        return 0
    for i, r in enumerate(results, start=1):
        print(f"[{i}] {r['level']:<6}  risk {r['risk_score']:.2f}  severity {r['severity_score']:.2f}  "
              f"{'; '.join(r['reasons'][1:]) or '-'}")
    print(f"safety model {screen.version}")
    return 0


def cmd_safety_review(args: argparse.Namespace) -> int:
    """The GoEmotions comments the last `safety` stage flagged high and nobody has reviewed yet, with
    their public text, for the hand review in data/safety/review/ (id,real_risk,category,note)."""
    from emoheal.data.prepared import read_prepared
    from emoheal.utils.io import read_json

    try:
        everyday = read_json(args.metrics)["goemotions_test"]
        split = read_prepared(args.prepared, everyday["split"]).set_index("id")
    except (FileNotFoundError, KeyError) as exc:
        print(f"emoheal: error: {exc}: run `dvc repro safety` first", file=sys.stderr)
        return 1
    ids = everyday["flagged_ids"] if args.all else everyday["unreviewed"]
    for comment in ids:
        print(f"{comment}\t{split.loc[comment, 'text']}")
    print(f"{len(ids)} comment(s); {everyday['reviewed']} of {everyday['flagged_high']} flagged are reviewed in "
          f"{everyday['review_file']}", file=sys.stderr)
    return 0


def cmd_safety_check(args: argparse.Namespace) -> int:
    from emoheal.safety.corpus import main as check

    return check(["check", args.folder])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emoheal", description=__doc__)
    parser.add_argument("--version", action="version", version=f"emoheal {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    detect = sub.add_parser("detect", help="detect the 28 GoEmotions labels in texts")
    detect.add_argument("text", nargs="*", help="texts to analyse (each argument is one text)")
    detect.add_argument("--file", help="a UTF-8 file with one text per line ('-' for stdin)")
    detect.add_argument("--json", action="store_true", help="print a JSON list, one object per text, in order")
    detect.add_argument("--model", default=os.environ.get("EMOHEAL_EMOTION_MODEL", "models/emotion"),
                        help="trained model folder (default: models/emotion)")
    detect.set_defaults(func=cmd_detect)
    metrics = sub.add_parser("metrics", help="print the headline figures of the last evaluation")
    metrics.add_argument("--file", default="metrics/emotion.json")
    metrics.set_defaults(func=cmd_metrics)
    params = sub.add_parser("params", help="compose conf/ into a params file (as DVC does)")
    params.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. profile=ci backbone=tiny")
    params.add_argument("-o", "--output", default="params.yaml", help="file to write ('-' for stdout)")
    params.add_argument("--config-dir", default="conf")
    params.set_defaults(func=cmd_params)

    kg = sub.add_parser("kg", help="the music-therapy knowledge graph: plan a session, show, validate")
    kg_sub = kg.add_subparsers(dest="kg_command", required=True)
    graph_default = os.environ.get("EMOHEAL_KG", "models/kg/graph.json")
    kg_plan = kg_sub.add_parser("plan", help="plan three iso-principle stages from emotion probabilities")
    kg_plan.add_argument("--emotions", required=True,
                         help="""JSON mapping of GoEmotions labels to probabilities, e.g. '{"fear": 0.8}', """
                              "or one result of `emoheal detect --json`; @FILE reads it from a file, '-' from stdin")
    kg_plan.add_argument("--goal", help="sleep (default), calm or uplift")
    kg_plan.add_argument("--minutes", type=float, help="session length (default 20)")
    kg_plan.add_argument("--graph", default=graph_default, help="compiled graph (default: models/kg/graph.json)")
    kg_plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    kg_plan.set_defaults(func=cmd_kg_plan)
    kg_show = kg_sub.add_parser("show", help="summarise the compiled graph")
    kg_show.add_argument("--graph", default=graph_default)
    kg_show.add_argument("--json", action="store_true")
    kg_show.set_defaults(func=cmd_kg_show)
    kg_validate = kg_sub.add_parser("validate", help="check the curated CSV rules without compiling")
    kg_validate.add_argument("--rules", default="data/kg")
    kg_validate.add_argument("--raw", default="data/raw/goemotions", help="GoEmotions folder (label names)")
    kg_validate.set_defaults(func=cmd_kg_validate)

    session = sub.add_parser("session", help="words to a three-stage music session (safety screen first)")
    session.add_argument("text", nargs="*", help="texts (each argument is one text)")
    session.add_argument("--file", help="a UTF-8 file with one text per line ('-' for stdin)")
    session.add_argument("--goal", default="sleep", help="sleep (default), calm or uplift")
    session.add_argument("--minutes", type=float, help="session length (default 20)")
    session.add_argument("--lang", help="narrative language: en or zh (default: the text's)")
    session.add_argument("--locale", default=os.environ.get("EMOHEAL_LOCALE", "US"),
                         help="crisis resources for this country (US, UK, IE, CA, AU, CN)")
    session.add_argument("--json", action="store_true", help="print a JSON list, one session per text, in order")
    session.add_argument("--user", help="a pseudonymous user id: personalise from, and record to, --feedback-db")
    session.add_argument("--feedback-db", default=os.environ.get("EMOHEAL_FEEDBACK_DB"),
                         help="SQLite file for sessions and ratings (default: none, nothing stored)")
    session.add_argument("--model", default="models/emotion")
    session.add_argument("--graph", default="models/kg/graph.json")
    session.add_argument("--index", default="models/corpus/index")
    session.add_argument("--safety-model", default=os.environ.get("EMOHEAL_SAFETY_MODEL", "models/safety"),
                         help="the crisis screen's risk classifier (default: models/safety)")
    session.add_argument("--seed", type=int, help="the same seed gives the same sequence of tracks "
                         "(default: a fresh one, printed)")
    session.add_argument("--render", metavar="PATH", help="also render the whole session to one audio file "
                         "(.flac, or .ogg/.opus for Opus), cross-fades applied, loudness-normalised")
    session.add_argument("--params", default="params.yaml",
                         help="composed params whose `retrieval` section lays out the tracks (default: params.yaml)")
    session.add_argument("--check-in", choices=("yes", "no"),
                         help="your answer to the check-in question: are you thinking about harming yourself "
                              "right now? (asked at a terminal when the screen is unsure)")
    session.set_defaults(func=cmd_session)

    safety = sub.add_parser("safety", help="the crisis screen: screen texts, check the curated risk corpus")
    safety_sub = safety.add_subparsers(dest="safety_command", required=True)
    safety_screen = safety_sub.add_parser("screen", help="the level, scores and reasons for texts (no session)")
    safety_screen.add_argument("text", nargs="*", help="texts (each argument is one text)")
    safety_screen.add_argument("--file", help="a UTF-8 file with one text per line ('-' for stdin)")
    safety_screen.add_argument("--model", default=os.environ.get("EMOHEAL_SAFETY_MODEL", "models/safety"))
    safety_screen.add_argument("--locale", default=os.environ.get("EMOHEAL_LOCALE", "US"))
    safety_screen.add_argument("--json", action="store_true", help="a JSON list, one result per text, in order")
    safety_screen.set_defaults(func=cmd_safety_screen)
    safety_review = safety_sub.add_parser("review", help="GoEmotions test comments flagged high and not yet "
                                                         "reviewed by hand (id, text)")
    safety_review.add_argument("--metrics", default="metrics/safety.json")
    safety_review.add_argument("--prepared", default="data/prepared/goemotions")
    safety_review.add_argument("--all", action="store_true", help="every flagged comment, reviewed or not")
    safety_review.set_defaults(func=cmd_safety_review)
    safety_check = safety_sub.add_parser("check", help="validate the risk corpus and the frozen held-out file")
    safety_check.add_argument("folder", nargs="?", default="data/safety")
    safety_check.set_defaults(func=cmd_safety_check)

    promote = sub.add_parser("promote", help="move the registry's champion alias to the challenger if it is "
                                             "better on the test metrics by a margin (exit 1 when it is not)")
    promote.add_argument("--model", default="emoheal-emotion", help="registered model (default: emoheal-emotion)")
    promote.add_argument("--metric", default="test.macro_f1", help="run metric to compare (default: test.macro_f1)")
    promote.add_argument("--margin", type=float, default=0.005, help="required gain (default: 0.005)")
    promote.add_argument("--dry-run", action="store_true", help="say what would happen, change nothing")
    promote.add_argument("--json", action="store_true", help="the decision as JSON")
    promote.set_defaults(func=cmd_promote)

    monitor = sub.add_parser("monitor", help="compare the service's recent records with the reference (Evidently "
                                             "drift report + tests, feedback quality); exit 1 when a test fails")
    monitor.add_argument("--since", help="window start: a span (90m, 24h, 7d, 2w), an ISO date/time, or all "
                                         "(default: monitoring.window)")
    monitor.add_argument("--records", help="records store (default: monitoring.records_db)")
    monitor.add_argument("--reference", help="reference folder (default: paths.monitoring)")
    monitor.add_argument("--out", help="output folder (default: monitoring.out_dir/<UTC time>)")
    monitor.add_argument("--params", default="params.yaml", help="composed parameters (monitoring section)")
    monitor.add_argument("--no-mlflow", action="store_true", help="write the files only; log no MLflow run")
    monitor.add_argument("--json", action="store_true", help="print the summary as JSON")
    monitor.set_defaults(func=cmd_monitor)

    bento = sub.add_parser("bento", help="packaging for the BentoML service")
    bento_sub = bento.add_subparsers(dest="bento_command", required=True)
    bento_import = bento_sub.add_parser(
        "import", help="put the MLflow champion model (+ its ONNX export), graph, index and media into the "
                       "BentoML model store ($BENTOML_HOME)")
    bento_import.add_argument("--alias", default="champion", help="registry alias to serve (default: champion)")
    bento_import.add_argument("--params", default="params.yaml", help="composed parameters (paths, serving)")
    bento_import.add_argument("--no-onnx", action="store_true", help="serve eager PyTorch: skip the ONNX export")
    bento_import.set_defaults(func=cmd_bento_import)

    clamp3 = sub.add_parser("clamp3", help="the CLaMP 3 encoder: prove fidelity against an oracle")
    clamp3_sub = clamp3.add_subparsers(dest="clamp3_command", required=True)
    verify = clamp3_sub.add_parser("verify", help="recompute an oracle folder's cases and compare (atol 1e-5)")
    verify.add_argument("--fixture", required=True, help="oracle folder: config.json, weights.safetensors, "
                                                         "cases.safetensors, cases.json (and keys_full.json)")
    verify.add_argument("--keys", help="keys_full.json to check the full-size model against "
                                       "(default: the one in the fixture folder)")
    verify.set_defaults(func=cmd_clamp3_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
