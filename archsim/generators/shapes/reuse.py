"""TReX attention-reuse patterns (Moitra et al., IEEE TETC 2024): which encoders reuse the
attention output of an earlier one instead of computing their own.

A pattern is a mapping ``{reuse encoder: source encoder}``. A reuse encoder skips its attention
(Q/K/V projections, the K^T and V crossbar writes, Q.K^T, softmax, A.V, output projection) and
passes the source's concatenated head outputs (the A.V products) through a transformation block
(LayerNorm -> D x D linear -> GELU); its MLP and residuals stay. The source is always an encoder
that computes attention (by default the nearest earlier one), and encoder 0 always computes.

Kinds (``L`` encoders, ``n`` reuse encoders; the patterns put reuse at the deep end, where
attention maps of neighbouring encoders are most alike):

* ``strided``: every ``s = L // n``-th encoder from the last one, ``s >= 2`` (no two reuse
  encoders adjacent): L 12, n 6 -> 1, 3, 5, 7, 9, 11.
* ``continuous``: the last ``n`` encoders, all reusing encoder ``L - n - 1``.
* ``pyramid``: runs of reuse encoders that lengthen with depth, each run after one computing
  encoder: run lengths ``1, 2, ..., m`` (the largest ``m`` with ``m (m + 1) / 2 <= n``), the
  remainder spread one per run over the deepest runs; L 12, n 6 -> runs 1, 2, 3 -> 4, 6-7, 9-11.
* ``list``: explicit encoders (``encoders=[...]``), sources the nearest earlier computing encoder.

The TReX paper names the kinds strided, continuous and pyramid without defining them in the
sources we could read; the definitions above are ours.
"""
from __future__ import annotations

from typing import Iterable, Mapping

KINDS = ("strided", "continuous", "pyramid", "list")


def pyramid_runs(n: int) -> list[int]:
    """Run lengths of a pyramid of ``n`` reuse encoders, shortest (shallowest) first."""
    if n <= 0:
        return []
    m = 1
    while (m + 1) * (m + 2) // 2 <= n:
        m += 1
    runs = list(range(1, m + 1))
    r = n - m * (m + 1) // 2
    for k in range(r):                  # r <= m: one more for each of the r deepest runs
        runs[m - 1 - k] += 1
    return runs


def _with_sources(layers: int, reusing: Iterable[int]) -> dict[int, int]:
    reusing = sorted(set(reusing))
    out: dict[int, int] = {}
    for i in reusing:
        if not 0 < i < layers:
            raise ValueError(f"encoder {i} cannot reuse attention: reuse encoders lie in 1..{layers - 1}")
        src = i - 1
        while src in out:
            src -= 1
        out[i] = out.get(src, src)
    return out


def reuse_pattern(kind: str, layers: int, n: int = 0, *, encoders: Iterable[int] | None = None) -> dict[int, int]:
    """``{reuse encoder: source encoder}`` of a pattern ``kind`` with ``n`` reuse encoders out of
    ``layers`` (``list``: the given ``encoders``). Raises ``ValueError`` when the pattern cannot
    hold ``n`` reuse encoders."""
    if kind not in KINDS:
        raise ValueError(f"unknown reuse pattern {kind!r}; known: {', '.join(KINDS)}")
    if layers < 1:
        raise ValueError(f"layers must be >= 1, got {layers}")
    if kind == "list":
        if encoders is None:
            raise ValueError("the 'list' pattern needs encoders=[...]")
        return _with_sources(layers, encoders)
    if not 0 <= n < layers:
        raise ValueError(f"{n} reuse encoders out of {layers}: need 0 <= n < layers (encoder 0 computes)")
    if n == 0:
        return {}
    if kind == "strided":
        stride = layers // n
        if stride < 2:
            raise ValueError(f"strided reuse of {n} encoders out of {layers} needs n <= layers // 2 = {layers // 2}")
        return _with_sources(layers, (layers - 1 - k * stride for k in range(n)))
    if kind == "continuous":
        return _with_sources(layers, range(layers - n, layers))
    runs = pyramid_runs(n)
    if n + len(runs) > layers:
        raise ValueError(f"a pyramid of {n} reuse encoders (runs {runs}) needs {n + len(runs)} encoders, "
                         f"the model has {layers}")
    reusing, end = [], layers
    for run in reversed(runs):          # deepest run at the end, one computing encoder before each
        reusing.extend(range(end - run, end))
        end -= run + 1
    return _with_sources(layers, reusing)


def check_reuse(reuse: Mapping[int, int], layers: int) -> dict[int, int]:
    """Validate an explicit ``{reuse encoder: source}`` map: sources are earlier encoders that
    compute their own attention."""
    out = {int(k): int(v) for k, v in reuse.items()}
    for i, src in out.items():
        if not 0 < i < layers:
            raise ValueError(f"reuse encoder {i} out of range 1..{layers - 1}")
        if not 0 <= src < i:
            raise ValueError(f"encoder {i} reuses encoder {src}: the source must be an earlier encoder")
        if src in out:
            raise ValueError(f"encoder {i} reuses encoder {src}, which reuses attention itself")
    return dict(sorted(out.items()))


def describe(reuse: Mapping[int, int]) -> str:
    """``'4<-3 6<-5 7<-5'``: reuse encoder <- source."""
    return " ".join(f"{i}<-{s}" for i, s in sorted(reuse.items())) or "none"
