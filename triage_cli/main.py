"""The `triage` command: train, predict, evaluate and manage model versions."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_BAD_INPUT = 2


def _err(message: str) -> None:
    print(f"triage: {message}", file=sys.stderr)


def cmd_train(args) -> int:
    from training.schema import DataError
    from training.train import train

    eval_sets = {Path(p).stem: [Path(p)] for p in args.eval or []}
    try:
        model_dir = train(data=[Path(p) for p in args.data] if args.data else None, out=args.out,
                          eval_sets=eval_sets, activate=True if args.activate else None,
                          with_seed=args.with_seed, max_client_messages=args.opener_max_messages,
                          backend=args.backend)
    except DataError as exc:
        _err(str(exc))
        _err("nothing was trained")
        return EXIT_BAD_INPUT
    print(model_dir)
    return 0


def _open_in(path: str | None):
    return open(path, encoding="utf-8") if path and path != "-" else sys.stdin


def _open_out(path: str | None):
    return open(path, "w", encoding="utf-8") if path and path != "-" else sys.stdout


def cmd_predict(args) -> int:
    """JSONL in, JSONL out, one line per input line; bad lines get an error object, not a crash."""
    from triage.labels import MAX_TEXT_CHARS
    from triage.model import TriageModel, iter_batches

    model = _load_model(args.model)
    errors = 0

    def parsed(fh):
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, None, f"line {number}: not valid JSON ({exc.msg})"
                continue
            if not isinstance(obj, dict):
                yield number, None, f"line {number}: must be a JSON object"
            elif not isinstance(obj.get("text"), str):
                yield number, obj, f"line {number}: field 'text' is required and must be a string"
            elif not obj["text"].strip():
                yield number, obj, f"line {number}: field 'text' is empty"
            elif len(obj["text"]) > MAX_TEXT_CHARS:
                yield number, obj, (f"line {number}: field 'text' is {len(obj['text'])} characters; "
                                    f"the limit is {MAX_TEXT_CHARS}")
            else:
                yield number, obj, None

    with _open_in(args.input) as fin, _open_out(args.output) as fout:
        for batch in iter_batches(parsed(fin), args.batch_size):
            good = [(n, obj) for n, obj, e in batch if e is None]
            predictions = iter(model.predict([obj["text"] for _, obj in good])) if good else iter(())
            for number, obj, error in batch:
                if error:
                    errors += 1
                    _err(error)
                    record = {k: v for k, v in (obj or {}).items() if k != "text"}
                    record.update({"line": number, "error": error})
                else:
                    record = {k: v for k, v in obj.items() if k != "text"}
                    record.update(next(predictions))
                fout.write(json.dumps(record, ensure_ascii=False) + "\n")
            fout.flush()
    if errors:
        _err(f"{errors} line(s) could not be predicted (see the 'error' records)")
        return 1
    return 0


def cmd_evaluate(args) -> int:
    """Metrics per set, the plain baseline beside the model, and where the errors are. Without --data: the
    held-out splits, the challenge set and, where ../shared has it, the real-text measuring set."""
    from triage.artifacts import ArtifactError
    from training.baseline import load_baseline
    from training.data import held_out_sets, load_challenge, load_examples, load_real_dev, load_seed
    from training.evaluate import (breakdowns, evaluate, format_breakdown, format_comparison, format_metrics,
                                   targets_for)
    from training.schema import DataError

    try:
        if args.data:
            sets = {", ".join(args.data): load_examples([Path(p) for p in args.data])}
        else:
            sets = {**held_out_sets(load_seed()), "challenge set": load_challenge(), "real_dev": load_real_dev()}
    except DataError as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    model = _load_model(args.model)
    try:
        baseline = None if args.no_baseline else load_baseline(model.model_dir, model.manifest)
    except ArtifactError as exc:
        _err(f"{exc} (--no-baseline evaluates the model alone)")
        return EXIT_BAD_INPUT
    results = {}
    for name, examples in sets.items():
        if not examples:
            continue
        texts = [e.text for e in examples]
        gold = [e.labels() for e in examples]
        predictions = model.predict(texts)
        metrics = evaluate(gold, predictions, targets_for(name))
        metrics["model_version"] = model.version
        metrics["breakdown"] = breakdowns(examples, predictions)
        if baseline is not None:
            metrics["baseline"] = evaluate(gold, baseline.predict(texts))
        results[name] = metrics
    if args.json:
        print(json.dumps(results if not args.data else next(iter(results.values())), indent=2, ensure_ascii=False))
        return 0
    print(f"model {model.version} ({model.pipeline_label})")
    for name, metrics in results.items():
        print(format_metrics(name, metrics))
        if baseline is not None:
            print(format_comparison(metrics, metrics["baseline"]))
        else:
            print("(no plain baseline stored with this model: it was trained before baselines were saved)")
        for kind, table in metrics["breakdown"].items():
            print(format_breakdown(f"by {kind}", table))
        print()
    return 0


def cmd_models(args) -> int:
    from triage.artifacts import ArtifactError, active_version, list_versions, read_manifest
    from triage.settings import get_settings

    root = Path(get_settings().model_dir)
    active = active_version(root)
    if args.action == "list":
        versions = list_versions(root)
        if not versions:
            print(f"no models in {root}")
        for m in versions:
            test = next(iter(m.get("metrics", {}).values()), {})
            summary = (f"urgency macro-F1 {test['urgency']['macro_f1']:.3f}, acute recall "
                       f"{test['urgency']['acute_recall']:.3f}") if test else "no evaluation"
            mark = "*" if m["version"] == active else " "
            print(f"{mark} {m['version']}  {m['spacy_pipeline']['name']}  n_train={m['data']['n_train']}  {summary}")
        return 0
    if args.action == "active":
        if active is None:
            _err(f"no active model in {root}")
            return 1
        from triage.model import check_compatible
        from triage.nlp import PipelineError

        try:
            check_compatible(read_manifest(root / active), get_settings())
        except (ArtifactError, PipelineError) as exc:
            _err(str(exc))
            return 1
        print(active)
        return 0
    if args.action == "show":
        version = args.version or active
        if not version:
            _err("no version given and no active model")
            return 1
        try:
            print(json.dumps(read_manifest(root / version), indent=2, ensure_ascii=False))
        except ArtifactError as exc:
            _err(str(exc))
            return 1
        return 0
    if args.action in ("compare", "activate"):
        from training.data import load_examples
        from training.gate import GateError, activate, compare, default_sets
        from training.schema import DataError

        try:
            gold = load_examples([Path(p) for p in args.gold]) if args.gold else None
        except DataError as exc:
            _err(str(exc))
            return EXIT_BAD_INPUT
        try:
            if args.action == "compare":
                result = compare(root, args.version, against=args.against, sets=default_sets(gold))
            else:
                result = activate(root, args.version, force=args.force, reason=args.reason, sets=default_sets(gold))
        except GateError as exc:
            _print_comparison(exc.comparison.summary(), args.json)
            _err(str(exc))
            _err("use --force --reason '...' to activate anyway (recorded in the activation log)")
            return 1
        except (ArtifactError, ValueError) as exc:
            _err(str(exc))
            return EXIT_BAD_INPUT
        _print_comparison(result.summary(), args.json)
        if args.action == "activate":
            print(f"active model: {args.version}" + ("" if result.passed else " (forced; reason recorded)"))
        return 0 if result.passed or args.action == "activate" else 1
    return 2


def _print_comparison(summary: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    print(f"active {summary['active'] or '(none)'}  vs  candidate {summary['candidate']}")
    for name, rows in summary["sets"].items():
        print(f"  {name} (n={rows['candidate']['n']})")
        for key in ("role_macro_f1", "minor_f1", "urgency_macro_f1", "acute_recall", "acute_precision",
                    "share_called_acute", "acute_as_normal_or_low"):
            old = rows.get("active", {}).get(key, "")
            print(f"    {key:<24}{old!s:>10}{rows['candidate'][key]!s:>10}")
    verdict = "passes" if summary["passed"] else "FAILS: " + "; ".join(summary["failures"])
    print(f"  quality gate (margin {summary['margin']}): {verdict}")


def _load_model(model_dir: str | None):
    from triage.artifacts import ArtifactError
    from triage.model import TriageModel
    from triage.nlp import PipelineError

    try:
        return TriageModel.load(Path(model_dir) if model_dir else None)
    except (ArtifactError, PipelineError) as exc:
        _err(str(exc))
        raise SystemExit(EXIT_BAD_INPUT) from exc


def cmd_serve(args) -> int:
    from api.server import run

    return run(host=args.host, port=args.port)


def _service_settings():
    """The service's settings (TRIAGE_* and .env), or None after printing what is wrong."""
    from pydantic import ValidationError

    from api.settings import ApiSettings

    try:
        return ApiSettings()
    except ValidationError as exc:
        _err("invalid settings: " + "; ".join(f"TRIAGE_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}"
                                              for e in exc.errors()))
        return None


