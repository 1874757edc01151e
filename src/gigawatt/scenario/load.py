"""Read a scenario from YAML with errors that point at the file, line and field."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from gigawatt.catalog import load_catalog
from gigawatt.errors import ScenarioError
from gigawatt.scenario.model import Scenario
from gigawatt.scenario.uncertainty import reference_problems as uncertainty_reference_problems
from gigawatt.scenario.uncertainty import scenario_ids as uncertainty_ids


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise ScenarioError("file not found; check the path", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read: {exc}", file=str(path)) from None
    return parse_scenario(text, file=str(path))


def parse_scenario(text: str, file: str = "<scenario>") -> Scenario:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"not valid YAML: {problem}", file=file, line=line) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(
            f"the top level must be a mapping of sections (name, sites, demand, ...), got {type(data).__name__}",
            file=file,
            line=1,
        )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        # An unknown key usually explains a "missing" one (a typo): report it first.
        err = min(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        loc = tuple(err["loc"])
        raise ScenarioError(
            _describe(err, loc), file=file, line=_line_of(root, loc), path=_dotted(loc)
        ) from None
    except (TypeError, ValueError) as exc:  # e.g. unhashable keys pydantic cannot report
        raise ScenarioError(f"malformed value: {exc}", file=file, path=None) from None
    problem = check_references(scenario)
    if problem is not None:
        loc, message = problem
        raise ScenarioError(message, file=file, line=_line_of(root, loc), path=_dotted(loc))
    return scenario


def _key(part: Any) -> str:
    text = str(part)
    return text if text.isprintable() and text.strip() == text and text else repr(text)


def _dotted(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + _key(part)
    return out


def _shown(value: Any) -> str:
    text = repr(value).replace("\n", "\\n")
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(err: Any, loc: tuple[Any, ...]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        known = _field_names(_model_at(loc[:-1]))
        hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
        tip = f"did you mean '{hint[0]}'?" if hint else f"allowed here: {', '.join(known)}"
        return f"unknown key {_key(loc[-1])!r}; {tip}".replace("\n", "\\n")
    if kind == "missing":
        return "required field is missing; add it"
    message = err["msg"].removeprefix("Value error, ")
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
    if s.uncertainty is not None:
        checks += uncertainty_reference_problems(s.uncertainty, uncertainty_ids(s), s.horizon.start)
    return next((c for c in checks if c is not None), None)
