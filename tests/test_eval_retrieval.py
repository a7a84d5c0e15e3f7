"""The shapes world end to end: a tiny CLIP whose text tower was briefly trained on the
training split beats the same model untrained on the test split (held-out colour–shape
pairs), by a significant margin, through `vidsearch eval retrieval`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vidsearch.cli import app
from vidsearch.data import Dataset, Split
from vidsearch.data.shapes import WorldConfig, write_world

TRAIN_STEPS = 200


def _train_text_tower(base: Path, world: Path, into: Path) -> Path:
    """Contrastive training of the text tower only, against the frozen image tower's vectors
    of the training images (a few seconds on a CPU)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small matrices: threads only contend on a shared machine
    try:
        return _train(base, world, into)
    finally:
        torch.set_num_threads(threads)


def _train(base: Path, world: Path, into: Path) -> Path:
    import torch
    from transformers import AutoTokenizer, CLIPModel

    from vidsearch.encoders import ClipEncoder
    from vidsearch.evaluation.loaders import load_dataset
    from vidsearch.evaluation.retrieval import embed_images

    train = load_dataset(world, Split.TRAIN, "en")
    images = torch.tensor(embed_images(ClipEncoder(str(base)).load(), train.images))
    model = CLIPModel.from_pretrained(base)
    tokenizer = AutoTokenizer.from_pretrained(base)
    texts = [c.text for c in train.captions]
    owner = torch.tensor([c.image for c in train.captions])
    tower = [*model.text_model.parameters(), *model.text_projection.parameters()]
    optimizer = torch.optim.AdamW(tower, lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(TRAIN_STEPS):
        batch = torch.randint(0, len(texts), (64,), generator=generator)
        tokens = tokenizer(
            [texts[i] for i in batch], padding=True, truncation=True, max_length=77,
            return_tensors="pt",
        )  # fmt: skip
        features = model.get_text_features(**tokens)
        features = getattr(features, "pooler_output", features)
        logits = torch.nn.functional.normalize(features, dim=-1) @ images.T * 20
        loss = torch.nn.functional.cross_entropy(logits, owner[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    model.save_pretrained(into)
    tokenizer.save_pretrained(into)
    shutil.copy(base / "preprocessor_config.json", into)
    return into


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shapes") / "world"
    with Dataset.open(root, writable=True, create=True) as dataset:
        write_world(dataset, WorldConfig(images=200, size=64))
    return root


@pytest.fixture(scope="module")
def trained(world: Path, tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _train_text_tower(tiny_model, world, tmp_path_factory.mktemp("models") / "trained")


@pytest.mark.slow
def test_trained_beats_untrained_significantly(
    world: Path, tiny_model: Path, trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = ["eval", "retrieval", "--dataset", str(world), "--model", str(trained)]
    args += ["--baseline", str(tiny_model), "--lang", "en", "--backend", "torch"]
    args += ["--rounds", "1000", "--out", str(tmp_path / "out"), "--json", "--mlflow", tracking]
    monkeypatch.chdir((tmp_path / "cwd").mkdir() or tmp_path / "cwd")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    trained_r, untrained_r = report["results"]
    assert report["setup"]["images"] == 40  # the test split: 20 % of 200
    for k in ("R@5", "R@10"):
        comparison = report["comparison"]["metrics"][f"text_to_image {k}"]
        assert comparison["significant"] and comparison["difference"] > 0, comparison
    r1 = trained_r["text_to_image"]["recall"]["R@1"], untrained_r["text_to_image"]["recall"]["R@1"]
    print(f"R@1 trained {r1[0]} vs untrained {r1[1]}; {report['comparison']['summary']}")
    assert set(trained_r["accuracy"]) == {"Acc@1", "Acc@5", "Acc@10"}
    page = (tmp_path / "out" / "retrieval.html").read_text()
    assert page.count("data:image/png;base64,") >= 4  # 2 curves + 2 score plots
    assert (tmp_path / "out" / "retrieval.json").is_file()

    import mlflow
    from mlflow.tracking import MlflowClient

    assert mlflow.get_tracking_uri() != tracking  # the process-wide setting was left alone
    client = MlflowClient(tracking)
    (run,) = client.search_runs([client.get_experiment_by_name("vidsearch-eval").experiment_id])
    assert run.data.params["model"] == str(trained) and run.data.params["lang"] == "en"
    assert run.info.status == "FINISHED"
    for role, result in (("model", trained_r), ("baseline", untrained_r)):
        value = result["text_to_image"]["recall"]["R@5"]["value"]
        assert run.data.metrics[f"{role}/t2i R_5"] == value
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert artifacts == {"retrieval.json", "retrieval.html"}
    assert (tmp_path / "mlartifacts").is_dir() and not any((tmp_path / "cwd").iterdir())


@pytest.mark.slow
def test_translate_then_english_baseline_on_persian_queries(
    world: Path, trained: Path, tmp_path: Path
) -> None:
    """The text tower saw English only: Persian queries translated to English do better than
    Persian read as it is (a bundle that sends Persian to the same tower)."""
    bundle = tmp_path / "persian-too"
    bundle.mkdir()
    tower = {"format": "clip", "ref": str(trained)}
    manifest = {"version": 1, "name": "persian-too", "image": tower}
    manifest["texts"] = [tower | {"languages": ["en", "fa"]}]
    (bundle / "bundle.json").write_text(json.dumps(manifest))
    args = ["eval", "retrieval", "--dataset", str(world), "--model", str(bundle), "--lang", "fa"]
    args += ["--baseline", "translate", "--translator", "shapes", "--backend", "torch"]
    args += ["--rounds", "1000", "--k", "5,10", "--out", str(tmp_path / "out"), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["setup"]["language"] == "fa"
    comparison = report["comparison"]["metrics"]["text_to_image R@10"]
    assert comparison["significant"] and comparison["difference"] < 0, comparison


def test_bad_arguments_fail_with_one_line(tmp_path: Path, tiny_model: Path) -> None:
    args = ["eval", "retrieval", "--dataset", str(tmp_path / "none"), "--model", str(tiny_model)]
    result = CliRunner().invoke(app, args + ["--images", str(tmp_path)])
    assert result.exit_code == 1 and "error:" in result.output
    result = CliRunner().invoke(app, args + ["--k", "0,x"])
    assert result.exit_code == 2
