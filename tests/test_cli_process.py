"""The real command in a subprocess, as a user meets it: one-line errors, Ctrl-C, closed pipes,
a terminal for the progress bar."""

import os
import pathlib
import re
import signal
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_ce as tg
from tinygrad_ce.train import build_model

ROOT = pathlib.Path(__file__).resolve().parent.parent


def env(extra_path=None):
    paths = [str(ROOT)] + ([str(extra_path)] if extra_path else [])
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths), COLUMNS="100")


def command(*args):
    return [sys.executable, "-m", "tinygrad_ce", *map(str, args)]


def run(*args, extra_path=None, cwd=None):
    return subprocess.run(command(*args), capture_output=True, text=True, env=env(extra_path),
                          cwd=cwd, timeout=300)


def one_line_error(done, *words):
    """Exit status 2, nothing but one line on stderr, naming ``words``, no traceback."""
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def no_matplotlib(tmp_path):
    """A folder that shadows matplotlib with a module that cannot be imported."""
    fake = tmp_path / "shadow"
    (fake / "matplotlib").mkdir(parents=True)
    (fake / "matplotlib" / "__init__.py").write_text("raise ImportError('no matplotlib here')\n")
    return fake


@pytest.mark.parametrize("args, words", [
    (["--save", "nodir/m.npz"], ["--save nodir/m.npz", "folder nodir does not exist", "mkdir"]),
    (["--save", "m.txt"], ["--save m.txt", ".npz", "'.txt'"]),
    (["--plot", "nodir/c.png"], ["--plot nodir/c.png", "folder nodir does not exist"]),
    (["--plot", "c.txt"], ["--plot c.txt", ".png or .svg or .pdf"]),
    (["--hidden", "10000000000000"], ["--hidden 10000000000000 needs about", "smaller --hidden"]),
    (["--dataset", "mnist", "--data-root", "empty"],
     ["train-images-idx3-ubyte.gz", "--download", "--data-root", "https://", "by hand"]),
])
def test_output_paths_and_values_are_refused_in_one_line_before_any_work(tmp_path, args, words):
    (tmp_path / "empty").mkdir()
    done = run("train", "--epochs", "2", "--hidden", "8", *args, cwd=tmp_path)
    one_line_error(done, *words)
    assert "epoch" not in done.stdout                    # refused before training started
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]   # nothing made


def test_plot_without_matplotlib_is_refused_before_training(tmp_path, no_matplotlib):
    done = run("train", "--epochs", "2", "--plot", tmp_path / "c.png",
               extra_path=no_matplotlib)
    one_line_error(done, "--plot needs matplotlib", "pip install")
    assert "training" not in done.stdout


def test_graph_output_errors_are_one_line(tmp_path):
    one_line_error(run("graph", "-o", "missing_dir/g.svg", cwd=tmp_path),
                   "-o missing_dir/g.svg", "folder missing_dir does not exist")
    one_line_error(run("graph", "-o", "g.jpg", cwd=tmp_path), ".svg or .png or .dot")
    assert list(tmp_path.iterdir()) == []


def test_non_finite_loss_and_unknown_layer_are_one_line():
    one_line_error(run("train", "--model", "softmax", "--optimizer", "sgd", "--lr", "1e200",
                       "--epochs", "3", "--quiet"), "epoch 1, step", "smaller learning rate")
    one_line_error(run("gradcheck", "conv9d"), "unknown layer conv9d")


