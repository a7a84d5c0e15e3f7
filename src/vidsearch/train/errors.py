"""Every error training raises on purpose (all `VidsearchError`s: the CLI prints one line and
exits with 1). Configuration mistakes are `vidsearch.errors.ConfigError`, a missing or empty
dataset `vidsearch.data.errors.DatasetError`, an unusable model `vidsearch.errors.ModelError`.

    VidsearchError
     └── TrainError            training cannot go on
          ├── CheckpointError  a checkpoint cannot be resumed (corrupt, newer, another config)
          └── TrackingError    MLflow: the extra is missing, the store or registry refuses
"""

from __future__ import annotations

from vidsearch.errors import VidsearchError


class TrainError(VidsearchError):
    pass


class CheckpointError(TrainError):
    pass


class TrackingError(TrainError):
    pass
