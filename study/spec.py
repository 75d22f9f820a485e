"""Parameter files (`notebooks/params/<id>.yaml`) validated into typed, frozen specs."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Literal, NamedTuple

import yaml
from pydantic import BaseModel, Field, ValidationError

from study.typed import Strict

PARAMS_DIR = Path(__file__).resolve().parent.parent / "notebooks" / "params"
INPUT_SIDE = 28


class ConvLayer(Strict):
    """One Conv2D layer; every conv layer is followed by a max-pooling layer."""

    filters: int = Field(gt=0)
    kernel: int = Field(gt=0, description="square kernel side, in pixels")
    activation: Literal["relu", "sigmoid", "tanh", "elu", "selu", "gelu"] = "relu"


class Training(Strict):
    """How the model is fitted."""

    optimizer: Literal["adam"] = "adam"
    learning_rate: float = Field(gt=0, le=1)
    batch_size: int = Field(gt=0)
    epochs: int = Field(gt=0)
    validation_split: float = Field(default=0.1, ge=0, lt=1)


class SeedReport(Strict):
    """The figures the seed report printed for this model, as printed (None where it printed none)."""

    accuracy: float | None = None
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    train_accuracy_first: float | None = None
    train_accuracy_last: float | None = None
    params: int | None = None
    conclusion_table_accuracy: float | None = None


class SeedClaim(Strict):
    """A conclusion the seed report drew about this model against `compare_with`, in its own words."""

    text: str
    direction: Literal["better", "worse", "not worse", "not better"] = Field(
        description="this model against the one it is compared with; 'not worse' and 'not better' are claims that a "
                    "change does not hurt or does not help (tested against the dataset's equivalence margin)")
    untested: str = Field(default="", description="the part of the claim's wording that no figure here tests")


class ModelSpec(Strict):
    """One experiment: the architecture, its training and what the seed report said about it."""

    id: str = Field(pattern=r"^[a-z0-9_]+$", description="the parameter file's name without .yaml")
    title: str
    question: str
    factor: str = Field(description="what this model changes relative to `compare_with`")
    compare_with: str | None = None
    conv: tuple[ConvLayer, ...] = Field(min_length=1)
    pool: int = Field(default=2, gt=0)
    dense_units: int = Field(default=64, gt=0)
    dense_activation: Literal["relu", "sigmoid", "tanh", "elu", "selu", "gelu"] = "relu"
    training: Training
    seed_report: SeedReport = SeedReport()
    seed_claim: SeedClaim | None = None
    notes: str = ""


class SpecError(ValueError):
    """A parameter file that is not a valid spec; the message names the file and the fields."""


def _fields_at(loc: tuple) -> list[str]:
    """The field names allowed at a location inside ModelSpec (for 'unknown field' errors)."""
    model: type[BaseModel] | None = ModelSpec
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        annotation = model.model_fields[part].annotation if part in model.model_fields else None
        model = next((a for a in (*getattr(annotation, "__args__", ()), annotation)
                      if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return [f for f in (model.model_fields if model else {}) if f != "id"]


def _describe(err: ValidationError, path: Path) -> str:
    lines = [f"{path}: invalid parameter file"]
    for e in err.errors():
        field = ".".join(str(p) for p in e["loc"]) or "(top level)"
        value = e.get("input")
        if e["type"] == "extra_forbidden":
            allowed = _fields_at(e["loc"])
            close = difflib.get_close_matches(str(e["loc"][-1]), allowed, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            lines.append(f"  field '{field}': unknown field{hint} (allowed here: {', '.join(allowed)})")
        elif e["type"] == "missing":
            lines.append(f"  field '{field}': required, but missing")
        else:
            lines.append(f"  field '{field}': {e['msg']} (got {value!r})")
    return "\n".join(lines)


class ConvShape(NamedTuple):
    """The square feature maps around one conv layer, no padding: the side and channels it meets, the side it
    outputs, and the side after its pooling."""

    side_in: int
    channels_in: int
    side_out: int
    pooled: int


def conv_shapes(spec: ModelSpec, side: int = INPUT_SIDE) -> list[ConvShape]:
    """The feature maps each conv layer of `spec` meets and makes, in order, from a `side`×`side` image; a layer whose
    kernel or pooling window does not fit makes a side below 1 (which `load_spec` refuses)."""
    shapes, channels = [], 1
    for conv in spec.conv:
        out = side - conv.kernel + 1
        shapes.append(ConvShape(side, channels, out, out // spec.pool))
        side, channels = out // spec.pool, conv.filters
    return shapes


def _check_fits(spec: ModelSpec, path: Path) -> None:
    """Every kernel and pooling window must fit the feature map it meets (28x28 input, no padding)."""
    for i, (conv, shape) in enumerate(zip(spec.conv, conv_shapes(spec))):
        side = shape.side_in
        if conv.kernel > side:
            raise SpecError(f"{path}: field 'conv.{i}.kernel': a {conv.kernel}×{conv.kernel} kernel does not fit "
                            f"the {side}×{side} feature map at conv layer {i + 1}; allowed: 1 to {side}")
        side = shape.side_out
        if spec.pool > side:
            raise SpecError(f"{path}: field 'pool': a {spec.pool}×{spec.pool} pooling window does not fit the "
                            f"{side}×{side} feature map after conv layer {i + 1}; allowed here: 1 to {side}")


def load_spec(path: str | Path) -> ModelSpec:
    """Read one YAML parameter file and validate it into a ModelSpec, or raise SpecError."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot be read: {exc.strerror}") from None
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: expected a mapping of fields, got {type(raw).__name__}")
    if "id" in raw:
        raise SpecError(f"{path}: field 'id': remove it; a model's id is its file name ({path.stem!r})")
    try:
        spec = ModelSpec.model_validate({**raw, "id": path.stem})
    except ValidationError as exc:
        if any(e["loc"] == ("id",) for e in exc.errors()):
            raise SpecError(f"{path}: field 'id': the file name {path.stem!r} is not a valid id; allowed: "
                            "lower-case letters, digits and '_' (rename the file)") from None
        raise SpecError(_describe(exc, path)) from None
    _check_fits(spec, path)
    return spec


def load_specs(params_dir: str | Path = PARAMS_DIR) -> dict[str, ModelSpec]:
    """Load every `*.yaml` in a folder, by file name, checking that each `compare_with` names one of them."""
    params_dir = Path(params_dir)
    specs, errors = {}, []
    for path in sorted(params_dir.glob("*.yaml")):
        try:
            specs[path.stem] = load_spec(path)
        except SpecError as exc:
            errors.append(str(exc))
    if not specs and not errors:
        raise SpecError(f"{params_dir}: no parameter files (*.yaml) found")
    names = sorted(p.stem for p in params_dir.glob("*.yaml"))
    for spec in specs.values():
        if spec.compare_with is not None and spec.compare_with not in names:
            errors.append(f"{params_dir / (spec.id + '.yaml')}: field 'compare_with': {spec.compare_with!r} is not "
                          f"a model id; allowed: {', '.join(names)}")
    if errors:
        raise SpecError("\n".join(errors))
    return specs
