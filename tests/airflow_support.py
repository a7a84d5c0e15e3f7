"""A throwaway Airflow installation for tests: its own AIRFLOW_HOME, a sqlite metadata
database, no example DAGs, vidsearch's DAGs folder; the real `airflow` CLI in subprocesses.

`airflow dags test` runs a whole DAG run in one process, with no scheduler, webserver or API
server (task calls reach the execution API in-process); the only addresses configured are
127.0.0.1 ones, should anything open a port.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from vidsearch.pipelines.dags import dags_folder

AIRFLOW = Path(sys.executable).with_name("airflow")


class AirflowHome:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.database = root / "airflow.db"
        self.logs = root / "cli-logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(root),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder()),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.database}",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__BASE_URL": "http://127.0.0.1:8080",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "http://127.0.0.1:8080/execution/",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "PYTHONWARNINGS": "ignore",
        }
        self._runs = 0

    def airflow(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """The `airflow` command; its output is kept in cli-logs/ and returned."""
        self._runs += 1
        log = self.logs / f"{self._runs:02d}-{args[0]}-{args[1] if len(args) > 1 else ''}.log"
        with log.open("w") as out:
            done = subprocess.run(
                [str(AIRFLOW), *args],
                env={**self.env, **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=timeout,
                cwd=self.root,
            )
        done.stdout = log.read_text()
        return done

    def migrate(self) -> None:
        done = self.airflow("db", "migrate")
        assert done.returncode == 0, done.stdout[-3000:]

    def dags_test(
        self, dag_id: str, conf: dict[str, Any], *, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.airflow("dags", "test", dag_id, "--conf", json.dumps(conf), env=env)

    def _query(self, sql: str, *args: Any) -> list[tuple]:
        with sqlite3.connect(self.database) as db:
            return db.execute(sql, args).fetchall()

    def last_run(self, dag_id: str) -> str:
        rows = self._query("SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC", dag_id)
        assert rows, f"no run of {dag_id}"
        return rows[0][0]

    def states(self, dag_id: str) -> dict[tuple[str, int], tuple[str | None, int]]:
        """(task id, map index) -> (state, try number) in the DAG's last run."""
        rows = self._query(
            "SELECT task_id, map_index, state, try_number FROM task_instance "
            "WHERE dag_id = ? AND run_id = ?",
            dag_id,
            self.last_run(dag_id),
        )
        return {(task, index): (state, tries) for task, index, state, tries in rows}

    def map_labels(self, dag_id: str, task_id: str) -> list[str | None]:
        """The labels the UI shows for a mapped task's instances (`map_index_template`)."""
        rows = self._query(
            "SELECT rendered_map_index FROM task_instance WHERE dag_id = ? AND run_id = ? "
            "AND task_id = ? ORDER BY map_index",
            dag_id,
            self.last_run(dag_id),
            task_id,
        )
        return [label for (label,) in rows]

    def xcom(self, dag_id: str, task_id: str, map_index: int = -1) -> Any:
        """What the task returned in the DAG's last run."""
        rows = self._query(
            "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = ? "
            "AND map_index = ? AND key = 'return_value'",
            dag_id,
            self.last_run(dag_id),
            task_id,
            map_index,
        )
        assert rows, f"{task_id}[{map_index}] returned nothing"
        value = rows[0][0]
        return json.loads(value) if isinstance(value, str | bytes) else value

    def structure(self, env: dict[str, str] | None = None) -> dict[str, Any]:
        """Every DAG of the folder as Airflow parses it (with `env` added to the environment):
        import errors, tasks, params."""
        script = (
            "import json\n"
            "from airflow.dag_processing.dagbag import DagBag\n"
            "bag = DagBag()\n"
            "print('STRUCTURE ' + json.dumps({'errors': {k: str(v) for k, v in "
            "bag.import_errors.items()}, 'dags': {d.dag_id: {"
            "'max_active_runs': d.max_active_runs, "
            "'params': {k: {**d.params.get_param(k).schema, "
            "'description': d.params.get_param(k).description} for k in d.params}, "
            "'tasks': {t.task_id: {'downstream': sorted(t.downstream_task_ids), "
            "'trigger_rule': str(t.trigger_rule.value), 'retries': t.retries, "
            "'mapped': bool(getattr(t, 'is_mapped', False)), "
            "'max_active_tis_per_dagrun': t.max_active_tis_per_dagrun} for t in d.tasks}} "
            "for d in bag.dags.values()}}))\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.root,
        )
        lines = [x for x in done.stdout.splitlines() if x.startswith("STRUCTURE ")]
        assert done.returncode == 0 and lines, done.stdout[-2000:] + done.stderr[-3000:]
        return json.loads(lines[-1].removeprefix("STRUCTURE "))
