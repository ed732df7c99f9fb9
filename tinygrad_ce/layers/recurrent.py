"""Recurrent layers: RNN, GRU and LSTM, with backward by hand as backpropagation through time.

Input x of shape (N, T, D) (batch first, as ``batch_first=True`` in PyTorch), output of shape
(N, T, H), or (N, T, 2H) when bidirectional: the forward direction's states, then the reverse
direction's. Every call starts from a zero state.

Parameters, per direction: ``Wx`` (D, G*H), ``Wh`` (H, G*H), ``bx`` (G*H,), ``bh`` (G*H,) with
the G gates side by side in PyTorch's order, so ``Wx`` is ``weight_ih_l0.T``, ``Wh`` is
``weight_hh_l0.T``, ``bx`` is ``bias_ih_l0`` and ``bh`` is ``bias_hh_l0``; the reverse direction's
are ``Wx_reverse``, ... (PyTorch's ``..._l0_reverse``). Initialised as PyTorch does: uniform in
(-1/sqrt(H), 1/sqrt(H)).

Backward through time, for one direction: the step at time t receives dh_t = (gradient of the
output at t) + (what step t+1 passed back), computes the gradients of its gate pre-activations
``da_t``, and passes ``dh_{t-1} = da_t @ Wh.T`` (+ the direct path of GRU and LSTM) to step t-1.
The weight gradients are sums over the steps, taken at the end with one matrix product each:
``dWx = sum_t x_t.T @ dax_t``, ``dWh = sum_t h_{t-1}.T @ dah_t``.
"""

import numpy as np

from ..dtypes import get_default_dtype
from ..functional import FUNCTIONS as F
from ..tensor import Tensor
from .base import Layer


def _sigmoid(a):
    # sigmoid(a) = (1 + tanh(a / 2)) / 2: exact, and tanh never overflows
    s = np.tanh(a * 0.5)
    s += 1
    s *= 0.5
    return s


