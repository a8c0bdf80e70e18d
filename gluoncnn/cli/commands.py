"""The ``gluoncnn`` subcommands: each parses nothing, calls the library, prints."""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from typing import Any, Callable

from .. import runs
from ..config import TrainConfig, budget_lifts_epochs
from .parser import (
    CLIError,
    _add_data_args,
    _add_model_args,
    _add_train_args,
    _explicit_dests,
    _settings,
    parse_input_shape,
    train_config,
)


def _say(*args, **kwargs) -> None:
    print(*args, **kwargs, flush=True)


def _write_json(path: str, obj: Any) -> None:
    from ..utils import atomic_write_text
    atomic_write_text(path, json.dumps(obj, indent=2, default=str) + "\n")


# ----------------------------------------------------------------------------- train

def cmd_train(args: argparse.Namespace, argv: list[str]) -> int:
    if args.resume and args.config:
        raise CLIError("--resume continues the run in --out with its own settings: drop "
                       "--config (give the settings to change as flags)")
    if args.resume:
        given = _explicit_dests(argv, _add_train_args)
        settings = budget_lifts_epochs(_settings(args, given), given)
        if args.print_config:
            _say(runs.merge_resume(runs.read_run(args.out), settings, args.out)[0].to_json(),
                 end="")
            return 0
    else:
        settings = train_config(args, argv)
        if args.print_config:
            _say(settings.to_json(), end="")
            return 0
    if args.find_lr:
        return _find_lr(args, settings)
    plan = runs.plan_training(args.out, settings, resume=args.resume, overwrite=args.overwrite,
                              command=["gluoncnn", "train", *argv])
    _say(plan.describe())
    result = runs.run_training(plan, plot=args.plot, say=_say)
    out = shlex.quote(result.folder)
    if result.status == "interrupted":
        last = runs.last_checkpoint(result.folder)
        print(f"interrupted; checkpoint at {result.checkpoint or result.folder}"
              + (f" (last complete epoch: {last})" if last else "")
              + f"; continue with: gluoncnn train --out {out} --resume", file=sys.stderr)
        return 130  # as a shell reports SIGINT
    if not plan.chief:
        return 0
    files = result.files
    _say(f"saved in {result.folder}:")
    for label, key in (("parameters", "params"), ("history", "history_csv"),
                       ("", "history_json"), ("curves", "curves"), ("best", "best"),
                       ("checkpoints", "checkpoints"), ("settings", "run")):
        if files.get(key):
            _say(f"  {label:<12}{files[key]}")
    longer = "--budget TIME" if plan.config.budget else "--epochs N"
    _say(f"next: gluoncnn eval --run {out}   |   gluoncnn train --out {out} --resume {longer}")
    return 0


def _find_lr(args: argparse.Namespace, config: TrainConfig) -> int:
    if args.resume:
        raise CLIError("--find-lr tests learning rates on a new model: drop --resume")
    result = runs.find_lr(config)
    result.plot(args.find_lr)
    _say(result)
    _say(f"plot: {args.find_lr}")
    _say(f"next: gluoncnn train ... --lr {result.suggestion:.2g}")
    return 0


# ----------------------------------------------------------------------------- eval

_FROM_RUN = ("model", "classes", "in_channels", "small_input", "model_options", "dataset",
             "data_root", "resize", "normalize", "sample", "test_size")


def _eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run")
    p.add_argument("--model")
    p.add_argument("--params")
    p.add_argument("--pretrained")
    _add_model_args(p, "")
    _add_data_args(p, train=False)


def _settings_from_run(args: argparse.Namespace, argv: list[str],
                       add_args: Callable) -> TrainConfig:
    """The run's config for eval/export: ``--run``'s model and data settings, with the options
    given now on top; fills ``args.params`` from the run (refused when the folder's files
    disagree)."""
    settings = _settings(args)
    if args.run:
        run = runs.run_config(runs.read_run(args.run), args.run)
        explicit = _explicit_dests(argv, add_args)
        settings.update({k: getattr(run, k) for k in _FROM_RUN if k not in explicit})
        args.params = args.params or runs.check_finished(args.run)
    return TrainConfig(**settings)