def test_version_and_help_say_how_to_choose_threads():
    done = run("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"tinygrad-ce {tg.__version__}"
    assert "OMP_NUM_THREADS" in run("--help").stdout
    assert "OMP_NUM_THREADS" in " ".join(run("train", "--help").stdout.split())


@pytest.mark.parametrize("args, words", [
    (["train", "--lr", "0"], ["--lr: must be > 0, got 0", "see tinygrad-ce train --help"]),
    (["train", "--optimzer", "adam"], ["did you mean --optimizer?"]),
    (["trian"], ["invalid choice: 'trian'"]),
    ([], ["required: COMMAND"]),
    (["train", "--seed", "-1"], ["--seed: must be from 0 to"]),
    (["trace", "--batch", "100000000000"], ["--batch: must be from 1 to 10000"]),
    (["trace", "--batch", "x"], ["--batch: invalid integer value: 'x'"]),
])
def test_argument_mistakes_are_one_line(args, words):
    one_line_error(run(*args), *words)


def test_a_closed_pipe_exits_quietly():
    process = subprocess.Popen(command("trace"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env())
    process.stdout.close()                    # as `tinygrad-ce trace | head -0` would
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141 and stderr == ""


def test_pipe_into_head_gets_the_first_line():
    done = subprocess.run(" ".join(command("trace")) + " | head -1", shell=True, env=env(),
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.startswith("step") and done.stderr == ""


def start_training(tmp_path, *extra):
    """A long training run, started with SIGINT at its default (Python then raises
    KeyboardInterrupt), read until its first epoch line."""
    process = subprocess.Popen(
        command("train", "--epochs", "100000", "--hidden", "16", *extra),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), cwd=tmp_path,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in process.stdout:
        if line.startswith("epoch"):
            return process
    raise AssertionError(process.stderr.read())


def test_ctrl_c_stops_cleanly_and_saves_the_model_so_far(tmp_path):
    process = start_training(tmp_path, "--save", "m.npz")
    process.send_signal(signal.SIGINT)
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 130
    assert stderr.strip() == "tinygrad-ce train: interrupted; saved the parameters so far to m.npz"
    model, _ = build_model("mlp", 64, 10, 16, dropout=0.3)
    model.load(tmp_path / "m.npz")
    assert np.abs(model[0].W.data).sum() > 0


def test_ctrl_c_without_save_says_nothing_was_saved(tmp_path):
    process = start_training(tmp_path)
    process.send_signal(signal.SIGINT)
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 130 and "Traceback" not in stderr
    assert "interrupted; nothing was saved (give --save PATH" in stderr
    assert list(tmp_path.iterdir()) == []


def screen(raw):
    """What a terminal shows for ``raw``: carriage returns move to column 0 and later text
    overwrites earlier text; ANSI erase-line (ESC[K, ESC[2K) clears to the end."""
    lines, line, col = [], [], 0
    i = 0
    while i < len(raw):
        c = raw[i]
        if raw.startswith("\x1b[", i):
            end = i + 2
            while end < len(raw) and not raw[end].isalpha():
                end += 1
            if raw[end] == "K":
                line = line[:col] if raw[i + 2:end] in ("", "0") else []
            elif raw[end] == "A":                      # cursor up: tqdm's multi-line mode
                pass
            i = end + 1
            continue
        if c == "\r":
            col = 0
        elif c == "\n":
            lines.append("".join(line).rstrip())
            line, col = [], 0
        else:
            line[col:col + 1] = [c]
            col += 1
        i += 1
    lines.append("".join(line).rstrip())
    return [x for x in lines if x]


def run_in_terminal(*args, extra_path=None):
    """Run the command with stdout and stderr on a pseudo-terminal; all it wrote, decoded."""
    import fcntl
    import pty
    import struct
    import termios
    main, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24 x 100
    process = subprocess.Popen(command(*args), stdout=secondary, stderr=secondary,
                               env=env(extra_path), close_fds=True)
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:                              # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    assert process.wait(timeout=300) == 0
    return b"".join(chunks).decode()


@pytest.fixture
def no_tqdm(tmp_path):
    fake = tmp_path / "shadow_tqdm"
    (fake / "tqdm").mkdir(parents=True)
    (fake / "tqdm" / "__init__.py").write_text("raise ImportError('no tqdm here')\n")
    return fake


@pytest.mark.parametrize("with_tqdm", [False, True])
def test_progress_bar_clears_its_line_before_each_epoch_line(with_tqdm, no_tqdm):
    if with_tqdm:
        pytest.importorskip("tqdm")
    raw = run_in_terminal("train", "--epochs", "3", "--hidden", "16",
                          extra_path=None if with_tqdm else no_tqdm)
    assert ("it/s" in raw or "it]" in raw) if with_tqdm else "[#" in raw    # a bar was drawn
    shown = screen(raw)
    epochs = [line for line in shown if "epoch" in line]
    assert [line.split()[:2] for line in epochs] == [["epoch", "1"], ["epoch", "2"], ["epoch", "3"]]
    assert all(re.fullmatch(r"epoch +\d  loss [\d.]+  train [\d.]+  test [\d.]+", line)
               for line in epochs), epochs
    assert not any("#" in line or "%|" in line for line in shown), shown
    assert shown[-1].startswith("test accuracy")
