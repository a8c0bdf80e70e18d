"""The ``gluoncnn`` command end to end, on the shipped Fashion-MNIST sample (no ../shared needed).

Everything runs in-process through ``cli.main([...])`` except one ``python -m gluoncnn --help``;
training is LeNet at 28x28 for a few batches, so the whole file takes seconds.
"""
import inspect
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from gluoncnn import cli, runs
from gluoncnn.errors import GluonCNNError

TRAIN = ["train", "--model", "lenet", "--sample", "--epochs", "1", "--max-batches", "3",
         "--batch-size", "64", "--optimizer", "adam", "--lr", "0.002", "--ctx", "cpu",
         "--seed", "0", "--progress", "off"]


def run_cli(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A finished 1-epoch LeNet run (3 batches), shared by the tests that read a run folder."""
    out = tmp_path_factory.mktemp("runs") / "lenet"
    assert cli.main(TRAIN + ["--out", str(out)]) == 0
    return out


# ------------------------------------------------------------------------------ help / version
def test_module_help_subprocess():
    proc = subprocess.run([sys.executable, "-m", "gluoncnn", "--help"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for command in ("train", "eval", "summary", "list", "doctor", "export"):
        assert command in proc.stdout


@pytest.mark.parametrize("command", ["train", "eval", "summary", "list", "doctor", "export"])
def test_subcommand_help(capsys, command):
    code, out, _ = run_cli(capsys, command, "--help")
    assert code == 0
    assert out.startswith(f"usage: gluoncnn {command}")


def test_dataset_help_lists_the_catalogue_and_the_parser_needs_no_mxnet():
    """--dataset's help names data.DATASET_NAMES, read only when help is printed: building the
    parser (every command, 'gluoncnn doctor' too) must not import MXNet."""
    code = ("import sys; from gluoncnn.cli import build_parser; parser = build_parser(); "
            "parser.parse_args(['doctor']); print('mxnet' in sys.modules); "
            "parser.parse_args(['train', '--help'])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    from gluoncnn.data import DATASET_NAMES
    assert proc.stdout.startswith("False\n")
    assert f"dataset name ({', '.join(DATASET_NAMES)})" in " ".join(proc.stdout.split())


def test_dataset_facts_come_from_the_catalogue():
    from gluoncnn import data, runs
    spec = data.DATASETS["cifar100"]
    assert runs.dataset_info("CIFAR-100") == {
        "key": "cifar100", "size": spec.image_size, "channels": spec.channels,
        "classes": spec.num_classes, "labels": list(spec.class_names)}
    assert (spec.image_size, spec.channels, spec.num_classes) == (32, 3, 100)


def test_version(capsys):
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0 and "gluoncnn 0.1.0" in out


def test_no_command_prints_help(capsys):
    code, out, _ = run_cli(capsys)
    assert code == 2 and "usage: gluoncnn" in out


# ------------------------------------------------------------------------------ train / resume
def test_train_writes_the_run_folder(run_dir):
    for name in ("model.params", "history.csv", "history.json", "curves.png", "run.json",
                 "checkpoints/last.json", "checkpoints/epoch-0001.params"):
        assert (run_dir / name).is_file(), name
    run = json.loads((run_dir / "run.json").read_text())
    assert run["status"] == "finished"
    assert run["settings"]["model"] == "lenet" and run["settings"]["max_batches"] == 3
    assert run["input_shape"] == [1, 28, 28]
    assert run["command"][:2] == ["gluoncnn", "train"]
    history = json.loads((run_dir / "history.json").read_text())
    assert [r["epoch"] for r in history["records"]] == [1]
    assert 0.0 <= history["records"][0]["test_acc"] <= 1.0


def test_resume_continues_the_same_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(TRAIN + ["--out", str(out)]) == 0
    capsys.readouterr()
    code, text, err = run_cli(capsys, "train", "--out", out, "--resume", "--epochs", "2")
    assert code == 0, err
    assert "resuming from" in text and "epoch 2" in text
    history = json.loads((out / "history.json").read_text())["records"]
    assert [r["epoch"] for r in history] == [1, 2]
    run = json.loads((out / "run.json").read_text())
    assert run["settings"]["epochs"] == 2          # the override is recorded
    assert run["settings"]["optimizer"] == "adam"  # the rest comes from the first command
    assert len(run["resumed"]) == 1
    assert (out / "checkpoints" / "epoch-0002.params").is_file()


def test_ctrl_c_saves_a_checkpoint_and_exits_130(tmp_path, capsys, monkeypatch):
    import gluoncnn.train as train
    real_fit = train.fit

    def interrupted_fit(*args, **kwargs):
        steps = []

        def on_step(net):
            steps.append(1)
            if len(steps) == 2:
                raise KeyboardInterrupt

        return real_fit(*args, **dict(kwargs, on_step=on_step))

    monkeypatch.setattr(train, "fit", interrupted_fit)
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, *TRAIN, "--out", out)
    assert code == 130
    assert "interrupted; checkpoint at" in err and "--resume" in err
    assert (out / "checkpoints" / "interrupted.params").is_file()
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"


def test_every_fit_option_is_reachable():
    """fit's options are the config's training fields, each a flag; fit's other keywords are
    objects or the run folder's (set by gluoncnn.runs), never a setting of the run."""
    from gluoncnn.config import FIT_OPTIONS, TrainConfig
    from gluoncnn.train import fit
    settings = vars(cli.build_parser().parse_args(["train", "--model", "lenet", "--log-dir",
                                                   "tb"]))
    assert set(FIT_OPTIONS) <= set(settings)
    assert TrainConfig(**cli.train_settings(["--model", "lenet"])) == TrainConfig(model="lenet")
    params = set(inspect.signature(fit).parameters) - {"options"}
    assert params == {"net", "train_iter", "test_iter", "config", "checkpoint_dir", "resume",
                      "plot", "history_file", "on_step", "classes", "callbacks", "threads",
                      "clock"}  # clock: a time budget's, for tests


def test_log_dir_writes_tensorboard_event_files(tmp_path, capsys):
    code, out, err = run_cli(capsys, *TRAIN, "--no-plot", "--out", tmp_path / "run",
                             "--log-dir", tmp_path / "tb")
    assert code == 0, err
    assert [f for f in os.listdir(tmp_path / "tb") if f.startswith("events.out.tfevents")]


def test_init_flag_offers_every_initializer_of_fit(capsys, tmp_path):
    from gluoncnn.train import INITIALIZERS
    train_parser = cli.build_parser()._subparsers._group_actions[0].choices["train"]
    init = next(a for a in train_parser._actions if a.dest == "init")
    assert tuple(init.choices) == INITIALIZERS and init.default == "paper"
    out = tmp_path / "he"
    assert run_cli(capsys, *TRAIN, "--init", "he", "--out", out)[0] == 0
    assert json.loads((out / "run.json").read_text())["settings"]["init"] == "he"
    code, _, err = run_cli(capsys, *TRAIN, "--init", "glorot")
    assert code == 2 and "invalid choice: 'glorot'" in err


def test_small_input_default_follows_the_input_size():
    assert cli.model_kwargs("resnet18", 10, 1, None, [], 28)["small_input"] is True
    assert cli.model_kwargs("resnet18", 10, 1, None, [], 96)["small_input"] is False
    assert cli.model_kwargs("resnet18", 10, 1, False, [], 28)["small_input"] is False
    kwargs = cli.model_kwargs("resnet18", 10, 1, None, [("stochastic_depth", 0.5)], 28)
    assert kwargs["stochastic_depth"] == 0.5
    assert cli.model_kwargs("alexnet", 10, 1, None, [], 96)["input_size"] == 96


def test_model_option_parsing():
    assert cli.parse_model_option("stochastic_depth=0.5") == ("stochastic_depth", 0.5)
    assert cli.parse_model_option("block_config=(6, 12)") == ("block_config", (6, 12))
    assert cli.parse_model_option("activation=relu") == ("activation", "relu")
    assert cli.parse_input_shape("3x32x32") == (3, 32, 32)


# ------------------------------------------------------------------------------ eval
def test_eval_from_run_folder(run_dir, capsys, tmp_path):
    result = tmp_path / "eval.json"
    code, out, err = run_cli(capsys, "eval", "--run", run_dir, "--ctx", "cpu", "--json", result)
    assert code == 0, err
    assert "top-1 accuracy" in out and "top-5 accuracy" in out and "loss" in out
    assert "per class (recall is the per-class accuracy)" in out and "confusion matrix" in out
    assert "macro precision" in out and "macro F1" in out and "images/s" in out
    data = json.loads(result.read_text())
    confusion = np.array(data["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == data["n"] == 500
    assert abs(np.trace(confusion) / data["n"] - data["acc"]) < 1e-6
    assert len(data["per_class_acc"]) == 10 and data["support"] == confusion.sum(1).tolist()
    for k in range(10):  # precision, recall and F1 read off the confusion matrix
        hits, predicted, actual = confusion[k, k], confusion[:, k].sum(), confusion[k].sum()
        precision = hits / predicted if predicted else 0.0
        assert data["precision"][k] == pytest.approx(precision)
        assert data["recall"][k] == pytest.approx(hits / actual)
        f1 = 2 * precision * (hits / actual) / (precision + hits / actual) if hits else 0.0
        assert data["f1"][k] == pytest.approx(f1)
    assert data["macro"]["f1"] == pytest.approx(np.mean(data["f1"]))


def test_classification_report_from_a_confusion_matrix():
    from gluoncnn.metrics import classification_report
    report = classification_report([[8, 2, 0, 0],     # class 0: 8 of 10 found
                                    [1, 4, 0, 0],     # class 1: 4 of 5
                                    [3, 0, 0, 0],     # class 2: never predicted
                                    [0, 0, 0, 0]])    # class 3: no images
    np.testing.assert_allclose(report.precision[:3], [8 / 12, 4 / 6, 0.0])
    np.testing.assert_allclose(report.recall[:3], [0.8, 0.8, 0.0])
    np.testing.assert_allclose(report.f1[:3], [2 * (8 / 12) * 0.8 / (8 / 12 + 0.8),
                                               2 * (4 / 6) * 0.8 / (4 / 6 + 0.8), 0.0])
    assert np.isnan(report.precision[3]) and np.isnan(report.recall[3]) and np.isnan(report.f1[3])
    assert report.support.tolist() == [10, 5, 3, 0]
    assert report.macro["recall"] == pytest.approx(1.6 / 3)
    assert report.as_dict()["f1"][3] is None


def test_eval_with_explicit_model_and_params(run_dir, capsys):
    code, out, err = run_cli(capsys, "eval", "--model", "lenet", "--params",
                             run_dir / "model.params", "--sample", "--ctx", "cpu",
                             "--max-batches", "2", "--batch-size", "100")
    assert code == 0, err
    assert "(200 images)" in out


def test_eval_params_of_another_model_is_one_line(run_dir, capsys):
    code, _, err = run_cli(capsys, "eval", "--model", "lenet_bn", "--params",
                           run_dir / "model.params", "--sample", "--ctx", "cpu")
    assert code == 2
    assert err.startswith("gluoncnn: error: cannot load") and err.count("\n") == 1


def test_eval_pretrained_file_gives_the_params_results(run_dir, capsys, tmp_path):
    argv = ["eval", "--model", "lenet", "--sample", "--ctx", "cpu", "--max-batches", "2",
            "--batch-size", "100"]
    results = []
    for source in (["--params", run_dir / "model.params"],
                   ["--pretrained", run_dir / "model.params"]):
        report = tmp_path / f"{source[0][2:]}.json"
        code, _, err = run_cli(capsys, *argv, *source, "--json", report)
        assert code == 0, err
        results.append(json.loads(report.read_text()))
    assert results[0]["acc"] == results[1]["acc"] and results[0]["loss"] == results[1]["loss"]


def test_eval_truncated_params_is_one_line(run_dir, capsys, tmp_path):
    truncated = tmp_path / "truncated.params"
    truncated.write_bytes((run_dir / "model.params").read_bytes()[:500])
    code, _, err = run_cli(capsys, "eval", "--model", "lenet", "--params", truncated, "--sample")
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"gluoncnn: error: {truncated} is not a valid MXNet parameter file")


def test_summary_loads_a_model_zoo_file(capsys, tmp_path):
    import mxnet as mx
    from mxnet.gluon.model_zoo import vision
    zoo = vision.resnet18_v1(classes=10)
    zoo.initialize()
    zoo(mx.nd.zeros((1, 3, 64, 64)))
    path = tmp_path / "resnet18_v1.params"
    zoo.save_parameters(str(path))
    code, out, err = run_cli(capsys, "summary", "resnet18", "--input", "3,64,64", "--classes",
                             "10", "--no-small-input", "--pretrained", path, "--max-depth", "0")
    assert code == 0, err
    assert f"weights from {path}" in out.splitlines()[0]


def test_summary_of_a_small_only_model_at_any_input(capsys):
    # resnet20_cifar has only the small-image form: the below-96-pixels rule does not apply
    code, out, err = run_cli(capsys, "summary", "resnet20_cifar", "--input", "3,224,224",
                             "--max-depth", "0")
    assert code == 0, err
    assert out.startswith("resnet20_cifar(classes=1000, in_channels=3)")


def test_amp_choices_reach_fit(tmp_path):
    """One vocabulary: the config's names; fit's older values (and old run.json's) read as them."""
    from gluoncnn.config import TrainConfig
    for given, name in (("off", "off"), ("auto", "auto"), ("float16", "float16"),
                        (False, "off"), (None, "off"), (True, "float16")):
        assert TrainConfig(amp=given).amp == name
    assert cli.train_settings(["--amp"])["amp"] == "float16"
    assert cli.train_settings([])["amp"] == "off"


def _cli_threads(*argv, env_extra=None):
    """``OMP_NUM_THREADS`` and the thread choice after ``cli.main(argv)`` in a fresh process."""
    code = ("import json, os, sys\n"
            "from gluoncnn import cli, runtime\n"
            f"status = cli.main({[str(a) for a in argv]!r})\n"
            "print(json.dumps([status, os.environ.get('OMP_NUM_THREADS'),"
            " runtime.thread_choice().source, 'mxnet' in sys.modules]))")
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "GLUONCNN_THREADS", "_GLUONCNN_OMP_NUM_THREADS")}
    env.update(env_extra or {})
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_cli_chooses_threads_for_the_model_before_mxnet_loads(run_dir):
    from gluoncnn.runtime import RULE, USER_OMP, physical_cores, threads_for
    lenet = str(threads_for("lenet")[0])  # 1 with AVX-512, every core without
    assert _cli_threads("summary", "lenet", "--max-depth", "0") == [0, lenet, RULE, True]
    assert _cli_threads("summary", "resnet18", "--max-depth", "0") == \
        [0, str(physical_cores()), RULE, True]
    # --run: the model of the run folder (LeNet here)
    assert _cli_threads("eval", "--run", run_dir, "--max-batches", "1") == [0, lenet, RULE, True]
    assert _cli_threads("summary", "resnet18", "--max-depth", "0",
                        env_extra={"OMP_NUM_THREADS": "2"}) == [0, "2", USER_OMP, True]


