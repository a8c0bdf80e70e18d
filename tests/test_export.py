"""gluoncnn.export: symbol + params and ONNX with a dynamic batch axis, each checked against the
model (issue 16); a model that cannot be exported is refused with nothing left behind."""
import json
import os

import mxnet as mx
import numpy as np
import pytest

from gluoncnn.export import ExportError, export_model, onnx_session
from gluoncnn.models import get_model

pytest.importorskip("onnxruntime")

SMALL = {"classes": 10, "in_channels": 1, "small_input": True}
MODELS = {"lenet": {}, "resnet18": SMALL, "squeezenet1_1": SMALL}


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
    result = export_model(net, name, MODELS[name], (1, 28, 28), str(out), onnx=True)
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
    session = onnx_session(result.onnx)
    assert session.get_inputs()[0].shape[1:] == [1, 28, 28]
    assert not isinstance(session.get_inputs()[0].shape[0], int)  # the batch axis is symbolic
    x = np.random.RandomState(batch).uniform(size=(batch, 1, 28, 28)).astype(np.float32)
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, net(mx.nd.array(x)).asnumpy(), rtol=1e-4, atol=1e-5)
    assert "onnxruntime" not in capfd.readouterr().err  # its warning flood is silenced


def test_fractalnet_is_refused_and_leaves_nothing(tmp_path):
    net = built("fractalnet", {"classes": 10, "in_channels": 1}, (1, 32, 32))
    out = tmp_path / "out"
    with pytest.raises(ExportError, match=r"cannot export fractalnet: its graph takes 6 inputs"):
        export_model(net, "fractalnet", {}, (1, 32, 32), str(out), onnx=True)
    assert os.listdir(tmp_path) == []


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
