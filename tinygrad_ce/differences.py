"""Central differences that know their own error: the numeric side of every check.

A central difference ``D(h) = (f(x + h) - f(x - h)) / 2h`` is off in two ways: truncation,
about ``h^2 f''' / 6``, and rounding, about ``sigma / h`` where ``sigma`` is the noise with which
``f`` itself is computed. Fixed tolerances have to cover the worst case of both for every
function, so they are loose (``rtol=1e-3`` lets a 0.1% bug through). Here both are estimated:

1. ``sigma`` is measured: ``f`` at nine points along a tiny random segment, whose high-order
   differences cancel the smooth part of ``f`` and leave its noise (Moré and Wild, "Estimating
   computational noise", 2011). It is never taken below ``eps * sum|y * u|``.
2. Every element is compared at a step ``h = eps^(1/3)`` (about 7.6e-6 in float64) with the
   rounding bound ``K sigma / h``.
3. An element that misses that bound, or whose one-sided derivatives differ, is evaluated at
   ``2h`` too. Where ``f`` is smooth the one-sided derivatives differ by ``h f''``, in proportion
   to the step; if they do not scale so, the element is a **kink** (reported with both one-sided
   values, never a mismatch). Otherwise the Richardson value ``(4 D(h) - D(2h)) / 3`` (error
   O(h^4)) is compared with ``|D(h) - D(2h)|`` (three times the truncation error of ``D(h)``,
   far more than the Richardson value's) plus the rounding bound.

A correct gradient passes step 2 almost everywhere, so a check costs two evaluations of ``f``
per element, as plain central differences do; an ``f`` that takes a leading batch axis gets
them in batches. The tolerance of each element is known, hence the **resolution**: the smallest
relative error, on every element, that the check would see.
"""

import math

import numpy as np

K = 64                 # allowed multiple of the estimated noise of a difference
ANALYTIC_ULPS = 1024   # rounding allowed in the analytic gradient, in eps * max|gradient|
KINK_SLOPE = 1e-3      # one-sided derivatives this far apart (relative) are looked at again
NOISE_POINTS = 9       # f along a tiny segment, to measure its noise (6 in fast mode)


def base_step(dtype):
    """``eps^(1/3)`` as a power of two (2**-17 in float64, 2**-8 in float32): it balances
    truncation (h^2) against rounding (eps / h)."""
    return 2.0 ** round(math.log2(np.finfo(dtype).eps) / 3)


def steps(x, eps=None):
    """The step of each element: ``eps`` if given, else ``base_step``, growing with ``|x|`` for
    large values (``sqrt(eps_mach) |x|``) so that ``x + h`` always moves."""
    x = np.asarray(x)
    if eps is not None:
        return np.full(x.shape, float(eps))
    tiny = math.sqrt(np.finfo(x.dtype).eps)
    return np.maximum(base_step(x.dtype), np.abs(x.astype(np.float64)) * tiny)


def noise_level(values):
    """The standard deviation of the noise in ``values`` = f at equally spaced points.

    The k-th differences of pure noise have variance ``sigma^2 (2k)! / (k!)^2``; those of a
    smooth function vanish as the spacing shrinks. As Moré and Wild: the first order k whose
    estimate agrees (within a factor 4) with the next two and whose differences change sign;
    if none does, the largest estimate from order 3 on (an overestimate: looser, never falser).
    """
    table, sigmas, signs = np.asarray(values, dtype=np.float64), [], []
    for k in range(1, len(table)):
        table = np.diff(table)
        gamma = math.factorial(k) ** 2 / math.factorial(2 * k)
        sigmas.append(math.sqrt(gamma * float(np.mean(table ** 2))))
        signs.append(bool(np.any(table > 0) and np.any(table < 0)))
    for k in range(len(sigmas) - 2):
        trio = sigmas[k:k + 3]
        if signs[k] and min(trio) > 0 and max(trio) <= 4 * min(trio):
            return sigmas[k]
    return max(sigmas[2:] or sigmas or [0.0])


