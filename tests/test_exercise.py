"""tg.exercise: answers marked against autograd and central differences; the score sheet."""

import importlib.util
import pathlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_ce as tg
from tinygrad_ce.cli import main, tiny_step
from tinygrad_ce.exercises import session, two_layer_net

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "exercise_two_layer_net.py"


def load_example():
    spec = importlib.util.spec_from_file_location("exercise_two_layer_net", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def softmax(s):
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_the_example_autograder_passes_and_a_wrong_answer_fails_it():
    example = load_example()
    example.test_every_gradient_of_the_two_layer_net()
    example.ANSWERS[(2, 0)] = lambda gy, z, h: gy * h          # forgot (1 - h)
    with pytest.raises(AssertionError, match=r"(?s)sigmoid.*wrong \(worst element.*score: 6/7"):
        example.test_every_gradient_of_the_two_layer_net()


def test_entries_in_backward_order_and_the_right_answers_are_the_real_gradients():
    ex = two_layer_net()
    assert [s.name for s in ex.steps] == ["softmax_with_loss", "affine", "sigmoid", "affine"]
    assert [(i.step, i.position) for i in ex.items] == [(0, 0), (1, 0), (1, 1), (1, 2), (2, 0),
                                                        (3, 1), (3, 2)]
    s, t = ex.steps[0].inputs
    np.testing.assert_allclose(ex.items[0].right, (softmax(s.data) - np.eye(2)[t.data]) / 2,
                               rtol=1e-13)            # the y - t the learner derives
    assert ex.check() < 1e-8                           # autograd agrees with central differences
    for item in ex.items:
        np.testing.assert_allclose(item.right, item.numeric, atol=1e-8)
    # the same gradients a plain backward gives, and .grad was not touched by the exercise
    W1 = ex.steps[3].inputs[1]
    assert W1.grad is None
    loss = ex.steps[0].output
    loss.backward()
    np.testing.assert_array_equal(W1.grad.data, ex.items[5].right)


def test_every_verdict_word():
    ex = two_layer_net()
    right = {(i.step, i.position): i.right for i in ex.items}
    assert str(ex.verdict(0, 0)) == "pending"
    assert ex.submit(0, 0, right[0, 0].copy()).text == "exact"
    close = ex.submit(1, 0, right[1, 0] + 3e-9)
    assert close.word == "close" and close.text == "close (max difference 3e-09)"
    wrong = right[1, 1].copy()
    wrong[2, 1] += 0.5
    text = ex.submit(1, 1, wrong).text
    assert text == (f"wrong (worst element [2, 1]: given {wrong[2, 1]:.6g}, "
                    f"right {right[1, 1][2, 1]:.6g})")
    assert ex.submit(1, 2, right[1, 2][None]).text == "wrong shape (given (1, 2), expected (2,))"
    assert ex.submit(2, 0, np.full((2, 4), np.nan)).word == "wrong"
    sheet = str(ex)
    assert sheet.splitlines()[-1] == "score: 2/7" and ex.score == (2, 7) and not ex
    for word in ("exact", "close (max difference", "wrong (worst element", "wrong shape",
                 "pending"):
        assert word in sheet


def test_function_answers_are_also_checked_at_a_random_gy():
    ex = two_layer_net()
    n = 2
    right = lambda gy, s, t, loss: gy * (softmax(s) - np.eye(2)[t]) / n    # noqa: E731
    forgets_gy = lambda gy, s, t, loss: (softmax(s) - np.eye(2)[t]) / n    # noqa: E731
    assert ex.submit(0, 0, right).word == "exact"
    verdict = ex.submit(0, 0, forgets_gy)       # equal at gy = 1, the gy backward received
    assert verdict.word == "wrong" and "at a random gy" in verdict.text
    W = ex.steps[1].inputs[1]
    assert ex.submit(1, W, lambda gy, h, W, b, s: h.T @ gy).word == "exact"   # by Tensor
    assert ex.submit(1, 1, lambda gy, h, W, b, s: h.T @ np.ones_like(gy)).word == "wrong"


def test_the_answer_function_gets_copies():
    ex = two_layer_net()
    def vandal(gy, h, W, b, s):
        W[...] = 0
        return gy.sum(axis=0)
    assert ex.submit(1, 2, vandal).word == "exact"
    assert np.any(ex.steps[1].inputs[1].data != 0)


def test_clear_errors_for_a_bad_step_or_input():
    ex = two_layer_net()
    with pytest.raises(ValueError, match=r"step must be an int in \[0, 3\]"):
        ex.submit(4, 0, np.zeros(2))
    with pytest.raises(ValueError, match=r"passes no gradient to input 0; the inputs with one "
                                         r"are 1 \(%2 W\), 2 \(%3 b\)"):
        ex.submit(3, 0, np.zeros((2, 3)))              # x is data
    with pytest.raises(ValueError, match="not an input of step 0"):
        ex.submit(0, tg.Tensor([1.0]), np.zeros(2))
    with pytest.raises(ValueError, match="does not require grad"):
        tg.exercise(tg.Tensor([1.0]).sum())


def test_a_shared_input_gets_one_item_per_use():
    x = tg.Tensor([0.5, -1.0], requires_grad=True, name="x")
    h = tg.exp(x)
    y = (h * h + h).sum()
    ex = tg.exercise(y)
    assert [s.name for s in ex.steps] == ["sum", "add", "mul", "exp"]
    mul = [i for i in ex.items if i.step == 2]
    assert [i.position for i in mul] == [0, 1]
    gy = np.ones(2)
    assert ex.submit(2, 1, gy * h.data).word == "exact"
    assert ex.submit(3, 0, lambda gy, x, y: gy * y).word == "exact"   # the total, at exp


def test_layers_and_the_graph_are_left_as_they_were():
    rng = np.random.default_rng(0)
    bn = tg.BatchNorm(3)
    drop = tg.Dropout(0.5, rng=1)
    x = tg.Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    loss = (drop(bn(x)) ** 2).sum()
    mean_before = bn.running_mean.copy()
    ex = tg.exercise(loss)
    np.testing.assert_array_equal(bn.running_mean, mean_before)   # no forward leaked out
    loss.backward()                                                 # the tape still works
    at_x = [i for i in ex.items if i.step == len(ex.steps) - 1 and i.position == 0]
    np.testing.assert_allclose(x.grad.data, at_x[0].right)
    assert "differ" in str(ex)     # Dropout draws a new mask: the sheet says why they differ


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**16), batch=st.integers(1, 4), which=st.integers(0, 6),
       bump=st.sampled_from([1e-3, -0.25, 2.0]))
