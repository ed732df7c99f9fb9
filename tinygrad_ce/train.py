"""The training loop behind ``tinygrad-ce train`` and the examples: models, fit, accuracy."""

import os
import sys
import time

import numpy as np

from . import datasets, models, optim, replay, threads
from .autograd import no_grad
from .data import DataLoader
from .layers import (
    GRU,
    Affine,
    AsSequence,
    Dropout,
    ReLU,
    Sequential,
    SigmoidWithLoss,
    SoftmaxWithLoss,
)
from .ops.nn import one_hot
from .tensor import Tensor

MODELS = ("logistic", "softmax", "mlp", "cnn", "gru")
HIDDEN = {"mlp": 256, "gru": 6}  # default hidden units (per direction for the gru)
OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adam", "lbfgs", "newton")
DATASETS = ("digits", "iris", "spiral", "mnist", "cifar10", "mnist1d")
# MNIST-1D's own settings (Greydanus and Kobak): Adam, lr 1e-2, batch 100, 6,000 steps = 150 epochs
# of 40 batches, no weight decay, the data as generated (no further standardisation)
PAPER_SETTINGS = {"mnist1d": {"epochs": 150, "batch_size": 100, "lr": 1e-2, "weight_decay": 0.0,
                              "standardize": False}}
SCHEDULES = ("none", "step", "exponential", "cosine")
PLOT_SUFFIXES = (".png", ".svg", ".pdf")
THREADS_HELP = threads.HELP
use_fastest_threads = threads.use_fastest


def load_dataset(name, root=None, download=False, seed=0):
    """(x_train, t_train), (x_test, t_test) for one of ``DATASETS``."""
    if name == "digits":
        return datasets.load_digits(seed=seed)
    if name == "iris":
        return datasets.load_iris(seed=seed)
    if name == "spiral":
        x, t = datasets.spiral(seed=seed)
        xt, tt = datasets.spiral(seed=seed + 1)
        return (x, t), (xt, tt)
    if name == "mnist":
        return datasets.load_mnist(root, download)
    if name == "cifar10":
        return datasets.load_cifar10(root, download)
    if name == "mnist1d":
        return datasets.load_mnist1d()
    raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")


def standardize(train, test):
    """Scale each feature to zero mean and unit variance with the training set's statistics
    (constant features are only centred)."""
    (x, t), (xt, tt) = train, test
    mean, std = x.mean(axis=0), x.std(axis=0)
    std = np.where(std < 1e-8, 1.0, std)
    return ((x - mean) / std, t), ((xt - mean) / std, tt)


def as_images(x, dataset):
    """Rows of features as (N, C, *spatial) for a convnet (``models.INPUT_SHAPES``)."""
    return x.reshape((len(x),) + models.INPUT_SHAPES[dataset])


def build_model(kind, n_in, n_classes, hidden=None, seed=0, dropout=0.0, dataset=None):
    """(model, loss layer). logistic: one sigmoid per class (one-vs-rest logistic regression);
    softmax: softmax regression; mlp: Affine -> ReLU [-> Dropout] -> Affine with softmax
    cross-entropy (on MNIST-1D: the paper's residual MLP); cnn: ``models.convnet_for(dataset)``
    on ``as_images(x, dataset)``; gru (MNIST-1D's recurrent model): the n_in features as n_in
    time steps of a bidirectional GRU, its outputs at every step flattened into
    Affine(2 * hidden * n_in, n_classes). ``hidden`` defaults per model (``HIDDEN``)."""
    if kind == "cnn":
        return models.convnet_for(dataset, n_classes, seed), SoftmaxWithLoss()
    if kind == "mlp" and dataset == "mnist1d":
        return models.mnist1d_mlp(seed), SoftmaxWithLoss()
    rng = np.random.default_rng(seed)
    hidden = HIDDEN.get(kind) if hidden is None else hidden
    # the linear models are convex: start at zero, as is usual for them (and best for Newton)
    if kind == "logistic":
        return Sequential(Affine(n_in, n_classes, init=0.0, rng=rng)), SigmoidWithLoss()
    if kind == "softmax":
        return Sequential(Affine(n_in, n_classes, init=0.0, rng=rng)), SoftmaxWithLoss()
    if kind == "mlp":
        if hidden < 1:
            raise ValueError(f"hidden must be >= 1, got {hidden}")
        middle = [Dropout(dropout, rng=rng)] if dropout else []
        return Sequential(Affine(n_in, hidden, init="he", rng=rng), ReLU(), *middle,
                          Affine(hidden, n_classes, rng=rng)), SoftmaxWithLoss()
    if kind == "gru":
        return Sequential(AsSequence(), GRU(1, hidden, bidirectional=True, rng=rng),
                          Affine(2 * hidden * n_in, n_classes, rng=rng)), SoftmaxWithLoss()
    raise ValueError(f"unknown model {kind!r}; choose one of {', '.join(MODELS)}")