def generator(seed, salt=0x67726164):
    """The checks' random numbers: a seed mixed with a salt, so that the upstream gradient is
    not the very array a caller drew from ``default_rng(seed)`` (then u = x, a direction some
    gradients, e.g. a normalisation's, map to 0). None: fresh entropy."""
    return np.random.default_rng(None if seed is None else [seed, salt])


class Kink:
    """An element where f is not differentiable: its one-sided derivatives disagree.
    ``input`` (set by the report), ``index``, ``left`` and ``right``."""

    def __init__(self, index, left, right):
        self.index, self.left, self.right, self.input = index, left, right, None

    def __repr__(self):
        return (f"Kink(input {self.input}, element {self.index}, left {self.left:.6g}, "
                f"right {self.right:.6g})")


class Noise:
    """The measured noise of f and the floors the tolerances keep: ``sigma`` (of f),
    ``eps`` (machine epsilon of the computation)."""

    def __init__(self, sigma, eps):
        self.sigma, self.eps = sigma, eps


def measure_noise(value, arrays, checked, scale, rng, eps=None, f0=None, points=NOISE_POINTS):
    """``Noise`` of ``value(arrays)`` near ``arrays``, along one random direction of all the
    checked arrays together (a perturbation of one element is never noisier). ``f0`` is
    ``value(arrays)`` if known."""
    dtypes = [arrays[i].dtype for i in checked]
    mach = max(float(np.finfo(d).eps) for d in dtypes)
    fraction = 2.0 ** -8 if mach < 1e-10 else 2.0 ** -3   # float32 needs more room than ulps
    total = sum(arrays[i].size for i in checked)
    if total == 0:
        return Noise(mach * scale, mach)
    directions = {i: rng.standard_normal(arrays[i].shape) * steps(arrays[i], eps)
                  * fraction / math.sqrt(total) for i in checked}
    values = [] if f0 is None else [f0]
    for t in range(len(values), points):
        trial = list(arrays)
        for i in checked:
            trial[i] = (arrays[i] + t * directions[i]).astype(arrays[i].dtype)
        values.append(value(trial))
    return Noise(max(noise_level(values), mach * scale), mach)


class Differences:
    """Central differences of one input with their error estimate (see the module docstring).

    ``numeric`` (float64, the input's shape), ``allowed`` (the tolerance of each element),
    ``kink`` (a boolean mask) and ``kinks`` (``Kink`` objects), ``second`` (how many elements
    needed the second step).
    """

    def __init__(self, numeric, allowed, kink, kinks, second):
        self.numeric, self.allowed, self.kink, self.kinks = numeric, allowed, kink, kinks
        self.second = second


