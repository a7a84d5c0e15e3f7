"""Evaluation reports: JSON, a self-contained HTML page (plots embedded as base64 PNG), and
MLflow logging when tracking is configured.

Plots need the `eval` extra (matplotlib, drawn headless with Agg); without it the HTML report
has its tables and says which extra draws the plots. MLflow is used only when
`MLFLOW_TRACKING_URI` is set (or a URI is given) and mlflow is installed.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

EVAL_EXTRA_HINT = 'plots need the eval extra: pip install -c constraints.txt -e ".[eval]"'


def write_json(report: Mapping[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def _pyplot():
    try:
        import matplotlib
    except ModuleNotFoundError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def recall_curves(curves: Mapping[str, Mapping[int, float]], title: str) -> str | None:
    """A PNG (base64) of Recall@k against k, one line per model; None without matplotlib."""
    plt = _pyplot()
    if plt is None or not curves:
        return None
    figure, axes = plt.subplots(figsize=(5.5, 3.6))
    for label, curve in curves.items():
        ks = sorted(curve)
        axes.plot(ks, [curve[k] for k in ks], marker="o", label=label)
    axes.set(xscale="log", xlabel="k", ylabel="Recall@k", ylim=(0, 1.02), title=title)
    axes.grid(alpha=0.3)
    axes.legend()
    try:
        return _png(figure)
    finally:
        plt.close(figure)


def score_histogram(
    bins: Sequence[float], relevant: Sequence[int], irrelevant: Sequence[int], title: str
) -> str | None:
    """A PNG (base64) of the score distributions of relevant and irrelevant pairs, each
    normalised to a density, to choose `--min-score`."""
    plt = _pyplot()
    if plt is None:
        return None
    import numpy as np

    edges = np.asarray(bins)
    figure, axes = plt.subplots(figsize=(5.5, 3.6))
    for counts, label in ((relevant, "relevant"), (irrelevant, "irrelevant")):
        counts = np.asarray(counts, dtype=float)
        if counts.sum():
            axes.stairs(counts / counts.sum(), edges, label=label, fill=True, alpha=0.45)
    axes.set(xlabel="score (cosine similarity)", ylabel="fraction of pairs", title=title)
    axes.legend()
    try:
        return _png(figure)
    finally:
        plt.close(figure)


def html_page(title: str, sections: Sequence[tuple[str, str]]) -> str:
    """A whole HTML document from (heading, HTML body) sections."""
    body = "\n".join(f"<h2>{html.escape(h)}</h2>\n{content}" for h, content in sections)
    style = (
        "body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
        "padding:.25em .6em;text-align:right}th:first-child,td:first-child{text-align:left}"
        "img{max-width:100%}.note{color:#555}"
    )
    return (
        f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title><style>{style}</style></head><body>\n<h1>{html.escape(title)}</h1>\n"
        f"{body}\n</body></html>\n"
    )


def table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(value: object) -> str:
        return f"{value:.3f}" if isinstance(value, float) else html.escape(str(value))

    lines = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    lines += ["<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows]
    return "\n".join(lines) + "</table>"


def image(png: str | None, alt: str) -> str:
    if png is None:
        return f'<p class="note">({html.escape(EVAL_EXTRA_HINT)})</p>'
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{png}">'


def log_mlflow(
    run_name: str,
    params: Mapping[str, object],
    values: Mapping[str, float],
    artifacts: Sequence[Path],
    *,
    tracking_uri: str | None = None,
) -> str | None:
    """Log one run to MLflow when tracking is configured; the run id, or None when it is not
    (no URI, or mlflow not installed)."""
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        return None
    try:
        import mlflow
    except ModuleNotFoundError:
        return None
    from mlflow.entities import Metric, Param

    from vidsearch.encoders.registered import beside_database  # the layout training uses

    # The client, not mlflow's module-level state: the process's other MLflow users (a
    # `models:/` reference, a training run) keep their own tracking URI.
    client = mlflow.MlflowClient(tracking_uri=uri)
    name = os.environ.get("MLFLOW_EXPERIMENT_NAME", "vidsearch-eval")
    experiment = client.get_experiment_by_name(name)
    experiment_id = (
        experiment.experiment_id
        if experiment is not None
        else client.create_experiment(name, artifact_location=beside_database(uri))
    )
    run_id = client.create_run(experiment_id, run_name=run_name).info.run_id
    now = int(time.time() * 1000)
    try:
        client.log_batch(
            run_id,
            params=[Param(k, str(v)[:500]) for k, v in params.items()],
            metrics=[Metric(_metric_key(k), float(v), now, 0) for k, v in values.items()],
        )
        for path in artifacts:
            client.log_artifact(run_id, str(path))
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FINISHED")
    return run_id


def _metric_key(name: str) -> str:
    """MLflow metric names allow letters, digits and _ - . space / only, and no absolute or
    parent paths."""
    safe = "".join(c if c.isalnum() or c in "_-. /" else "_" for c in name)
    parts = [p for p in safe.split("/") if p not in ("", ".", "..")]
    return "/".join(parts)


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a nested report as {"a/b/c": value} (for MLflow)."""
    result: dict[str, float] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            result |= flatten(value, f"{name}/")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            result[name] = float(value)
    return result


