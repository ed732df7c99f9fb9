"""The classic two-layer net, Affine -> Sigmoid -> Affine -> SoftmaxWithLoss, trained twice on
the shipped digits: layer by layer by hand, and on the tape. Same start, same batches, same
numbers; then the gradient check of every parameter.

    python examples/two_layer_net.py
"""

import numpy as np

import tinygrad_ce as tg


def make_net(seed=0):
    rng = np.random.default_rng(seed)
    return (tg.Sequential(tg.Affine(64, 50, rng=rng), tg.Sigmoid(), tg.Affine(50, 10, rng=rng)),
            tg.SoftmaxWithLoss())


def main(epochs=20, batch_size=50, lr=0.5):
    (x, t), (xt, tt) = tg.datasets.load_digits()
    final = {}
    for mode in ("by hand", "on the tape"):
        net, loss_layer = make_net()
        params = net.params()
        for _ in range(epochs):
            for xb, tb in tg.data.DataLoader(x, t, batch_size=batch_size, rng=1):
                net.zero_grad()
                if mode == "by hand":
                    loss_layer.forward(net.forward(xb), tb)        # forward, layer by layer
                    net.backward(loss_layer.backward(1.0))          # backward, in reverse
                else:
                    loss_layer(net(tg.Tensor(xb)), tb).backward()   # one entry per layer
                for p in params:
                    p.data -= lr * p.grad.data
        accuracy = np.mean(net.forward(xt).argmax(axis=1) == tt)
        final[mode] = ([p.data.copy() for p in params], accuracy)
        print(f"{mode:12s} test accuracy {accuracy:.4f}")
    same = max(np.max(np.abs(a - b)) for a, b in zip(final["by hand"][0], final["on the tape"][0]))
    print(f"largest difference between the two trained nets: {same:.1e}")

    print("\ngradient check of every parameter (own backward, autograd, finite differences):")
    net, loss_layer = make_net()
    print(tg.check_layer(net, x[:8]))
    print(tg.check_layer(loss_layer, net.forward(x[:8]), t[:8]))
    return final, same


if __name__ == "__main__":
    tg.threads.use_fastest()  # one BLAS thread unless you set OMP_NUM_THREADS
    main()