def test_doctor_runs_without_importing_mxnet_first():
    status, _, _, mxnet_loaded = _cli_threads("doctor")
    assert status in (0, 1)  # doctor imports MXNet itself, to check it


# ------------------------------------------------------------------------------ export
def test_export_and_reimport_give_the_same_outputs(run_dir, capsys, tmp_path):
    import mxnet as mx
    from mxnet import gluon

    from gluoncnn.models import get_model
    out = tmp_path / "export"
    code, text, err = run_cli(capsys, "export", "--run", run_dir, "--out", out)
    assert code == 0, err
    assert "same outputs" in text
    sym, params = out / "lenet-symbol.json", out / "lenet-0000.params"
    assert sym.is_file() and params.is_file()
    imported = gluon.SymbolBlock.imports(str(sym), ["data"], str(params))
    run = json.loads((run_dir / "run.json").read_text())
    net = get_model("lenet", **run["model_kwargs"])
    net.load_parameters(str(run_dir / "model.params"))
    x = mx.nd.random.uniform(shape=(4, 1, 28, 28))
    np.testing.assert_allclose(imported(x).asnumpy(), net(x).asnumpy(), rtol=1e-5, atol=1e-6)


def test_export_onnx_lenet(run_dir, capsys, tmp_path):
    import onnx
    out = tmp_path / "onnx"
    code, text, err = run_cli(capsys, "export", "--run", run_dir, "--out", out, "--onnx")
    assert code == 0, err
    assert "input images (batch, 1, 28, 28), any batch size; output logits; onnxruntime at " \
           "batch 3: max |diff|" in text
    record = json.loads((out / "lenet-export.json").read_text())
    assert record["onnx"] == str(out / "lenet.onnx") and record["onnx_max_abs_diff"] < 1e-5
    model = onnx.load(str(out / "lenet.onnx"))
    onnx.checker.check_model(model)
    batch, *image = model.graph.input[0].type.tensor_type.shape.dim
    assert batch.dim_param == "batch" and [d.dim_value for d in image] == [1, 28, 28]
    assert f"(opset {record['onnx_opset']}; " in text
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["dataset"] == "fashion-mnist"   # the run's, from --run
    assert sorted(os.listdir(out)) == ["lenet-0000.params", "lenet-export.json",
                                       "lenet-symbol.json", "lenet.onnx"]


