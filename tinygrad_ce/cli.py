"""Command line: ``tinygrad-ce train | gradcheck | graph | trace | exercise``; also
python -m tinygrad_ce.

Each subcommand is one builder function decorated with ``@command``: it adds its parser and
sets ``run``. ``main`` runs the chosen one inside ``command.run``, which turns every failure
into one line on stderr (exit 2), Ctrl-C into exit 130 and a closed pipe into a quiet exit.
Adding a subcommand is adding one builder; adding an option is one line in its builder.
"""

import argparse
import difflib
import sys

import numpy as np

from . import __version__
from . import train as T
from .command import CommandError, Interrupted, Parser, check_output, run

COMMANDS = []  # the builders, in the order --help lists the subcommands


def command(build):
    """Register ``build(sub)``, which adds one subcommand to the parser ``sub``."""
    COMMANDS.append(build)
    return build


def positive_int(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def int_in(low, high):
    """An argparse type: an integer from ``low`` to ``high``."""
    def integer(text):  # argparse names the function: "invalid integer value: 'x'"
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {text}")
        return value
    return integer


seed = int_in(0, 2**63 - 1)  # what np.random.default_rng accepts


def positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


@command
def add_train(sub):
    p = sub.add_parser("train", help="train a model and print its accuracy",
                       description="Train a model on the tape and report train and test "
                                   "accuracy. With no options: an MLP on the shipped digits.",
                       epilog=T.THREADS_HELP)
    p.add_argument("--model", choices=T.MODELS, default="mlp")
    p.add_argument("--dataset", choices=T.DATASETS, default="digits")
    p.add_argument("--optimizer", choices=T.OPTIMIZERS, default="adam")
    p.add_argument("--epochs", type=positive_int, default=None,
                   help="passes over the data (default 40; mnist1d: 150, the paper's 6,000 steps)")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help="default 50; mnist1d: 100")
    p.add_argument("--schedule", choices=T.SCHEDULES, default="none",
                   help="learning-rate schedule, stepped once per epoch: step (/10 every third "
                        "of the epochs), exponential (/100 over the run), cosine (to 0)")
    p.add_argument("--lr", type=positive_float, default=None,
                   help="learning rate (default depends on the optimizer; adam on mnist1d: 1e-2)")
    p.add_argument("--weight-decay", type=float, default=None,
                   help="L2 strength: weight_decay for first-order optimizers, l2/2 |p|^2 in "
                        "the loss for lbfgs and newton (default 1e-4; mnist1d: 0)")
    p.add_argument("--hidden", type=positive_int, default=None,
                   help="hidden units of the mlp (default 256) or of each direction of the gru "
                        "(default 6)")
    p.add_argument("--dropout", type=float, default=0.3, help="dropout after the mlp's ReLU")
    p.add_argument("--no-standardize", action="store_true",
                   help="keep the raw features (default: zero mean, unit variance; mnist1d is "
                        "used as generated)")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--data-root", default=None, help="folder of the MNIST or CIFAR-10 files")
    p.add_argument("--download", action="store_true", help="fetch MNIST or CIFAR-10 if missing")
    p.add_argument("--save", metavar="PATH", help="write the trained parameters (.npz)")
    p.add_argument("--plot", metavar="PATH", help="write a PNG of loss and accuracy curves")
    p.add_argument("--quiet", action="store_true", help="no per-epoch lines or progress bar")
    p.add_argument("--compile", action="store_true",
                   help="replay each training step with tg.compile (same numbers, less "
                        "bookkeeping; lbfgs and newton run normally)")
    p.set_defaults(run=run_train)


def _paper_defaults(args):
    """Fill the options left unset: a dataset's own settings (MNIST-1D's paper), else ours."""
    paper = T.PAPER_SETTINGS.get(args.dataset, {})
    args.epochs = args.epochs or paper.get("epochs", 40)
    args.batch_size = args.batch_size or paper.get("batch_size", 50)
    if args.lr is None and args.optimizer == "adam":
        args.lr = paper.get("lr")
    if args.weight_decay is None:
        args.weight_decay = paper.get("weight_decay", 1e-4)
    args.no_standardize = args.no_standardize or not paper.get("standardize", True)


