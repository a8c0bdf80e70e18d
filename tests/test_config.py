"""One definition of a training run (gluoncnn.config.TrainConfig): its checks, run.json's
settings read back as the config (old layouts too), and ``gluoncnn train --config FILE`` /
``--print-config``."""
import json

import pytest

from gluoncnn import cli, runs
from gluoncnn.config import FIT_OPTIONS, TrainConfig, fields, read_config_file
from gluoncnn.errors import OptionError

TRAIN = ["train", "--model", "lenet", "--sample", "--epochs", "1", "--max-batches", "2",
         "--batch-size", "64", "--ctx", "cpu", "--seed", "0", "--progress", "off"]


def run_cli(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_every_field_says_its_help_group_and_check():
    for f in fields():
        assert f.metadata["help"] and f.metadata["group"] in ("model", "data", "training", "run")
        f.metadata["check"](f.name, f.default)  # every default passes its own check
    assert "epochs" in FIT_OPTIONS and "model" not in FIT_OPTIONS


@pytest.mark.parametrize("settings, message", [
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"lr": -1.0}, "lr must be a positive number"),
    ({"batch_size": 2.5}, "batch_size must be a positive integer"),
    ({"optimizer": "adamw"}, "unknown optimizer 'adamw'"),
    ({"amp": "half"}, "amp must be one of 'off', 'float16', 'bfloat16', 'auto'"),
    ({"warmup_epochs": 3, "epochs": 2}, "smaller than epochs=2"),
    ({"nesterov": True, "optimizer": "adam"}, "nesterov=True applies to SGD"),
    ({"normalize": "yes"}, "normalize must be true or false"),
    ({"init": "glorot"}, "unknown init 'glorot'"),
])
def test_a_bad_value_is_one_clear_error(settings, message):
    with pytest.raises(OptionError, match=message):
        TrainConfig(**settings)


def test_unknown_key_names_the_closest_field():
    with pytest.raises(OptionError, match="unknown run setting 'lrr' in f.json \\(did you mean "
                                          "lr\\?\\)"):
        TrainConfig.from_dict({"lrr": 0.1}, "f.json")
    with pytest.raises(OptionError, match="did you mean epochs"):
        TrainConfig().replace(epoch=3)


def test_the_config_round_trips_through_its_dict_and_json():
    config = TrainConfig(model="resnet18", model_options={"width": 0.25}, small_input=True,
                         epochs=3, lr=0.05, schedule="cosine", amp=True, progress=False)
    assert (config.amp, config.progress, config.model_options) == ("float16", "off",
                                                                   (("width", 0.25),))
    assert TrainConfig.from_dict(json.loads(config.to_json())) == config
    assert config.replace(epochs=4).changes_from(config) == {"epochs": (3, 4)}


def test_old_run_json_settings_read_as_the_config():
    """run.json's settings before the config (no config_version): the same names, amp as
    False/True, model options as lists."""
    old = {"model": "lenet", "model_options": [["activation", "sigmoid"]], "amp": False,
           "progress": "auto", "ctx": "auto", "epochs": 2}
    config = runs.run_config({"settings": old})
    assert config == TrainConfig(model="lenet", model_options={"activation": "sigmoid"},
                                 epochs=2)


def test_fit_takes_a_config_and_the_keywords_a_reader_types():
    from gluoncnn.train.engine import fit_config
    config = TrainConfig(epochs=3, lr=0.05)
    assert fit_config(config, {"lr": 0.01}) == TrainConfig(epochs=3, lr=0.01)
    assert fit_config(2, {"optimizer": "adam"}) == TrainConfig(epochs=2, optimizer="adam")
    with pytest.raises(OptionError, match="did you mean momentum"):
        fit_config(None, {"momentun": 0.9})
    with pytest.raises(OptionError, match="unknown run setting 'model'"):
        fit_config(None, {"model": "lenet"})  # the run's, not fit's: fit trains a net


def test_print_config_and_config_file_round_trip(tmp_path, capsys):
    code, printed, err = run_cli(capsys, *TRAIN, "--lr", "0.01", "--model-option",
                                 "activation='relu'", "--print-config")
    assert code == 0, err
    settings = json.loads(printed)
    assert settings["lr"] == 0.01 and settings["model_options"] == [["activation", "relu"]]
    assert not (tmp_path / "runs").exists()
    path = tmp_path / "run.json"
    path.write_text(printed)
    code, again, err = run_cli(capsys, "train", "--config", path, "--print-config")
    assert code == 0 and again == printed, err
    # a flag overrides the file
    code, changed, _ = run_cli(capsys, "train", "--config", path, "--lr", "0.02",
                               "--print-config")
    assert json.loads(changed) == dict(settings, lr=0.02)
    assert read_config_file(path) == settings


def test_a_config_file_with_an_unknown_key_is_one_line(tmp_path, capsys):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"model": "lenet", "lrr": 0.1}))
    code, _, err = run_cli(capsys, "train", "--config", path)
    assert code == 2 and err.count("\n") == 1
    assert "unknown run setting 'lrr'" in err and "did you mean lr?" in err
    path.write_text("{not json")
    code, _, err = run_cli(capsys, "train", "--config", path)
    assert code == 2 and "is not a readable config" in err
    code, _, err = run_cli(capsys, "train", "--config", tmp_path / "none.json")
    assert code == 2 and "cannot read the config file" in err


