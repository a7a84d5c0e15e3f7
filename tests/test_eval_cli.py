"""`vidsearch eval retrieval` through the CLI, every option its help offers, on the tiny CLIP
and a few generated images: English and Persian Karpathy split files, COCO annotations and
a vidsearch dataset; with and without a baseline; summary, JSON and MLflow output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from vidsearch.cli import app
from vidsearch.data import Dataset, Split
from vidsearch.data.records import CaptionRecord
from vidsearch.data.shapes import shapes_dictionary
from vidsearch.data.translate.dictionary import DictionaryTranslator

# Six test images and two training images; "a red circle" describes two test images.
ENGLISH = [
    ["a red circle", "a red circle and a blue square"],
    ["a red circle", "a green triangle"],
    ["a blue square", "a yellow circle"],
    ["a green square", "a white triangle"],
    ["a blue triangle", "a red square and a green circle"],
    ["a yellow square", "a white circle"],
]
TRAIN = [["a white square"], ["a yellow triangle"]]


def _persian(texts: list[str]) -> list[str]:
    return DictionaryTranslator(shapes_dictionary()).translate(texts, "en", "fa")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("eval-cli")
    images = root / "images"
    images.mkdir()
    entries: dict[str, list[dict]] = {"en": [], "fa": []}
    coco: dict[str, list[dict]] = {"images": [], "annotations": []}
    for number, (captions, split) in enumerate(
        [(c, "test") for c in ENGLISH] + [(c, "train") for c in TRAIN]
    ):
        name = f"{number}.jpg"
        Image.new("RGB", (32, 32), (number * 30, 255 - number * 30, number * 10)).save(
            images / name
        )
        for language, texts in (("en", captions), ("fa", _persian(captions))):
            sentences = [{"raw": text} for text in texts]
            entry = {"filename": name, "imgid": number, "split": split, "sentences": sentences}
            entries[language].append(entry)
        coco["images"].append({"id": number, "file_name": name})
        coco["annotations"] += [{"image_id": number, "caption": text} for text in captions]
    result = {"images": images}
    for language, listed in entries.items():
        result[language] = root / f"dataset_flickr30k_{language}.json"
        result[language].write_text(json.dumps({"images": listed}, ensure_ascii=False))
    result["coco"] = root / "captions_val2017.json"
    result["coco"].write_text(json.dumps(coco))
    english = [c for captions in ENGLISH for c in captions]
    result["dictionary"] = root / "fa-en.json"
    result["dictionary"].write_text(
        json.dumps(dict(zip(_persian(english), english, strict=True)), ensure_ascii=False)
    )
    result["dataset"] = root / "dataset"
    with Dataset.open(result["dataset"], writable=True, create=True) as dataset:
        for number, captions in enumerate(ENGLISH):
            with Image.open(images / f"{number}.jpg") as image:
                dataset.add_image(f"s-{number}", image, source="s", split=Split.TEST)
            for n, (en, fa) in enumerate(zip(captions, _persian(captions), strict=True)):
                dataset.upsert_caption(CaptionRecord(f"s-{number}", "en", "s", n, en))
                dataset.upsert_caption(CaptionRecord(f"s-{number}", "fa", "s+mt", n, fa))
    return result


@pytest.fixture(scope="module")
def model(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle that sends English and Persian captions to the tiny CLIP's text tower."""
    bundle = tmp_path_factory.mktemp("bundles") / "tiny-en-fa"
    bundle.mkdir()
    tower = {"format": "clip", "ref": str(tiny_model)}
    manifest = {"version": 1, "name": "tiny-en-fa", "image": tower}
    manifest["texts"] = [tower | {"languages": ["en", "fa"]}]
    (bundle / "bundle.json").write_text(json.dumps(manifest))
    return bundle


def _invoke(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["eval", "retrieval", *args])
    return result.exit_code, result.stdout, result.stderr


def _base(files: dict[str, Path], model: Path, out: Path, dataset: str = "en") -> list[str]:
    args = ["--dataset", str(files[dataset]), "--model", str(model), "--backend", "torch"]
    if dataset != "dataset":
        args += ["--images", str(files["images"])]
    return args + ["--rounds", "100", "--out", str(out)]