@pytest.mark.parametrize("fmt, files", [
    ("onnx", ["lenet-export.json", "lenet.onnx"]),
    ("symbol", ["lenet-0000.params", "lenet-export.json", "lenet-symbol.json"]),
    ("symbol,onnx", ["lenet-0000.params", "lenet-export.json", "lenet-symbol.json",
                     "lenet.onnx"])])
def test_export_format(run_dir, capsys, tmp_path, fmt, files):
    code, text, err = run_cli(capsys, "export", "--run", run_dir, "--out", tmp_path / "e",
                              "--format", fmt)
    assert code == 0, err
    assert sorted(os.listdir(tmp_path / "e")) == files
    assert ("  onnx " in text) == ("onnx" in fmt) and ("  symbol " in text) == ("symbol" in fmt)


def test_export_format_unknown(run_dir, capsys, tmp_path):
    code, _, err = run_cli(capsys, "export", "--run", run_dir, "--out", tmp_path / "e",
                           "--format", "tflite")
    assert code == 2 and "expected symbol, onnx or both as symbol,onnx, got 'tflite'" in err
    assert not (tmp_path / "e").exists()


def test_unsupported_onnx_operators_are_named():
    missing = cli.unsupported_onnx_ops({"Convolution": ["conv0"], "NoSuchOp": ["layer7"]})
    assert missing == {"NoSuchOp": ["layer7"]}


