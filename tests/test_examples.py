"""Each example runs, at small sizes, and shows what it promises."""

import importlib.util
import pathlib

import numpy as np

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quickstart(capsys):
    accuracy, report = load("quickstart").main(steps=100)
    assert accuracy > 0.85 and report


def test_logistic_regression_newton_converges_in_a_few_steps(capsys):
    results = load("logistic_regression").main(gd_steps=20)
    loss, grad_norm, steps, accuracy = results["Newton"]
    assert grad_norm < 1e-8 and steps <= 15 and accuracy >= 0.99


def test_softmax_regression_lbfgs_and_newton_agree(capsys):
    report = load("softmax_regression").main(gd_steps=10)
    assert abs(report["L-BFGS"][1] - report["Newton"][1]) < 1e-6
    assert report["Newton"][2] >= 0.95 and report["Newton"][0] <= 15


def test_two_layer_net_by_hand_equals_on_the_tape(capsys):
    final, difference = load("two_layer_net").main(epochs=1)
    assert difference == 0.0
    assert "PASSED" in capsys.readouterr().out


def test_multilabel_sigmoids_win_on_overlapping_labels(capsys):
    overlapping, exclusive = load("multilabel").main(epochs=60)
    assert overlapping["sigmoids"] > overlapping["softmax"]


def test_softmax_loss_three_ways_agree_to_1e_12(capsys):
    results = load("softmax_loss_three_ways").main(n=20, repeats=1)
    ref_loss, ref_grad, _ = results["vectorised"]
    for loss, grad, _ in results.values():
        assert abs(loss - ref_loss) < 1e-12
        np.testing.assert_allclose(grad, ref_grad, rtol=0, atol=1e-12)


def test_spiral_mlp_reaches_95_percent_and_plots(tmp_path, capsys):
    plot = None
    try:
        import matplotlib  # noqa: F401
        plot = tmp_path / "spiral.png"
    except ImportError:
        pass
    history = load("spiral").main(epochs=300, plot=plot)
    assert history["accuracy"][-1] >= 0.95
    if plot is not None:
        assert plot.read_bytes()[:4] == b"\x89PNG"


def test_bptt_gradient_vanishes_explodes_and_gates_keep_it(tmp_path, capsys):
    results, agreement = load("bptt").main(steps=24, batch=3)
    ratio = {name: norms[0] / norms[-1] for name, norms in results.items()}  # first / last step
    assert ratio["RNN, ||Wh|| = 0.5"] < 1e-5 and ratio["RNN, default init"] < 1e-3
    assert ratio["RNN, ||Wh|| = 3"] > 1e3
    assert ratio["GRU, update bias +3"] > 0.1 and ratio["LSTM, forget bias +3"] > 1e-2
    assert ratio["GRU, update bias +3"] > 100 * ratio["GRU, default init"]
    assert agreement < 1e-9
    assert "steps back" in capsys.readouterr().out


def test_convnet_by_hand_equals_on_the_tape(capsys):
    same, spelled, reports = load("convnet").main(epochs=1, n_train=200)
    assert same == 0.0 and spelled < 1e-12
    assert all(reports) and len(reports) == 7
    assert "test accuracy" in capsys.readouterr().out
