"""gluoncnn.export: symbol + params and ONNX with a dynamic batch axis, each checked against the
model (issue 16); ONNX files that other tools read cleanly: weights as initializers only, input
``images``, output ``logits``, metadata, opset (issue 32); FractalNet's inference graph; a model
that cannot be exported is refused with nothing left behind."""
import json
import os

import mxnet as mx
import numpy as np
import pytest

from gluoncnn.export import ExportError, export_model, onnx_session
from gluoncnn.models import get_model

pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

SMALL = {"classes": 10, "in_channels": 1, "small_input": True}
MODELS = {"lenet": {}, "resnet18": SMALL, "squeezenet1_1": SMALL}
#: FractalNet of 2 blocks of 3 columns, 4 and 8 channels: its joins of 2 and 3 inputs, tiny
FRACTAL = {"classes": 10, "in_channels": 1, "blocks": 2, "channels": (4, 8), "columns": 3,
           "dropout": 0.1}


def built(name, kwargs, shape=(1, 28, 28)):
    mx.random.seed(0)
    net = get_model(name, **kwargs)
    net.initialize()
    net(mx.nd.zeros((1, *shape)))
    return net


@pytest.fixture(scope="module", params=sorted(MODELS))
def exported(request, tmp_path_factory):
    name = request.param
    net = built(name, MODELS[name])
    out = tmp_path_factory.mktemp("export") / "out"
    result = export_model(net, name, MODELS[name], (1, 28, 28), str(out), onnx=True,
                          dataset="fashion-mnist", normalize=name == "lenet")
    return net, result, out


def test_export_writes_checked_files_and_nothing_else(exported):
    net, result, out = exported
    name = result.model
    assert sorted(os.listdir(out)) == sorted([f"{name}-symbol.json", f"{name}-0000.params",
                                              f"{name}.onnx", f"{name}-export.json"])
    assert not [f for f in os.listdir(out.parent) if f.startswith(".gluoncnn-export-")]
    record = json.loads((out / f"{name}-export.json").read_text())
    assert record["onnx"] == str(out / f"{name}.onnx") and record["check_batch"] == 3
    assert record["reimport_max_abs_diff"] < 1e-4 and record["onnx_max_abs_diff"] < 1e-4
    assert record["onnx_check"].startswith("onnxruntime at batch 3: max |diff|")


@pytest.mark.parametrize("batch", [1, 3])
def test_onnx_runs_at_any_batch_size_and_matches_mxnet(exported, batch, capfd):
    net, result, _ = exported
    session = onnx_session(result.onnx)      # onnxruntime's own log level: warnings
    (images,), (logits,) = session.get_inputs(), session.get_outputs()
    assert (images.name, images.shape) == ("images", ["batch", 1, 28, 28])
    assert (logits.name, logits.shape) == ("logits", ["batch", 10])
    x = np.random.RandomState(batch).uniform(size=(batch, 1, 28, 28)).astype(np.float32)
    got = session.run(["logits"], {"images": x})[0]
    np.testing.assert_allclose(got, net(mx.nd.array(x)).asnumpy(), rtol=1e-4, atol=1e-5)
    # mxnet.onnx's file made onnxruntime warn once per weight ("Initializer ... appears in
    # graph inputs and will not be treated as constant value/weight")
    assert "appears in graph inputs" not in capfd.readouterr().err


def test_onnx_weights_are_initializers_only_and_the_file_says_what_it_is(exported):
    _, result, _ = exported
    model = onnx.load(result.onnx)
    onnx.checker.check_model(model, full_check=True)
    weights = {t.name for t in model.graph.initializer}
    assert len(weights) > 5 and not weights & {i.name for i in model.graph.input}
    assert [i.name for i in model.graph.input] == ["images"]
    assert [o.name for o in model.graph.output] == ["logits"]
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    assert result.onnx_opset == opset >= 13 and model.producer_name == "gluoncnn"
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["model"] == result.model and meta["opset"] == str(opset)
    assert meta["classes"] == "10" and json.loads(meta["input_shape"]) == [1, 28, 28]
    assert meta["dataset"] == "fashion-mnist"
    assert json.loads(meta["class_names"])[:2] == ["t-shirt", "trouser"]
    assert json.loads(meta["model_options"]) == MODELS[result.model]
    if result.model == "lenet":     # exported with normalize=True: the catalogue's statistics
        assert (json.loads(meta["mean"]), json.loads(meta["std"])) == ([0.286], [0.353])
        assert meta["preprocessing"].endswith("then (x - mean) / std per channel")
    else:
        assert "mean" not in meta and meta["preprocessing"].endswith("not normalised")


def test_fractalnet_exports_its_inference_graph_the_plain_mean(tmp_path):
    net = built("fractalnet", FRACTAL, (1, 16, 16))
    out = tmp_path / "out"
    result = export_model(net, "fractalnet", FRACTAL, (1, 16, 16), str(out), onnx=True)
    x = np.random.RandomState(0).uniform(size=(2, 1, 16, 16)).astype(np.float32)
    with mx.autograd.predict_mode():
        expected = net(mx.nd.array(x)).asnumpy()
    np.testing.assert_allclose(onnx_session(result.onnx).run(None, {"images": x})[0], expected,
                               rtol=1e-4, atol=1e-5)
    assert mx.sym.load(result.symbol).list_inputs()[0] == "data"   # the images, nothing else
    net.eval_column = 0
    with pytest.raises(ExportError, match=r"eval_column=0: .*set net.eval_column = None"):
        export_model(net, "fractalnet", FRACTAL, (1, 16, 16), str(tmp_path / "again"))
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_onnx_alone(tmp_path):
    result = export_model(built("lenet", {}), "lenet", {}, (1, 28, 28), str(tmp_path / "out"),
                          onnx=True, symbol=False)
    assert result.symbol is None and result.params is None
    assert sorted(os.listdir(tmp_path / "out")) == ["lenet-export.json", "lenet.onnx"]
    assert json.loads((tmp_path / "out" / "lenet-export.json").read_text())["symbol"] is None
    with pytest.raises(ExportError, match="nothing to export"):
        export_model(built("lenet", {}), "lenet", {}, (1, 28, 28), str(tmp_path / "none"),
                     symbol=False)


def test_an_onnx_failure_leaves_nothing(tmp_path, monkeypatch):
    import mxnet.onnx as mxonnx

    def half_written(sym, params, onnx_file_path, **kwargs):
        with open(onnx_file_path, "wb") as f:
            f.write(b"half an onnx file")
        raise TypeError("'NoneType' object is not iterable")

    monkeypatch.setattr(mxonnx, "export_model", half_written)
    net = built("lenet", {})
    with pytest.raises(ExportError, match="mxnet.onnx failed: TypeError: 'NoneType' object is "
                                          "not iterable; nothing was written"):
        export_model(net, "lenet", {}, (1, 28, 28), str(tmp_path / "out"), onnx=True)
    assert os.listdir(tmp_path) == []


def test_export_into_a_folder_keeps_its_other_files(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "README").write_text("mine")
    result = export_model(built("lenet", {}), "lenet", {}, (1, 28, 28), str(out), prefix="v2")
    assert result.onnx is None and result.symbol == str(out / "v2-symbol.json")
    assert sorted(os.listdir(out)) == ["README", "v2-0000.params", "v2-export.json",
                                       "v2-symbol.json"]
