"""The benchmark scripts refuse a wrong count, list or shape with one argparse line (exit status 2)
before anything runs, instead of a traceback after the first measurements."""
import pytest


@pytest.fixture()
def scripts(benchmark_script):
    return {name: benchmark_script(name)
            for name in ("epoch", "profile_lenet", "threads", "run", "bf16_parity")}


def refusal(scripts, script, argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        scripts[script].main(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("script, argv", [
    ("epoch", ["--rounds", "0"]), ("epoch", ["--rounds", "two"]), ("epoch", ["--threads", "0"]),
    ("profile_lenet", ["--rounds", "0"]), ("profile_lenet", ["--steps", "-5"]),
    ("profile_lenet", ["--batch-size", "0"]),
    ("threads", ["--rounds", "0"]),
    ("run", ["--windows", "0"]), ("run", ["--iters", "-1"]), ("run", ["--batch-size", "0"]),
    ("bf16_parity", ["--epochs", "0"]), ("bf16_parity", ["--threads", "0"]),
])
def test_counts_below_one_are_refused(scripts, script, argv, capsys):
    assert f"{argv[0]}: expected a whole number of at least 1, got {argv[1]!r}" in \
        refusal(scripts, script, argv, capsys)


def test_a_negative_warm_up_is_refused_and_none_is_allowed(scripts, benchmark_script, capsys):
    assert "--warmup: expected a whole number of at least 0, got '-1'" in \
        refusal(scripts, "run", ["--warmup", "-1"], capsys)
    assert benchmark_script("argtypes").non_negative_int("0") == 0


@pytest.mark.parametrize("text", ["1,0", "1,two", ","])
def test_thread_lists_take_only_counts_of_at_least_one(scripts, text, capsys):
    assert "--threads: expected" in refusal(scripts, "threads", ["--threads", text], capsys)


def test_thread_lists_parse(benchmark_script):
    assert benchmark_script("argtypes").positive_int_list("1, 2,") == [1, 2]


@pytest.mark.parametrize("script, option, known", [
    ("threads", "--cases", "lenet64"), ("epoch", "--workloads", "lenet"),
    ("epoch", "--variants", "fit"),
])
def test_unknown_names_are_refused_with_the_choices(scripts, script, option, known, capsys):
    err = refusal(scripts, script, [option, f"{known},nonesuch"], capsys)
    assert f"{option}: unknown 'nonesuch'; choose from" in err and known in err


@pytest.mark.parametrize("text", ["3,0,64", "3,64", "3,a,64", "3,64,64,1"])
def test_run_input_shapes_need_three_positive_sizes(scripts, text, capsys):
    assert f"--input: expected C,H,W such as 3,64,64, got {text!r}" in \
        refusal(scripts, "run", ["--input", text], capsys)


def test_a_readme_without_the_tables_lines_stops_with_one_line(scripts, tmp_path):
    """run.py --readme and epoch.py --readme (through run.update_readme), after the results
    files are written: the README is left as it was."""
    readme = tmp_path / "README.md"
    readme.write_text("# no markers here\n")
    with pytest.raises(SystemExit) as exit_info:
        scripts["run"].update_readme("| table |", "epoch-results", path=readme)
    assert str(exit_info.value) == (f"error: {readme} has no <!-- epoch-results ... --> and "
                                    f"<!-- /epoch-results --> lines; add them where the table goes")
    assert readme.read_text() == "# no markers here\n"


def test_epoch_readme_refuses_a_quick_run(scripts, capsys):
    assert "--readme takes a measured run's table; a --quick run's is not one" in \
        refusal(scripts, "epoch", ["--quick", "--readme"], capsys)


def test_epoch_variants_and_parity_nets_are_checked(scripts, capsys):
    assert {"fit-mxnet-first", "fit-bf16"} <= set(scripts["epoch"].VARIANTS)
    err = refusal(scripts, "bf16_parity", ["--nets", "lenet_bn,vgg"], capsys)
    assert "vgg" in err and "lenet_bn" in err
