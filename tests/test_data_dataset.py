"""The dataset format: upserts, reopening, a killed append, the lock, merging, bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from vidsearch.data import CaptionRecord, Dataset, DatasetError, Split, merge
from vidsearch.data.dataset import CAPTIONS_TABLE, IMAGES_TABLE, MANIFEST, SCHEMA_VERSION


def _png(colour: tuple[int, int, int], size: int = 16) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_upserts_are_idempotent_and_survive_reopening(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    with Dataset.open(root, create=True, name="demo") as dataset:
        dataset.add_image("img-1", _jpeg((255, 0, 0)), source="test", split=Split.TRAIN)
        dataset.add_image("img-2", _png((0, 255, 0)), source="test")
        assert dataset.upsert_caption(CaptionRecord("img-1", "en", "test", 0, "a  red  square"))
        assert not dataset.upsert_caption(CaptionRecord("img-1", "en", "test", 0, "a red square"))
        # Persian is written in the canonical spelling: Arabic yeh and kaf, a split affix
        dataset.upsert_caption(CaptionRecord("img-1", "fa", "test", 0, "مربع قرمز مي خواهم"))
    manifest = json.loads((root / MANIFEST).read_text())
    assert manifest["version"] == SCHEMA_VERSION and manifest["name"] == "demo"
    assert manifest["counts"]["images"] == 2 and manifest["counts"]["captions"] == 2
    with Dataset.open(root) as dataset:
        assert [c.caption for c in dataset.captions()] == ["a red square", "مربع قرمز میخواهم"]
        assert dataset.image("img-1").split is Split.TRAIN
        assert dataset.image_path("img-2").suffix == ".jpg"
        with Image.open(dataset.image_path("img-2")) as image:  # the PNG became a JPEG
            assert image.format == "JPEG" and image.size == (16, 16)
        assert dataset.image_with_hash(dataset.image("img-2").sha256).image_id == "img-2"
    assert len(_lines(root / CAPTIONS_TABLE)) == 2


def test_a_changed_row_supersedes_the_old_one_and_closing_compacts(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    with Dataset.open(root, create=True) as dataset:
        dataset.add_image("img", _jpeg((0, 0, 255)), source="test")
        dataset.upsert_caption(CaptionRecord("img", "en", "test", 0, "first"))
        dataset.upsert_caption(CaptionRecord("img", "en", "test", 0, "second"))
        dataset.flush()
        rows = _lines(root / CAPTIONS_TABLE)
        assert [r["caption"] for r in rows] == ["first", "second"]  # appended, last one wins
        assert Dataset.open(root).caption(("img", "en", "test", 0)).caption == "second"
    assert [r["caption"] for r in _lines(root / CAPTIONS_TABLE)] == ["second"]


def test_a_torn_last_line_from_a_killed_append_is_dropped_and_repaired(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    with Dataset.open(root, create=True) as dataset:
        dataset.add_image("img", _jpeg((0, 0, 255)), source="test")
        dataset.upsert_caption(CaptionRecord("img", "en", "test", 0, "kept"))
    with (root / CAPTIONS_TABLE).open("ab") as file:
        file.write(b'{"image_id":"img","language":"en","sou')  # killed mid-row
    with Dataset.open(root, writable=True) as dataset:
        assert [c.caption for c in dataset.captions()] == ["kept"]
        dataset.upsert_caption(CaptionRecord("img", "en", "test", 1, "after the kill"))
    assert [r["caption"] for r in _lines(root / CAPTIONS_TABLE)] == ["kept", "after the kill"]


def test_a_damaged_line_in_the_middle_is_an_error_naming_it(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    with Dataset.open(root, create=True) as dataset:
        dataset.add_image("img", _jpeg((0, 0, 255)), source="test")
        dataset.upsert_caption(CaptionRecord("img", "en", "test", 0, "one"))
        dataset.upsert_caption(CaptionRecord("img", "en", "test", 1, "two"))
    table = root / CAPTIONS_TABLE
    table.write_text("{broken\n" + table.read_text())
    with pytest.raises(DatasetError, match=r"captions.jsonl:1 is not a JSON line"):
        Dataset.open(root)


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    with Dataset.open(root, create=True):
        with pytest.raises(DatasetError, match="being written by another process"):
            Dataset.open(root, writable=True)
        Dataset.open(root)  # readers are welcome
    Dataset.open(root, writable=True).close()
    killed = tmp_path / "killed"  # a create killed before its manifest: only the lock file
    killed.mkdir()
    (killed / ".lock").write_text("pid 1")
    Dataset.open(killed, create=True).close()
    assert (killed / "dataset.json").is_file()


def test_bad_input_is_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no dataset at"):
        Dataset.open(tmp_path / "missing")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("hello")
    with pytest.raises(DatasetError, match="not empty and not a vidsearch dataset"):
        Dataset.open(tmp_path / "other", create=True)
    root = tmp_path / "ds"
    with Dataset.open(root, create=True) as dataset:
        with pytest.raises(DatasetError, match="unknown image 'nope'"):
            dataset.upsert_caption(CaptionRecord("nope", "en", "test", 0, "x"))
        with pytest.raises(DatasetError, match="invalid image id"):
            CaptionRecord("../etc/passwd", "en", "test", 0, "x")
        with pytest.raises(DatasetError, match="invalid language code"):
            CaptionRecord("img", "English", "test", 0, "x")
        from vidsearch.data.errors import DataError

        with pytest.raises(DataError, match="not a readable image"):
            dataset.add_image("img", b"not an image", source="test")
    with pytest.raises(DatasetError, match="read-only"):
        Dataset.open(root).upsert_caption(CaptionRecord("img", "en", "test", 0, "x"))
    manifest = json.loads((root / MANIFEST).read_text())
    (root / MANIFEST).write_text(json.dumps(manifest | {"version": SCHEMA_VERSION + 1}))
    with pytest.raises(DatasetError, match="upgrade vidsearch"):
        Dataset.open(root)


def test_merge_copies_images_and_captions_once(tmp_path: Path) -> None:
    with Dataset.open(tmp_path / "a", create=True) as a:
        a.add_image("a-1", _jpeg((255, 0, 0)), source="a", split=Split.TEST)
        a.upsert_caption(CaptionRecord("a-1", "en", "a", 0, "red"))
    with Dataset.open(tmp_path / "b", create=True) as b:
        b.add_image("b-1", _jpeg((0, 255, 0)), source="b")
        b.upsert_caption(CaptionRecord("b-1", "fa", "b", 0, "سبز"))
    with Dataset.open(tmp_path / "all", create=True) as target:
        assert merge(target, Dataset.open(tmp_path / "a")) == (1, 1)
        assert merge(target, Dataset.open(tmp_path / "b")) == (1, 1)
        assert merge(target, Dataset.open(tmp_path / "a")) == (0, 0)
    merged = Dataset.open(tmp_path / "all")
    assert sorted(r.image_id for r in merged.images()) == ["a-1", "b-1"]
    assert [c.caption for c in merged.captions(split=Split.TEST)] == ["red"]
    assert (
        merged.image_path("b-1").read_bytes()
        == Dataset.open(tmp_path / "b").image_path("b-1").read_bytes()
    )
    assert len(_lines(tmp_path / "all" / IMAGES_TABLE)) == 2


@pytest.mark.parametrize("module", ["vidsearch.data", "vidsearch.data.translate"])
def test_all_is_honest(module: str) -> None:
    import importlib

    mod = importlib.import_module(module)
    assert mod.__all__ == sorted(mod.__all__)
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.__all__ names missing {name}"
