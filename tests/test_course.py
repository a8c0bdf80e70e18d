"""The course's presets table, preset selection, records and the chapter runner."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gluoncnn import course
from gluoncnn.course import runner
from gluoncnn.errors import GluonCNNError

REPO = Path(__file__).resolve().parents[1]


def test_every_chapter_has_every_preset_and_a_notebook():
    assert tuple(course.PRESETS) == course.CHAPTERS
    for chapter, presets in course.PRESETS.items():
        assert tuple(presets) == course.PRESET_NAMES, chapter
        assert (REPO / "notebooks" / f"{chapter}.ipynb").is_file(), chapter


def test_settings_are_frozen():
    s = course.settings("07-resnet", "cpu")
    with pytest.raises(AttributeError):
        s.lr = 1.0
    with pytest.raises(TypeError):
        s.options["x"] = 1


def test_cpu_preset_fits_the_budget():
    minutes = {c: p["cpu"].minutes for c, p in course.PRESETS.items()}
    training = {c: m for c, m in minutes.items() if course.PRESETS[c]["cpu"].model}
    assert all(m is not None and m <= 10 for m in training.values()), training
    assert sum(training.values()) <= 120


def test_cpu_and_quick_presets_train_at_28x28_and_gpu_keeps_d2l_sizes():
    assert course.settings("05-googlenet", "gpu").resize == 96
    assert course.settings("09-densenet", "gpu").resize == 96
    assert course.settings("02-alexnet-zfnet", "gpu").resize == 224
    assert course.settings("01-lenet", "cpu").train_size is None   # the whole training set


def test_chapter_05_trains_the_d2l_net_without_dropout_in_every_preset():
    for name in course.PRESET_NAMES:
        options = course.settings("05-googlenet", name).options
        assert (options["aux_logits"], options["lrn"], options["dropout"]) == (False, False, 0.0)


def test_every_model_in_the_table_builds():
    for presets in course.PRESETS.values():
        for s in presets.values():
            if s.model is None or s.model == "densenet_d2l":
                continue
            s.build()
            for label in s.variants:
                s.build(label)


def test_fit_options_linear_schedule():
    s = course.settings("10-squeezenet", "gpu")
    options = s.fit_options()
    assert options["optimizer"] == "adam" and options["lr"] == 0.001
    assert options["schedule"](0) == pytest.approx(0.001)
    assert options["schedule"](s.epochs / 2) == pytest.approx(0.0005)


def test_describe_states_the_data_and_training():
    text = course.settings("01-lenet", "cpu").describe()
    assert "60,000 (all) training / 10,000 (all) test images, batch 64" in text
    assert "a budget of 4 min (as many epochs as this machine reaches; the rate decays over " \
        "the budget), adam lr 0.003, linear schedule" in text
    assert "10 epochs, adam lr 0.003" in course.settings("01-lenet", "gpu").describe()


def test_budgeted_chapters_share_their_budget_and_variants_keep_it():
    S = course.settings("08-beyond-resnet", "cpu")
    assert S.epochs is None and S.budget == 600 and S.amp == "auto"
    options = S.variant("WRN-10-2").fit_options(share=1 / 3)
    assert options["budget"] == 200 and options["schedule"] == "cosine"
    assert course.settings("10-squeezenet", "cpu").fit_options()["warmup_fraction"] == 0.05
    assert "budget" not in course.settings("08-beyond-resnet", "quick").fit_options()


def test_preset_selection(monkeypatch):
    monkeypatch.setenv(course.QUICK_ENV, "1")
    monkeypatch.setenv(course.PRESET_ENV, "gpu")
    assert course.preset() == "quick"
    monkeypatch.setenv(course.QUICK_ENV, "0")
    assert course.preset() == "gpu"
    monkeypatch.delenv(course.PRESET_ENV)
    assert course.preset("cpu") == "cpu"
    assert course.preset() == "cpu"            # this machine has no GPU


def test_bad_preset_and_chapter_are_clear_errors(monkeypatch):
    monkeypatch.setenv(course.PRESET_ENV, "cpuu")
    monkeypatch.delenv(course.QUICK_ENV, raising=False)
    with pytest.raises(GluonCNNError, match=r"unknown preset 'cpuu' \(did you mean cpu"):
        course.preset()
    with pytest.raises(GluonCNNError, match="unknown chapter '07-resnt'.*did you mean 07-resnet"):
        course.settings("07-resnt", "cpu")


def test_banner_has_no_date(capsys):
    course.banner("cpu")
    out = capsys.readouterr().out
    assert "'cpu' preset" in out and "mxnet 1.9.1" in out
    assert "2026" not in out and "-20" not in out


def test_record_writes_only_for_the_runner(tmp_path, monkeypatch):
    from gluoncnn.train import History
    monkeypatch.delenv(course.RECORD_ENV, raising=False)
    course.record(test_acc=0.5)
    assert list(tmp_path.iterdir()) == []
    path = tmp_path / "r.json"
    monkeypatch.setenv(course.RECORD_ENV, str(path))
    history = History()
    history.records.append({"epoch": 1, "test_acc": 0.8})
    import numpy as np
    course.record(test_acc=np.float32(0.75), history=history)
    assert json.loads(path.read_text()) == {"history": [{"epoch": 1, "test_acc": 0.8}],
                                            "test_acc": 0.75}
    with pytest.raises(GluonCNNError, match="cannot store object"):
        course.record(x=object())


def test_native_logs_silenced_hides_fd_level_stderr_and_restores_it(capfd):
    with course.native_logs_silenced():
        os.write(2, b"[12:00:00] src/operator/x.cc:1: noise\n")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"
    with pytest.raises(RuntimeError), course.native_logs_silenced():
        os.write(2, b"why it failed\n")
        raise RuntimeError("boom")
    assert "why it failed" in capfd.readouterr().err


def test_select_chapters():
    chapters = list(course.CHAPTERS)
    assert runner.select_chapters("5,01", chapters) == ["01-lenet", "05-googlenet"]
    assert runner.select_chapters(None, chapters) == chapters
    with pytest.raises(GluonCNNError, match="no chapter '42'"):
        runner.select_chapters("42", chapters)


# ---------------------------------------------------------------------------- the runner
def _notebook(path, cells):
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(path))


@pytest.fixture
def fake_course(tmp_path):
    books = tmp_path / "books"
    books.mkdir()
    _notebook(books / "01-lenet.ipynb", [
        "from gluoncnn import course\nPRESET = course.preset()\nprint(PRESET)",
        "course.record(test_acc=0.875, preset_seen=PRESET)"])
    _notebook(books / "02-bad.ipynb", ["print('partial')", "raise ValueError('cell failed')"])
    return books, tmp_path / "results"


def test_runner_saves_successes_records_them_and_keeps_failures_unsaved(fake_course):
    books, results = fake_course
    bad_before = (books / "02-bad.ipynb").read_text()
    lines = []
    done = runner.run("cpu", None, notebooks_dir=str(books), results_dir=str(results),
                      log=lines.append)
    assert set(done) == {"01-lenet", "02-bad"} and done["02-bad"] is None
    saved = json.loads((books / "01-lenet.ipynb").read_text())
    assert "".join(saved["cells"][0]["outputs"][0]["text"]) == "cpu\n"
    record = json.loads((results / "cpu" / "01-lenet.json").read_text())
    assert record["results"] == {"test_acc": 0.875, "preset_seen": "cpu"}
    assert record["preset"] == "cpu" and record["chapter"] == "01-lenet"
    assert record["seconds"] > 0
    assert (books / "02-bad.ipynb").read_text() == bad_before
    assert not (results / "cpu" / "02-bad.json").exists()
    assert lines[0].startswith("01-lenet: ")
    assert lines[1] == "    test_acc: test accuracy 0.8750, target 0.880 MISSED"
    assert record["targets"] == [{"name": "test_acc", "test_acc": 0.875, "target": 0.88,
                                  "reached": False}]
    assert lines[2].startswith("02-bad: FAILED after")
    assert "ValueError: cell failed (the saved notebook is unchanged" in lines[2]
    assert "FAILED: 02-bad" in lines[-1]


def test_runner_resumes_unless_forced(fake_course, monkeypatch):
    books, results = fake_course
    monkeypatch.setattr(runner, "code_commit", lambda path: "abc123")
    runner.run("cpu", "01", notebooks_dir=str(books), results_dir=str(results), log=print)
    lines = []
    done = runner.run("cpu", "01", notebooks_dir=str(books), results_dir=str(results),
                      log=lines.append)
    assert done == {} and "already recorded" in lines[0]
    done = runner.run("cpu", "01", force=True, notebooks_dir=str(books),
                      results_dir=str(results), log=lines.append)
    assert done["01-lenet"]["commit"] == "abc123"
    monkeypatch.setattr(runner, "code_commit", lambda path: "def456")   # new code: run again
    done = runner.run("cpu", "01", notebooks_dir=str(books), results_dir=str(results),
                      log=lines.append)
    assert done["01-lenet"]["commit"] == "def456"


def test_runner_command_line(fake_course):
    books, results = fake_course
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "gluoncnn.course", "run", "--preset", "quick",
                           "--chapters", "01", "--notebooks", str(books),
                           "--results", str(results)],
                          check=False, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("01-lenet: ")
    assert json.loads((results / "quick" / "01-lenet.json").read_text())["results"][
        "preset_seen"] == "quick"
    proc = subprocess.run([sys.executable, "-m", "gluoncnn.course", "run", "--preset", "cpuu"],
                          check=False, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2 and "invalid choice: 'cpuu'" in proc.stderr


def test_targets_name_recorded_results():
    rows = course.against_targets("08-beyond-resnet",
                                  {"test_acc": {"ResNet-20": 0.91, "WRN-16-2": 0.89}})
    assert rows == [("ResNet-20", 0.91, 0.90, True), ("WRN-16-2", 0.89, 0.90, False)]
    assert course.against_targets("01-lenet", {"test_acc": 0.887, "history": []}) == [
        ("test_acc", 0.887, 0.88, True)]
    assert set(course.TARGETS) <= set(course.CHAPTERS)


def test_compression_targets_are_points_lost_against_float32():
    report = [{"method": "float32", "accuracy": 0.855}, {"method": "prune", "accuracy": 0.850},
              {"method": "share", "accuracy": 0.80}, {"method": "int8", "accuracy": 0.840}]
    rows = course.against_targets("11-compression", {"lenet": report, "squeezenet": "n/a"})
    assert rows == [("lenet prune", 0.850, 0.845, True), ("lenet int8", 0.840, 0.845, False)]
    lines = course.target_lines("11-compression", {"lenet": report})
    assert lines[0] == ("lenet prune: test accuracy 0.850 against the course's target of 0.845 "
                        "(float32 less 1 point) for this chapter: reached")
    assert lines[1].endswith("MISSED by 0.5 points")


def test_a_chapters_settings_are_a_config():
    config = course.settings("07-resnet", "gpu").config()
    assert (config.model, config.small_input, config.model_options) == ("resnet18", True, ())
    assert (config.epochs, config.batch_size, config.lr, config.momentum, config.wd,
            config.schedule) == (5, 256, 0.1, 0.9, 1e-4, "cosine")
    wrn = course.settings("08-beyond-resnet", "cpu").config("WRN-10-2")
    assert wrn.model == "wide_resnet_cifar" and wrn.train_size is None
    assert (wrn.budget, wrn.epochs) == (600, None)  # the chapter's whole budget: pass a share
    assert wrn.model_options == (("depth", 10), ("widen_factor", 2))
    linear = course.settings("10-squeezenet", "gpu").config()
    assert linear.schedule(0) == pytest.approx(0.001)
    with pytest.raises(GluonCNNError, match="Python object"):
        linear.to_dict()  # a run folder cannot record a function


def test_a_chapters_config_is_a_command_line_of_the_same_run():
    from gluoncnn import cli
    config = course.settings("05-googlenet", "cpu").config()
    argv = cli.command_line(config)
    assert argv[:2] == ["--model", "googlenet"]
    args = cli.build_parser().parse_args(["train", *argv])
    assert cli.train_config(args, argv) == config
    assert dict(args.model_options) == {"aux_logits": False, "lrn": False, "dropout": 0.0}
    assert (config.epochs, config.budget) == (None, 600)


def test_record_with_the_chapter_states_each_target_reached_or_missed(capsys, monkeypatch):
    monkeypatch.delenv(course.RECORD_ENV, raising=False)
    course.record("06-batch-norm", lenet_test_acc=0.887, bn_lenet_test_acc=0.8851)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "bn_lenet_test_acc: test accuracy 0.885 against the course's target of 0.900 for this "
        "chapter: MISSED by 1.5 points",
        "lenet_test_acc: test accuracy 0.887 against the course's target of 0.880 for this "
        "chapter: reached"]
    course.record(test_acc=0.5)   # without the chapter: nothing printed
    assert capsys.readouterr().out == ""
    with pytest.raises(GluonCNNError, match="07-resnet"):
        course.record("07-resnt", test_acc=0.5)


def _write_record(folder, chapter, seconds, targets):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{chapter}.json").write_text(json.dumps({
        "chapter": chapter, "preset": "cpu", "seconds": seconds, "commit": "abc1234def",
        "date": "2026-12-01", "cpu": "AMD EPYC", "cores": 2, "threads": "2", "results": {},
        "targets": targets}))


def test_markdown_table_of_the_recorded_runs(tmp_path):
    from gluoncnn.course import report
    assert "No chapter has been recorded" in report.markdown_table("cpu", tmp_path)
    _write_record(tmp_path / "cpu", "00-setup-and-data", 12.7, [])
    _write_record(tmp_path / "cpu", "06-batch-norm", 480.0, [
        {"name": "bn_lenet_test_acc", "test_acc": 0.90512, "target": 0.9, "reached": True},
        {"name": "lenet_test_acc", "test_acc": 0.8712, "target": 0.88, "reached": False}])
    table = report.markdown_table("cpu", tmp_path).splitlines()
    assert table[2] == "| `00-setup-and-data` | nothing trained | 0.2 | - | - |"
    assert table[3] == (
        "| `06-batch-norm` | lenet (28x28, all 60,000 images, 8 min budget); lenet_bn (same); "
        "adam lr 0.003 | 8.0 | bn_lenet 0.9051, lenet 0.8712 | 0.900 reached, "
        "0.880 MISSED |")
    assert table[-1].startswith("2 chapters, 8 minutes in all") and "AMD EPYC (2 cores, 2 " \
        "OpenMP threads), 2026-12-01." in table[-1]


def test_short_settings_names_the_width_and_the_variants():
    from gluoncnn.course import report
    text = report.short_settings(course.settings("05-googlenet", "cpu"))
    assert text == ("googlenet, aux_logits=False, lrn=False, dropout=0.0 (28x28, all 60,000 "
                    "images, 10 min budget); googlenet, aux_logits=True, lrn=True, width=0.5 "
                    "(72x72, all 60,000 images, 10 min budget); googlenet, aux_logits=False, "
                    "lrn=True, width=0.5 (72x72, all 60,000 images, 10 min budget); adam lr "
                    "0.001")
    assert report.short_settings(course.settings("03-vgg", "cpu")).startswith(
        "vgg11 small-image form, width=0.25 (28x28, all 60,000 images, 8 min budget)")


def test_full_mode_lines_show_each_epoch_and_the_target(tmp_path):
    from gluoncnn.course import report
    path = tmp_path / "full_mode.json"
    assert report.full_mode_runs(path) == {}
    assert report.full_mode_lines("resnet18", path) == [
        "no full-mode run of resnet18 recorded: python benchmarks/full_mode.py resnet18"]
    history = [{"epoch": 1, "train_acc": 0.81, "test_acc": 0.862, "lr": 0.0905, "time": 2884.0},
               {"epoch": 2, "train_acc": 0.904, "test_acc": 0.9061, "lr": 0.0, "time": 3060.0}]
    path.write_text(json.dumps({"runs": {"resnet18": {
        "device": "cpu(0)", "cpu": "AMD EPYC", "cores": 2, "threads": 2, "date": "2026-12-02",
        "command": "gluoncnn train --model resnet18", "history": history, "epochs": 2,
        "train_seconds": 5944.0, "test_acc": 0.9061, "target": 0.93,
        "reached_target": False}}}))
    assert list(report.full_mode_runs(path)) == ["resnet18"]
    assert report.full_mode_lines("resnet18", path) == [
        "resnet18 on cpu(0), AMD EPYC (2 cores, 2 OpenMP threads), 2026-12-02:",
        "  gluoncnn train --model resnet18",
        "epoch  train acc  test acc        lr  minutes",
        "    1     0.8100    0.8620   0.09050     48.1",
        "    2     0.9040    0.9061   0.00000     51.0",
        "2 epochs, 99.1 minutes of training; test accuracy 0.9061 (target 0.93: missed)"]


def test_replace_marked_block_replaces_only_the_block_between_the_markers(tmp_path):
    from gluoncnn.utils import replace_marked_block
    readme = tmp_path / "README.md"
    readme.write_text("# title\n<!-- full-mode-results: python -m gluoncnn.course table "
                      "--full-mode -->\nold\nlines\n<!-- /full-mode-results -->\ntail\n")
    replace_marked_block(readme, "full-mode-results", "| new |")
    assert readme.read_text() == ("# title\n<!-- full-mode-results: python -m gluoncnn.course "
                                  "table --full-mode -->\n| new |\n<!-- /full-mode-results -->\n"
                                  "tail\n")
    with pytest.raises(GluonCNNError, match="has no <!-- cpu-results ... --> and "
                                            "<!-- /cpu-results --> lines"):
        replace_marked_block(readme, "cpu-results", "| new |")
    assert "| new |" in readme.read_text()   # a refused write changes nothing


def test_full_mode_table_names_each_run_and_where_it_ran(tmp_path, monkeypatch):
    from gluoncnn.course import report
    path = tmp_path / "full_mode.json"
    assert report.full_mode_table(path).startswith("No full-mode run recorded yet")
    path.write_text(json.dumps({"runs": {"nin": {
        "chapter": "04-nin", "epochs": 5, "test_acc": 0.8551, "target": None,
        "reached_target": None, "train_seconds": 5820.0, "cpu": "AMD EPYC", "cores": 2,
        "date": "2026-12-02"}}}))
    assert report.full_mode_table(path).splitlines()[2] == (
        "| `nin` | `04-nin` | 5 | 0.8551 | - | 97.0 | AMD EPYC (2 cores, unrecorded OpenMP "
        "threads), 2026-12-02 |")


def test_the_readme_tables_are_the_repositorys_script(tmp_path, monkeypatch, capsys):
    """The package writes no README: scripts/course_tables.py gives it the repository's files."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("course_tables",
                                                  REPO / "scripts" / "course_tables.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    readme = tmp_path / "README.md"
    readme.write_text("<!-- full-mode-results: x -->\nold\n<!-- /full-mode-results -->\n")
    monkeypatch.setattr(script, "README", readme)
    monkeypatch.setattr(script, "FULL_MODE", tmp_path / "none.json")
    assert script.main(["--full-mode", "--readme"]) == 0
    assert "No full-mode run recorded yet" in readme.read_text()
    assert "No full-mode run recorded yet" in capsys.readouterr().out


