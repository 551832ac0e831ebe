"""The code a registered model ships with (MLflow ``code_paths``), so it loads where covary is not installed.

``mlflow.pyfunc.load_model`` in a plain Python with mlflow, numpy, pandas and statsmodels imports the
model's classes from the copies staged here: the modules listed, their packages' ``__init__`` files and
nothing else (no lakehouse, Ray or connectors). Every module named must import only the standard
library, those packages, and other modules of the same list; ``tests/mlflow`` loads each model in a
fresh interpreter that cannot import covary to prove it.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from jobs.forecast.errors import ForecastError

# The closure of every covary pyfunc's imports (keep in step with the modules' import lines). Every model
# ships all of them: the first model a process loads puts its copy of the ``jobs`` package in sys.modules,
# and a second model of another kind must find its modules in that same copy.
MODEL_CODE: tuple[str, ...] = (
    "covary.errors",
    "jobs.errors",
    "jobs.forecast.errors",
    "jobs.forecast.calendar",
    "jobs.forecast.models",
    "jobs.forecast.pyfunc",
    "jobs.anomaly.detect",
    "jobs.anomaly.pyfunc",
)


def _source(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise ForecastError(f"cannot find the source of {module!r} to ship with the model")
    return Path(spec.origin)


def stage_code(dest: str | Path) -> list[str]:
    """Copy the modules of :data:`MODEL_CODE` (and their packages' ``__init__.py``) under ``dest``.

    Returns the top-level package directories, to pass as ``code_paths`` to ``mlflow.pyfunc.log_model``.
    """
    out = Path(dest)
    tops: list[str] = []
    for module in MODEL_CODE:
        parts = module.split(".")
        for i in range(1, len(parts)):  # each parent package's real __init__.py
            package = ".".join(parts[:i])
            target = out.joinpath(*parts[:i], "__init__.py")
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(_source(package), target)
        target = out.joinpath(*parts[:-1], parts[-1] + ".py")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_source(module), target)
        if str(out / parts[0]) not in tops:
            tops.append(str(out / parts[0]))
    return tops


__all__ = ["MODEL_CODE", "stage_code"]
