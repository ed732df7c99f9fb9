"""A backprop exercise marked by pytest: derive every gradient of one step of a two-layer net.

The net (``tg.exercises.two_layer_net``): h = sigmoid(x @ W1 + b1), s = h @ W2 + b2,
loss = softmax-with-loss(s, t), the mean over N rows. Each function below is one answer: the
gradient one backward step passes to one input, given what the step received (gy), its inputs
and its output. Fill them in, then

    python examples/exercise_two_layer_net.py             # prints the score sheet
    python -m pytest examples/exercise_two_layer_net.py   # the autograder: fails with the sheet

The answers are marked against autograd and central differences, and each function is also
tried at a random gy, so an answer that ignores gy does not pass.
"""

import numpy as np

import tinygrad_ce as tg


def softmax(s):
    e = np.exp(s - s.max(axis=1, keepdims=True))     # shift by the max: exp never overflows
    return e / e.sum(axis=1, keepdims=True)


# step 0, the loss: d loss / d s. The learner's derivation ends in y - t (see the README).
def loss_s(gy, s, t, loss):
    y, n = softmax(s), s.shape[0]
    return gy * (y - np.eye(s.shape[1])[t]) / n


# step 1, s = h @ W2 + b2
def affine_h(gy, h, W, b, s):
    return gy @ W.T


def affine_W(gy, h, W, b, s):
    return h.T @ gy


def affine_b(gy, h, W, b, s):
    return gy.sum(axis=0)


# step 2, h = sigmoid(z)
def sigmoid_z(gy, z, h):
    return gy * h * (1 - h)


# step 3, z = x @ W1 + b1 (x is data: no gradient asked)
ANSWERS = {(0, 0): loss_s, (1, 0): affine_h, (1, 1): affine_W, (1, 2): affine_b,
           (2, 0): sigmoid_z, (3, 1): affine_W, (3, 2): affine_b}


def mark(answers=ANSWERS, seed=0):
    """Submit every answer; return the exercise (``print`` it for the score sheet)."""
    ex = tg.exercises.two_layer_net(seed)
    for (step, position), answer in answers.items():
        ex.submit(step, position, answer)
    return ex


def test_every_gradient_of_the_two_layer_net():
    for seed in (0, 1):              # two draws of data and weights: no answer fits by luck
        ex = mark(seed=seed)
        assert ex, f"\n{ex}"


if __name__ == "__main__":
    print(mark())
