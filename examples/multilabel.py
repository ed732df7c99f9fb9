"""Independent sigmoids vs one softmax.

Overlapping labels (a digit can be even AND at least 5 AND have a closed loop) need one sigmoid
per label (SigmoidWithLoss): a softmax forces the labels to compete for one unit of probability.
Mutually exclusive labels (which digit it is) are what softmax is for.

    python examples/multilabel.py
"""

import numpy as np

import tinygrad_ce as tg
from tinygrad_ce.train import standardize

ATTRIBUTES = {"even": lambda d: d % 2 == 0, "at least 5": lambda d: d >= 5,
              "closed loop": lambda d: np.isin(d, [0, 4, 6, 8, 9])}


def train(x, y, loss_layer, epochs, lr=0.5):
    model = tg.Affine(x.shape[1], y.shape[1] if y.ndim == 2 else int(y.max()) + 1, rng=0)
    for _ in range(epochs):
        model.zero_grad()
        loss_layer(model(tg.Tensor(x)), y).backward()
        for p in model.params():
            p.data -= lr * p.grad.data
    return model


def main(epochs=300):
    (x, t), (xt, tt) = standardize(*tg.datasets.load_digits())
    tags = np.stack([f(t) for f in ATTRIBUTES.values()], axis=1) * 1.0
    tags_test = np.stack([f(tt) for f in ATTRIBUTES.values()], axis=1)
    print(f"overlapping labels {list(ATTRIBUTES)}: {np.mean(tags.sum(1) > 1):.0%} of digits "
          "have more than one")

    sig = train(x, tags, tg.SigmoidWithLoss(), epochs)
    multi_sig = (xt @ sig.W.data + sig.b.data) > 0                        # each label on its own
    # a softmax needs rows that sum to 1: share the probability among a digit's labels, with an
    # extra "none" class for digits that have none of them
    with_none = np.concatenate([tags, (tags.sum(1, keepdims=True) == 0) * 1.0], axis=1)
    soft = train(x, with_none / with_none.sum(1, keepdims=True), tg.SoftmaxWithLoss(), epochs)
    p = tg.softmax(tg.Tensor(xt @ soft.W.data + soft.b.data)).data
    multi_soft = p[:, :3] > 1 / 4                                          # labels compete
    results = {"sigmoids": np.mean(np.all(multi_sig == tags_test, axis=1)),
               "softmax": np.mean(np.all(multi_soft == tags_test, axis=1))}
    print(f"all three labels right: independent sigmoids {results['sigmoids']:.3f}, "
          f"one softmax {results['softmax']:.3f}")

    onehot = np.eye(10)[t]
    sig10 = train(x, onehot, tg.SigmoidWithLoss(), epochs)
    soft10 = train(x, t, tg.SoftmaxWithLoss(), epochs)
    exclusive = {"sigmoids": np.mean((xt @ sig10.W.data + sig10.b.data).argmax(1) == tt),
                 "softmax": np.mean((xt @ soft10.W.data + soft10.b.data).argmax(1) == tt)}
    print(f"mutually exclusive digit labels, accuracy: sigmoids {exclusive['sigmoids']:.3f}, "
          f"softmax {exclusive['softmax']:.3f}")
    return results, exclusive


if __name__ == "__main__":
    tg.threads.use_fastest()  # one BLAS thread unless you set OMP_NUM_THREADS
    main()
