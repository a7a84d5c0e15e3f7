"""The synthetic shapes world: deterministic by seed, held-out combinations only in test,
captions in both languages that the dictionary translator and the renderer understand; and
the whole offline pipeline through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from vidsearch.cli import app
from vidsearch.data import DataError, Dataset, Split
from vidsearch.data.shapes import (
    BACKGROUND,
    CENTRES,
    RGB,
    Colour,
    Position,
    Shape,
    Thing,
    WorldConfig,
    held_out_pairs,
    parse_caption,
    plan_world,
    render_caption,
    scene_caption,
    shapes_dictionary,
    write_world,
)
from vidsearch.data.translate import DictionaryTranslator

runner = CliRunner()


def _world(root: Path, **options) -> Dataset:
    with Dataset.open(root, create=True) as dataset:
        write_world(dataset, WorldConfig(**options))
    return Dataset.open(root)


def test_the_same_seed_writes_the_same_world(tmp_path: Path) -> None:
    a = _world(tmp_path / "a", images=30, seed=7, size=64)
    b = _world(tmp_path / "b", images=30, seed=7, size=64)
    c = _world(tmp_path / "c", images=30, seed=8, size=64)
    assert [r.to_json() for r in a.images()] == [r.to_json() for r in b.images()]
    assert (tmp_path / "a" / "captions.jsonl").read_bytes() == (
        tmp_path / "b" / "captions.jsonl"
    ).read_bytes()
    assert [r.sha256 for r in a.images()] != [r.sha256 for r in c.images()]
    with Dataset.open(tmp_path / "a", writable=True) as again:  # rerun: nothing redrawn
        assert write_world(again, WorldConfig(images=30, seed=7, size=64))["drawn"] == 0
    assert (tmp_path / "a" / "captions.jsonl").read_bytes() == (
        tmp_path / "b" / "captions.jsonl"
    ).read_bytes()


def test_held_out_pairs_appear_only_in_test(tmp_path: Path) -> None:
    config = WorldConfig(images=300, seed=3, size=32, validation=0.1, test=0.2)
    held = held_out_pairs(config)
    assert len(held) == 3 and len({c for c, _ in held}) == 3 and len({s for _, s in held}) == 3
    plan = plan_world(config)
    splits = [split for _, split, _ in plan]
    assert (
        splits.count(Split.TRAIN),
        splits.count(Split.VALIDATION),
        splits.count(Split.TEST),
    ) == (210, 30, 60)
    trained = set()
    for _, split, scene in plan:
        pairs = {(t.colour, t.shape) for t in scene}
        assert len({t.position for t in scene}) == len(scene) and 1 <= len(scene) <= 3
        if split is Split.TEST:
            assert pairs & set(held)
        else:
            assert not pairs & set(held)
            trained |= pairs
    # every colour and every shape is still seen in training, in other pairs
    assert {c for c, _ in trained} == set(Colour) and {s for _, s in trained} == set(Shape)
    assert len(trained) == 15 - 3


def test_captions_in_both_languages_parse_render_and_translate(tmp_path: Path) -> None:
    dataset = _world(tmp_path / "w", images=40, seed=1, size=64)
    english = {c.key[0::3]: c.caption for c in dataset.captions(language="en")}
    persian = {c.key[0::3]: c.caption for c in dataset.captions(language="fa")}
    assert english.keys() == persian.keys() and len(english) > 40
    translator = DictionaryTranslator(shapes_dictionary())
    keys = sorted(english)
    translated = translator.translate([english[k] for k in keys], "en", "fa")
    assert translated == [persian[k] for k in keys]  # the dictionary covers the world
    for key in keys:
        assert parse_caption(english[key]) == parse_caption(persian[key])
    assert parse_caption("دایره قرمز در بالا سمت چپ") == (
        Thing(Colour.RED, Shape.CIRCLE, Position.TOP_LEFT),
    )
    assert scene_caption(parse_caption("a red circle at the top left"), "fa") == (
        "دایره قرمز در بالا سمت چپ"
    )
    with pytest.raises(DataError, match="not a caption of the shapes world"):
        parse_caption("a purple circle at the top left")


def test_render_caption_draws_each_shape_where_it_says(tmp_path: Path) -> None:
    image = np.asarray(
        render_caption(
            "a red circle at the top left and a blue square at the center"
            " and a yellow triangle at the bottom right",
            size=100,
        )
    )

    def pixel(position: Position) -> tuple:
        x, y = CENTRES[position]
        return tuple(image[int(y * 100), int(x * 100)])

    assert pixel(Position.TOP_LEFT) == RGB[Colour.RED]
    assert pixel(Position.CENTER) == RGB[Colour.BLUE]
    assert pixel(Position.BOTTOM_RIGHT) == RGB[Colour.YELLOW]
    assert pixel(Position.TOP_RIGHT) == BACKGROUND and pixel(Position.BOTTOM_LEFT) == BACKGROUND
    persian = np.asarray(render_caption("دایره قرمز در بالا سمت چپ", size=100))
    assert tuple(persian[25, 25]) == RGB[Colour.RED]


def test_bad_world_settings_are_refused() -> None:
    with pytest.raises(DataError, match="max objects must be 1 to 5"):
        WorldConfig(max_objects=6)
    with pytest.raises(DataError, match="a test split needs held-out pairs"):
        WorldConfig(held_out=0)
    with pytest.raises(DataError, match="sum below 1"):
        WorldConfig(validation=0.5, test=0.5)


def test_offline_pipeline_through_the_cli(tiny_sentence_model: Path, tmp_path: Path) -> None:
    root = tmp_path / "shapes"
    result = runner.invoke(
        app, ["data", "shapes", str(root), "--images", "24", "--size", "48", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"]["images_by_split"] == {
        "test": 5,
        "train": 17,
        "validation": 2,
    }
    result = runner.invoke(
        app, ["data", "translate", str(root), "--backend", "dictionary", "--json"]
    )
    assert result.exit_code == 0, result.output
    translated = json.loads(result.stdout)
    assert translated["failed"] == 0 and translated["captions"] > 24
    result = runner.invoke(app, ["data", "translate", str(root), "--backend", "dictionary"])
    assert result.exit_code == 0 and result.stdout.startswith("0 captions translated")
    result = runner.invoke(
        app,
        [
            "data",
            "filter",
            str(root),
            "--encoder",
            str(tiny_sentence_model),
            "--top-fraction",
            "0.5",
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"of {translated['captions']} translations kept" in result.stdout
    result = runner.invoke(app, ["data", "stats", str(root), "--json"])
    stats = json.loads(result.stdout)
    assert stats["counts"]["captions_by_source"]["shapes+mt"] == -(-translated["captions"] // 2)
    assert stats["filter"]["rule"] == {"top_fraction": 0.5}
    result = runner.invoke(
        app, ["data", "filter", str(root), "--threshold", "0.5", "--top-fraction", "0.5"]
    )
    assert result.exit_code == 2 and "not both" in result.stderr
    result = runner.invoke(app, ["data", "stats", str(tmp_path / "nothing")])
    assert (
        result.exit_code == 1 and result.stderr == f"error: no dataset at {tmp_path / 'nothing'}\n"
    )
