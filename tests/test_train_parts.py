"""Training's parts, each on its own: the config and its errors, the loss, the metrics, the
caption pairs of a real (small) shapes world, the schedule, precision choices, registered
model references and the slideshow writer."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from vidsearch.data.dataset import Dataset
from vidsearch.data.errors import DatasetError
from vidsearch.data.records import CaptionRecord, Split
from vidsearch.data.shapes import WorldConfig, write_world
from vidsearch.encoders.registered import RegisteredRef, parse_registered
from vidsearch.errors import ConfigError
from vidsearch.train.captions import load_pairs
from vidsearch.train.config import CaptionChoice, Kind, Precision, load_config, parse_config
from vidsearch.train.loss import LogitScale, distillation, info_nce, same_key_mask
from vidsearch.train.metrics import RetrievalSet
from vidsearch.train.precision import choose
from vidsearch.train.slideshow import write_slideshow
from vidsearch.train.trainer import schedule

MINIMAL = {"output": "out", "data": {"dataset": "world"}}


# -- config -----------------------------------------------------------------------------
def test_config_file_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "models" / "student").mkdir(parents=True)
    path = tmp_path / "fa.toml"
    path.write_text(
        'output = "runs/fa"\nbundle = "clip-b32"\n[data]\ndataset = "data/shapes"\n'
        '[text]\nmodel = "models/student"\n[optim]\nepochs = 3\nlr = 1e-4\n'
    )
    config = load_config(path)
    assert config.kind is Kind.TEXT and config.optim.epochs == 3 and config.optim.lr == 1e-4
    assert config.output == tmp_path / "runs" / "fa"
    assert config.data.dataset == tmp_path / "data" / "shapes"
    assert config.text.model == str(tmp_path / "models" / "student")  # an existing folder
    assert config.bundle == "clip-b32"  # a name stays a name
    same = tmp_path / "fa.json"
    same.write_text(json.dumps(config.model_dump(mode="json")))
    assert load_config(same).fingerprint() == config.fingerprint()


def test_config_fingerprint_ignores_where_and_how_fast_but_not_what() -> None:
    base = parse_config(MINIMAL)
    moved = parse_config(MINIMAL | {"output": "elsewhere", "mlflow": {"tracking_uri": "x"}})
    threads = parse_config(MINIMAL | {"optim": {"threads": 3}})
    assert base.fingerprint() == moved.fingerprint() == threads.fingerprint()
    assert parse_config(MINIMAL | {"optim": {"lr": 1e-3}}).fingerprint() != base.fingerprint()
    assert base.flat()["optim.lr"] == "5e-05" and base.flat()["mlflow.tracking_uri"] == ""


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"data": {"dataset": "d"}}, "output: Field required"),
        (MINIMAL | {"optim": {"epoch": 3}}, "optim.epoch: Extra inputs are not permitted"),
        (MINIMAL | {"optim": {"batch_size": 1}}, "optim.batch_size"),
        (MINIMAL | {"kind": "gan"}, "kind"),
        (MINIMAL | {"data": {"dataset": "d", "language": "Persian"}}, "data.language"),
        (MINIMAL | {"data": {"dataset": "d", "validation_split": "dev"}}, "validation_split"),
        (MINIMAL | {"optim": {"precision": "fp8"}}, "optim.precision"),
    ],
)
def test_config_errors_name_the_setting(data: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        parse_config(data, where="cfg.toml")


def test_config_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the training config"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("output = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    ini = tmp_path / "config.ini"
    ini.write_text("x")
    with pytest.raises(ConfigError, match=r"\.toml, \.json or \.yaml"):
        load_config(ini)
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="table of settings"):
        load_config(listing)
    yaml_file = tmp_path / "config.yaml"
    yaml_file.write_text("output: out\ndata:\n  dataset: world\nseed: 3\n")
    assert load_config(yaml_file).seed == 3


# -- loss -------------------------------------------------------------------------------
def _unit(rows: int, dim: int, seed: int) -> torch.Tensor:
    return torch.nn.functional.normalize(
        torch.randn(rows, dim, generator=torch.Generator().manual_seed(seed)), dim=-1
    )


def test_info_nce_is_symmetric_cross_entropy_and_masks_other_positives() -> None:
    text, image = _unit(6, 8, 0), _unit(6, 8, 1)
    scale = torch.tensor(10.0)
    logits = scale * text @ image.T
    expected = (
        -torch.log_softmax(logits, 1).diagonal().mean()
        - torch.log_softmax(logits, 0).diagonal().mean()
    ) / 2
    assert torch.allclose(info_nce(text, image, scale), expected, atol=1e-5)
    # pairs 0 and 1 show the same image: neither is the other's negative
    keys = torch.tensor([7, 7, 1, 2, 3, 4])
    mask = same_key_mask(keys)
    assert mask[0, 1] and mask[1, 0] and not mask.diagonal().any() and mask.sum() == 2
    masked = info_nce(text, image, scale, positives=mask)
    assert masked < info_nce(text, image, scale)  # fewer negatives, lower loss
    perfect = info_nce(text, text, torch.tensor(100.0))
    assert perfect < 0.05


def test_logit_scale_learns_or_not_and_is_clamped() -> None:
    scale = LogitScale(0.07)
    assert (
        math.isclose(float(scale().detach()), 1 / 0.07, rel_tol=1e-5)
        and scale.log_scale.requires_grad
    )
    assert not LogitScale(0.5, learn=False).log_scale.requires_grad
    assert math.isclose(float(LogitScale(0.001)().detach()), 100.0, rel_tol=1e-5)


def test_distillation_is_cosine_distance_over_present_rows() -> None:
    student, teacher = _unit(4, 8, 0), _unit(4, 8, 1)
    assert float(distillation(student, student)) == pytest.approx(0.0, abs=1e-6)
    assert float(distillation(student, -student)) == pytest.approx(2.0)
    present = torch.tensor([True, False, False, False])
    assert float(distillation(student, teacher, present)) == pytest.approx(
        1 - float(student[0] @ teacher[0]), abs=1e-6
    )
    assert float(distillation(student, teacher, torch.zeros(4, dtype=torch.bool))) == 0.0


# -- metrics ----------------------------------------------------------------------------
def test_recall_counts_any_relevant_image_and_ties_against_the_model() -> None:
    images = np.eye(4, dtype=np.float32)
    retrieval = RetrievalSet(
        ("a", "b", "c"),
        (frozenset({0}), frozenset({1, 2}), frozenset({3})),
        ("i0", "i1", "i2", "i3"),
    )
    texts = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0.9, 0.1, 0, 0]], np.float32)  # c misses
    recall = retrieval.recall(texts, images, ks=(1, 2))
    assert recall == {"recall_at_1": pytest.approx(2 / 3), "recall_at_2": pytest.approx(2 / 3)}
    constant = np.ones((3, 4), np.float32) / 2
    assert retrieval.recall(constant, images, ks=(1,))["recall_at_1"] == 0.0  # all tied
    assert retrieval.chance(ks=(1, 4)) == {
        "recall_at_1": pytest.approx((1 / 4 + 2 / 4 + 1 / 4) / 3),
        "recall_at_4": pytest.approx(1.0),
    }
    with pytest.raises(ValueError, match="one vector per query"):
        retrieval.recall(texts[:2], images)


# -- caption pairs of a shapes world ----------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("world")
    with Dataset.open(root, create=True) as dataset:
        write_world(dataset, WorldConfig(images=40, size=32, seed=1))
    return root


def test_pairs_tie_captions_to_images_and_find_their_parallels(world: Path) -> None:
    dataset = Dataset.open(world)
    pairs = load_pairs(dataset, split="train", language="fa", parallel_language="en")
    images = dataset.images(split=Split.TRAIN)
    assert set(pairs.image_ids) == {i.image_id for i in images}
    for caption, row, parallel in zip(pairs.texts, pairs.image_rows, pairs.parallel, strict=True):
        image_id = pairs.image_ids[row]
        scene = [c for c in dataset.captions(language="fa") if c.image_id == image_id]
        assert caption in {c.caption for c in scene}
        english = [c for c in dataset.captions(language="en") if c.image_id == image_id]
        assert parallel in {c.caption for c in english}
    first = load_pairs(dataset, split="train", language="fa", captions=CaptionChoice.FIRST)
    assert len(first) == len(first.image_ids) < len(pairs)


def test_epoch_order_depends_on_seed_and_epoch_only(world: Path) -> None:
    pairs = load_pairs(Dataset.open(world), split="train", language="en")
    order = pairs.epoch(0, 1)
    assert order == pairs.epoch(0, 1) and order != pairs.epoch(0, 2) != pairs.epoch(1, 2)
    rows = [int(pairs.image_rows[i]) for i in order]
    assert sorted(rows) == list(range(len(pairs.image_ids)))  # each image once per epoch


def test_retrieval_merges_identical_captions(world: Path) -> None:
    pairs = load_pairs(Dataset.open(world), split="train", language="fa")
    retrieval = pairs.retrieval()
    assert len(set(retrieval.queries)) == len(retrieval.queries) == len(set(pairs.texts))
    for query, relevant in zip(retrieval.queries, retrieval.relevant, strict=True):
        rows = {int(r) for t, r in zip(pairs.texts, pairs.image_rows, strict=True) if t == query}
        assert relevant == rows


def test_missing_language_or_dataset_is_named(world: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"no 'de' captions in the train split .*'en': "):
        load_pairs(Dataset.open(world), split="train", language="de")
    with pytest.raises(DatasetError, match="no dataset at"):
        Dataset.open(tmp_path / "nowhere")


def test_parallel_of_a_translation_is_its_original(tmp_path: Path) -> None:
    from PIL import Image

    with Dataset.open(tmp_path / "d", create=True) as dataset:
        dataset.add_image("x-1", Image.new("RGB", (32, 32)), source="x", split=Split.TRAIN)
        dataset.upsert_caption(CaptionRecord("x-1", "en", "coco", 2, "a dog"))
        dataset.upsert_caption(CaptionRecord("x-1", "fa", "coco+mt", 2, "یک سگ"))
    pairs = load_pairs(
        Dataset.open(tmp_path / "d"), split="train", language="fa", parallel_language="en"
    )
    assert pairs.parallel == ("a dog",)


# -- schedule and precision -------------------------------------------------------------
def test_schedule_warms_up_then_decays_to_zero() -> None:
    factor = schedule(100, 0.1)
    assert factor(0) == pytest.approx(0.1) and factor(9) == pytest.approx(1.0)
    assert factor(10) == pytest.approx(1.0) and factor(55) == pytest.approx(0.5, abs=0.01)
    assert factor(100) == pytest.approx(0.0, abs=1e-9)
    assert schedule(10, 0.0)(0) == 1.0


def test_precision_choices() -> None:
    assert choose(Precision.AUTO, "cpu").dtype is None
    assert choose(Precision.BF16, "cpu").name == "bf16"
    assert not choose(Precision.BF16, "cpu").scales_gradients
    with pytest.raises(ConfigError, match="fp16 needs a CUDA GPU"):
        choose(Precision.FP16, "cpu")


# -- registered references and the slideshow --------------------------------------------
@pytest.mark.parametrize(
    ("ref", "parsed"),
    [
        ("models:/vidsearch-fa@champion", RegisteredRef("vidsearch-fa", alias="champion")),
        ("models:/vidsearch-fa/3", RegisteredRef("vidsearch-fa", version="3")),
        ("models:/vidsearch-fa/Production", RegisteredRef("vidsearch-fa", stage="Production")),
        (" models:/m/latest ", RegisteredRef("m", stage="latest")),
    ],
)
def test_registered_references(ref: str, parsed: RegisteredRef) -> None:
    assert parse_registered(ref) == parsed
    assert str(parsed) == ref.strip()


@pytest.mark.parametrize("ref", ["models:/", "models:/a/b/c", "models:/a@", "models:/@x"])
def test_malformed_registered_references(ref: str) -> None:
    with pytest.raises(ConfigError, match="not a registered model reference"):
        parse_registered(ref)


def test_slideshow_places_each_picture_in_its_own_span(tmp_path: Path) -> None:
    import av

    pictures = [np.full((32, 48, 3), value, np.uint8) for value in (60, 200)]
    slides = write_slideshow(tmp_path / "s.mp4", pictures, seconds=1.0, gap=0.5, fps=10)
    assert [(s.start, s.end) for s in slides] == [(0.0, 1.0), (1.5, 2.5)]
    with av.open(str(tmp_path / "s.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24").mean() for f in container.decode(video=0)]
    assert len(frames) == 25
    assert abs(frames[5] - 60) < 4 and frames[12] < 4 and abs(frames[20] - 200) < 4
    with pytest.raises(ValueError, match="even sides"):
        write_slideshow(tmp_path / "odd.mp4", [np.zeros((31, 32, 3), np.uint8)])


def test_sqlite_stores_keep_artifacts_beside_the_database(tmp_path: Path) -> None:
    from vidsearch.encoders.registered import beside_database

    database = tmp_path / "runs" / "mlflow.db"
    expected = (tmp_path / "runs" / "mlartifacts").as_uri()
    assert beside_database(f"sqlite:///{database}") == expected
    assert beside_database("sqlite:///:memory:") is None
    assert beside_database("http://127.0.0.1:5000") is None
