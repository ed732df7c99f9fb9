"""Backpropagation through time: how the gradient of a loss on the LAST step reaches earlier
steps, and why it vanishes or explodes (needs matplotlib only for --plot).

    python examples/bptt.py [--steps 40] [--plot bptt.png]

The loss is L = sum(h_T * v): it reads the last hidden state only. Its gradient reaches h_t only
by going back through every step in between, and each step multiplies it by that step's
Jacobian. For the plain RNN, h_t = tanh(x_t Wx + bx + h_{t-1} Wh + bh), so

    dL/dh_{t-1} = (dL/dh_t * (1 - h_t^2)) @ Wh.T,   ||dL/dh_{t-1}|| <= ||Wh||_2 ||dL/dh_t||

(tanh' <= 1). Recurrent weights with spectral norm below 1 make the gradient shrink
geometrically (vanish); above 1, while tanh is not saturated, it can grow geometrically
(explode). GRU and LSTM add a path that is a product of gates instead: dL/dh_{t-1} gets
dL/dh_t * z (GRU's update gate), dL/dc_{t-1} gets dL/dc_t * f (LSTM's forget gate). With the
gates near 1 the gradient passes many steps almost unchanged; at PyTorch's initialisation they
sit near 0.5 and the gradient still decays, so a gate bias of +3 (the "forget bias" of Gers et
al. and Jozefowicz et al.) shows the open path.
"""

import argparse

import numpy as np

import tinygrad_ce as tg


def hidden_gradient_norms(layer, x, v):
    """Unroll ``layer`` (forward direction) step by step on the tape and return
    (||dL/dh_t|| for t = 1..T, dL/dx) with L = sum(h_T * v)."""
    Wx, Wh, bx, bh = layer.weights()
    x = tg.Tensor(x, requires_grad=True)
    h = c = tg.Tensor(np.zeros((x.shape[0], layer.hidden_size)))
    hs = []
    for t in range(x.shape[1]):
        h, c = layer.cell(x[:, t] @ Wx + bx, h @ Wh + bh, h, c)
        h.retain_grad()                # keep dL/dh_t of this intermediate
        hs.append(h)
    (h * v).sum().backward()
    return np.array([np.linalg.norm(h.grad.data) for h in hs]), x.grad.data


def configurations(d, hidden, rng):
    """name -> layer: plain RNNs with recurrent weights of spectral norm 0.5, 1.5 and 3 (a
    scaled orthogonal matrix), and each layer at PyTorch's initialisation and with a gate bias."""
    q = np.linalg.qr(rng.standard_normal((hidden, hidden)))[0]

    def rnn_with(scale):
        layer = tg.RNN(d, hidden, rng=1)
        layer.Wh.data[...] = scale * q
        return layer

    def gate_bias(layer, gate, value):
        layer.bh.data[gate * hidden:(gate + 1) * hidden] += value
        return layer

    return {
        "RNN, ||Wh|| = 0.5": rnn_with(0.5),
        "RNN, ||Wh|| = 1.5": rnn_with(1.5),
        "RNN, ||Wh|| = 3": rnn_with(3.0),
        "RNN, default init": tg.RNN(d, hidden, rng=1),
        "GRU, default init": tg.GRU(d, hidden, rng=1),
        "GRU, update bias +3": gate_bias(tg.GRU(d, hidden, rng=1), 1, 3.0),
        "LSTM, default init": tg.LSTM(d, hidden, rng=1),
        "LSTM, forget bias +3": gate_bias(tg.LSTM(d, hidden, rng=1), 1, 3.0),
    }


def main(steps=40, hidden=16, batch=8, plot=None, seed=0):
    rng = np.random.default_rng(seed)
    d = 4
    x = 0.1 * rng.standard_normal((batch, steps, d))   # small inputs: tanh stays unsaturated
    v = rng.standard_normal((batch, hidden))
    results, worst, every = {}, 0.0, max(1, steps // 8)
    back = list(range(0, steps, every))
    print(f"||dL/dh_t|| for L = sum(h_T * v), T = {steps}, t = T - k:")
    print(f"{'k (steps back)':22s}" + "".join(f"{k:>9d}" for k in back))
    for name, layer in configurations(d, hidden, rng).items():
        norms, dx = hidden_gradient_norms(layer, x, v)
        dout = np.zeros((batch, steps, hidden))
        dout[:, -1] = v                                # the same loss, by hand
        layer.forward(x)
        own = layer.backward(dout)
        worst = max(worst, np.abs(own - dx).max() / np.abs(dx).max())
        results[name] = norms
        print(f"{name:22s}" + "".join(f"{norms[-1 - k]:9.1e}" for k in back))
    print(f"the layers' own backward through time and the unrolled tape agree on dL/dx to "
          f"{worst:.0e} (relative)")
    if plot:
        draw(results, plot)
        print(f"wrote {plot}")
    return results, worst


def draw(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, norms in results.items():
        style = "-" if name.startswith("RNN") else "--"
        ax.semilogy(np.arange(len(norms)), norms[::-1], style, label=name)
    ax.set(xlabel="steps back from the last step (k)", ylabel="||dL/dh_{T-k}||",
           title="Backpropagation through time: the gradient reaching earlier steps")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    tg.threads.use_fastest()  # one BLAS thread unless you set OMP_NUM_THREADS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="sequence length T")
    parser.add_argument("--plot", metavar="PATH", help="write the norms per step (PNG)")
    args = parser.parse_args()
    main(steps=args.steps, plot=args.plot)