def test_export_unsupported_model_leaves_nothing_behind(tmp_path, capsys, monkeypatch):
    """When mxnet.onnx cannot convert, the export is refused whole, the operator named."""
    import gluoncnn.export
    monkeypatch.setattr(gluoncnn.export, "unsupported_onnx_ops",
                        lambda ops: {"Pooling": ops.get("Pooling", ["pool"])})
    import mxnet as mx

    from gluoncnn.models import get_model
    net = get_model("lenet")
    net.initialize()
    net(mx.nd.zeros((1, 1, 28, 28)))
    params = tmp_path / "lenet.params"
    net.save_parameters(str(params))
    code, text, err = run_cli(capsys, "export", "--model", "lenet", "--params", params,
                              "--out", tmp_path / "e", "--onnx")
    assert code == 2 and err.count("\n") == 1
    assert "no converter for Pooling" in err and "nothing was written" in err
    assert not (tmp_path / "e").exists()
    assert sorted(os.listdir(tmp_path)) == ["lenet.params"]  # no staging folder either


# -------------------------------------------------------------------------- summary / list / doctor
def test_summary(capsys):
    code, out, err = run_cli(capsys, "summary", "lenet", "--input", "1,28,28")
    assert code == 0, err
    assert "Total params: 61,706" in out


