"""Importers on small files in the published formats: Karpathy's Flickr30k JSON, the original
Flickr30k token file, MS-COCO and NoCaps caption annotations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from vidsearch.cli import app
from vidsearch.data import Dataset, SourceFormatError, Split
from vidsearch.data.importers import (
    import_images,
    parse_coco,
    parse_flickr_token,
    parse_karpathy,
)

runner = CliRunner()


def _images(folder: Path, names: list[str]) -> Path:
    for number, name in enumerate(names):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (20, 12), (number * 40 % 256, 80, 160)).save(path, format="JPEG")
    return folder


def _karpathy(path: Path) -> Path:
    images = [
        ("1000092795.jpg", "train", ["Two young guys with shaggy hair .", "Two men in a yard ."]),
        ("10002456.jpg", "val", ["Several men in hard hats .", "Workers on a building ."]),
        ("1000268201.jpg", "test", ["A child in a pink dress ."]),
        ("1000344755.jpg", "restval", ["Someone in a blue shirt ."]),
    ]
    data = {
        "dataset": "flickr30k",
        "images": [
            {
                "filename": name,
                "imgid": number,
                "split": split,
                "sentids": list(range(len(sentences))),
                "sentences": [
                    {"raw": raw, "tokens": raw.lower().split(), "imgid": number, "sentid": i}
                    for i, raw in enumerate(sentences)
                ],
            }
            for number, (name, split, sentences) in enumerate(images)
        ],
    }
    path.write_text(json.dumps(data))
    return path


def test_karpathy_flickr30k_json(tmp_path: Path) -> None:
    items = parse_karpathy(_karpathy(tmp_path / "dataset_flickr30k.json"))
    assert [(i.file, i.split) for i in items] == [
        ("1000092795.jpg", Split.TRAIN),
        ("10002456.jpg", Split.VALIDATION),
        ("1000268201.jpg", Split.TEST),
        ("1000344755.jpg", Split.TRAIN),  # restval is training data
    ]
    images = _images(tmp_path / "flickr30k-images", [i.file for i in items])
    with Dataset.open(tmp_path / "ds", create=True) as dataset:
        report = import_images(dataset, items, images, source="flickr30k")
        assert (report.images, report.captions, report.missing) == (4, 6, [])
        again = import_images(dataset, items, images, source="flickr30k")
        assert (again.images, again.unchanged, again.captions) == (0, 4, 0)
    dataset = Dataset.open(tmp_path / "ds")
    captions = [(c.image_id, c.n, c.caption) for c in dataset.captions(split=Split.VALIDATION)]
    assert captions == [
        ("flickr30k-10002456", 0, "Several men in hard hats ."),
        ("flickr30k-10002456", 1, "Workers on a building ."),
    ]
    assert dataset.image("flickr30k-1000092795").url == "1000092795.jpg"
    assert (
        dataset.image("flickr30k-1000092795").width,
        dataset.image("flickr30k-1000092795").height,
    ) == (20, 12)


def test_flickr30k_token_file(tmp_path: Path) -> None:
    path = tmp_path / "results_20130124.token"
    path.write_text(
        "1000092795.jpg#0\tTwo young guys with shaggy hair look at their hands .\n"
        "1000092795.jpg#1\tTwo young , White males are outside near many bushes .\n"
        "10002456.jpg#1\tWorkers look down from up above on a piece of equipment .\n"
        "10002456.jpg#0\tSeveral men in hard hats are operating a giant pulley system .\n"
    )
    items = parse_flickr_token(path, split=Split.TRAIN)
    assert [(i.original_id, len(i.captions), i.split) for i in items] == [
        ("1000092795", 2, Split.TRAIN),
        ("10002456", 2, Split.TRAIN),
    ]
    assert items[1].captions[0].startswith("Several men")  # ordered by the #n number
    path.write_text("1000092795.jpg#0\tfine\nthis line has no tab or number\n")
    with pytest.raises(SourceFormatError, match=r"results_20130124.token:2 is not"):
        parse_flickr_token(path)


def _coco(path: Path, images: list[dict], captions: list[tuple[int, int, str]]) -> Path:
    annotations = [{"image_id": i, "id": n, "caption": c} for i, n, c in captions]
    path.write_text(json.dumps({"info": {}, "images": images, "annotations": annotations}))
    return path


def test_coco_and_nocaps_annotations(tmp_path: Path) -> None:
    coco = _coco(
        tmp_path / "captions_val2017.json",
        [
            {"id": 139, "file_name": "000000000139.jpg", "width": 20, "height": 12},
            {"id": 285, "file_name": "000000000285.jpg", "width": 20, "height": 12},
        ],
        [
            (285, 9, "A big burly grizzly bear."),
            (139, 20, "A room with chairs."),
            (285, 3, "A brown bear sitting in the grass."),
            (139, 5, "A living room."),
        ],
    )
    items = parse_coco(coco)
    assert [(i.original_id, i.split, i.captions) for i in items] == [
        ("000000000139", Split.VALIDATION, ("A living room.", "A room with chairs.")),
        (
            "000000000285",
            Split.VALIDATION,
            ("A brown bear sitting in the grass.", "A big burly grizzly bear."),
        ),
    ]
    nocaps = _coco(
        tmp_path / "nocaps_val_4500_captions.json",
        [
            {
                "id": 0,
                "open_images_id": "0013ea2087020901",
                "file_name": "0013ea2087020901.jpg",
                "domain": "in-domain",
            }
        ],
        [(0, 0, "a man on a bike"), (0, 1, "someone cycling")],
    )
    folder = _images(tmp_path / "images", ["000000000139.jpg", "0013ea2087020901.jpg"])
    with Dataset.open(tmp_path / "ds", create=True) as dataset:
        report = import_images(dataset, items, folder, source="coco")
        assert report.missing == ["000000000285.jpg"] and report.images == 1
        import_images(dataset, parse_coco(nocaps), folder, source="nocaps")
        counts = dataset.counts()
    assert counts["captions_by_source"] == {"coco": 2, "nocaps": 2}
    assert counts["images_by_split"] == {"validation": 2}
    with pytest.raises(SourceFormatError, match="annotations\\[0\\] has no 'caption'"):
        parse_coco(_bad(tmp_path / "bad.json"))


def _bad(path: Path) -> Path:
    path.write_text(json.dumps({"images": [], "annotations": [{"image_id": 1, "id": 1}]}))
    return path


class _Interrupt(Exception):
    pass


class _StopAfter:
    """A Progress that interrupts the import after `count` images, like a Ctrl-C."""

    def __init__(self, count: int) -> None:
        self.count = count

    def start(self, description: str, total: int | None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        self.count -= n
        if self.count <= 0:
            raise _Interrupt

    def finish(self) -> None:
        pass


def test_an_interrupted_import_resumes_without_duplicates(tmp_path: Path) -> None:
    items = parse_karpathy(_karpathy(tmp_path / "dataset_flickr30k.json"))
    folder = _images(tmp_path / "images", [i.file for i in items])
    with Dataset.open(tmp_path / "ds", create=True) as dataset, pytest.raises(_Interrupt):
        import_images(dataset, items, folder, source="flickr30k", progress=_StopAfter(2))
    assert Dataset.open(tmp_path / "ds").counts()["images"] == 2
    with Dataset.open(tmp_path / "ds", writable=True) as dataset:
        report = import_images(dataset, items, folder, source="flickr30k")
    assert (report.images, report.unchanged) == (2, 2)
    rows = (tmp_path / "ds" / "captions.jsonl").read_text().splitlines()
    assert len(rows) == len(set(rows)) == 6


def test_cli_imports_and_names_missing_images(tmp_path: Path) -> None:
    captions = _karpathy(tmp_path / "dataset_flickr30k.json")
    folder = _images(tmp_path / "images", ["1000092795.jpg", "10002456.jpg", "1000268201.jpg"])
    args = ["data", "import-flickr30k", str(captions), "--images", str(folder)]
    result = runner.invoke(app, [*args, "--into", str(tmp_path / "ds"), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["missing"] == ["1000344755.jpg"]
    assert "missing image: 1000344755.jpg" in result.stderr
    result = runner.invoke(
        app,
        [
            "data",
            "import-coco",
            str(tmp_path / "nope.json"),
            "--images",
            str(folder),
            "--into",
            str(tmp_path / "ds"),
        ],
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.json'} does not exist"
    result = runner.invoke(app, [*args, "--into", str(tmp_path / "ds"), "--split", "dev"])
    assert result.exit_code == 2 and "--split must be train, validation or test" in result.stderr
