"""Read a scenario from YAML with errors that point at the file, line and field."""

from __future__ import annotations

import difflib
import math
import reprlib
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from gigawatt.catalog import load_catalog
from gigawatt.errors import ScenarioError
from gigawatt.periods import parse_quarter
from gigawatt.scenario.model import FIRST_YEAR, LAST_YEAR, Scenario
from gigawatt.scenario.uncertainty import reference_problems as uncertainty_reference_problems
from gigawatt.scenario.uncertainty import scenario_ids as uncertainty_ids

MAX_EXAFLOPS = 1e6  # EF/s: the upper bound of InferenceLoad.exaflops


# A scenario is a few kB of hand-written YAML; these limits only stop hostile or broken files
# (a "billion laughs" of aliases, a generated file of millions of entries, 10,000-deep nesting)
# before they cost minutes and gigabytes.
MAX_FILE_BYTES = 2_000_000
MAX_NODES = 200_000          # YAML nodes after expanding aliases
MAX_ITEMS = 10_000           # entries in one list or mapping
MAX_DEPTH = 40               # nested lists/mappings


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise ScenarioError("is a directory; give a scenario YAML file", file=str(path))
        if size > MAX_FILE_BYTES:
            raise ScenarioError(
                f"file is {size:,} bytes; a scenario must be under {MAX_FILE_BYTES:,} bytes "
                "(keep bulk data such as traces in separate files)", file=str(path))
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError("file not found; check the path", file=str(path)) from None
    except OSError as exc:
        raise ScenarioError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
    if len(raw) > MAX_FILE_BYTES:  # a pipe or a file that grew while we looked
        raise ScenarioError(f"file is over {MAX_FILE_BYTES:,} bytes; a scenario must be smaller",
                            file=str(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError(f"not UTF-8 text (byte {exc.start}); save the file as UTF-8",
                            file=str(path), line=line) from None
    return parse_scenario(text, file=str(path))


class _GuardedLoader(yaml.SafeLoader):
    """SafeLoader that refuses deep nesting while composing (PyYAML's composer recurses)."""

    def __init__(self, stream: str, file: str) -> None:
        super().__init__(stream)
        self._file = file
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise ScenarioError(
                    f"nested more than {MAX_DEPTH} levels deep; a scenario needs only a few levels",
                    file=self._file, line=mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _compose(text: str, file: str) -> tuple[yaml.Node | None, Any]:
    """Parse YAML into (node tree, Python data) with every guard applied before building data."""
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError(f"text is over {MAX_FILE_BYTES:,} characters; a scenario must be smaller",
                            file=file)
    loader = _GuardedLoader(text, file)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        _check_tree(root, file)
        return root, loader.construct_document(root)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"not valid YAML: {_one_line(problem)}", file=file, line=line) from None
    except RecursionError:  # belt and braces: the depth guard should have stopped it first
        raise ScenarioError(f"nested too deeply; a scenario needs at most {MAX_DEPTH} levels",
                            file=file) from None
    finally:
        loader.dispose()


def _check_tree(root: yaml.Node, file: str) -> None:
    """Count nodes as aliases expand them, cap collection sizes, refuse duplicate keys."""
    expanded: dict[int, int] = {}
    # iterative post-order walk; a node reached through an alias is the same object, so its
    # expanded size is computed once and counted at every use
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in expanded:
            continue
        children = _children(node)
        if not done:
            if len(children) > MAX_ITEMS:
                raise ScenarioError(
                    f"a list or mapping with {len(children):,} entries; at most {MAX_ITEMS:,} are "
                    "allowed in one place", file=file, line=node.start_mark.line + 1)
            if isinstance(node, yaml.MappingNode):
                _no_duplicate_keys(node, file)
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in expanded)
            continue
        total = 1 + sum(expanded.get(id(c), 1) for c in children)
        if total > MAX_NODES:
            raise ScenarioError(
                f"expands to more than {MAX_NODES:,} values (anchors and aliases reused too often); "
                "write the values out or reuse fewer aliases", file=file, line=node.start_mark.line + 1)
        expanded[id(node)] = total


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _no_duplicate_keys(node: yaml.MappingNode, file: str) -> None:
    seen: dict[str, int] = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
            continue
        line = key.start_mark.line + 1
        if key.value in seen:
            raise ScenarioError(
                f"duplicate key {_key(key.value)!r} (first on line {seen[key.value]}, again on line "
                f"{line}); keep one of them", file=file, line=line)
        seen[key.value] = line


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


EMPTY = ("file is empty: a scenario needs at least a name and what to plan for, e.g. "
         "'name: x', a demand section (training or inference) and supply (sites, cloud_offers "
         "or contracts); see examples/minimal.yaml")


def parse_scenario(text: str, file: str = "<scenario>") -> Scenario:
    root, data = _compose(text, file)
    if data is None:
        raise ScenarioError(EMPTY, file=file)
    if not isinstance(data, dict):
        raise ScenarioError(
            f"the top level must be a mapping of sections (name, sites, demand, ...), got {type(data).__name__}",
            file=file,
            line=1,
        )
    if not data:
        raise ScenarioError(EMPTY, file=file, line=1)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        # An unknown key usually explains a "missing" one (a typo): report it first.
        err = min(exc.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
        loc = tuple(err["loc"])
        raise ScenarioError(
            _describe(err, loc), file=file, line=_line_of(root, loc), path=_dotted(loc)
        ) from None
    except (TypeError, ValueError) as exc:  # e.g. unhashable keys pydantic cannot report
        raise ScenarioError(f"malformed value: {_one_line(exc)[:200]}", file=file, path=None) from None
    if not (scenario.demand.training or scenario.demand.inference):
        raise ScenarioError(
            "nothing to plan for: add demand (a training run under demand.training or a load under "
            "demand.inference); see examples/minimal.yaml", file=file, line=_line_of(root, ("demand",)),
            path="demand")
    problem = check_references(scenario)
    if problem is not None:
        loc, message = problem
        raise ScenarioError(message, file=file, line=_line_of(root, loc), path=_dotted(loc))
    return scenario


def _key(part: Any) -> str:
    text = str(part)[:80]
    shown = text if text.isprintable() and text.strip() == text and text else repr(text)
    return shown if len(str(part)) <= 80 else shown + "..."


def _dotted(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + _key(part)
    return out


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict = 2, 4, 4
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 50, 50, 40


def _shown(value: Any) -> str:
    """A short repr that never builds the full text of a huge value."""
    text = _SHORT.repr(value).replace("\n", "\\n")
    return text if len(text) <= 60 else text[:57] + "..."


_BOUNDS = {"less_than_equal": "at most", "less_than": "below", "greater_than_equal": "at least",
           "greater_than": "above"}


def _describe(err: Any, loc: tuple[Any, ...]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        known = _field_names(_model_at(loc[:-1]))
        hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
        tip = f"did you mean '{hint[0]}'?" if hint else f"allowed here: {', '.join(known)}"
        return f"unknown key {_key(loc[-1])!r}; {tip}".replace("\n", "\\n")
    if kind == "missing":
        return "required field is missing; add it"
    message = _one_line(err["msg"].removeprefix("Value error, "))
    limit = next(iter(err.get("ctx", {}).values()), None)
    if kind in _BOUNDS and isinstance(limit, int | float):
        message = f"must be {_BOUNDS[kind]} {limit:g}"
    elif kind == "finite_number":
        message = "must be a finite number (not .inf or .nan)"
    if len(message) > 300:
        message = message[:297] + "..."
    got = f" (got {_shown(err['input'])})" if "input" in err and not isinstance(err["input"], dict) else ""
    return f"{message}{got}"


def _unwrap(tp: Any) -> list[Any]:
    """The model types an annotation may hold (through Optional, list, dict, Annotated)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType, list, dict):
        args = typing.get_args(tp)
        if origin is dict:
            args = args[1:]
        return [m for a in args for m in _unwrap(a)]
    return [tp] if isinstance(tp, type) and issubclass(tp, BaseModel) else []


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = Scenario
    for part in loc:
        if model is None or isinstance(part, int):
            continue
        field = next(
            (f for name, f in model.model_fields.items() if part in (name, f.alias)), None
        )
        if field is None:
            return None
        found = _unwrap(field.annotation)
        model = found[0] if found else None
    return model


def _field_names(model: type[BaseModel] | None) -> list[str]:
    if model is None:
        return []
    return [f.alias or name for name, f in model.model_fields.items()]


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at `loc`, or of its nearest existing parent."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if str(key.value) == str(part):
                    child = key if part == loc[-1] else value
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line


def _did_you_mean(value: str, known: Iterable[str]) -> str:
    known = sorted(set(known))
    hint = difflib.get_close_matches(value, known, n=1)
    if hint:
        return f"did you mean '{hint[0]}'?"
    listed = ", ".join(known[:12]) + (" ..." if len(known) > 12 else "")
    return f"known: {listed}" if known else "none are defined"


def check_references(s: Scenario) -> tuple[tuple[Any, ...], str] | None:
    """Cross-field checks pydantic cannot do alone: ids exist and are unique."""
    catalog = load_catalog()
    accelerators = set(catalog.accelerators)
    for i, acc in enumerate(s.accelerators):
        if acc.id not in accelerators and acc.bf16_dense_tflops is None:
            return ("accelerators", i, "id"), (
                f"'{acc.id}' is not in the catalog; {_did_you_mean(acc.id, accelerators)} "
                "(a new accelerator needs bf16_dense_tflops)"
            )
        accelerators.add(acc.id)
    providers = {p.id for p in s.providers}
    for section in ("providers", "sites", "cloud_offers", "contracts", "chip_deals"):
        seen: set[str] = set()
        for i, item in enumerate(getattr(s, section)):
            if item.id in seen:
                return (section, i, "id"), f"duplicate id '{item.id}'; ids must be unique in {section}"
            seen.add(item.id)
    demand_ids: set[str] = set()
    for kind in ("training", "inference"):
        for i, d in enumerate(getattr(s.demand, kind)):
            if d.id in demand_ids:
                return ("demand", kind, i, "id"), f"duplicate demand id '{d.id}'"
            demand_ids.add(d.id)

    def acc_ref(loc: tuple[Any, ...], acc_id: str) -> tuple[tuple[Any, ...], str] | None:
        if acc_id not in accelerators:
            return loc, f"unknown accelerator '{acc_id}'; {_did_you_mean(acc_id, accelerators)}"
        return None

    def provider_ref(loc: tuple[Any, ...], pid: str) -> tuple[tuple[Any, ...], str] | None:
        if pid not in providers:
            return loc, f"unknown provider '{pid}'; {_did_you_mean(pid, providers)} (declare it under providers)"
        return None

    checks: list[tuple[tuple[Any, ...], str] | None] = []
    for i, site in enumerate(s.sites):
        checks.append(provider_ref(("sites", i, "provider"), site.provider))
        checks += [acc_ref(("sites", i, "accelerators", j), a) for j, a in enumerate(site.accelerators)]
    for i, offer in enumerate(s.cloud_offers):
        checks.append(provider_ref(("cloud_offers", i, "provider"), offer.provider))
        checks.append(acc_ref(("cloud_offers", i, "accelerator"), offer.accelerator))
    for i, c in enumerate(s.contracts):
        checks.append(provider_ref(("contracts", i, "counterparty"), c.counterparty))
        checks.append(acc_ref(("contracts", i, "accelerator"), c.accelerator))
    for i, deal in enumerate(s.chip_deals):
        checks.append(acc_ref(("chip_deals", i, "accelerator"), deal.accelerator))
    deal_refs = [("contracts", i, c.catalog_deal) for i, c in enumerate(s.contracts)]
    deal_refs += [("chip_deals", i, d.catalog_deal) for i, d in enumerate(s.chip_deals)]
    for section, i, ref in deal_refs:
        if ref is not None and ref not in catalog.deals:
            checks.append(((section, i, "catalog_deal"),
                           f"unknown catalog deal '{ref}'; {_did_you_mean(ref, catalog.deals)}"))
    for i, run in enumerate(s.demand.training):
        checks += [
            acc_ref(("demand", "training", i, "allowed_accelerators", j), a)
            for j, a in enumerate(run.allowed_accelerators)
        ]
        if run.reference_accelerator is not None:
            checks.append(acc_ref(("demand", "training", i, "reference_accelerator"), run.reference_accelerator))
    for i, load in enumerate(s.demand.inference):
        checks += [
            acc_ref(("demand", "inference", i, "allowed_accelerators", j), a)
            for j, a in enumerate(load.allowed_accelerators)
        ]
        if load.start_exaflops is not None and load.start is None:
            checks.append((("demand", "inference", i, "start"), "start_exaflops needs start (the quarter it applies to)"))
    checks += _check_buyable_at_sites(s, catalog)
    checks += _check_horizon_fit(s)
    checks += _check_operations(s)
    checks.append(_check_model_size(s, catalog))
    if s.uncertainty is not None:
        checks += uncertainty_reference_problems(s.uncertainty, uncertainty_ids(s), s.horizon.start)
    return next((c for c in checks if c is not None), None)


Problem = tuple[tuple[Any, ...], str]


def _check_buyable_at_sites(s: Scenario, catalog: Any) -> list[Problem | None]:
    """A site builds with accelerators it can buy; rent-only parts belong in cloud_offers."""
    overrides = {a.id: a for a in s.accelerators}
    deal_priced = {d.accelerator for d in s.chip_deals if d.unit_price_usd is not None}
    out: list[Problem | None] = []
    for i, site in enumerate(s.sites):
        for j, acc_id in enumerate(site.accelerators):
            spec, over = catalog.accelerators.get(acc_id), overrides.get(acc_id)
            has_kw = (over is not None and over.it_kw is not None) or (spec is not None and spec.it_kw)
            has_price = ((over is not None and over.unit_price_usd is not None) or acc_id in deal_priced
                         or (spec is not None and spec.unit_price_usd))
            if not (has_kw and has_price):
                buyable = sorted(a for a, x in catalog.accelerators.items() if not x.rent_only)
                out.append((("sites", i, "accelerators", j),
                            f"'{acc_id}' is only offered by clouds (no sourced power or price to build "
                            f"with); rent it through cloud_offers, give it_kw and unit_price_usd under "
                            f"accelerators, or build one of: {', '.join(buyable)}"))
    return out


def _check_horizon_fit(s: Scenario) -> list[Problem | None]:
    """Demand the planner would drop or numbers that would overflow are errors, not notes."""
    first, last = parse_quarter(s.horizon.start), parse_quarter(s.horizon.end)
    span = f"{s.horizon.start}-{s.horizon.end}"
    out: list[Problem | None] = []
    for i, run in enumerate(s.demand.training):
        if parse_quarter(run.end) < first or parse_quarter(run.start) > last:
            out.append((("demand", "training", i, "start"),
                        f"training run '{run.id}' runs {run.start}-{run.end}, wholly outside the "
                        f"horizon {span}; move it inside or extend horizon"))
    for i, load in enumerate(s.demand.inference):
        if load.start_exaflops is None or load.start_exaflops == 0 or load.growth_per_year <= 0:
            continue
        years = max(0, last - parse_quarter(load.start or s.horizon.start)) / 4
        grown = math.log10(load.start_exaflops) + years * math.log10(1 + load.growth_per_year)
        if grown > math.log10(MAX_EXAFLOPS):
            out.append((("demand", "inference", i, "growth_per_year"),
                        f"{load.start_exaflops:g} EF/s growing {load.growth_per_year:.0%}/yr reaches "
                        f"1e{grown:.0f} EF/s by {s.horizon.end}, beyond the {MAX_EXAFLOPS:g} EF/s "
                        "this model accepts; lower growth_per_year or shorten the horizon"))
    for section in ("budget_usd_per_year", "revenue_usd_per_year"):
        for year in getattr(s.finance, section):
            if not FIRST_YEAR <= year <= LAST_YEAR:
                out.append((("finance", section, year),
                            f"year {year} is outside {FIRST_YEAR}-{LAST_YEAR}; write a calendar year"))
    return out


MAX_MODEL_CELLS = 20_000_000


def _check_model_size(s: Scenario, catalog: Any) -> Problem | None:
    """Refuse a scenario whose planning model cannot fit in memory, before building it.

    The planner's arrays grow with (things that hold capacity) x quarters x vintages, and its
    rental lots with (offer terms x offers) x quarters x vintages; past ~2e7 cells a build
    takes gigabytes (700 cloud offers over 40 years asked for a 93 GiB array).
    """
    periods = len(s.horizon.periods)
    buyable = sum(1 for a in catalog.accelerators.values() if not a.rent_only)
    holders = (sum(len(x.accelerators) or buyable for x in s.sites)
               + sum(len(o.terms) for o in s.cloud_offers) + len(s.contracts) + len(s.chip_deals)
               + len(s.demand.training) + len(s.demand.inference))
    terms = sum(len(o.terms) for o in s.cloud_offers)
    # the planner maps rental lots to offers in one (lot, period, vintage, offer) array
    cells = max(holders, terms * len(s.cloud_offers)) * periods * periods
    if cells <= MAX_MODEL_CELLS:
        return None
    return (("horizon",),
            f"the planning model would hold about {cells:,.0f} cells ({holders:,} sites x accelerators, "
            f"offer terms, contracts, deals and demands, and {terms:,} offer terms x "
            f"{len(s.cloud_offers):,} offers, over {periods} quarters squared for vintages); "
            f"at most {MAX_MODEL_CELLS:,} fit in memory: shorten the horizon or merge offers")


def _check_operations(s: Scenario) -> list[Problem | None]:
    from gigawatt.sim.policies import POLICIES

    out: list[Problem | None] = []
    if s.operations.policy not in POLICIES:
        out.append((("operations", "policy"),
                    f"unknown policy '{s.operations.policy}'; choose one of {', '.join(POLICIES)}"))
    names = ({p.id for p in s.providers} | {x.id for x in s.sites} | {o.id for o in s.cloud_offers}
             | {c.id for c in s.contracts} | {o.region for o in s.cloud_offers}
             | {c.region for c in s.contracts})
    for i, outage in enumerate(s.operations.outages):
        target = outage.target
        site_pool = "/" in target and target.split("/", 1)[0] in {x.id for x in s.sites}
        if target not in names and not site_pool:
            out.append((("operations", "outages", i, "target"),
                        f"unknown outage target '{target}'; {_did_you_mean(target, names)} "
                        "(a provider, site, cloud offer, contract or region id)"))
    return out
