"""Mini-batches."""

import numpy as np


class DataLoader:
    """Iterate over ``arrays`` (same first dimension) in batches of ``batch_size``.

    ``shuffle`` draws a new order each epoch from ``rng`` (a Generator or a seed: the same seed
    gives the same batches); ``drop_last`` skips a final batch smaller than ``batch_size``.
    """

    def __init__(self, *arrays, batch_size, shuffle=True, drop_last=False, rng=None):
        if not arrays:
            raise ValueError("DataLoader: give at least one array")
        n = len(arrays[0])
        for a in arrays:
            if len(a) != n:
                raise ValueError(f"DataLoader: arrays have different lengths "
                                 f"{[len(a) for a in arrays]}; they must match along axis 0")
        if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, "
                             f"got {batch_size!r}")
        self.arrays, self.n, self.batch_size = [np.asarray(a) for a in arrays], n, int(batch_size)
        self.shuffle, self.drop_last = shuffle, drop_last
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    def __len__(self):
        full, rest = divmod(self.n, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self):
        order = self.rng.permutation(self.n) if self.shuffle else np.arange(self.n)
        for start in range(0, self.n, self.batch_size):
            idx = order[start:start + self.batch_size]
            if self.drop_last and len(idx) < self.batch_size:
                return
            batch = tuple(a[idx] for a in self.arrays)
            yield batch if len(batch) > 1 else batch[0]