class _Recurrent(Layer):
    """What the three layers share: parameters, directions, layout, and the weight gradients.

    A subclass gives ``gates`` (G), ``width`` (how many H-wide blocks each step saves), and
    ``run`` (the loop over time), ``bptt`` (the loop back) on ndarrays, ``cell`` on Tensors.
    """
    gates, width = 1, 0
    has_cell = False    # LSTM: a cell state beside h
    saves_inputs, saves_output = True, False
    saved = ("x", "hs", "acts")

    def __init__(self, input_size, hidden_size, *, bidirectional=False, rng=None, dtype=None):
        super().__init__()
        if input_size < 1 or hidden_size < 1:
            raise ValueError(f"{self.name}: input_size and hidden_size must be >= 1, got "
                             f"({input_size}, {hidden_size})")
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        dtype = np.dtype(dtype or get_default_dtype())
        self.input_size, self.hidden_size = input_size, hidden_size
        self.bidirectional = bool(bidirectional)
        k, gh = 1 / np.sqrt(hidden_size), self.gates * hidden_size
        for suffix in self.directions():
            for name, shape in (("Wx", (input_size, gh)), ("Wh", (hidden_size, gh)),
                                ("bx", (gh,)), ("bh", (gh,))):
                value = rng.uniform(-k, k, shape).astype(dtype)
                setattr(self, name + suffix, Tensor(value, requires_grad=True,
                                                    name=name + suffix))
        self.x = self.hs = self.acts = self.h = self.c = None

    def directions(self):
        """The parameter-name suffix of each direction: "" (forward), "_reverse"."""
        return ("", "_reverse") if self.bidirectional else ("",)

    def weights(self, suffix=""):
        """(Wx, Wh, bx, bh) of one direction."""
        return tuple(getattr(self, n + suffix) for n in ("Wx", "Wh", "bx", "bh"))

    def _check(self, x):
        d = self.input_size
        if x.ndim != 3 or x.shape[2] != d or x.shape[1] < 1:
            hint = ("; one feature per step: x[..., None] adds the feature axis"
                    if x.ndim == 2 and d == 1 else "")
            raise ValueError(f"{self.name}: expected input of shape (N, T, {d}) (batch, time "
                             f"steps >= 1, features), got {x.shape}{hint}")

    # ---- by hand -------------------------------------------------------------------------
    def _stacked(self):
        """Wx, Wh, bx, bh of all directions stacked on a leading axis: the directions run
        side by side, as a batch of matrix products, in one loop over time."""
        ws = [self.weights(suffix) for suffix in self.directions()]
        return [np.stack([w[i].data for w in ws]) for i in range(4)]

    def forward(self, x):
        """out[:, t] = h_t of each direction, from h = 0 (and c = 0); saves every step's
        state and gates for backward."""
        x = np.asarray(x)
        if x.dtype.kind != "f":  # integers: computed in the weights' dtype
            x = x.astype(self.Wx.dtype)
        self._check(x)
        self.x, xs = x, x.transpose(1, 0, 2)  # time first: a step reads a contiguous block
        T, N, H = xs.shape[0], xs.shape[1], self.hidden_size
        Wx, Wh, bx, bh = self._stacked()
        K = len(Wx)
        # the input's share of every step at once; the reverse direction reads x backwards
        seqs = np.stack([xs, xs[::-1]], axis=1) if K == 2 else xs[:, None]
        hs = np.zeros((T + 1, K, N, H), dtype=x.dtype)    # hs[t + 1]: state after step t
        acts = np.empty((T, K, N, self.width * H), dtype=x.dtype)
        self.run(seqs @ Wx + bx[:, None], Wh, bh[:, None], hs, acts)
        self.hs, self.acts = hs, acts
        # copies: writing into layer.h must not change what backward reads
        self.h = (hs[-1] if self.bidirectional else hs[-1, 0]).copy()
        if self.has_cell:
            self.c = (acts[-1, ..., -H:] if self.bidirectional else acts[-1, 0, :, -H:]).copy()
        outs = [hs[1:, 0]] + ([hs[:0:-1, 1]] if self.bidirectional else [])
        return np.concatenate(outs, axis=-1).transpose(1, 0, 2)

    def backward(self, dout):
        """Backpropagation through time; each weight gradient is one matrix product over all
        the steps' gate gradients."""
        self.check_forward_done()
        H, D = self.hidden_size, self.input_size
        gy, xs = dout.transpose(1, 0, 2), self.x.transpose(1, 0, 2)
        g = gy.reshape(*gy.shape[:2], -1, H).transpose(0, 2, 1, 3)    # (T, K, N, H)
        if self.bidirectional:
            g = np.stack([g[:, 0], g[::-1, 1]], axis=1)
        dax, dah = self.bptt(np.ascontiguousarray(g), self.hs, self.acts, self._stacked()[1])
        dx = np.zeros(xs.shape, dtype=dout.dtype) if self.input_needs_grad else None
        for k, suffix in enumerate(self.directions()):
            Wx, Wh, bx, bh = self.weights(suffix)
            seq, da_x, da_h = (xs[::-1] if suffix else xs), dax[:, k], dah[:, k]
            GH = da_x.shape[-1]
            self.add_grad(Wx, seq.reshape(-1, D).T @ da_x.reshape(-1, GH))
            self.add_grad(bx, da_x.sum(axis=(0, 1)))
            self.add_grad(Wh, self.hs[:-1, k].reshape(-1, H).T @ da_h.reshape(-1, GH))
            self.add_grad(bh, da_h.sum(axis=(0, 1)))
            if dx is not None:
                dseq = da_x @ Wx.data.T
                dx += dseq[::-1] if suffix else dseq
        return None if dx is None else dx.transpose(1, 0, 2)

    # ---- on Tensors (the reference) ------------------------------------------------------
    def reference(self, x):
        """The same recurrence, step by step, with primitive Tensor ops."""
        N, T = x.shape[:2]
        outs = []
        for suffix in self.directions():
            Wx, Wh, bx, bh = self.weights(suffix)
            h = c = Tensor(np.zeros((N, self.hidden_size), dtype=Wx.dtype))
            ys = [None] * T
            for t in (range(T - 1, -1, -1) if suffix else range(T)):
                h, c = self.cell(x[:, t] @ Wx + bx, h @ Wh + bh, h, c)
                ys[t] = h
            outs.append(F["stack"](ys, axis=1))
        return outs[0] if len(outs) == 1 else F["concatenate"](outs, axis=-1)

    def __repr__(self):
        bi = ", bidirectional=True" if self.bidirectional else ""
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size}{bi})"


