"""The folder to give Airflow as its DAGs folder (`vidsearch pipelines dags-folder` prints it):
`persian_clip.py` and `video_ingest.py`, each one DAG. Needs the `airflow` extra."""