def cmd_eval(args: argparse.Namespace, argv: list[str]) -> int:
    from ..metrics import classification_report
    from ..train import evaluate
    from ..train import parse_ctx as train_parse_ctx
    if args.json_out:  # said now, not after the whole evaluation
        runs.check_writable_folder(args.json_out, "--json", file=True)
    settings = _settings_from_run(args, argv, _eval_args)
    name, kwargs, info, _ = runs.resolve_model_settings(settings)
    if bool(args.params) == bool(args.pretrained):
        raise CLIError("no parameters given: pass --params FILE (or --run DIR), or "
                       "--pretrained PATH" if not args.params else
                       "--params and --pretrained both give parameters: pass one")
    checked = runs.verify_params(args.params) if args.params else "pretrained weights"
    ctxs = train_parse_ctx(args.ctx)
    net = runs.build_model(name, kwargs, pretrained=args.pretrained)
    if args.params:
        runs.load_parameters(net, args.params, ctxs)
    if args.hybridize:
        net.hybridize(static_alloc=True, static_shape=True)
    _, test_iter = runs.load_data(settings, train=False)
    result = evaluate(net, test_iter, ctx=ctxs, topk=args.topk, loss=True, confusion=True,
                      classes=kwargs.get("classes", info["classes"]),
                      max_batches=args.max_batches)
    report = classification_report(result["confusion"])
    labels = info.get("labels")
    topk_key = f"top{args.topk}"
    _say(f"{runs.describe_model(name, kwargs)} on the {info['key']} test set "
         f"({result['n']} images)")
    _say(f"parameters {args.params or args.pretrained} ({checked})")
    _say(f"  top-1 accuracy   {result['acc']:.4f}")
    if topk_key in result:
        _say(f"  top-{args.topk} accuracy   {result[topk_key]:.4f}")
    _say(f"  loss             {result['loss']:.4f}")
    macro = report.macro
    _say(f"  macro precision  {macro['precision']:.4f}   macro recall {macro['recall']:.4f}   "
         f"macro F1 {macro['f1']:.4f}")
    _say(f"  throughput       {result['examples_per_sec']:,.0f} images/s on "
         f"{', '.join(str(c) for c in ctxs)} ({result['time']:.2f} s, batch "
         f"{settings.batch_size}, data loading included)")
    _say("\nper class (recall is the per-class accuracy)")
    _say(_format_report(report, labels))
    _say("\nconfusion matrix (rows: true class, columns: predicted class)")
    _say(_format_confusion(result["confusion"], labels))
    if args.json_out:
        _write_json(args.json_out, {
            "model": name, "model_kwargs": kwargs, "dataset": info["key"],
            "params": args.params or args.pretrained, "ctx": [str(c) for c in ctxs],
            "acc": result["acc"],
            topk_key: result.get(topk_key), "loss": result["loss"], "n": result["n"],
            "seconds": result["time"], "images_per_sec": result["examples_per_sec"],
            "per_class_acc": report.as_dict()["recall"], **report.as_dict(), "labels": labels,
            "confusion": result["confusion"].tolist()})
        _say(f"\nresults written to {args.json_out}")
    return 0


def _format_report(report, labels: list[str] | None) -> str:
    """One line per class: precision, recall, F1, images; then the macro averages."""
    def number(v):
        return f"{'n/a':>9}" if v != v else f"{v:>9.4f}"
    lines = [f"{'':>4}{'':<14}{'precision':>9}{'recall':>9}{'F1':>9}{'images':>8}"]
    for i, (p, r, f, n) in enumerate(zip(report.precision, report.recall, report.f1,
                                         report.support)):
        label = labels[i] if labels and i < len(labels) else str(i)
        lines.append(f"{i:>3} {label[:13]:<14}{number(p)}{number(r)}{number(f)}{n:>8}")
    macro = report.macro
    lines.append(f"{'':>4}{'macro average':<14}{number(macro['precision'])}"
                 f"{number(macro['recall'])}{number(macro['f1'])}{int(report.support.sum()):>8}")
    return "\n".join(lines)


def _format_confusion(matrix, labels: list[str] | None) -> str:
    """The confusion matrix as text: one row per true class (index and name), one column per
    predicted class (index)."""
    n = len(matrix)
    names = [str(x)[:12] for x in (labels or [""] * n)]
    name_w = max(len(x) for x in names) if names else 0
    width = max(4, len(str(int(max((max(row) for row in matrix), default=0)))) + 1,
                len(str(n)) + 1)
    lines = [" " * (4 + name_w) + "".join(f"{i:>{width}}" for i in range(n))]
    for i, row in enumerate(matrix):
        lines.append(f"{i:>3} {names[i]:<{name_w}}" + "".join(f"{int(v):>{width}}" for v in row))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- summary / list

