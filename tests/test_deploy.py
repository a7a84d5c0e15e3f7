"""deploy/: docker-compose, Dockerfile, Prometheus and Grafana files are well formed and agree
with each other and with the project (Docker itself cannot run here)."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from system_programs import require_program

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "vidsearch.json"


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def test_compose_services_and_wiring() -> None:
    spec = compose()
    services = spec["services"]
    assert set(services) == {"api", "qdrant", "prometheus", "grafana", "mlflow", "airflow"}
    api = services["api"]
    context = (DEPLOY / api["build"]["context"]).resolve()
    assert context == ROOT and (context / api["build"]["dockerfile"]).is_file()
    env = api["environment"]
    assert env["VIDSEARCH_API_KEY"].startswith("${VIDSEARCH_API_KEY:?")  # required, not a default
    assert env["VIDSEARCH_QDRANT_URL"] == "http://qdrant:6333"
    assert api["ports"] == ["${VIDSEARCH_PORT:-8000}:8000"]
    assert any(v.endswith(":/data") for v in api["volumes"])
    declared = set(spec["volumes"])
    for name, service in services.items():
        for dependency in service.get("depends_on", []):
            assert dependency in services, (name, dependency)
        for volume in service.get("volumes", []):
            source = re.sub(r"^\$\{\w+:-(.+?)\}", r"\1", volume).split(":")[0]  # ${VAR:-./x}
            if source.startswith("."):
                assert (DEPLOY / source).exists(), (name, volume)
            else:
                assert source in declared, (name, volume)
        assert "image" in service
    mounts = {v.split(":")[1]: v.split(":")[0] for v in services["grafana"]["volumes"]}
    assert (DEPLOY / mounts["/etc/grafana/provisioning"] / "datasources").is_dir()
    assert (DEPLOY / mounts["/var/lib/grafana/dashboards"] / DASHBOARD.name).is_file()


def _extras() -> set[str]:
    return set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    )


def _cli_help(*args: str) -> str:
    from typer.testing import CliRunner

    from vidsearch.cli import app

    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_compose_training_and_orchestration_services() -> None:
    """MLflow and Airflow run vidsearch's own commands, from images with the extras they need,
    and the other services reach them by service name."""
    services = compose()["services"]
    mlflow, airflow = services["mlflow"], services["airflow"]
    for service, needed in ((mlflow, {"train"}), (airflow, {"airflow", "train", "qdrant"})):
        assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
        extras = set(service["build"]["args"]["EXTRAS"].split(","))
        assert needed <= extras <= _extras(), extras
        assert "serve" not in extras  # the API image stays the small one
    command = mlflow["command"]
    assert command[:2] == ["vidsearch", "mlflow-server"]
    options = _cli_help("mlflow-server")
    for flag in command[2::2]:
        assert flag in options, flag
    port = command[command.index("--port") + 1]
    assert mlflow["ports"] == [f"{port}:{port}"]
    assert f":{port}/health" in " ".join(mlflow["healthcheck"]["test"])
    for name in ("api", "airflow"):
        assert services[name]["environment"]["MLFLOW_TRACKING_URI"] == f"http://mlflow:{port}"
    script = airflow["command"][-1]
    assert "$$(vidsearch pipelines dags-folder)" in script  # $$: compose's escape for $
    assert "airflow db migrate" in script and script.endswith("exec airflow standalone")
    _cli_help("pipelines", "dags-folder")
    env = airflow["environment"]
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    folder = env["AIRFLOW_VAR_VIDSEARCH_FOLDER"]  # the Variable video_ingest's folder reads
    targets = [re.sub(r"^\$\{\w+:-(.+?)\}", r"\1", v).split(":")[1] for v in airflow["volumes"]]
    assert folder in targets
    from vidsearch.pipelines import video_ingest

    assert "vidsearch_folder" in {spec.variable for spec in video_ingest.DAG_PARAMS}
    assert env["VIDSEARCH_QDRANT_URL"] == services["api"]["environment"]["VIDSEARCH_QDRANT_URL"]
    assert airflow["ports"] == [f"{env['AIRFLOW__API__PORT']}:{env['AIRFLOW__API__PORT']}"]
    assert set(airflow["depends_on"]) == {"qdrant", "mlflow"}


def test_dockerfile_builds_the_service() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    instructions = [line.split()[0] for line in text.splitlines() if line and line[0].isupper()]
    assert instructions[0] == "FROM"
    assert re.search(r"^FROM python:3\.11", text, re.MULTILINE)
    for line in text.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), line
    assert re.search(r'-c constraints.txt "\.\[\$\{EXTRAS\}\]"', text), "installs with constraints"
    default = re.search(r"^ARG EXTRAS=([\w,]+)$", text, re.MULTILINE)
    assert default, "the extras default to the API's"
    assert set(default.group(1).split(",")) <= _extras() and "serve" in default.group(1)
    cmd = json.loads(re.search(r"^CMD (.+)$", text, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert cmd == ["vidsearch", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert "EXPOSE 8000" in text and "USER vidsearch" in text
    assert "/healthz" in text


@pytest.fixture()
def promtool() -> str:
    return require_program("promtool", "prometheus")


def test_prometheus_config(promtool: str) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    job = jobs["vidsearch"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == ["api:8000"]  # the compose service
    result = subprocess.run(
        [promtool, "check", "config", str(DEPLOY / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_provisioning() -> None:
    datasources = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text()
    )["datasources"]
    assert datasources == [
        {
            "name": "Prometheus",
            "uid": "prometheus",
            "type": "prometheus",
            "access": "proxy",
            "url": "http://prometheus:9090",
            "isDefault": True,
            "editable": False,
        }
    ]
    providers = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/dashboards/vidsearch.yml").read_text()
    )["providers"]
    assert providers[0]["type"] == "file"
    assert providers[0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_dashboard_json() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "vidsearch" and dashboard["title"]
    panels = dashboard["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    cells = set()
    for p in panels:
        assert p["title"] and p["type"] in {"stat", "timeseries"}
        assert p["datasource"] == {"type": "prometheus", "uid": "prometheus"}
        grid = p["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{p['title']} overlaps another panel"
                cells.add((x, y))
        assert p["targets"]
        for target in p["targets"]:
            assert target["expr"] and target["refId"]
            assert target["expr"].count("(") == target["expr"].count(")")
            assert target["expr"].count("{") == target["expr"].count("}")
    titles = " | ".join(p["title"].lower() for p in panels)
    for wanted in ("uptime", "response time", "response size", "request rate", "error rate"):
        assert wanted in titles, wanted
    assert "frames indexed" in titles
    exprs = " ".join(t["expr"] for p in panels for t in p["targets"])
    for quantile in ("0.5", "0.95", "0.99"):
        assert f"histogram_quantile({quantile}," in exprs
