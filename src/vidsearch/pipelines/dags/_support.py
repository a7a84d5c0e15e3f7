"""What the vidsearch DAGs share (this file defines no DAG): params from the steps' specs,
their values inside a task, and a step's errors as Airflow wants them.

A permanent error (`vidsearch.pipelines.is_permanent`: a corrupt video, a wrong setting) fails
the task at once with `AirflowFailException`: retrying would only fail again. Any other error
is raised as it is, and Airflow retries the task (`retries` of the DAG's default_args).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from airflow.sdk import Param, Variable, get_current_context
from airflow.sdk.exceptions import AirflowFailException

from vidsearch.errors import VidsearchError
from vidsearch.pipelines.errors import is_permanent
from vidsearch.pipelines.params import ParamSpec, resolve

log = logging.getLogger("vidsearch.pipelines")
T = TypeVar("T")


def airflow_params(specs: Iterable[ParamSpec]) -> dict[str, Param]:
    """The DAG's params: every spec that may be given per run, empty by default."""
    return {
        spec.name: Param(None, description=spec.help(), **spec.schema())
        for spec in specs
        if spec.param
    }


def _variable(name: str) -> str | None:
    value = Variable.get(name, default=None)
    return None if value is None else str(value)


def values(specs: Iterable[ParamSpec], *names: str) -> dict[str, Any]:
    """The named params of this run, each filled in when empty (Variable, then default)."""
    wanted = [s for s in specs if s.name in names]
    missing = set(names) - {s.name for s in wanted}
    assert not missing, f"no such params: {missing}"
    return resolve(wanted, get_current_context()["params"], _variable)


def run_id_folder() -> str:
    """This DAG run's id, usable as a folder name (retries of a task share it)."""
    return re.sub(r"[^\w.\-]+", "_", get_current_context()["run_id"])


def run_step(step: Callable[..., T], **arguments: Any) -> T:
    """`step(**arguments)`; a permanent vidsearch error fails the task without retries."""
    try:
        return step(**arguments)
    except VidsearchError as exc:
        if is_permanent(exc):
            raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc
        raise
