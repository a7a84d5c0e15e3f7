"""The folder to give Airflow as its DAGs folder (`vidsearch pipelines dags-folder` prints it):
`persian_clip.py` and `video_ingest.py`, each one DAG. Needs the `airflow` extra."""

from pathlib import Path


def dags_folder() -> Path:
    """This folder (importing it needs no Airflow)."""
    return Path(__file__).resolve().parent