def test_a_run_trained_from_a_config_file_records_that_config(tmp_path, capsys):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(dict(TrainConfig(model="lenet", sample=True, epochs=1,
                                                max_batches=2, batch_size=64, ctx="cpu",
                                                seed=0, progress="off").to_dict())))
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "--config", path, "--lr", "0.05", "--no-plot",
                           "--out", out)
    assert code == 0, err
    run = json.loads((out / "run.json").read_text())
    assert run["config_version"] == 1
    assert runs.run_config(run) == TrainConfig.from_dict(
        dict(json.loads(path.read_text()), lr=0.05))
    # resume compares configs: what changed is said and recorded
    code, said, err = run_cli(capsys, "train", "--out", out, "--resume", "--epochs", "2",
                              "--print-config")
    assert code == 0 and json.loads(said)["epochs"] == 2
    code, _, err = run_cli(capsys, "train", "--out", out, "--resume", "--config", path)
    assert code == 2 and "drop --config" in err


def test_a_training_option_is_one_field(capsys):
    """stop_at_acc was added as one field of the config (and its callback): the CLI's flag,
    fit's keyword, run.json and resume come from that field."""
    from gluoncnn.data import load_data
    from gluoncnn.models import get_model
    from gluoncnn.train import fit
    help_text = cli.build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    assert "--stop-at-acc ACC" in help_text
    assert cli.train_settings(["--stop-at-acc", "0.9"])["stop_at_acc"] == 0.9
    assert TrainConfig.from_dict(TrainConfig(stop_at_acc=0.9).to_dict()).stop_at_acc == 0.9
    with pytest.raises(OptionError, match="stop_at_acc must be an accuracy in \\(0, 1\\]"):
        TrainConfig(stop_at_acc=1.5)
    train_iter, test_iter = load_data("fashion-mnist", 32, sample=True, train_size=64,
                                      test_size=64)
    history = fit(get_model("lenet", classes=10, in_channels=1), train_iter, test_iter, 3,
                  ctx="cpu", max_batches=1, stop_at_acc=1e-6, progress=False, plot=False)
    assert len(history) == 1
    out = capsys.readouterr().out
    assert "stopping: test_acc " in out and " reached 1e-06 in epoch 1" in out


def test_a_toml_config_file(tmp_path):
    pytest.importorskip("tomllib")
    path = tmp_path / "run.toml"
    path.write_text('model = "lenet"\nlr = 0.01\nmodel_options = [["activation", "relu"]]\n')
    config = TrainConfig.from_dict(read_config_file(path), str(path))
    assert (config.model, config.lr, config.model_options) == ("lenet", 0.01,
                                                               (("activation", "relu"),))


def test_budget_and_warmup_fraction_are_fields(tmp_path):
    """fit's budget (gluoncnn.train.budget) is two fields: the flags, their checks, run.json,
    --config files and the presets' configs come from them."""
    from gluoncnn import course
    help_text = cli.build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    assert "--budget TIME" in help_text and "--warmup-fraction F" in help_text
    assert TrainConfig(budget="10m").budget == 600.0  # seconds, whatever the text
    assert TrainConfig(budget="10m").epochs == 10  # a whole config keeps its epochs
    lifted = TrainConfig.from_dict({"budget": "90s", "warmup_fraction": 0.1})
    assert (lifted.budget, lifted.epochs, lifted.warmup_fraction) == (90.0, None, 0.1)
    assert TrainConfig.from_dict(lifted.to_dict()) == lifted
    assert cli.train_config(cli.build_parser().parse_args(["train", *cli.command_line(lifted)]),
                            cli.command_line(lifted)) == lifted
    path = tmp_path / "budget.json"
    path.write_text('{"model": "lenet", "budget": "1h"}')
    config = TrainConfig.from_dict(read_config_file(path), str(path))
    assert (config.budget, config.epochs) == (3600.0, None)
    for settings, message in [({"epochs": None}, "give epochs= .* or budget="),
                              ({"budget": "ten"}, "budget must be a positive duration"),
                              ({"budget": 60, "schedule": "plateau:2"}, "no budget form"),
                              ({"budget": 60, "warmup_epochs": 1}, "warmup_fraction="),
                              ({"warmup_fraction": 0.1}, "warmup_epochs="),
                              ({"budget": 60, "warmup_fraction": 1}, "warmup_fraction must be")]:
        with pytest.raises(OptionError, match=message):
            TrainConfig(**settings)
    cpu = course.settings("07-resnet", "cpu")
    budgeted = cpu.config(budget=cpu.budget / 2)
    assert (budgeted.budget, budgeted.epochs) == (cpu.budget / 2, None)
    assert (cpu.config().budget, cpu.config().epochs) == (cpu.budget, None)
    assert cpu.config(epochs=3).budget is None
