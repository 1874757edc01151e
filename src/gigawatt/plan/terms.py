"""Linear expressions assembled in one step from labelled arrays: the build's fast path.

Each linopy operator (``x * c``, ``.sum``, ``.groupby``, ``+``, ``-``) builds and aligns a whole
new expression, a fixed cost of a few milliseconds a call whatever the size; a family written as
a chain of them pays it ten or twenty times, and the planner's build was mostly that. Here a
family lists its terms (a variable's labels, their coefficients, the dimensions summed into each
row) and becomes one expression or one constraint at the end, without the absent entries
(masked variables, zero coefficients) a chain of sums carries along.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import xarray as xr
from linopy import LinearExpression, Model, Variable
from linopy.common import maybe_replace_sign
from linopy.constraints import Constraint

TERM_DIM = "_term"


@dataclass(frozen=True)
class Terms:
    """coeffs x variables (labels; -1 where absent), summed over `over` into each row: every
    other dimension is a row dimension."""

    vars: xr.DataArray
    coeffs: xr.DataArray
    over: tuple[str, ...] = ()

    def __neg__(self) -> Terms:
        return replace(self, coeffs=-self.coeffs)

    @property
    def row_dims(self) -> tuple[str, ...]:
        return tuple(str(d) for d in self.vars.dims if d not in self.over)

    def times(self, factor: xr.DataArray | float) -> Terms:
        """The coefficients multiplied by `factor` (terms repeat along dimensions only it has)."""
        return term(self.vars, self.coeffs * factor, self.over)

    def summed(self, dims: Sequence[str]) -> Terms:
        """The terms summed over `dims` too (those they have)."""
        return replace(self, over=(*self.over, *(d for d in dims if d in self.row_dims)))

    def per_future(self) -> Terms:
        """Summed over every dimension but the sampled futures' (all of them in a one-future plan)."""
        return self.summed([d for d in self.row_dims if d != "scenario"])


def term(var: Variable | xr.DataArray, coeff: xr.DataArray | float = 1.0,
         over: str | Sequence[str] = ()) -> Terms:
    """coeff x var summed over `over`; a coefficient with dimensions the variable lacks repeats it
    along them. Shared coordinates must match exactly (as linopy's v1 semantics ask)."""
    labels = var.labels if isinstance(var, Variable) else var
    factor = coeff if isinstance(coeff, xr.DataArray) else xr.DataArray(float(coeff))
    labels, factor = _broadcast(labels, factor.astype(float))
    return Terms(labels, factor, (over,) if isinstance(over, str) else tuple(over))


def _broadcast(a: xr.DataArray, b: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    """Both arrays over a's dimensions then b's others (xr.broadcast without its alignment
    machinery, a fixed cost that dominated small families)."""
    dims = (*a.dims, *(d for d in b.dims if d not in a.dims))
    coords = _coords_of(dims, a, b)
    sizes = {**b.sizes, **a.sizes}
    return (xr.DataArray(_spread(a, dims, sizes), coords=coords, dims=dims),
            xr.DataArray(_spread(b, dims, sizes), coords=coords, dims=dims))


def _coords_of(dims: Sequence[Hashable], *arrays: xr.DataArray) -> dict[str, pd.Index]:
    """The index of each dimension, checked equal wherever two arrays have one."""
    coords: dict[str, pd.Index] = {}
    for d in dims:
        for x in arrays:
            index = x.indexes.get(d)
            if index is None:
                continue
            if str(d) in coords and not coords[str(d)].equals(index):
                raise ValueError(f"internal: terms disagree on the {d} coordinate")
            coords.setdefault(str(d), index)
    return coords


def _spread(x: xr.DataArray, dims: Sequence[Hashable], sizes: Mapping[Hashable, int]) -> np.ndarray:
    """x's values over `dims` (a superset of its own), repeated along those it lacks."""
    values = x.transpose(*(d for d in dims if d in x.dims)).values
    return np.broadcast_to(values.reshape([x.sizes[d] if d in x.dims else 1 for d in dims]),
                           [sizes[d] for d in dims])


def previous(var: Variable) -> xr.DataArray:
    """A stock's labels one period earlier (absent before the first period)."""
    return var.labels.shift(period=1, fill_value=-1)


def grouped(t: Terms, dim: str, owner: xr.DataArray, groups: pd.Index) -> Terms:
    """The terms summed per group rather than per `dim` entry (owner: `dim` -> group label).

    `dim` gives way to the group dimension and each group's members become terms, padded to the
    largest group: no dense group x member product, groups owning nothing get no terms."""
    index = t.vars.indexes[dim]
    codes = pd.Index(groups).get_indexer(owner.sel({dim: index}).values)
    # members[g, k]: position of group g's k-th member along dim (len(index): none, a -1 label)
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes[codes >= 0], minlength=len(groups))
    width = max(int(counts.max(initial=0)), 1)
    members = np.full((len(groups), width), len(index))
    starts = np.cumsum(counts) - counts
    ranked = order[codes[order] >= 0]
    group_of = codes[ranked]
    members[group_of, np.arange(len(ranked)) - starts[group_of]] = ranked
    slot = f"{dim}_in_{groups.name}"
    axis = t.vars.dims.index(dim)

    def regroup(values: np.ndarray, absent: float) -> np.ndarray:
        pad_shape = list(values.shape)
        pad_shape[axis] = 1
        padded = np.concatenate([values, np.full(pad_shape, absent, dtype=values.dtype)], axis=axis)
        return np.take(padded, members, axis=axis)

    dims = (*t.vars.dims[:axis], groups.name, slot, *t.vars.dims[axis + 1:])
    coords = {d: t.vars.indexes[d] for d in dims if d in t.vars.indexes and d != dim}
    coords[str(groups.name)] = groups
    return Terms(xr.DataArray(regroup(t.vars.values, -1), coords=coords, dims=dims),
                 xr.DataArray(regroup(t.coeffs.values, 0.0), coords=coords, dims=dims),
                 (*t.over, slot))