def cmd_summary(args: argparse.Namespace, argv: list[str]) -> int:
    from ..analysis import summary
    name = runs.resolve_model(args.model)
    c, h, w = args.input
    classes = args.classes or (10 if max(h, w) <= 32 else 1000)
    if args.in_channels not in (None, c):
        raise CLIError(f"--in-channels {args.in_channels} does not match --input {c},{h},{w}")
    kwargs = runs.model_kwargs(name, classes, c, args.small_input, args.model_options, min(h, w))
    net = runs.build_model(name, kwargs, pretrained=args.pretrained)
    if not args.pretrained:
        net.initialize()
    _say(f"{runs.describe_model(name, kwargs)}, input (1, {c}, {h}, {w})"
         + (f", weights from {args.pretrained}" if args.pretrained else ""))
    summary(net, (c, h, w), max_depth=args.max_depth)  # prints the table
    return 0


def _si(n: int) -> str:
    """12345678 -> '12.3M' (the figures of 'gluoncnn list')."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return str(n)


def cmd_list(args: argparse.Namespace, argv: list[str]) -> int:
    from ..models import model_options, model_table
    rows = model_table(args.pattern, args.family)
    if args.json:
        _say(json.dumps(rows, indent=1))
        return 0
    if not rows:
        _say(f"no model matches {args.pattern!r}; 'gluoncnn list' shows them all")
        return 0
    width = max(len(r["name"]) for r in rows) + 2
    family = None
    for r in rows:
        if r["family"] != family:
            family = r["family"]
            _say(f"\n# {family}\n{'name':<{width}}{'params':>8}{'MACs':>9}  {'input':<11}paper")
        size = "x".join(map(str, r["input"]))
        extra = f" (+{_si(r['train_only_params'])} in training)" if r["train_only_params"] else ""
        _say(f"{r['name']:<{width}}{_si(r['params']):>8}{_si(r['macs']):>9}  {size:<11}"
             f"{r['short_paper']}{extra}")
        if args.verbose:
            _say(f"{'':<{width}}{r['description']}")
            opts = ", ".join(f"{k}={v!r}" for k, v in model_options(r["name"]).items())
            _say(f"{'':<{width}}options: {opts}")
            if r["zoo_names"]:
                _say(f"{'':<{width}}also named (model zoo, GluonCV): {', '.join(r['zoo_names'])}")
    _say(f"\n{len(rows)} models; params and MACs (multiply-adds per image) at each one's default "
         f"classes and input. 'gluoncnn summary NAME --input C,H,W' shows one layer by layer; "
         f"'-v' the options, '--json' everything.")
    return 0


def cmd_doctor(args: argparse.Namespace, argv: list[str]) -> int:
    from ..doctor import run_doctor
    return int(run_doctor(file=sys.stdout, clear_cache=args.clear_cache) or 0)


# ----------------------------------------------------------------------------- export

def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run")
    p.add_argument("--model")
    p.add_argument("--params")
    p.add_argument("--input", type=parse_input_shape)
    _add_model_args(p, "")


def cmd_export(args: argparse.Namespace, argv: list[str]) -> int:
    from ..export import describe, export_model
    runs.check_writable_folder(args.out)  # said before the model is built and checked
    settings = _settings_from_run(args, argv, _export_args)
    if args.input is None and args.run:
        args.input = tuple(runs.read_run(args.run)["input_shape"])
    c, h, w = args.input or (1, 28, 28)
    if args.in_channels not in (None, c):
        raise CLIError(f"--in-channels {args.in_channels} does not match --input {c},{h},{w}")
    name = runs.resolve_model(settings.model)
    kwargs = runs.model_kwargs(name, settings.classes or 10, c, settings.small_input,
                               settings.model_options, min(h, w))
    if not args.params:
        raise CLIError("no parameters given: pass --params FILE (or --run DIR)")
    formats = (args.format or ("symbol",)) + (("onnx",) if args.onnx else ())
    net = runs.build_model(name, kwargs)
    runs.load_parameters(net, args.params)
    result = export_model(net, name, kwargs, (c, h, w), args.out, prefix=args.name,
                          onnx="onnx" in formats, check_batch=args.batch,
                          symbol="symbol" in formats,
                          dataset=settings.dataset if args.run else None,
                          normalize=settings.normalize if args.run else False)
    _say(f"exported {describe(result)}:")
    if result.symbol:
        _say(f"  symbol      {result.symbol}")
        _say(f"  parameters  {result.params}")
        _say(f"  re-imported with gluon.SymbolBlock.imports: same outputs at batch "
             f"{result.check_batch} (max |diff| {result.reimport_max_abs_diff:.2g})")
    if result.onnx:
        _say(f"  onnx        {result.onnx} (opset {result.onnx_opset}; input images "
             f"(batch, {c}, {h}, {w}), any batch size; output logits; {result.onnx_check})")
    _say(f"  record      {result.record}")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, list[str]], int]] = {
    "train": cmd_train, "eval": cmd_eval, "summary": cmd_summary, "list": cmd_list,
    "doctor": cmd_doctor, "export": cmd_export}