class RNN(_Recurrent):
    """Elman RNN with tanh, as torch.nn.RNN:  h_t = tanh(x_t @ Wx + bx + h_{t-1} @ Wh + bh).

    Back through step t, with dh_t = gy_t + (what step t+1 passed back):
    da_t = dh_t * (1 - h_t^2);  dh_{t-1} = da_t @ Wh.T;  dWx = sum_t x_t.T @ da_t,
    dWh = sum_t h_{t-1}.T @ da_t,  dbx = dbh = sum_t sum_n da_t.
    """
    gates, width = 1, 0

    def run(self, ax, Wh, bh, hs, acts):
        for t in range(len(ax)):
            hs[t + 1] = np.tanh(ax[t] + hs[t] @ Wh + bh)

    def bptt(self, g, hs, acts, Wh):
        da, dh, WhT = np.empty_like(g), np.zeros_like(g[0]), np.swapaxes(Wh, -1, -2)
        for t in range(len(g) - 1, -1, -1):
            h = hs[t + 1]
            da[t] = (dh + g[t]) * (1 - h * h)
            dh = da[t] @ WhT
        return da, da

    def cell(self, ax, ah, h, c):
        return F["tanh"](ax + ah), c


class GRU(_Recurrent):
    """Gated recurrent unit, as torch.nn.GRU (gates r, z, n), with ah = h_{t-1} @ Wh + bh:

    r = sigmoid(ax_r + ah_r),  z = sigmoid(ax_z + ah_z),  n = tanh(ax_n + r * ah_n),
    h_t = (1 - z) * n + z * h_{t-1}.

    Back through step t:  dn = dh (1 - z),  dz = dh (h_{t-1} - n),  dan = dn (1 - n^2),
    dr = dan * ah_n;  gates' pre-activations: dar = dr r (1 - r), daz = dz z (1 - z);
    input side dax = [dar, daz, dan], hidden side dah = [dar, daz, dan * r];
    dh_{t-1} = dh z + dah @ Wh.T.
    """
    gates, width = 3, 4  # saved per step: r, z, n and ah_n

    def run(self, ax, Wh, bh, hs, acts):
        H = hs.shape[-1]
        for t in range(len(ax)):
            h, act = hs[t], acts[t]
            ah = h @ Wh + bh
            rz = act[..., :2 * H] = _sigmoid(ax[t, ..., :2 * H] + ah[..., :2 * H])
            act[..., 3 * H:] = ah[..., 2 * H:]
            n = act[..., 2 * H:3 * H] = np.tanh(ax[t, ..., 2 * H:] + rz[..., :H] * ah[..., 2 * H:])
            hs[t + 1] = n + rz[..., H:] * (h - n)

    def bptt(self, g, hs, acts, Wh):
        T, H = len(g), g.shape[-1]
        dax, dah = np.empty((2, *g.shape[:-1], 3 * H), dtype=g.dtype)
        dh, WhT = np.zeros_like(g[0]), np.swapaxes(Wh, -1, -2)
        for t in range(T - 1, -1, -1):
            act, dh = acts[t], dh + g[t]
            rz, n, ahn = act[..., :2 * H], act[..., 2 * H:3 * H], act[..., 3 * H:]
            z = rz[..., H:]
            dan = dh * (1 - z) * (1 - n * n)
            drz = np.concatenate([dan * ahn, dh * (hs[t] - n)], axis=-1)
            dax[t, ..., :2 * H] = dah[t, ..., :2 * H] = drz * rz * (1 - rz)
            dax[t, ..., 2 * H:] = dan
            dah[t, ..., 2 * H:] = dan * rz[..., :H]
            dh = dh * z + dah[t] @ WhT
        return dax, dah

    def cell(self, ax, ah, h, c):
        H = h.shape[-1]
        r = F["sigmoid"](ax[:, :H] + ah[:, :H])
        z = F["sigmoid"](ax[:, H:2 * H] + ah[:, H:2 * H])
        n = F["tanh"](ax[:, 2 * H:] + r * ah[:, 2 * H:])
        return (1 - z) * n + z * h, c


