"""The command line's convnets and MNIST-1D: train --model cnn, --dataset mnist1d, reproduce."""

import numpy as np
import pytest
from test_data import make_mnist, write_cifar

from tinygrad_ce import models, reproduce
from tinygrad_ce.cli import main


def _accuracy(out):
    return float(out.split("test accuracy")[-1].split()[0])


def test_mnist1d_defaults_are_the_papers(monkeypatch, capsys):
    seen = {}
    real_fit = main.__globals__["T"].fit

    def fit(model, loss_layer, optimizer, train, test, **kw):
        seen.update(kw, lr=optimizer.lr, weight_decay=optimizer.weight_decay,
                    x_shape=train[0].shape, model=model)
        return real_fit(model, loss_layer, optimizer, train, test, **dict(kw, epochs=1))

    monkeypatch.setattr(main.__globals__["T"], "fit", fit)
    assert main(["train", "--dataset", "mnist1d", "--model", "cnn", "--quiet"]) == 0
    assert (seen["epochs"], seen["batch_size"], seen["lr"], seen["weight_decay"]) == \
        (150, 100, 1e-2, 0.0)                       # 150 epochs of 40 batches = 6,000 steps
    assert seen["x_shape"] == (4000, 1, 40)
    assert [type(m).__name__ for m in seen["model"].layers][::2] == \
        ["Conv1d", "Conv1d", "Conv1d", "Flatten"]
    assert _accuracy(capsys.readouterr().out) > 0.3   # one epoch; chance is 0.1


def test_mnist1d_mlp_is_the_papers_residual_mlp(capsys):
    assert main(["train", "--dataset", "mnist1d", "--epochs", "2", "--quiet"]) == 0
    assert _accuracy(capsys.readouterr().out) > 0.3
    model = models.mnist1d_mlp(0)
    assert [p.shape for p in model.params()] == [(40, 100), (100,), (100, 100), (100,),
                                                 (100, 10), (10,)]


def test_cnn_on_mnist_and_cifar10_files_in_the_official_formats(tmp_path, capsys):
    (tmp_path / "mnist").mkdir()
    make_mnist(tmp_path / "mnist", n=(8, 4))
    assert main(["train", "--dataset", "mnist", "--data-root", str(tmp_path / "mnist"),
                 "--model", "cnn", "--epochs", "1", "--batch-size", "4", "--quiet"]) == 0
    assert "training cnn on mnist (8 train, 4 test" in capsys.readouterr().out
    write_cifar(tmp_path / "cifar", [2, 1, 1, 1, 1, 3])
    assert main(["train", "--dataset", "cifar10", "--data-root", str(tmp_path / "cifar"),
                 "--model", "cnn", "--epochs", "1", "--quiet"]) == 0
    assert 0 <= _accuracy(capsys.readouterr().out) <= 1


def test_cnn_on_digits_learns(capsys):
    assert main(["train", "--model", "cnn", "--epochs", "2", "--quiet"]) == 0
    assert _accuracy(capsys.readouterr().out) > 0.8


def test_cnn_on_a_dataset_without_images_is_a_clear_error(capsys):
    assert main(["train", "--model", "cnn", "--dataset", "iris"]) == 2
    assert "--model cnn needs images" in capsys.readouterr().err


def test_reproduce_quick_prints_the_table(capsys):
    assert main(["reproduce", "mnist1d", "--quick"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[-4:]}
    assert set(rows) == {"logistic", "mlp", "cnn", "gru"}
    assert out.splitlines()[-4].split()[0] == "logistic"      # the table's own order
    assert rows["cnn"][3:] == ["0.94", "0.923-0.925"] and rows["gru"][3:] == ["0.91", "-"]
    assert float(rows["logistic"][1]) > 0.2 and float(rows["cnn"][1]) > 0.5
    assert float(rows["gru"][1]) > 0.3


def test_reproduce_model_list_is_open_and_checked():
    with pytest.raises(ValueError, match="unknown model rnn"):
        reproduce.main(names=["rnn"], log=lambda *_: None)
    reproduce.MODELS["tiny"] = reproduce.Entry(models.mnist1d_logistic, reproduce.ROWS, 0.5)
    try:
        results = reproduce.main(names=["tiny"], seeds=1, steps=5, log=lambda *_: None)
        assert 0 <= results["tiny"][0] <= 1
    finally:
        del reproduce.MODELS["tiny"]
    assert np.isclose(reproduce.MODELS["cnn"].paper, 0.94)
    reproduce.MODELS["gru"] = reproduce.Entry(models.mnist1d_logistic, reproduce.SEQUENCE, 0.91)
    try:      # a model registered under a paper row's name fills that row, once
        lines = reproduce.table({"gru": [0.5, 0.7]}).splitlines()
        assert [line.split() for line in lines if line.startswith("gru")] == \
            [["gru", "0.600", "0.500-0.700", "0.91", "-"]]
    finally:
        del reproduce.MODELS["gru"]