def test_summary_max_depth(capsys):
    code, out, err = run_cli(capsys, "summary", "resnet18", "--input", "1,28,28",
                             "--max-depth", "0")
    assert code == 0, err
    shallow = len(out.splitlines())
    code, out, err = run_cli(capsys, "summary", "resnet18", "--input", "1,28,28")
    assert code == 0 and len(out.splitlines()) > shallow + 20


def test_doctor_help_says_what_it_checks(capsys):
    # doctor checks plotting (gluoncnn/doctor.py's _check_plotting): its help may say so
    code, out, _ = run_cli(capsys, "doctor", "--help")
    assert code == 0 and "datasets' files and plotting" in out
    assert "bfloat16" in out and "threads gluoncnn chooses" in out
    code, out, _ = run_cli(capsys, "--help")
    assert "check the installation (Python, numpy, MXNet, GPUs, data, plotting)" in out


def test_download_flag_reaches_load_data(monkeypatch):
    import gluoncnn.data
    from gluoncnn import runs
    seen = {}

    def load_data(name, batch_size, **kwargs):
        seen.update(kwargs)
        return [], []

    monkeypatch.setattr(gluoncnn.data, "load_data", load_data)
    config = runs.TrainConfig(**cli.train_settings(["--model", "lenet", "--download"]))
    runs.load_data(config)
    assert config.download is True and seen["download"] is True


