"""The command line, as a user types it."""

import subprocess
import sys

import numpy as np
import pytest

import tinygrad_ce as tg
from tinygrad_ce.cli import main


def test_train_prints_accuracy_and_saves(tmp_path, capsys):
    path = tmp_path / "mlp.npz"
    assert main(["train", "--epochs", "3", "--hidden", "32", "--quiet", "--save", str(path)]) == 0
    out = capsys.readouterr().out
    accuracy = float(out.split("test accuracy")[1].split()[0])
    assert 0.8 < accuracy <= 1.0
    model, _ = tg.train.build_model("mlp", 64, 10, 32, dropout=0.3)
    model.load(path)                    # the saved file fits the same architecture


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adagrad", "rmsprop", "adam", "lbfgs",
                                       "newton"])
def test_every_optimizer_trains_softmax_regression_on_iris(optimizer, capsys):
    assert main(["train", "--model", "softmax", "--dataset", "iris", "--optimizer", optimizer,
                 "--epochs", "100", "--quiet"]) == 0
    accuracy = float(capsys.readouterr().out.split("test accuracy")[1].split()[0])
    assert accuracy >= 0.75          # chance is 1/3; the optimum of this model gets 0.9


def test_same_seed_same_result(capsys):
    runs = []
    for _ in range(2):
        main(["train", "--epochs", "2", "--hidden", "16", "--quiet", "--seed", "3"])
        runs.append(capsys.readouterr().out.split("(")[0])
    assert runs[0] == runs[1]


def test_non_finite_loss_stops_with_epoch_step_and_advice(capsys):
    with np.errstate(all="ignore"):     # the overflow is the point of this test
        code = main(["train", "--model", "softmax", "--optimizer", "sgd", "--lr", "1e200",
                     "--epochs", "3", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "epoch 1, step" in err and "smaller learning rate" in err


def test_missing_dataset_files_say_where_to_put_them(tmp_path, capsys):
    assert main(["train", "--dataset", "mnist", "--data-root", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--download" in err and "--data-root" in err and "by hand" in err


@pytest.mark.parametrize("args, message", [
    (["train", "--model", "transformer"],
     "invalid choice: 'transformer' (choose from 'logistic', 'softmax', 'mlp'"),
    (["train", "--optimizer", "adamw"], "invalid choice: 'adamw'"),
    (["train", "--dataset", "imagenet"], "invalid choice: 'imagenet'"),
    (["train", "--lr", "0"], "--lr: must be > 0"),
    (["train", "--batch-size", "0"], "--batch-size: must be a positive integer"),
    (["train", "--epochs", "-1"], "--epochs: must be a positive integer"),
    (["train", "--optimzer", "adam"],
     "unrecognized arguments: --optimzer adam (did you mean --optimizer?)"),
    (["trian"], "invalid choice: 'trian' (choose from 'train', 'gradcheck', 'graph', 'trace'"),
])
def test_bad_arguments_list_the_choices(args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_plot_without_matplotlib_says_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code = main(["train", "--epochs", "1", "--hidden", "8", "--quiet", "--plot",
                 str(tmp_path / "p.png")])
    assert code == 2 and "pip install" in capsys.readouterr().err


def test_plot_writes_a_png_when_matplotlib_is_there(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "curves.png"
    assert main(["train", "--epochs", "2", "--hidden", "8", "--quiet", "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_gradcheck_command_checks_every_layer(capsys):
    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    assert f"{len(tg.layers.catalogue())} passed, 0 failed" in out
    assert "check_layer Affine(5, 3): PASSED" in out


def test_gradcheck_exits_1_on_a_failing_layer(capsys, monkeypatch):
    from tinygrad_ce.layers import activations
    monkeypatch.setattr(activations.Tanh, "backward", lambda self, dout: dout * (1 - self.out))
    assert main(["gradcheck", "tanh", "relu"]) == 1
    assert "1 passed, 1 failed" in capsys.readouterr().out


def test_gradcheck_unknown_layer(capsys):
    assert main(["gradcheck", "conv3d"]) == 2
    assert "unknown layer conv3d; choose from affine" in capsys.readouterr().err


def test_python_dash_m_and_help():
    out = subprocess.run([sys.executable, "-m", "tinygrad_ce", "train", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "--optimizer" in out and "sgd,momentum,adagrad,rmsprop,adam,lbfgs,newton" in out


@pytest.mark.parametrize("name", ["lbfgs", "newton"])
def test_full_batch_epoch_lines_show_the_loss_after_the_step(name):
    from tinygrad_ce import train as T
    (x, t), test = T.standardize(*tg.datasets.load_iris())
    model, loss_layer = T.build_model("softmax", 4, 3)
    before = T.objective(model, loss_layer, x, t, 1e-4)
    np.testing.assert_allclose(before, np.log(3))             # zero weights: uniform softmax
    history = T.fit(model, loss_layer, T.build_optimizer(name, model.params()), (x, t), test,
                    epochs=1, l2=1e-4, log=None, progress=False)
    after = T.objective(model, loss_layer, x, t, 1e-4)
    np.testing.assert_allclose(history["loss"], [after], rtol=1e-12)
    assert after < 0.5 * before


def test_download_failure_is_one_line_naming_url_and_timeout(tmp_path, capsys, monkeypatch,
                                                             silent_server):
    from tinygrad_ce.datasets import download, mnist
    monkeypatch.setattr(download, "TIMEOUT", 0.3)
    monkeypatch.setattr(mnist, "MIRROR", silent_server)
    code = main(["train", "--dataset", "mnist", "--download", "--data-root",
                 str(tmp_path / "m"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"could not download {silent_server}" in err and "within 0.3 s" in err
    assert not (tmp_path / "m").exists()
