"""Linear expressions assembled in one step from labelled arrays: the build's fast path.

Each linopy operator (``x * c``, ``.sum``, ``.groupby``, ``+``, ``-``) builds and aligns a whole
new expression, a fixed cost of a few milliseconds a call whatever the size; a family written as
a chain of them pays it ten or twenty times, and the planner's build was mostly that. Here a
family lists its terms (a variable's labels, their coefficients, the dimensions summed into each
row, and which dimension is summed per group) and becomes one expression or one constraint at
the end, gathered from the present entries only: no absent entry (masked variable, zero
coefficient) is carried along, and no dense group x member product is formed.
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
class Group:
    """`dim`'s entries summed per group: codes[i] is entry i's position in `groups` (-1: none)."""

    dim: str
    codes: np.ndarray
    groups: pd.Index

    @property
    def name(self) -> str:
        return str(self.groups.name)


@dataclass(frozen=True)
class Terms:
    """coeffs x variables (labels; -1 where absent) over `dims`, summed over `over` and per
    `grouped` group into each row: every other dimension is a row dimension. Plain numpy arrays
    with their coordinates: the terms are only ever gathered, never aligned again."""

    vars: np.ndarray
    coeffs: np.ndarray
    dims: tuple[str, ...]
    coords: dict[str, pd.Index]
    over: tuple[str, ...] = ()
    grouped: tuple[Group, ...] = ()

    def __neg__(self) -> Terms:
        return replace(self, coeffs=-self.coeffs)

    @property
    def row_dims(self) -> tuple[str, ...]:
        """The rows' dimensions (a grouped dimension gives way to its groups')."""
        by_dim = {g.dim: g.name for g in self.grouped}
        return tuple(by_dim.get(d, d) for d in self.dims if d not in self.over)

    def row_index(self, dim: str) -> pd.Index:
        for g in self.grouped:
            if g.name == dim:
                return g.groups
        return self.coords[dim]

    def times(self, factor: xr.DataArray | float) -> Terms:
        """The coefficients multiplied by `factor` (terms repeat along dimensions only it has)."""
        if self.grouped:
            raise ValueError("internal: scale terms before grouping them")
        if not isinstance(factor, xr.DataArray):
            return replace(self, coeffs=self.coeffs * factor)
        dims, coords = _union(self.dims, self.coords, factor)
        sizes: dict[Hashable, int] = {d: len(coords[d]) for d in dims}
        vars_ = _spread_values(self.vars, self.dims, dims, sizes)
        coeffs = _spread_values(self.coeffs, self.dims, dims, sizes) * _spread(
            factor.astype(float), dims, sizes
        )
        return Terms(vars_, coeffs, dims, coords, self.over)

    def summed(self, dims: Sequence[str]) -> Terms:
        """The terms summed over `dims` too (those they have)."""
        return replace(
            self, over=(*self.over, *(d for d in dims if d in self.dims and d not in self.over))
        )

    def per_future(self) -> Terms:
        """Summed over every dimension but the sampled futures' (all of them in a one-future
        plan)."""
        return self.summed([d for d in self.row_dims if d != "scenario"])


def term(
    var: Variable | xr.DataArray, coeff: xr.DataArray | float = 1.0, over: str | Sequence[str] = ()
) -> Terms:
    """coeff x var summed over `over`; a coefficient with dimensions the variable lacks repeats it
    along them. Shared coordinates must match exactly (as linopy's v1 semantics ask)."""
    labels = var.labels if isinstance(var, Variable) else var
    own = tuple(str(d) for d in labels.dims)
    coords = {d: labels.indexes[d] for d in own if d in labels.indexes}
    plain = Terms(
        labels.values,
        np.ones(labels.shape),
        own,
        coords,
        (over,) if isinstance(over, str) else tuple(over),
    )
    if isinstance(coeff, xr.DataArray):
        return plain.times(coeff)
    return replace(plain, coeffs=np.full(labels.shape, float(coeff)))


def grouped(t: Terms, dim: str, owner: xr.DataArray, groups: pd.Index) -> Terms:
    """The terms summed per group rather than per `dim` entry (owner: `dim` -> group label);
    groups owning nothing get no terms."""
    codes = pd.Index(groups).get_indexer(owner.sel({dim: t.coords[dim]}).values)
    return replace(t, grouped=(*t.grouped, Group(dim, codes, groups)))


def previous(var: Variable) -> xr.DataArray:
    """A stock's labels one period earlier (absent before the first period)."""
    return var.labels.shift(period=1, fill_value=-1)


def _union(
    dims: tuple[str, ...], coords: dict[str, pd.Index], x: xr.DataArray
) -> tuple[tuple[str, ...], dict[str, pd.Index]]:
    """`dims` then x's others, with their coordinates (checked equal where both have one)."""
    out = dict(coords)
    for d in x.dims:
        index = x.indexes.get(d)
        if index is None:
            continue
        if str(d) in out and not out[str(d)].equals(index):
            raise ValueError(f"internal: terms disagree on the {d} coordinate")
        out.setdefault(str(d), index)
    return (*dims, *(str(d) for d in x.dims if d not in dims)), out


def _spread_values(
    values: np.ndarray,
    own: Sequence[Hashable],
    dims: Sequence[Hashable],
    sizes: Mapping[Hashable, int],
) -> np.ndarray:
    """values over `own` dimensions laid out over `dims` (a superset, `own` in the same order),
    repeated along those they lack."""
    return np.broadcast_to(
        values.reshape([sizes[d] if d in own else 1 for d in dims]), [sizes[d] for d in dims]
    )


def _spread(x: xr.DataArray, dims: Sequence[Hashable], sizes: Mapping[Hashable, int]) -> np.ndarray:
    """x's values over `dims` (a superset of its own), repeated along those it lacks."""
    own = [d for d in dims if d in x.dims]
    return _spread_values(x.transpose(*own).values, own, dims, sizes)


def _rows(parts: Sequence[Terms]) -> dict[str, pd.Index]:
    """Row coordinates of the sum of `parts`, dimensions in order of appearance."""
    rows: dict[str, pd.Index] = {}
    for t in parts:
        for d in t.row_dims:
            index = t.row_index(d)
            if d in rows and not rows[d].equals(index):
                raise ValueError(f"internal: terms disagree on the {d} coordinate")
            rows.setdefault(d, index)
    return rows


def _entries(t: Terms, rows: dict[str, pd.Index]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, variable, coefficient) of each present entry of `t` with a nonzero coefficient, rows
    numbered in `rows`' order; and, for a row whose present entries all carry zero, the first of
    them (see _dataset)."""
    group_of = {g.name: g for g in t.grouped}
    source = [
        group_of[d].dim if d in group_of else d for d in rows
    ]  # a term lacking a row dim repeats
    sizes: dict[Hashable, int] = {
        **{d: len(rows[d]) for d in rows},
        **dict(zip(t.dims, t.vars.shape, strict=True)),
    }
    dims = [*source, *t.over]
    order = [t.dims.index(d) for d in dims if d in t.dims]
    vars_ = _spread_values(t.vars.transpose(order), [d for d in dims if d in t.dims], dims, sizes)
    coeffs = _spread_values(
        t.coeffs.transpose(order), [d for d in dims if d in t.dims], dims, sizes
    )
    shape = [sizes[d] for d in source]
    width = int(np.prod([sizes[d] for d in t.over], dtype=np.int64))
    if vars_.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=vars_.dtype), np.zeros(0)
    flat = vars_.reshape(-1, width)
    weights = coeffs.reshape(-1, width)
    present = flat >= 0
    nonzero = present & (weights != 0)
    only_zeros = np.nonzero(present.any(axis=1) & ~nonzero.any(axis=1))[0]
    at, k = np.nonzero(nonzero)
    at = np.concatenate([at, only_zeros])
    k = np.concatenate([k, present[only_zeros].argmax(axis=1)])
    positions = list(np.unravel_index(at, shape)) if shape else []
    row = np.zeros(len(at), dtype=np.int64)
    inside = np.ones(len(at), dtype=bool)
    for axis, d in enumerate(rows):
        pos = positions[axis]
        if d in group_of:
            pos = group_of[d].codes[pos]
            inside &= pos >= 0
        row = row * len(rows[d]) + pos
    return row[inside], flat[at, k][inside], weights[at, k][inside]


def _dataset(
    parts: Sequence[Terms], rows: dict[str, pd.Index], active: np.ndarray | None = None
) -> xr.Dataset:
    """The terms gathered into [*rows, term] arrays, each row's terms first, the term axis cut to
    the longest row. Terms of rows not `active` (flat, if given) are dropped: a masked row's
    terms would only widen the term axis. So are zero coefficients, but a row whose variables
    all carry zero keeps one of them: linopy leaves a row without any variable out of the
    matrix (and its count), where the plain formulation has it."""
    n_rows = int(np.prod([len(i) for i in rows.values()], dtype=np.int64))
    found = [_entries(t, rows) for t in parts]
    row = np.concatenate([f[0] for f in found])
    var = np.concatenate([f[1] for f in found])
    coeff = np.concatenate([f[2] for f in found])
    if active is not None:
        inside = active[row]
        row, var, coeff = row[inside], var[inside], coeff[inside]
    if not np.isfinite(coeff).all():
        raise ValueError("internal: a coefficient is not finite (the inputs' checks missed it)")
    keep = coeff != 0
    has_nonzero = np.zeros(n_rows, dtype=bool)
    has_nonzero[row[keep]] = True
    only_zeros = np.nonzero(~keep & ~has_nonzero[row])[0]
    keep[only_zeros[np.unique(row[only_zeros], return_index=True)[1]]] = True
    order = np.argsort(row[keep], kind="stable")
    row, var, coeff = row[keep][order], var[keep][order], coeff[keep][order]
    counts = np.bincount(row, minlength=n_rows)
    width = max(int(counts.max(initial=0)), 1)
    slot = np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
    vars_ = np.full((n_rows, width), -1, dtype=var.dtype if len(var) else np.int64)
    coeffs = np.zeros((n_rows, width))
    vars_[row, slot] = var
    coeffs[row, slot] = coeff
    shape = [*(len(i) for i in rows.values()), width]
    row_dims = (*rows, TERM_DIM)
    return xr.Dataset(
        {"vars": (row_dims, vars_.reshape(shape)), "coeffs": (row_dims, coeffs.reshape(shape))},
        coords=rows,
    )


def linear(m: Model, *parts: Terms) -> LinearExpression:
    """The sum of all `parts` as one linopy expression."""
    return LinearExpression(_dataset(parts, _rows(parts)), m)


def _on_rows(
    a: xr.DataArray | np.ndarray | float, rows: dict[str, pd.Index], what: str
) -> np.ndarray:
    """A constant (right-hand side, mask) laid out over the rows, its coordinates checked."""
    x = a if isinstance(a, xr.DataArray) else xr.DataArray(a)
    for d in x.dims:
        index = x.indexes.get(d)
        if d not in rows or (index is not None and not index.equals(rows[str(d)])):
            raise ValueError(f"internal: the {what} does not lie on the rows ({d})")
    return _spread(x, list(rows), {d: len(i) for d, i in rows.items()})


def constrain(
    m: Model,
    lhs: Sequence[Terms],
    sign: str,
    rhs: xr.DataArray | float,
    name: str,
    mask: xr.DataArray | np.ndarray | None = None,
) -> None:
    """Add `sum(lhs) sign rhs` under `name`, one row per coordinate of the terms' row dimensions
    where `mask` holds (as in linopy, whose models here do not auto-mask, a row stays a row even
    where none of its variables is present)."""
    rows = _rows(lhs)
    active = None if mask is None else _on_rows(mask, rows, f"mask of {name}").astype(bool)
    data = _dataset(lhs, rows, None if active is None else active.ravel())
    right = _on_rows(
        rhs.astype(float) if isinstance(rhs, xr.DataArray) else float(rhs),
        rows,
        f"right-hand side of {name}",
    )
    # the rows' scaling given (all 1, linopy's default) spares linopy building it once more
    ones = np.ones([len(i) for i in rows.values()])
    data = data.assign(
        sign=maybe_replace_sign(sign), rhs=(list(rows), right), scaling=(list(rows), ones)
    )
    row_mask = None if active is None else xr.DataArray(active, coords=rows, dims=list(rows))
    m.add_constraints(Constraint(data, model=m, skip_broadcast=True), name=name, mask=row_mask)