def test_the_package_never_looks_for_a_repository():
    import gluoncnn.course as package_course
    from gluoncnn.course import report
    assert not hasattr(package_course, "REPO") and not hasattr(report, "README")
    source = "".join(p.read_text() for p in (REPO / "gluoncnn").rglob("*.py"))
    assert "README.md" not in source


def test_every_chapters_settings_are_a_valid_config_and_fit_options():
    """Each chapter's settings (and variants') make a checked TrainConfig, and the keywords a
    chapter passes to fit are fit's options."""
    from gluoncnn.train.engine import fit_config
    for chapter in course.CHAPTERS:
        for name in course.PRESET_NAMES:
            s = course.settings(chapter, name)
            for v in [s, *(s.variant(label) for label in s.variants)]:
                assert v.config().epochs == v.epochs
                assert fit_config(v.epochs, v.fit_options()).lr == v.lr


def test_nbval_waits_for_outputs_on_a_busy_machine():
    """notebooks/conftest.py lifts nbval's fixed 5-second wait for each output message."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("nb_conftest", REPO / "notebooks" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    class Cell:
        output_timeout = 5
    cells = [Cell(), object()]
    module.pytest_collection_modifyitems(cells)
    assert cells[0].output_timeout == module.OUTPUT_TIMEOUT >= 60


def test_quick_mode_is_one_definition_and_zero_means_off(monkeypatch):
    """The runner sets GLUONCNN_QUICK=0 for the cpu preset: that is no quick mode, for the
    course, for fit's measuring of threads and precision, and for progress output alike."""
    from gluoncnn import progress, runtime
    monkeypatch.delenv("GLUONCNN_MEASURE", raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("GLUONCNN_RECORD", raising=False)
    for value, quick in (("0", False), ("", False), ("1", True), ("true", True), ("no", False)):
        monkeypatch.setenv("GLUONCNN_QUICK", value)
        assert course.quick_mode() is quick
        assert runtime.measuring_enabled() is not quick
        assert progress._quiet_environment() is quick
    monkeypatch.setenv("GLUONCNN_RECORD", "/tmp/record.json")  # executed by the runner, saved
    assert progress._quiet_environment()