def _on_service_database(action) -> int:
    """Run action(settings) against the service database; database problems become clear errors."""
    from sqlalchemy.exc import SQLAlchemyError

    from api.db.session import DatabaseConfigError

    settings = _service_settings()
    if settings is None:
        return EXIT_BAD_INPUT
    try:
        return action(settings)
    except DatabaseConfigError as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        _err(f"database: {type(orig or exc).__name__}")
        return 1


def cmd_purge(args) -> int:
    """Close abandoned chats (TRIAGE_ABANDONED_HOURS) and delete client text past its retention
    (TRIAGE_RAW_RETENTION_DAYS) from the service database (api/retention.py)."""
    from api.retention import purge

    def run(settings) -> int:
        result = purge(settings, dry_run=args.dry_run)
        if args.json:
            print(json.dumps(result, indent=2))
            return 0
        would = "would " if args.dry_run else ""
        print(f"{would}close {result['disconnected']} chats untouched for {settings.abandoned_hours:g} h "
              f"(TRIAGE_ABANDONED_HOURS) as disconnected")
        print(f"raw text older than {result['cutoff']} (TRIAGE_RAW_RETENTION_DAYS={settings.raw_retention_days}"
              f"{'' if settings.store_raw_text else '; TRIAGE_STORE_RAW_TEXT is off: all raw text in audit records'}):")
        for what, n in result["cleared"].items():
            print(f"  {would}clear{'' if would else 'ed'} {n} {what}")
        print(f"  {would}empty{'' if would else 'ed'} quotes, features and override reasons of "
              f"{result['stripped']['chats']} chats ended before then ({result['stripped']['chat_events']} "
              f"override events)")
        return 0

    return _on_service_database(run)