def retrieval_html(report: Mapping[str, Any]) -> str:
    """The retrieval report (as `evaluation.cli` writes its JSON) as one HTML page."""
    results = report["results"]
    sections = [("Test set", table(["", ""], [[k, v] for k, v in report["setup"].items()]))]
    for name, title in (("text_to_image", "Text → image"), ("image_to_text", "Image → text")):
        ks = list(results[0][name]["recall"])
        rows = []
        for r in results:
            recall = r[name]["recall"]
            cells = [f"{v['value']:.3f} [{v['low']:.3f}, {v['high']:.3f}]" for v in recall.values()]
            rows.append([r["label"], *cells, r[name]["mean_rank"], r[name]["median_rank"]])
        curves = {r["label"]: {int(k): v for k, v in r[name]["curve"].items()} for r in results}
        body = table(["model", *ks, "mean rank", "median rank"], rows)
        body += image(recall_curves(curves, title), f"{title} Recall@k")
        sections.append((f"{title} ({results[0][name]['queries']} queries, 95% CI)", body))
    acc = [[r["label"], *r["accuracy"].values()] for r in results]
    sections.append(
        (
            "Acc@k (the seed's metric: one caption per image, both directions)",
            table(["model", *results[0]["accuracy"]], acc),
        )
    )
    if report.get("comparison"):
        comparison = report["comparison"]
        rows = [
            [m, c["difference"], f"[{c['low']:+.3f}, {c['high']:+.3f}]", c["p_value"],
             "yes" if c["significant"] else "no"]
            for m, c in comparison["metrics"].items()
        ]  # fmt: skip
        body = f"<p>{html.escape(comparison['summary'])}</p>"
        body += table(["metric", "A − B", "95% CI", "p", "significant"], rows)
        sections.append((f"{comparison['a']} (A) vs {comparison['b']} (B), paired bootstrap", body))
    for r in results:
        scores = r["scores"]
        body = image(
            score_histogram(scores["bins"], scores["relevant"], scores["irrelevant"], r["label"]),
            "score distributions",
        )
        q = scores["quantiles"]
        rows = [[name, *values.values()] for name, values in q.items()]
        if rows:
            body += table(["pairs", *next(iter(q.values()))], rows)
        sections.append((f"Scores of relevant and irrelevant pairs: {r['label']}", body))
    return html_page(f"Retrieval: {report['setup']['test set']}", sections)


def moments_html(report: Mapping[str, Any]) -> str:
    """The moment report as one HTML page."""
    results = report["results"]
    ks = list(results[0]["recall"])
    rows = [
        [r["label"], *r["recall"].values(),
         "-" if r["mean_time_error"] is None else r["mean_time_error"],
         r["located"], r["frames_indexed"], r["index_seconds"], r["search_ms_per_query"]]
        for r in results
    ]  # fmt: skip
    head = ["setting", *(f"{k} (tIoU ≥ 0.5)" for k in ks), "mean time error (s)", "located",
            "frames", "index s", "search ms/query"]  # fmt: skip
    curves = {r["label"]: {int(k[2:]): v for k, v in r["recall"].items()} for r in results}
    body = table(head, rows) + image(recall_curves(curves, "Moments"), "Recall@k")
    setup = table(["", ""], [[k, v] for k, v in report["setup"].items()])
    return html_page("Moment retrieval", [("Setup", setup), ("Results", body)])