def _rows(parts: Sequence[Terms], dims: Sequence[str] | None) -> dict[str, pd.Index]:
    """Row coordinates of the sum of `parts` (in `dims`' order, else in order of appearance)."""
    rows: dict[str, pd.Index] = {}
    for t in parts:
        for d in t.row_dims:
            index = t.vars.indexes[d]
            if d in rows and not rows[d].equals(index):
                raise ValueError(f"internal: terms disagree on the {d} coordinate")
            rows.setdefault(d, index)
    if dims is not None:
        if set(dims) != set(rows):
            raise ValueError(f"internal: rows over {list(rows)}, asked for {list(dims)}")
        rows = {d: rows[d] for d in dims}
    return rows


def _flat(t: Terms, rows: dict[str, pd.Index]) -> tuple[np.ndarray, np.ndarray]:
    """vars, coeffs as [*rows, term] arrays, repeated along the row dimensions `t` lacks."""
    have = [d for d in rows if d in t.vars.dims]
    shape = [len(rows[d]) if d in t.vars.dims else 1 for d in rows]
    full = [len(index) for index in rows.values()]
    out = []
    for a in (t.vars, t.coeffs):
        values = a.transpose(*have, *t.over).values.reshape([len(rows[d]) for d in have] + [-1])
        out.append(np.broadcast_to(values.reshape([*shape, values.shape[-1]]), [*full, values.shape[-1]]))
    return out[0], out[1]


def _without_absent(vars_: np.ndarray, coeffs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop absent variables and zero coefficients, the term axis cut to the longest row. A row
    whose variables all carry zero keeps one of them, so it stays a row (as in linopy)."""
    lead, width = vars_.shape[:-1], vars_.shape[-1]
    v = vars_.reshape(-1, width)
    c = coeffs.reshape(-1, width)
    present = v >= 0
    keep = present & (c != 0)
    only_zeros = present.any(axis=1) & ~keep.any(axis=1)
    keep[np.nonzero(only_zeros)[0], present[only_zeros].argmax(axis=1)] = True
    counts = keep.sum(axis=1)
    n = max(int(counts.max(initial=0)), 1)
    row = np.repeat(np.arange(len(v)), counts)
    pos = np.arange(row.size) - np.repeat(np.cumsum(counts) - counts, counts)
    new_v = np.full((len(v), n), -1, dtype=v.dtype)
    new_c = np.zeros((len(v), n))
    new_v[row, pos] = v[keep]
    new_c[row, pos] = c[keep]
    return new_v.reshape(*lead, n), new_c.reshape(*lead, n)


def _dataset(parts: Sequence[Terms], dims: Sequence[str] | None) -> tuple[xr.Dataset, dict[str, pd.Index]]:
    rows = _rows(parts, dims)
    flats = [_flat(t, rows) for t in parts]
    vars_, coeffs = _without_absent(np.concatenate([f[0] for f in flats], axis=-1),
                                    np.concatenate([f[1] for f in flats], axis=-1))
    row_dims = (*rows, TERM_DIM)
    return xr.Dataset({"vars": (row_dims, vars_), "coeffs": (row_dims, coeffs)}, coords=rows), rows


def linear(m: Model, *parts: Terms, dims: Sequence[str] | None = None) -> LinearExpression:
    """The sum of all `parts` as one linopy expression (rows over `dims`, if given, in that order)."""
    data, _ = _dataset(parts, dims)
    return LinearExpression(data, m)


def constrain(m: Model, lhs: Sequence[Terms], sign: str, rhs: xr.DataArray | float, name: str,
              mask: xr.DataArray | np.ndarray | None = None, dims: Sequence[str] | None = None) -> None:
    """Add `sum(lhs) sign rhs` under `name`, one row per coordinate of the terms' row dimensions
    (where `mask` holds and some variable is present)."""
    data, rows = _dataset(lhs, dims)
    right = rhs if isinstance(rhs, xr.DataArray) else xr.DataArray(float(rhs))
    for d in right.dims:
        index = right.indexes.get(d)
        if d not in rows or (index is not None and not index.equals(rows[str(d)])):
            raise ValueError(f"internal: {name}'s right-hand side does not lie on its rows ({d})")
    values = _spread(right.astype(float), list(rows), {d: len(i) for d, i in rows.items()})
    data = data.assign(sign=maybe_replace_sign(sign), rhs=(list(rows), values))
    m.add_constraints(Constraint(data, model=m, skip_broadcast=True), name=name, mask=mask)