def cmd_keys(args) -> int:
    """API keys stored in the service database: add (printed once), list, revoke."""
    from api.db.migrate import open_migrated
    from api.security import add_key, list_keys, revoke_key

    def run(settings) -> int:
        db = open_migrated(settings.resolved_database_url)
        try:
            if args.action == "add":
                try:
                    key_id, key = add_key(db, args.role, args.label or "")
                except ValueError as exc:
                    _err(str(exc))
                    return EXIT_BAD_INPUT
                if args.json:
                    print(json.dumps({"id": key_id, "role": args.role, "key": key}))
                else:
                    print(f"API key #{key_id} for role '{args.role}' ({' '.join(args.label.split())}):\n\n    {key}\n\n"
                          "Only its hash is stored: it cannot be shown again. A running server accepts it within "
                          f"{settings.key_cache_seconds:.0f} s.")
                return 0
            if args.action == "list":
                keys = list_keys(db)
                if args.json:
                    print(json.dumps(keys, indent=2))
                    return 0
                if not keys:
                    print("no stored API keys (keys from TRIAGE_API_KEYS are not stored)")
                for k in keys:
                    state = f"revoked {k['revoked_at'][:19]}" if k["revoked_at"] else "active"
                    print(f"#{k['id']:<4} {k['role']:<9} {k['key_id']}  {k['created_at'][:19]}  {state:<28} {k['label']}")
                return 0
            if not revoke_key(db, args.id):
                _err(f"no active stored API key #{args.id} (see `triage keys list`)")
                return EXIT_BAD_INPUT
            print(f"API key #{args.id} revoked; a running server refuses it within {settings.key_cache_seconds:.0f} s.")
            return 0
        finally:
            db.dispose()

    return _on_service_database(run)