# Every option of the help, each in at least one case: (dataset, arguments, what the report's
# setup must say). "{model}", "{dictionary}", "{translator}" are filled in by the test.
CASES = {
    "english-karpathy": ("en", [], {"language": "en", "images": 6, "captions": 12}),
    "persian-karpathy-by-script": ("fa", [], {"language": "fa", "images": 6}),
    "persian-karpathy-flag": ("fa", ["--language", "fa"], {"language": "fa"}),
    "lang-flag-labels-a-caption-file": ("en", ["--lang", "fa"], {"language": "fa"}),
    "coco": ("coco", [], {"language": "en", "images": 8, "captions": 14}),
    "dataset-default-english": ("dataset", [], {"language": "en", "images": 6}),
    "dataset-persian": ("dataset", ["--lang", "fa"], {"language": "fa", "images": 6}),
    "train-split": ("en", ["--split", "train"], {"images": 2, "captions": 2}),
    "limit": ("en", ["--limit", "3"], {"images": 3, "captions": 6}),
    "first-captions": ("en", ["--captions", "first"], {"captions": 6, "queries": 5}),
    "dataset-persian-first": (
        "dataset",
        ["--lang", "fa", "--captions", "first"],
        {"language": "fa", "captions": 6, "queries": 5},
    ),
    "k-rounds-seed": ("en", ["--k", "2,1", "--rounds", "150", "--seed", "7"], {}),
    "baseline-itself": ("en", ["--baseline", "{model}"], {}),
    "baseline-translate-dictionary": (
        "fa",
        ["--baseline", "translate", "--translator", "dictionary:{dictionary}"],
        {"language": "fa"},
    ),
    "baseline-translate-shapes": (
        "fa",
        ["--baseline", "translate", "--translator", "shapes"],
        {"language": "fa"},
    ),
    "baseline-translate-local": (
        "fa",
        ["--baseline", "translate", "--translator", "local:{translator}"],
        {"language": "fa"},
    ),
}


PARAMS = [pytest.param(c, id=c) for c in CASES]


@pytest.mark.parametrize("case", PARAMS)
def test_every_option_runs_and_reports(
    case: str,
    files: dict[str, Path],
    model: Path,
    tiny_translator: Path,
    tmp_path: Path,
) -> None:
    dataset, extra, setup = CASES[case]
    fill = {"model": model, "dictionary": files["dictionary"], "translator": tiny_translator}
    extra = [a.format(**fill) for a in extra]
    out = tmp_path / "out"
    code, stdout, stderr = _invoke([*_base(files, model, out, dataset), *extra, "--json"])
    assert code == 0, stdout + stderr
    report = json.loads(stdout)
    assert setup.items() <= report["setup"].items(), report["setup"]
    with_baseline = "--baseline" in extra
    assert len(report["results"]) == 1 + with_baseline
    assert ("comparison" in report) == with_baseline
    assert len(report["metrics"]) == len(report["results"])  # labels stay apart
    ks = extra[extra.index("--k") + 1] if "--k" in extra else "1,5,10"
    recall = report["results"][0]["text_to_image"]["recall"]
    assert list(recall) == [f"R@{k}" for k in sorted(int(k) for k in ks.split(","))]
    assert json.loads((out / "retrieval.json").read_text(encoding="utf-8")) == report
    assert "<html" in (out / "retrieval.html").read_text(encoding="utf-8")
    if "--lang" not in extra and "--language" not in extra:
        assert f"({report['setup']['language']})" in stderr  # says which language it read


@pytest.mark.parametrize("baseline", [False, True], ids=["alone", "baseline"])
@pytest.mark.parametrize("output", ["summary", "json", "mlflow"])
def test_outputs_with_and_without_a_baseline(
    baseline: bool,
    output: str,
    files: dict[str, Path],
    tiny_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The summary, the JSON and the MLflow run, each with one model and with two (one model
    crashed after writing its files: `zip() argument 2 is shorter than argument 1`)."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    out = tmp_path / "out"
    args = _base(files, tiny_model, out)
    args += ["--baseline", str(tiny_model)] if baseline else []
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args += {"summary": [], "json": ["--json"], "mlflow": ["--mlflow", tracking]}[output]
    code, stdout, stderr = _invoke(args)
    assert code == 0, stdout + stderr
    assert (out / "retrieval.json").is_file() and (out / "retrieval.html").is_file()
    roles = ["model", "baseline"] if baseline else ["model"]
    if output == "json":
        assert len(json.loads(stdout)["results"]) == len(roles)
        return
    assert "dataset_flickr30k_en.json:test (en): 6 images, 12 captions" in stdout
    assert f"report: {out / 'retrieval.html'}" in stdout
    assert stdout.count("text→image R@1") == len(roles)
    assert ("R@1: " in stdout) == baseline  # the comparison's one-line verdict
    if output == "mlflow":
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking)
        experiment = client.get_experiment_by_name("vidsearch-eval")
        (run,) = client.search_runs([experiment.experiment_id])
        assert run.info.status == "FINISHED"
        logged = {name.split("/")[0] for name in run.data.metrics}
        assert logged == set(roles)
        assert run.data.params["lang"] == "en"


def test_captions_without_letters_ask_for_the_language(
    files: dict[str, Path], tiny_model: Path, tmp_path: Path
) -> None:
    digits = tmp_path / "digits.json"
    entry = {"filename": "0.jpg", "split": "test", "sentences": [{"raw": "123"}]}
    digits.write_text(json.dumps({"images": [entry]}))
    args = ["--dataset", str(digits), "--images", str(files["images"])]
    code, stdout, stderr = _invoke([*args, "--model", str(tiny_model), "--out", str(tmp_path)])
    assert code == 1 and "--lang" in stderr, stdout + stderr
