"""An MLP on the spiral: training curves and the decision boundary (needs matplotlib for the
picture: pip install -e ".[plot]").

    python examples/spiral.py --plot spiral.png
"""

import argparse

import numpy as np

import tinygrad_ce as tg


def main(epochs=300, plot=None, seed=0):
    x, t = tg.datasets.spiral(100, 3, seed=seed)
    rng = np.random.default_rng(seed)
    model = tg.Sequential(tg.Affine(2, 30, init="he", rng=rng), tg.ReLU(),
                          tg.Affine(30, 3, rng=rng))
    loss_layer = tg.SoftmaxWithLoss()
    optimizer = tg.optim.Adam(model.params(), lr=0.02)
    history = {"loss": [], "accuracy": []}
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = loss_layer(model(tg.Tensor(x)), t)
        loss.backward()
        optimizer.step()
        history["loss"].append(loss.item())
        history["accuracy"].append(np.mean(model.forward(x).argmax(axis=1) == t))
    print(f"spiral, {len(x)} points: final loss {history['loss'][-1]:.4f}, "
          f"train accuracy {history['accuracy'][-1]:.4f}")
    if plot:
        draw(model, x, t, history, plot)
        print(f"wrote {plot}")
    return history


def draw(model, x, t, history, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.plot(history["loss"], label="loss")
    a.plot(history["accuracy"], label="train accuracy")
    a.set(xlabel="step", title="training")
    a.legend()
    grid = np.linspace(-1.1, 1.1, 300)
    gx, gy = np.meshgrid(grid, grid)
    classes = model.forward(np.stack([gx.ravel(), gy.ravel()], 1)).argmax(1).reshape(gx.shape)
    b.contourf(gx, gy, classes, alpha=0.3, levels=[-0.5, 0.5, 1.5, 2.5], cmap="brg")
    b.scatter(x[:, 0], x[:, 1], c=t, cmap="brg", s=10)
    b.set(title="decision boundary", aspect="equal")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    tg.threads.use_fastest()  # one BLAS thread unless you set OMP_NUM_THREADS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--plot", metavar="PATH", help="write the curves and boundary (PNG)")
    args = parser.parse_args()
    main(args.epochs, args.plot)