class LSTM(_Recurrent):
    """Long short-term memory, as torch.nn.LSTM (gates i, f, g, o), a = ax + h_{t-1} @ Wh + bh:

    i = sigmoid(a_i),  f = sigmoid(a_f),  g = tanh(a_g),  o = sigmoid(a_o),
    c_t = f * c_{t-1} + i * g,  h_t = o * tanh(c_t).  The last cell state is ``layer.c``.

    Back through step t, with dc = (what step t+1 passed back) + dh o (1 - tanh(c_t)^2):
    da = [dc g i (1 - i), dc c_{t-1} f (1 - f), dc i (1 - g^2), dh tanh(c_t) o (1 - o)];
    dh_{t-1} = da @ Wh.T,  dc_{t-1} = dc f.
    """
    gates, width, has_cell = 4, 6, True  # saved per step: i, f, g, o, tanh(c), c

    def run(self, ax, Wh, bh, hs, acts):
        H = hs.shape[-1]
        c = np.zeros_like(hs[0])
        for t in range(len(ax)):
            act = acts[t]
            a = ax[t] + hs[t] @ Wh + bh
            act[..., :4 * H] = _sigmoid(a)
            act[..., 2 * H:3 * H] = np.tanh(a[..., 2 * H:3 * H])
            c = act[..., 5 * H:] = act[..., H:2 * H] * c + act[..., :H] * act[..., 2 * H:3 * H]
            tc = act[..., 4 * H:5 * H] = np.tanh(c)
            hs[t + 1] = act[..., 3 * H:4 * H] * tc

    def bptt(self, g, hs, acts, Wh):
        T, H = len(g), g.shape[-1]
        da = np.empty((*g.shape[:-1], 4 * H), dtype=g.dtype)
        dh, dc, WhT = np.zeros_like(g[0]), np.zeros_like(g[0]), np.swapaxes(Wh, -1, -2)
        for t in range(T - 1, -1, -1):
            act, dh = acts[t], dh + g[t]
            i, f, gg, o, tc = (act[..., k * H:(k + 1) * H] for k in range(5))
            c_prev = acts[t - 1, ..., 5 * H:] if t else 0.0
            dc = dc + dh * o * (1 - tc * tc)
            da[t, ..., :H] = dc * gg * i * (1 - i)
            da[t, ..., H:2 * H] = dc * c_prev * f * (1 - f)
            da[t, ..., 2 * H:3 * H] = dc * i * (1 - gg * gg)
            da[t, ..., 3 * H:] = dh * tc * o * (1 - o)
            dh, dc = da[t] @ WhT, dc * f
        return da, da

    def cell(self, ax, ah, h, c):
        H = h.shape[-1]
        a = ax + ah
        i, f = F["sigmoid"](a[:, :H]), F["sigmoid"](a[:, H:2 * H])
        g, o = F["tanh"](a[:, 2 * H:3 * H]), F["sigmoid"](a[:, 3 * H:])
        c = f * c + i * g
        return o * F["tanh"](c), c


class AsSequence(Layer):
    """(N, T) -> (N, T, 1): each feature becomes one time step of a recurrent layer's input;
    dx = dout reshaped back."""
    saves_inputs = saves_output = False
    saved = ("shape",)

    def forward(self, x):
        self.shape = x.shape
        return x.reshape(x.shape[0], -1, 1)

    def backward(self, dout):
        return dout.reshape(self.shape)

    def reference(self, x):
        return x.reshape(x.shape[0], -1, 1)