def build_parser() -> argparse.ArgumentParser:
    from api.settings import ROLES
    from triage.backends import BACKENDS, DEFAULT_BACKEND

    parser = argparse.ArgumentParser(prog="triage", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a model on labelled JSONL")
    p.add_argument("--data", nargs="+", metavar="FILE", help="labelled JSONL files (default: the seed corpus train split)")
    p.add_argument("--eval", nargs="+", metavar="FILE", help="extra labelled JSONL files to evaluate on")
    p.add_argument("--out", type=Path, help="model directory to write (default: a new version under TRIAGE_MODEL_DIR)")
    p.add_argument("--activate", action="store_true", help="make the new model the active one (no quality gate)")
    p.add_argument("--with-seed", action="store_true",
                   help="also train on the seed corpus (and evaluate on its held-out split and the challenge set)")
    p.add_argument("--opener-max-messages", type=int, metavar="N",
                   help="for transcripts: use at most the first N client messages before the first advisor reply")
    p.add_argument("--backend", choices=list(BACKENDS), default=DEFAULT_BACKEND,
                   help=f"the model backend (default {DEFAULT_BACKEND}; recorded in the manifest)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="predict JSONL with a 'text' field; other fields are passed through")
    p.add_argument("--input", help="input JSONL (default: stdin)")
    p.add_argument("--output", help="output JSONL (default: stdout)")
    p.add_argument("--model", help="model directory (default: the active model)")
    p.add_argument("--batch-size", type=int, default=64, help="lines predicted together (default 64)")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", help="evaluate the model on labelled JSONL")
    p.add_argument("--data", nargs="+", metavar="FILE",
                   help="labelled JSONL (default: the held-out splits, the challenge set and ../shared/eval/real_dev.jsonl)")
    p.add_argument("--model", help="model directory (default: the active model)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--no-baseline", action="store_true",
                   help="skip the plain baseline stored with the model (shown beside the model by default)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("models", help="list, show, compare or activate model versions")
    p.add_argument("action", choices=["list", "show", "active", "compare", "activate"])
    p.add_argument("version", nargs="?", help="the model version (candidate for compare/activate)")
    p.add_argument("--against", help="compare: the version to compare with (default: the active one)")
    p.add_argument("--gold", nargs="+", metavar="FILE", help="reviewed gold records (exported JSONL) to compare on too")
    p.add_argument("--force", action="store_true", help="activate even if the quality gate fails (needs --reason)")
    p.add_argument("--reason", help="why a failing candidate is activated anyway (recorded)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)
    p = sub.add_parser("purge", help="close abandoned chats and delete client text past retention from the "
                                     "service database (run it hourly)")
    p.add_argument("--dry-run", action="store_true", help="only count what would be cleared")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    p.set_defaults(func=cmd_purge)

    p = sub.add_parser("keys", help="add, list or revoke API keys stored in the service database")
    keys = p.add_subparsers(dest="action", required=True)
    k = keys.add_parser("add", help="create a key for a role and print it once")
    k.add_argument("--role", required=True, choices=ROLES)
    k.add_argument("--label", required=True, help="who or what uses the key (e.g. 'chat platform', 'A. Jansen')")
    k.add_argument("--json", action="store_true")
    k = keys.add_parser("list", help="stored keys: id, role, key id, created, revoked, label (never the key)")
    k.add_argument("--json", action="store_true")
    k = keys.add_parser("revoke", help="revoke a stored key by its id")
    k.add_argument("id", type=int)
    p.set_defaults(func=cmd_keys)

    p = sub.add_parser("serve", help="run the triage API service (uvicorn)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "train" and args.with_seed and not args.data:
        _err("--with-seed goes with --data")
        return EXIT_BAD_INPUT
    if args.command == "models" and args.action in ("activate", "compare") and not args.version:
        _err(f"models {args.action} needs a VERSION")
        return EXIT_BAD_INPUT
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