def test_every_train_flag_is_a_run_setting():
    """The train flags are generated from the config: one per field, its default the field's."""
    from gluoncnn import config
    settings = vars(cli.build_parser().parse_args(["train"]))
    defaults = config.TrainConfig().to_dict()
    assert {k: settings[k] for k in config.FIELD_NAMES} == defaults


def test_summary_with_model_option(capsys):
    code, out, err = run_cli(capsys, "summary", "resnet18", "--input", "1,28,28",
                             "--model-option", "stochastic_depth=0.5")
    assert code == 0, err
    assert "stochastic_depth=0.5" in out and "small_input=True" in out


def test_list(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "lenet" in lines and "resnet18" in lines and "LeCun" in lines["lenet"]
    code, out, _ = run_cli(capsys, "list", "-v")
    assert "options: classes=" in out
    code, out, _ = run_cli(capsys, "list", "nope*")
    assert code == 0 and out.startswith("no model matches 'nope*'")


def test_doctor(capsys):
    code, out, _ = run_cli(capsys, "doctor")
    assert code in (0, 1)
    assert out.startswith("gluoncnn doctor")


# ------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("argv, words", [
    (["train", "--model", "resnet19", "--sample"], "closest first: resnet18"),
    (["train", "--model", "lenet", "--batch-size", "-3"], "--batch-size"),
    (["train", "--model", "lenet", "--batch-size", "many"], "--batch-size"),
    (["summary", "lenet", "--input", "1,28"], "C,H,W"),
    (["summary", "lenet", "--input", "a,b,c"], "C,H,W"),
    (["train", "--model", "lenet", "--dataset", "cifar11"], "unknown dataset 'cifar11'"),
    (["train", "--model", "lenet", "--sample", "--model-option", "nope=1"],
     "does not take option 'nope'"),
    (["train", "--model", "lenet", "--sample", "--model-option", "novalue"], "KEY=VALUE"),
    (["train", "--model", "lenet", "--sample", "--optimizer", "adamw"], "adamw"),
    (["train", "--model", "lenet", "--sample", "--ctx", "gpu:7"], "gpu(7)"),
    (["train", "--model", "lenet", "--sample", "--ctx", "tpu"], "context 'tpu'"),
    (["train", "--modle", "lenet"], "did you mean --model"),
    (["train", "--resume"], "--resume needs --out"),
    (["eval", "--model", "lenet", "--params", "missing.params", "--sample"], "not found"),
    (["export", "--model", "lenet", "--out", "x"], "no parameters"),
    (["eval", "--model", "lenet", "--sample"], "--pretrained PATH"),
    (["train", "--model", "lenet", "--sample", "--amp", "half"], "invalid choice: 'half'"),
    (["train", "--model", "lenet", "--sample", "--pretrained", "nothing.params"],
     "pretrained file 'nothing.params' does not exist"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_arguments_give_one_line(capsys, argv, words):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert err.startswith("gluoncnn: error: ") and err.count("\n") == 1, err
    assert words in err
    assert "Traceback" not in err


def test_missing_data_gives_the_data_modules_message(tmp_path, capsys):
    code, _, err = run_cli(capsys, "train", "--model", "lenet", "--data-root", tmp_path / "none",
                           "--out", tmp_path / "run")
    assert code == 2
    assert err.startswith("gluoncnn: error: Fashion-MNIST") and "--sample" in err
    assert "Traceback" not in err


def test_debug_shows_the_traceback():
    with pytest.raises(GluonCNNError):
        cli.main(["--debug", "train", "--model", "resnet19"])


# ------------------------------------------------------------ --early-stop, --save-best
#: A rate so small that no prediction changes: the test accuracy stays where it started.
FROZEN = ["--lr", "1e-12"]


def test_early_stop_stops_the_run_and_is_respected_on_resume(tmp_path, capsys):
    out = tmp_path / "run"
    code, text, err = run_cli(capsys, *TRAIN, *FROZEN, "--epochs", "5", "--early-stop", "1",
                              "--no-plot", "--out", out)
    assert code == 0, err
    assert "early stopping: test_acc has not improved for 1 epoch(s)" in text + err
    run = json.loads((out / "run.json").read_text())
    assert run["settings"]["early_stop"] == 1 and run["status"] == "finished"
    assert run["epochs_done"] == 2                   # epoch 2 did not improve on epoch 1
    # a resumed run replays its history: one more epoch without improvement stops it again
    code, text, err = run_cli(capsys, "train", "--out", out, "--resume", "--epochs", "6")
    assert code == 0, err
    records = json.loads((out / "history.json").read_text())["records"]
    assert [r["epoch"] for r in records] == [1, 2, 3]
    # 0 turns it off, and the change is said
    code, text, err = run_cli(capsys, "train", "--out", out, "--resume", "--epochs", "4",
                              "--early-stop", "0")
    assert code == 0, err
    assert "early_stop 1 -> 0" in text
    assert len(json.loads((out / "history.json").read_text())["records"]) == 4


def test_save_best_keeps_the_best_epoch_and_overwrite_removes_it(tmp_path, capsys):
    out = tmp_path / "run"
    code, text, err = run_cli(capsys, *TRAIN, "--epochs", "2", "--save-best", "--no-plot",
                              "--out", out)
    assert code == 0, err
    records = json.loads((out / "history.json").read_text())["records"]
    best = json.loads((out / "best.json").read_text())
    accs = [r["test_acc"] for r in records]
    assert best["epoch"] == 1 + accs.index(max(accs)) and best["value"] == max(accs)
    assert best["sha256"]["best.params"] == runs.sha256_of(out / "best.params")
    run = json.loads((out / "run.json").read_text())
    assert run["settings"]["save_best"] is True and run["files"]["best"] == str(out / "best.params")
    assert f"best        {out / 'best.params'}" in text
    code, _, err = run_cli(capsys, *TRAIN, "--no-plot", "--out", out, "--overwrite")
    assert code == 0, err
    assert not (out / "best.params").exists() and not (out / "best.json").exists()


def test_bad_early_stop_is_one_line(capsys):
    code, _, err = run_cli(capsys, *TRAIN, "--early-stop", "-1")
    assert code == 2 and "--early-stop" in err and len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------------------ issue 30
def one_line_error(code, err, *words):
    assert code == 2, err
    assert err.startswith("gluoncnn: error: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err, err


@pytest.mark.parametrize("out, words", [
    ("file", "is a file, not a folder"),
    ("file/run", "is under the file"),
    ("x" * 300, "File name too long"),
])
def test_an_out_that_cannot_be_a_folder_is_said_before_loading(tmp_path, capsys, monkeypatch,
                                                               out, words):
    """Issue 30: these were 'an internal error of gluoncnn ... report it' (exit 1)."""
    from gluoncnn import runs
    (tmp_path / "file").write_text("mine")
    monkeypatch.setattr(runs, "load_data", lambda *a, **k: pytest.fail("loaded the data"))
    code, _, err = run_cli(capsys, *TRAIN, "--out", tmp_path / out)
    one_line_error(code, err, "--out", words)
    assert (tmp_path / "file").read_text() == "mine" and os.listdir(tmp_path) == ["file"]


def test_a_read_only_out_is_said_before_loading(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # root may write anywhere
    code, _, err = run_cli(capsys, *TRAIN, "--out", tmp_path / "run")
    one_line_error(code, err, "is not writable")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("error, words", [
    (OSError(28, "No space left on device", "runs/x/model.params"),
     "No space left on device (runs/x/model.params); the disk is full"),
    (OSError(30, "Read-only file system", "/mnt/ro"), "read-only"),
    (OSError(13, "Permission denied", "/proc/x"), "may not write there"),
    (OSError(27, "File too large", "big.params"), "ulimit -f"),
    (MemoryError(), "out of memory: lower --batch-size"),
])
def test_machine_errors_are_one_line_and_not_bugs(tmp_path, capsys, monkeypatch, error, words):
    """Issue 30: a full disk, a read-only folder, ulimit -f, out of memory (--batch-size 60000)
    were reported as bugs of gluoncnn; the run folder of a failure before training stays as
    it was (here: never created)."""
    import gluoncnn.train as train

    def failing_fit(*args, **kwargs):
        raise error

    monkeypatch.setattr(train, "fit", failing_fit)
    code, _, err = run_cli(capsys, *TRAIN, "--out", tmp_path / "run")
    one_line_error(code, err, words)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("text, words", [
    ("[12:00:00] src/io/local_filesys.cc:166: Check failed: ret == size (3 vs. 10) : "
     "FileStream.Write incomplete", "the disk is full"),
    ("Error in operator dense0_fwd: Shape inconsistent, Provided = [120,400], inferred "
     "shape=(120,576)", "do not fit this input shape"),
])
def test_mxnet_errors_of_the_machine_or_the_input_are_one_line(text, words):
    import mxnet as mx
    message = cli.system_error_message(mx.base.MXNetError(text))
    assert words in message and "\n" not in message
    assert cli.system_error_message(KeyError("a bug")) is None


def test_export_with_an_input_the_parameters_do_not_fit(run_dir, capsys, tmp_path):
    code, _, err = run_cli(capsys, "export", "--model", "lenet", "--params",
                           run_dir / "model.params", "--input", "1,32,32",
                           "--out", tmp_path / "e")
    one_line_error(code, err, "do not fit this input shape", "--input")
    assert not (tmp_path / "e").exists()


@pytest.mark.parametrize("name", ["../../x", "sub/x", ".."])
def test_export_name_is_a_file_name_not_a_path(run_dir, capsys, tmp_path, name):
    """Issue 30: --name ../../x wrote x-symbol.json outside --out."""
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    code, _, err = run_cli(capsys, "export", "--run", run_dir, "--name", name,
                           "--out", work / "e")
    one_line_error(code, err, "is a path, not a file name", "nothing was written")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "b"]


def test_eval_json_destination_is_checked_before_evaluating(run_dir, capsys, tmp_path,
                                                            monkeypatch):
    import gluoncnn.train as train
    (tmp_path / "file").write_text("mine")
    monkeypatch.setattr(train, "evaluate", lambda *a, **k: pytest.fail("evaluated first"))
    code, _, err = run_cli(capsys, "eval", "--run", run_dir, "--ctx", "cpu",
                           "--json", tmp_path / "file" / "r.json")
    one_line_error(code, err, "--json", "is under the file")
    code, _, err = run_cli(capsys, "eval", "--run", run_dir, "--ctx", "cpu",
                           "--json", tmp_path)
    one_line_error(code, err, "is a folder, not a file")


def test_eval_says_whether_a_params_file_was_verified(run_dir, capsys, tmp_path):
    """Issue 30: a bare .params with flipped bytes evaluated silently."""
    import shutil
    ck = run_dir / "checkpoints" / "epoch-0001.params"
    bare = tmp_path / "bare.params"
    shutil.copy(ck, bare)
    args = ["eval", "--model", "lenet", "--sample", "--ctx", "cpu", "--max-batches", "1"]
    code, out, err = run_cli(capsys, *args, "--params", bare)
    assert code == 0, err
    assert f"parameters {bare} (unverified: no run.json" in out
    code, out, err = run_cli(capsys, *args, "--params", ck)
    assert code == 0 and f"(sha256 checked against {run_dir}/checkpoints/epoch-0001.json)" in out
    code, out, _ = run_cli(capsys, "eval", "--run", run_dir, "--ctx", "cpu", "--max-batches", "1")
    assert f"(sha256 checked against {run_dir}/run.json)" in out
    from gluoncnn.runs import sha256_of
    (tmp_path / "bare.params.sha256").write_text(f"{sha256_of(str(bare))}  bare.params\n")
    data = bytearray(bare.read_bytes())
    data[-5] ^= 0xFF
    bare.write_bytes(bytes(data))
    code, _, err = run_cli(capsys, *args, "--params", bare)
    one_line_error(code, err, "does not match the sha256 in", "bare.params.sha256")


def test_export_out_that_cannot_be_a_folder_is_one_line(run_dir, capsys, tmp_path):
    (tmp_path / "file").write_text("mine")
    code, _, err = run_cli(capsys, "export", "--run", run_dir, "--out", tmp_path / "file")
    one_line_error(code, err, "--out", "is a file, not a folder")
    assert os.listdir(tmp_path) == ["file"]