def check_memory(n_in, hidden, n_classes, n_rows, batch_size):
    """Refuse an MLP whose arrays cannot fit in this machine's memory, before allocating."""
    weights = n_in * hidden + hidden + hidden * n_classes + n_classes
    # weights, gradients and two Adam moments; activations of a batch and of the whole set
    needed = 8 * (4 * weights + 3 * hidden * (batch_size + n_rows))
    available = _physical_memory()
    if available and needed > available:
        raise ValueError(f"--hidden {hidden} needs about {needed / 2**30:.3g} GiB but this "
                         f"machine has {available / 2**30:.3g} GiB; choose a smaller --hidden")


def _physical_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def build_optimizer(name, params, lr=None, weight_decay=0.0):
    """One of ``OPTIMIZERS`` with a sensible default learning rate."""
    defaults = {"sgd": 0.1, "momentum": 0.01, "adagrad": 0.05, "rmsprop": 0.001, "adam": 0.003,
                "lbfgs": 1.0, "newton": None}
    if name not in defaults:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    lr = defaults[name] if lr is None else lr
    if lr is not None and not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    if name == "sgd":
        return optim.SGD(params, lr, weight_decay=weight_decay)
    if name == "momentum":
        return optim.SGD(params, lr, momentum=0.9, weight_decay=weight_decay)
    if name == "adagrad":
        return optim.AdaGrad(params, lr, weight_decay=weight_decay)
    if name == "rmsprop":
        return optim.RMSProp(params, lr, weight_decay=weight_decay)
    if name == "adam":
        return optim.Adam(params, lr, weight_decay=weight_decay)
    if name == "lbfgs":
        return optim.LBFGS(params, lr, max_iter=20)
    return optim.Newton(params)


def build_schedule(name, optimizer, epochs):
    """A learning-rate schedule over ``epochs`` (None for "none"): "step" divides the lr by 10
    every third of the epochs, "exponential" by 100 over the run, "cosine" anneals it to 0."""
    if name == "none":
        return None
    if not hasattr(optimizer, "lr"):
        raise ValueError(f"--schedule {name}: {type(optimizer).__name__} has no learning rate; "
                         "choose another optimizer or leave out --schedule")
    if name == "step":
        return optim.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1)
    if name == "exponential":
        return optim.ExponentialLR(optimizer, gamma=0.01 ** (1 / epochs))
    if name == "cosine":
        return optim.CosineAnnealingLR(optimizer, T_max=epochs)
    raise ValueError(f"unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}")


def targets_for(loss_layer, t, n_classes):
    """Labels for a softmax loss; one-hot rows for independent sigmoids."""
    return one_hot(t, n_classes) if isinstance(loss_layer, SigmoidWithLoss) else t


def accuracy(model, x, t):
    """Fraction of rows whose largest output is the label (the model in eval mode)."""
    model.eval()
    with no_grad():
        out = model.forward(x)
    model.train()
    return float(np.mean(out.argmax(axis=1) == t))


class NonFiniteLoss(FloatingPointError):
    pass


class Progress:
    """A progress bar on stderr when it is a terminal: tqdm when installed, else a built-in one.

    ``say(text)`` prints a line on stdout after clearing the bar, so the two never share a line.
    """

    def __init__(self, total, enabled=True):
        self.enabled = enabled and sys.stderr.isatty()  # no bar in logs and pipes
        self.total, self.done, self.bar, self.width = total, 0, None, 0
        if self.enabled:
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, file=sys.stderr, leave=False)
            except ImportError:
                pass

    def update(self, text):
        self.done += 1
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)
            self.bar.update(1)
        elif self.enabled:
            filled = int(30 * self.done / self.total)
            line = f"[{'#' * filled}{'.' * (30 - filled)}] {text}"
            sys.stderr.write("\r" + line)
            sys.stderr.flush()
            self.width = max(self.width, len(line))

    def clear(self):
        """Remove the bar from its line (tqdm redraws it at the next update)."""
        if self.bar is not None:
            self.bar.clear()
        elif self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()
            self.width = 0

    def say(self, log, text):
        self.clear()
        log(text)
        sys.stdout.flush()

    def close(self):
        if self.bar is not None:
            self.bar.close()
        self.clear()


