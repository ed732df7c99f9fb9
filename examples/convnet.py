"""SimpleConvNet ("Deep Learning from Scratch", chapter 7) on the shipped 8x8 digits, twice:
layer by layer by hand (im2col, matmul, col2im, written out), and on the tape. Same start, same
batches, same numbers. Then what im2col does, and the three-way check of each layer.

    python examples/convnet.py            (MNIST: pass --mnist with the files in ~/.cache)
"""

import sys

import numpy as np

import tinygrad_ce as tg


def make_net(input_shape, seed=0):
    """Conv(30 filters 3x3) -> ReLU -> MaxPool(2) -> Affine(100) -> ReLU -> Affine(10)."""
    kernel = 5 if input_shape[1] >= 20 else 3
    return tg.models.simple_convnet(input_shape, kernel=kernel, seed=seed), tg.SoftmaxWithLoss()


def conv_forward_by_hand(conv, x):
    """What Conv2d.forward does, spelled out: one window per row, then one matmul."""
    f = conv.W.shape[0]
    cols = tg.im2col(x, *conv.k)                                # (N*OH*OW, C*kh*kw)
    y = cols @ conv.W.data.reshape(f, -1).T + conv.b.data      # (N*OH*OW, F)
    n, oh, ow = x.shape[0], x.shape[2] - conv.k[0] + 1, x.shape[3] - conv.k[1] + 1
    return y.reshape(n, oh, ow, f).transpose(0, 3, 1, 2)


def train(mode, x, t, epochs, batch_size, lr, input_shape):
    net, loss_layer = make_net(input_shape)
    params = net.params()
    for _ in range(epochs):
        for xb, tb in tg.data.DataLoader(x, t, batch_size=batch_size, rng=1):
            net.zero_grad()
            if mode == "by hand":
                loss_layer.forward(net.forward(xb), tb)         # forward, layer by layer
                net.backward(loss_layer.backward(1.0))           # backward, in reverse
            else:
                loss_layer(net(tg.Tensor(xb)), tb).backward()    # one tape entry per layer
            for p in params:
                p.data -= lr * p.grad.data
    return net


def main(epochs=3, batch_size=50, lr=0.1, n_train=None, mnist=False):
    if mnist:
        (x, t), (xt, tt) = tg.datasets.load_mnist(flatten=False)
    else:
        (x, t), (xt, tt) = tg.datasets.load_digits(flatten=False)
    x, t = x[:n_train], t[:n_train]
    shape = x.shape[1:]
    nets = {}
    for mode in ("by hand", "on the tape"):
        nets[mode] = train(mode, x, t, epochs, batch_size, lr, shape)
        accuracy = np.mean(nets[mode].forward(xt).argmax(axis=1) == tt)
        print(f"{mode:12s} test accuracy {accuracy:.4f}")
    same = max(np.max(np.abs(a.data - b.data)) for a, b in
               zip(nets["by hand"].params(), nets["on the tape"].params()))
    print(f"largest difference between the two trained nets: {same:.1e}")

    conv = nets["by hand"][0]
    spelled = np.max(np.abs(conv_forward_by_hand(conv, xt[:5]) - conv.forward(xt[:5])))
    print(f"im2col + matmul by hand vs Conv2d.forward: {spelled:.1e}")

    print("\ngradient check of each layer (own backward, autograd, finite differences), on a"
          " narrower SimpleConvNet (4 filters, 10 hidden units) to keep finite differences quick:")
    net = tg.models.simple_convnet(shape, filters=4, kernel=3, hidden=10)
    # each layer at random inputs of its shape: blank pixels make pre-activations exactly 0
    # and ReLU makes ties for max pooling, kinks where finite differences straddle two slopes
    rng, h, reports = np.random.default_rng(0), x[:2], []
    for layer in net.layers:
        reports.append(tg.check_layer(layer, rng.standard_normal(h.shape)))
        print(reports[-1], end="\n\n")
        h = layer.forward(h)
    return same, spelled, reports


if __name__ == "__main__":
    main(mnist="--mnist" in sys.argv)
