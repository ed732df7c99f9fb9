"""Outgrow tinygrad_ce without losing your model: train in tinygrad_ce, move the model (and the
optimizer's momentum) to PyTorch with tg.to_torch, and carry on training there. For comparison
the tinygrad_ce model keeps training on the same batches: in float64 the two runs give the same
losses to about 1e-12, epoch after epoch.

    python examples/to_pytorch.py          (needs torch: pip install 'tinygrad_ce[torch]')
"""

import numpy as np

import tinygrad_ce as tg


def make_model(seed=0):
    rng = np.random.default_rng(seed)
    return tg.Sequential(tg.Affine(64, 32, init="he", rng=rng), tg.BatchNorm(32), tg.ReLU(),
                         tg.Affine(32, 10, rng=rng))


def epoch_tg(model, optimizer, batches):
    losses = []
    for xb, tb in batches:
        optimizer.zero_grad()
        loss = tg.cross_entropy(model(tg.Tensor(xb)), tb)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return float(np.mean(losses))


def epoch_torch(model, optimizer, batches, torch):
    losses = []
    for xb, tb in batches:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(torch.tensor(xb)), torch.tensor(tb))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return float(np.mean(losses))


def move_momentum(optimizer, torch_optimizer, torch_params):
    """SGD's momentum buffers are state too: copy them, in the parameters' order (Linear keeps
    W transposed, so its buffer is transposed as well)."""
    for state, p in zip(optimizer.state, torch_params):
        if "buf" in state:
            buf = state["buf"] if state["buf"].shape == tuple(p.shape) else state["buf"].T
            torch_optimizer.state[p]["momentum_buffer"] = torch.tensor(buf.copy())


def accuracy_torch(model, x, t, torch):
    model.eval()
    with torch.no_grad():
        right = (model(torch.tensor(x)).argmax(dim=1).numpy() == t).mean()
    model.train()
    return float(right)


def main(epochs=8, more_epochs=4, batch_size=50, lr=0.05, seed=0):
    global torch
    import torch
    (x, t), (xt, tt) = tg.datasets.load_digits()
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-8
    x, xt = (x - mean) / std, (xt - mean) / std
    loader = tg.data.DataLoader(x, t, batch_size=batch_size, drop_last=True, rng=seed)
    model = make_model(seed)
    sgd = tg.optim.SGD(model.params(), lr=lr, momentum=0.9)
    for epoch in range(1, epochs + 1):
        print(f"tinygrad_ce epoch {epoch}: loss {epoch_tg(model, sgd, list(loader)):.6f}")

    theirs = tg.to_torch(model)                      # copies: the two models are independent
    sgd_t = torch.optim.SGD(theirs.parameters(), lr=lr, momentum=0.9)
    move_momentum(sgd, sgd_t, list(theirs.parameters()))
    differences = []
    for epoch in range(epochs + 1, epochs + more_epochs + 1):
        batches = list(loader)                       # the same batches for both
        ours_loss = epoch_tg(model, sgd, batches)
        torch_loss = epoch_torch(theirs, sgd_t, batches, torch)
        differences.append(abs(ours_loss - torch_loss))
        print(f"epoch {epoch}: PyTorch loss {torch_loss:.12f}   tinygrad_ce {ours_loss:.12f}")
    gap = max(np.max(np.abs(v - tg.from_torch(theirs).state()[k]))
              for k, v in model.state().items())
    accuracy = accuracy_torch(theirs, xt, tt, torch)
    print(f"largest loss difference {max(differences):.1e}, largest parameter difference "
          f"{gap:.1e}; PyTorch test accuracy {accuracy:.4f}")
    return {"loss_difference": max(differences), "parameter_difference": gap,
            "accuracy": accuracy}


if __name__ == "__main__":
    main()