def _check_finite(loss, epoch, step, lr):
    if not np.isfinite(loss):
        raise NonFiniteLoss(f"the loss became {loss} at epoch {epoch}, step {step}; training "
                            f"stopped. Try a smaller learning rate (now {lr}).")


def objective(model, loss_layer, x, y, l2=0.0):
    """The loss ``fit`` minimises on ``(x, y)``, without the tape, in eval mode."""
    model.eval()
    with no_grad():
        loss = float(loss_layer.forward(model.forward(x), y))
    model.train()
    return loss + 0.5 * l2 * sum(float(np.sum(p.data ** 2)) for p in model.params())


def fit(model, loss_layer, optimizer, train, test, *, epochs=10, batch_size=100, seed=0,
        n_classes=None, l2=0.0, log=print, progress=True, compiled=False, schedule=None):
    """Train on the tape; returns the history: loss, train and test accuracy per epoch.

    ``l2`` adds ``l2 / 2 * sum(p^2)`` over the parameters to the loss (its gradient is the
    ``l2 * p`` of SGD's weight_decay); L-BFGS and Newton need it in the loss they minimise.
    ``compiled=True`` replays each step with ``tg.compile`` (recorded once per batch shape;
    the same numbers, bit for bit, with less bookkeeping). ``history["replayed"]`` counts the
    replayed steps.
    ``schedule`` (a tg.optim.StepLR, ...) steps once after each epoch.
    """
    (x, t), (xt, tt) = train, test
    n_classes = n_classes or int(max(t.max(), tt.max())) + 1
    y = targets_for(loss_layer, t, n_classes)
    full_batch = isinstance(optimizer, (optim.LBFGS, optim.Newton))
    loader = DataLoader(x, y, batch_size=len(x) if full_batch else batch_size, rng=seed)
    history = {"loss": [], "train_accuracy": [], "test_accuracy": []}
    lr = getattr(optimizer, "lr", None)
    bar = Progress(epochs * len(loader), enabled=progress)

    def loss_of(xb, yb):
        loss = loss_layer(model(Tensor(xb)), yb)
        for p in (model.params() if l2 else ()):
            loss = loss + (0.5 * l2) * (p * p).sum()
        return loss

    def train_step(xb, yb):
        optimizer.zero_grad()
        loss = loss_of(xb, yb)
        loss.backward()
        optimizer.step()
        return loss.item()
    if compiled:
        train_step = replay.compile(train_step)
    start = time.perf_counter()
    try:
        for epoch in range(1, epochs + 1):
            losses = []
            for step, (xb, yb) in enumerate(loader, 1):
                def closure(xb=xb, yb=yb):
                    optimizer.zero_grad()
                    loss = loss_of(xb, yb)
                    if not isinstance(optimizer, optim.Newton):
                        loss.backward()
                    return loss
                if full_batch:  # the loss after the step, as the epoch line should show
                    optimizer.step(closure)
                    loss = objective(model, loss_layer, xb, yb, l2)
                else:
                    loss = train_step(xb, yb)
                _check_finite(loss, epoch, step, lr)
                losses.append(loss)
                bar.update(f"epoch {epoch}/{epochs} loss {loss:.4f}")
            if schedule is not None:
                schedule.step()
            history["loss"].append(float(np.mean(losses)))
            history["train_accuracy"].append(accuracy(model, x, t))
            history["test_accuracy"].append(accuracy(model, xt, tt))
            if log:
                bar.say(log, f"epoch {epoch:3d}  loss {history['loss'][-1]:.4f}  "
                             f"train {history['train_accuracy'][-1]:.4f}  "
                             f"test {history['test_accuracy'][-1]:.4f}")
    finally:
        bar.close()
    history["seconds"] = time.perf_counter() - start
    history["replayed"] = getattr(train_step, "replays", 0)
    return history


def require_matplotlib():
    """matplotlib.pyplot (Agg backend), or a RuntimeError that says what to install."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("--plot needs matplotlib, which is not installed: pip install "
                           "'tinygrad_ce[plot]' (or pip install matplotlib)") from None
    return plt


def plot_history(history, path):
    """Write the loss and accuracy curves (PNG, SVG or PDF, by suffix; needs matplotlib)."""
    plt = require_matplotlib()
    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    a.plot(epochs, history["loss"])
    a.set(xlabel="epoch", ylabel="training loss", title="loss")
    b.plot(epochs, history["train_accuracy"], label="train")
    b.plot(epochs, history["test_accuracy"], label="test")
    b.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    b.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
