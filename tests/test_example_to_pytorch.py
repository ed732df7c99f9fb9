"""examples/to_pytorch.py at a small size: training continues identically in PyTorch."""

import pytest
from test_examples import load


def test_training_continues_identically_in_pytorch(capsys):
    pytest.importorskip("torch")
    result = load("to_pytorch").main(epochs=1, more_epochs=1)
    assert result["loss_difference"] < 1e-10 and result["parameter_difference"] < 1e-10
    assert result["accuracy"] > 0.85
    assert "PyTorch loss" in capsys.readouterr().out