def test_autograd_answers_score_full_and_one_bumped_element_is_found(seed, batch, which, bump):
    ex = two_layer_net(seed, batch)
    for item in ex.items:
        assert ex.submit(item.step, item.position, item.right.copy())
    assert ex.score == (7, 7)
    item = ex.items[which]
    answer = item.right.copy()
    index = tuple(int(i) for i in np.unravel_index(seed % answer.size, answer.shape))
    answer[index] += bump
    text = ex.submit(item.step, item.position, answer).text
    shown = list(index) if len(index) > 1 else index[0]
    assert text.startswith(f"wrong (worst element {shown}:"), text
    assert ex.score == (6, 7)


def test_the_two_layer_set_is_the_net_of_tinygrad_ce_trace():
    loss, _ = tiny_step()
    ex = two_layer_net()
    assert ex.steps[0].output.item() == loss.item()


def run_session(answers):
    lines, typed = [], iter(answers)
    def read(prompt):
        lines.append(prompt)
        try:
            return next(typed)
        except StopIteration:
            raise EOFError from None
    ex = session(two_layer_net(), read=read, write=lines.append)
    return ex, "\n".join(str(x) for x in lines)


def test_terminal_session():
    ex, text = run_session(["(softmax(x) - onehot(t, 2)) / 2 * gy", "?", "gy @ W.T", "x.T @ gy",
                            "gy.sum(0, keepdims=True)", "gy.sum(0)", "gy * out", "nope(", ""])
    assert "rule: dx = dout @ W.T" in text
    assert "wrong shape (given (1, 2), expected (2,))" in text
    assert "wrong (worst element" in text and "could not evaluate it: SyntaxError" in text
    assert text.rstrip().endswith("score: 4/7") and ex.score == (4, 7)


def test_cli_exercise_with_no_input_prints_the_empty_sheet(monkeypatch, capsys):
    def no_input(prompt=""):
        raise EOFError
    monkeypatch.setattr("builtins.input", no_input)
    assert main(["exercise"]) == 0
    out = capsys.readouterr().out
    assert "gy * (y - t) / N" in out and "step 0: %9 loss = softmax_with_loss" in out
    assert out.rstrip().endswith("score: 0/7")


def test_cli_exercise_quits_on_q(monkeypatch, capsys):
    answers = iter(["(softmax(x) - onehot(t, 2)) / x.shape[0] * gy", "q"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    assert main(["exercise", "--seed", "0"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("score: 1/7")
