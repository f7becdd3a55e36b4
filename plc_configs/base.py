"""The base of every config model: unknown keys are errors, models are frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Unknown keys are errors (a misspelt key never goes unnoticed); values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