def run_train(args):
    _paper_defaults(args)
    if not 0 <= args.dropout < 1:
        raise CommandError(f"--dropout must be in [0, 1), got {args.dropout}")
    if args.weight_decay < 0:
        raise CommandError(f"--weight-decay must be >= 0, got {args.weight_decay}")
    if args.save:
        check_output(args.save, "--save", (".npz",))
    if args.plot:
        check_output(args.plot, "--plot", T.PLOT_SUFFIXES)
        T.require_matplotlib()
    train, test = T.load_dataset(args.dataset, args.data_root, args.download, args.seed)
    if not args.no_standardize:
        train, test = T.standardize(train, test)
    n_in, n_classes = train[0].shape[1], int(max(train[1].max(), test[1].max())) + 1
    if args.model == "mlp":
        T.check_memory(n_in, args.hidden or T.HIDDEN["mlp"], n_classes, len(train[0]),
                       args.batch_size)
    model, loss_layer = T.build_model(args.model, n_in, n_classes, args.hidden, args.seed,
                                      args.dropout if args.model == "mlp" else 0.0, args.dataset)
    if args.model == "cnn":
        train, test = [(T.as_images(x, args.dataset), t) for x, t in (train, test)]
    closure_based = args.optimizer in ("lbfgs", "newton")
    optimizer = T.build_optimizer(args.optimizer, model.params(), args.lr,
                                  0.0 if closure_based else args.weight_decay)
    schedule = T.build_schedule(args.schedule, optimizer, args.epochs)
    print(f"training {args.model} on {args.dataset} ({len(train[0])} train, {len(test[0])} test, "
          f"{n_in} features, {n_classes} classes) with {args.optimizer}", flush=True)
    try:  # overflow warnings are left out: a non-finite loss stops with its own message
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            history = T.fit(model, loss_layer, optimizer, train, test, epochs=args.epochs,
                            batch_size=args.batch_size, seed=args.seed, n_classes=n_classes,
                            l2=args.weight_decay if closure_based else 0.0,
                            log=None if args.quiet else print, progress=not args.quiet,
                            compiled=args.compile, schedule=schedule)
    except KeyboardInterrupt:
        raise Interrupted(_save_interrupted(model, args.save)) from None
    print(f"train accuracy {history['train_accuracy'][-1]:.4f}")
    print(f"test accuracy {history['test_accuracy'][-1]:.4f}  ({history['seconds']:.1f} s)")
    if args.compile:
        print(f"replayed {history['replayed']} steps (tg.compile)")
    if args.save:
        model.save(args.save)
        print(f"saved the parameters to {args.save}")
    if args.plot:
        T.plot_history(history, args.plot)
        print(f"wrote {args.plot}")
    return 0


def _save_interrupted(model, path):
    """Ctrl-C during training: keep the parameters so far when --save was given."""
    if not path:
        return "nothing was saved (give --save PATH to keep the parameters so far)"
    model.save(path)
    return f"saved the parameters so far to {path}"


@command
def add_gradcheck(sub):
    from .layers import catalogue
    p = sub.add_parser("gradcheck", help="check every built-in layer three ways",
                       description="Run tg.check_layer on the built-in layers (or those named): "
                                   "own backward vs autograd vs finite differences. Exit status "
                                   "1 if any fails.")
    p.add_argument("layers", nargs="*", metavar="LAYER",
                   help=f"layers to check (default: all): {', '.join(catalogue())}")
    p.add_argument("--seed", type=seed, default=0)
    p.set_defaults(run=run_gradcheck)


def run_gradcheck(args):
    from .check_layer import check_layer
    from .layers import catalogue
    known = catalogue()
    unknown = [n for n in args.layers if n not in known]
    if unknown:
        raise ValueError(f"unknown layer {', '.join(unknown)}; choose from {', '.join(known)}")
    failed = 0
    for name in args.layers or list(known):
        layer, inputs = known[name](np.random.default_rng(args.seed))
        report = check_layer(layer, *inputs, seed=args.seed)
        print(report, end="\n\n")
        failed += not report
    print(f"{len(args.layers or known) - failed} passed, {failed} failed")
    return 1 if failed else 0


def tiny_step(seed=0, batch=2):
    """One training step of a small two-layer net, traced: (loss, trace)."""
    from . import Affine, Sequential, Sigmoid, SoftmaxWithLoss, Tensor, trace
    rng = np.random.default_rng(seed)
    x = Tensor(rng.standard_normal((batch, 3)).round(2), name="x")
    t = Tensor(rng.integers(0, 2, batch), name="t")
    net = Sequential(Affine(3, 4, rng=rng), Sigmoid(), Affine(4, 2, rng=rng))
    loss = SoftmaxWithLoss()(net(x), t)
    loss.name = "loss"
    with trace() as tr:
        loss.backward(retain_graph=True)
    return loss, tr


@command
def add_graph(sub):
    p = sub.add_parser("graph", help="draw the graph of one step of a small network",
                       description="Write the graph of one training step of a small two-layer "
                                   "net (Affine -> Sigmoid -> Affine -> SoftmaxWithLoss), with "
                                   "values and gradients. SVG and PNG use Graphviz's dot when "
                                   "installed (SVG has a built-in fallback); .dot writes the text.")
    p.add_argument("-o", "--output", default="graph.svg", help="the file (.svg, .png or .dot)")
    p.add_argument("--expand", action="store_true", help="draw each layer's primitive ops")
    p.add_argument("--no-values", action="store_true", help="leave out values and gradients")
    p.add_argument("--seed", type=seed, default=0)
    p.set_defaults(run=run_graph)


