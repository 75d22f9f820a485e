"""The base of every typed value the study reads or writes: parameter files and result records alike."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Validated once where it enters (unknown fields refused), then frozen; NaN survives a JSON round trip."""

    model_config = ConfigDict(extra="forbid", frozen=True, ser_json_inf_nan="constants")