class _Probe:
    """f at x +- h (and +- 2h) for a set of flat positions, one round trip each or batched."""

    def __init__(self, value, arrays, i, batch):
        self.value, self.arrays, self.i, self.batch = value, list(arrays), i, batch
        self.work = np.array(arrays[i], order="C")      # perturbed in place, one element at a time
        self.arrays[i] = self.work
        self.flat = self.work.reshape(-1)

    def at(self, positions, new_values):
        """f with flat element ``positions[k]`` set to ``new_values[k]``, for each k."""
        if self.batch is not None and len(positions) > 1:
            return self._batched(positions, new_values)
        out = np.empty(len(positions))
        flat = self.flat
        for k, (j, v) in enumerate(zip(positions.tolist(), new_values)):
            old = flat[j]
            flat[j] = v
            try:
                out[k] = self.value(self.arrays)
            finally:
                flat[j] = old
        return out

    def _batched(self, positions, new_values):
        n, out = self.flat.size, np.empty(len(positions))
        per = max(1, min(256, (1 << 21) // max(n, 1)))
        for start in range(0, len(positions), per):
            js = positions[start:start + per]
            stack = np.repeat(self.work[None], len(js), axis=0)
            stack.reshape(len(js), n)[np.arange(len(js)), js] = new_values[start:start + per]
            out[start:start + per] = self.batch(self.i, stack, self.arrays)
        return out


def _moved(x, h):
    """x + h and x - h rounded to x's dtype, and the steps actually taken (exact)."""
    x64 = x.astype(np.float64)
    up, down = (x64 + h).astype(x.dtype), (x64 - h).astype(x.dtype)
    return up, down, up.astype(np.float64) - x64, x64 - down.astype(np.float64)


def differences(value, arrays, i, analytic, f0, noise, *, eps=None, atol=None, rtol=None,
                batch=None, analytic_noise=0.0):
    """``Differences`` of ``value`` with respect to ``arrays[i]``, every element.

    ``analytic`` (the gradient being checked, or a list of candidates that share the numeric
    side) decides which elements need the second step; ``atol``/``rtol`` replace the estimated
    tolerance when given (see ``_Rule``).
    """
    x = np.asarray(arrays[i])
    candidates = analytic if isinstance(analytic, (list, tuple)) else [analytic]
    n = x.size
    a = np.stack([np.asarray(c, dtype=np.float64).reshape(-1) for c in candidates])
    h = steps(x, eps).reshape(-1)
    flat_x = x.reshape(-1)  # a copy if x is not contiguous: only read
    up, down, hp, hm = _moved(flat_x, h)
    probe = _Probe(value, arrays, i, batch)
    every = np.arange(n)
    fp, fm = probe.at(every, up), probe.at(every, down)
    rule = _Rule(noise, a, atol, rtol, analytic_noise=analytic_noise)
    first = _first_step(fp, fm, f0, hp, hm, a, rule)
    numeric, allowed, again = first
    kink, kinks = np.zeros(n, bool), []
    redo = np.flatnonzero(again)
    if redo.size:
        up2, down2, hp2, hm2 = _moved(flat_x[redo], 2 * h[redo])
        fp2, fm2 = probe.at(redo, up2), probe.at(redo, down2)
        second = _second_step((fp[redo], fm[redo], hp[redo], hm[redo]),
                              (fp2, fm2, hp2, hm2), f0, rule)
        numeric[redo], allowed[redo], kink[redo] = second[0], second[1], second[2]
        for k, j in enumerate(redo):
            if kink[j]:
                kinks.append(Kink(tuple(int(k) for k in np.unravel_index(j, x.shape)),
                                  float(second[3][k]), float(second[4][k])))
    shape = x.shape
    return Differences(numeric.reshape(shape), allowed.reshape(shape), kink.reshape(shape),
                       kinks, int(redo.size))


def directional(value, arrays, i, analytic, f0, noise, rng, *, eps=None, atol=None, rtol=None,
                analytic_noise=0.0):
    """``Differences`` along one random direction v of ``arrays[i]`` (fast mode): the numeric
    and analytic directional derivatives as 0-d arrays; ``analytic`` is projected on v too.

    Returns (Differences, analytic directional derivative).
    """
    x = np.asarray(arrays[i])
    s = base_step(x.dtype) if eps is None else float(eps)
    v = rng.standard_normal(x.shape) * steps(x, eps) / s     # per element scale, as `steps`
    a = np.asarray(analytic, dtype=np.float64)

    def at(t):
        trial = list(arrays)
        moved = (x.astype(np.float64) + t * s * v).astype(x.dtype)
        trial[i] = moved
        return value(trial), moved.astype(np.float64) - x.astype(np.float64)

    (fp, dp), (fm, dm) = at(1), at(-1)
    # the analytic side along the steps actually taken (x + s v is rounded to x's dtype)
    a_dir = np.array([float(np.sum(a * (dp - dm))) / (2 * s)])
    rule = _Rule(noise, a_dir, atol, rtol, scale=float(np.sum(np.abs(a * v))),
                 analytic_noise=analytic_noise * float(np.sum(np.abs(v))))
    one = np.array([s])
    numeric, allowed, again = _first_step(np.array([fp]), np.array([fm]), f0, one, one, a_dir,
                                          rule, look_for_kinks=False)
    kinks, kink = [], np.zeros(1, bool)
    if again[0]:
        (fp2, _), (fm2, _) = at(2), at(-2)
        second = _second_step((np.array([fp]), np.array([fm]), one, one),
                              (np.array([fp2]), np.array([fm2]), 2 * one, 2 * one), f0, rule)
        numeric, allowed, kink = second[0], second[1], second[2]
        if kink[0]:
            kinks.append(Kink("direction", float(second[3][0]), float(second[4][0])))
    diff = Differences(numeric.reshape(()), allowed.reshape(()), kink.reshape(()), kinks,
                       int(again[0]))
    return diff, a_dir.reshape(())


class _Rule:
    """The tolerance of each element: given (``atol + rtol |numeric|``) or estimated
    (``K`` times the noise of the difference, plus the analytic side's rounding: ``1024 eps``
    times its largest element, or ``K`` times ``analytic_noise``, its measured rounding, where
    that is more: a gradient that cancels to 0 everywhere keeps the rounding of its terms)."""

    def __init__(self, noise, analytic, atol, rtol, scale=None, analytic_noise=0.0):
        self.noise, self.analytic = noise, analytic
        self.given = atol is not None or rtol is not None
        self.atol = 0.0 if atol is None else float(atol)
        self.rtol = 0.0 if rtol is None else float(rtol)
        big = float(np.max(np.abs(analytic))) if analytic.size else 0.0
        if scale is not None:
            big = max(big, scale)
        self.big = big if np.isfinite(big) else 0.0
        self.floor = ANALYTIC_ULPS * noise.eps * self.big + K * float(analytic_noise)

    def allowed(self, numeric, rounding):
        if self.given:
            return self.atol + self.rtol * np.abs(numeric)
        return K * rounding + self.floor


def _error(a, numeric):
    err = np.abs(a - numeric)
    return np.where(np.isnan(err), np.inf, err)   # a nan fails, and is the worst element


def _first_step(fp, fm, f0, hp, hm, a, rule, look_for_kinks=True):
    """Central differences at h; which elements need the second step (those that miss the
    tolerance, and with ``look_for_kinks`` those whose one-sided derivatives differ)."""
    sigma = rule.noise.sigma
    numeric = (fp - fm) / (hp + hm)
    rounding = 1.5 * math.sqrt(2) * sigma / (hp + hm)   # as the Richardson value's, below
    allowed = rule.allowed(numeric, rounding)
    jump = np.abs((fp - f0) / hp - (f0 - fm) / hm)          # one-sided derivatives apart
    jump_noise = math.sqrt(6) * sigma / np.minimum(hp, hm)
    big = max(rule.big, float(np.max(np.abs(numeric), initial=0.0, where=np.isfinite(numeric))))
    again = np.any(_error(a, numeric) > allowed, axis=0)      # any candidate (rows of a)
    if look_for_kinks:
        again = again | (jump > K * jump_noise + KINK_SLOPE * big)
    return numeric, allowed, again | ~np.isfinite(numeric)


def _second_step(first, second, f0, rule):
    """Step 2h: kinks, or the Richardson value and its tolerance."""
    (fp, fm, hp, hm), (fp2, fm2, hp2, hm2) = first, second
    sigma = rule.noise.sigma
    s1, s2 = (hp + hm) / 2, (hp2 + hm2) / 2
    d1, d2 = (fp - fm) / (2 * s1), (fp2 - fm2) / (2 * s2)
    richardson = (s2 ** 2 * d1 - s1 ** 2 * d2) / (s2 ** 2 - s1 ** 2)
    right1, left1 = (fp - f0) / hp, (f0 - fm) / hm
    right2, left2 = (fp2 - f0) / hp2, (f0 - fm2) / hm2
    jump1, jump2 = right1 - left1, right2 - left2
    # smooth: one-sided derivatives differ by f'' times the step, so jump2 = jump1 * s2 / s1
    bend = np.abs(jump1 * s2 / s1 - jump2)
    big = max(rule.big, float(np.max(np.abs(d1), initial=0.0, where=np.isfinite(d1))))
    bend_noise = 6.2 * sigma / s1
    # a kink bends by the jump itself; a smooth f only by f'''' s^3 / 2, a small part of jump2
    kink = (bend > K * bend_noise + 1e-6 * big) & (bend > 0.25 * np.abs(jump2))
    rounding = 1.5 * math.sqrt(2) * sigma / (2 * s1)
    truncation = np.abs(d1 - d2)
    allowed = rule.allowed(richardson, rounding)
    if not rule.given:
        allowed = allowed + truncation
    # report the one-sided pair that shows the kink (step h, or 2h if it lies beyond h)
    use1 = np.abs(jump1) >= np.abs(jump2) / 2
    left, right = np.where(use1, left1, left2), np.where(use1, right1, right2)
    numeric = np.where(kink, d1, richardson)
    return numeric, allowed, kink, left, right


def error_and_allowed(analytic, diff):
    """|analytic - numeric| (nan as inf) and the tolerance, kinks excluded (error 0)."""
    a = np.asarray(analytic, dtype=np.float64)
    err = np.where(diff.kink, 0.0, _error(a, diff.numeric))
    return err, diff.allowed


def resolution(diff):
    """The smallest d such that a gradient scaled by 1 + d on every element fails: the best
    element's tolerance over its value."""
    n = np.abs(diff.numeric)
    ok = (n > 0) & ~diff.kink & np.isfinite(n)
    if not np.any(ok):
        return math.inf
    return float(np.min(diff.allowed[ok] / n[ok]))


def analytic_rounding(measured, gradient, upstream):
    """The rounding allowed on an analytic gradient: what linearity showed (``measured``,
    e.g. ``max|g(u + v) - g(u) - g(v)|``), but never more than ``sqrt(eps) max|g|`` (so a
    backward that is not linear cannot loosen its own check), plus ``16 eps max|u|`` (a
    gradient that cancels to 0 keeps the rounding of its terms, about ``eps |u|``)."""
    g, u = np.asarray(gradient), np.asarray(upstream)
    eps = float(np.finfo(u.dtype if u.dtype.kind == "f" else np.float64).eps)
    big = float(np.max(np.abs(g), initial=0.0)) if g.size else 0.0
    return min(measured, math.sqrt(eps) * big) + 16 * eps * float(np.max(np.abs(u), initial=0.0))


def check_inputs(value, arrays, checked, analytic, scale, rng, *, eps=None, atol=None,
                 rtol=None, fast=False, batch=None, analytic_noise=None):
    """Differences of ``value`` (arrays -> float) for each checked input, against ``analytic``
    (one gradient per checked input): a list of (Differences, the analytic side compared), and
    the measured ``Noise``. ``analytic_noise``: the rounding allowed on each analytic gradient
    (see ``analytic_rounding``), if known. ``batch(i, noise)``, when given, returns a batched
    evaluator for input i or None (see ``_Probe``)."""
    if not checked:
        return [], None
    f0 = value(arrays)
    noise = measure_noise(value, arrays, checked, scale, rng, eps, f0, 6 if fast else NOISE_POINTS)
    found = []
    rounding = analytic_noise or [0.0] * len(checked)
    for i, a, r in zip(checked, analytic, rounding):
        if fast:
            diff, a_dir = directional(value, arrays, i, a, f0, noise, rng, eps=eps, atol=atol,
                                      rtol=rtol, analytic_noise=r)
            found.append((diff, a_dir))
            continue
        evaluator = batch(i, noise) if batch is not None else None
        found.append((differences(value, arrays, i, a, f0, noise, eps=eps, atol=atol, rtol=rtol,
                                  batch=evaluator, analytic_noise=r), a))
    return found, noise


def batched_if_possible(evaluate, value, arrays, i, noise, scale):
    """``evaluate(i, stack, arrays)`` (f of a stack of copies of array i, one value per copy)
    if f takes the leading batch axis: checked against one-by-one evaluations at two random
    probes (a batch axis that f mixes up shows there). Else None."""
    x = arrays[i]
    if x.size < 8:
        return None
    rng = np.random.default_rng(i)
    probes = np.stack([x + 1e-3 * (1 + np.abs(x)) * rng.standard_normal(x.shape)
                       for _ in range(2)]).astype(x.dtype)
    try:
        together = np.asarray(evaluate(i, probes, arrays), dtype=np.float64)
    except Exception:   # f does not take a batch axis: one evaluation per element
        return None
    one_by_one = np.array([value([p if k == i else a for k, a in enumerate(arrays)])
                           for p in probes])
    close = np.abs(together - one_by_one) <= 64 * noise.sigma + 1e-13 * scale
    return evaluate if together.shape == (2,) and bool(np.all(close)) else None