def run_graph(args):
    from .viz import render, require_dot
    path = check_output(args.output, "-o", (".svg", ".png", ".dot"))
    if path.suffix.lower() == ".png":
        require_dot("-o " + str(path))
    loss, tr = tiny_step(args.seed)
    path = render(loss, path, trace=None if args.no_values else tr, expand=args.expand,
                  values=not args.no_values)
    print(f"wrote {path}")
    return 0


@command
def add_trace(sub):
    p = sub.add_parser("trace", help="print the backward trace of one step on a tiny batch",
                       description="Print each backward step of one training step of a small "
                                   "two-layer net: the gradient each op received and what it "
                                   "passed on, and the rule it used.")
    p.add_argument("--batch", type=int_in(1, 10_000), default=2, help="rows in the batch")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--html", metavar="PATH", help="instead, write a page that steps through "
                   "it in the browser (one self-contained .html file)")
    p.set_defaults(run=run_trace)


def run_trace(args):
    path = check_output(args.html, "--html", (".html", ".htm")) if args.html else None
    loss, tr = tiny_step(args.seed, args.batch)
    if path:
        from .viz import html
        html(loss, path)
        print(f"wrote {path}: open it in a browser, step with the arrow keys")
        return 0
    print(loss.tape())
    print()
    print(tr)
    return 0


@command
def add_exercise(sub):
    p = sub.add_parser("exercise", help="derive the gradients of the demo net yourself",
                       description="Backprop exercises at the terminal: for each backward step "
                                   "of the two-layer net of `trace`, type the gradient it "
                                   "passes to each input as a NumPy expression and get it "
                                   "marked (exact, close, wrong, wrong shape); ends with the "
                                   "score sheet. Step 0 is the softmax-with-loss: y - t.")
    p.add_argument("--batch", type=int_in(1, 10_000), default=2, help="rows in the batch")
    p.add_argument("--seed", type=seed, default=0)
    p.set_defaults(run=run_exercise)


def run_exercise(args):
    from .exercises import session, two_layer_net
    session(two_layer_net(args.seed, args.batch))
    return 0


def _unknown_message(command_parser, unknown):
    """'unrecognized arguments: --optimzer adam (did you mean --optimizer?)'."""
    options = [o for a in command_parser._actions for o in a.option_strings]
    hints = [m[0] for u in unknown if u.startswith("-")
             for m in [difflib.get_close_matches(u.split("=")[0], options, n=1)] if m]
    message = f"unrecognized arguments: {' '.join(unknown)}"
    return message + (f" (did you mean {', '.join(hints)}?)" if hints else "")


@command
def add_reproduce(sub):
    p = sub.add_parser("reproduce", help="reproduce a paper's table (mnist1d), offline",
                       description="Train the MNIST-1D paper's models (logistic regression, "
                                   "MLP, CNN, bidirectional GRU) with its settings (Adam, "
                                   "lr 1e-2, batch 100, 6,000 steps) over several seeds, and "
                                   "print our test "
                                   "accuracy (mean and range) beside the paper's and the "
                                   "official notebooks' figures.")
    p.add_argument("dataset", choices=["mnist1d"])
    p.add_argument("--seeds", type=positive_int, default=None, help="seeds per model (default 3; "
                   "--quick: 2)")
    p.add_argument("--quick", action="store_true",
                   help="a smoke test: 300 steps, 2 seeds (well under a minute)")
    p.add_argument("--models", default=None,
                   help="comma-separated subset of the models (default: all)")
    p.add_argument("--steps", type=positive_int, default=None, help="override the 6,000 steps")
    p.set_defaults(run=run_reproduce)


def run_reproduce(args):
    from . import reproduce
    names = args.models.split(",") if args.models else None
    reproduce.main(args.dataset, seeds=args.seeds, quick=args.quick, names=names,
                   steps=args.steps)
    return 0


def parser():
    p = Parser(prog="tinygrad-ce", epilog=T.THREADS_HELP,
               description="tinygrad_ce: learn, teach and test backpropagation")
    p.add_argument("--version", action="version", version=f"tinygrad-ce {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for build in COMMANDS:
        build(sub)
    return p


def main(argv=None):
    p = parser()
    args, unknown = p.parse_known_args(argv)
    if unknown:
        sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
        sub.choices[args.command].error(_unknown_message(sub.choices[args.command], unknown))
    T.use_fastest_threads()
    return run(args.command, args.run, args)


if __name__ == "__main__":
    sys.exit(main())
