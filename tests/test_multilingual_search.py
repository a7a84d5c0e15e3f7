"""Persian queries end to end: a real Qdrant Edge index built by the tiny CLIP from a generated
video, searched through a bundle whose tiny multilingual text model reads Persian."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from vidsearch.cli import app
from vidsearch.encoders import ClipEncoder
from vidsearch.encoders.model_bundle import EncoderOptions, ModelBundle, open_bundle
from vidsearch.encoders.sentence_text import SentenceTextEncoder
from vidsearch.errors import ModelMismatchError
from vidsearch.index import IndexStore
from vidsearch.ingest import Ingestor
from vidsearch.search import Searcher
from vidsearch.testing.videos import SceneSpan
from vidsearch.text import normalize_persian
from vidsearch.types import EncoderBackend

QUERY = "مردی که هنگام غروب در ساحل می‌دود"
# One sentence, typed six ways: half space / space / joined prefix, Arabic yeh and kaf,
# tashkeel, tatweel, Arabic-Indic digits, stray spaces.
VARIANTS = [
    "می‌خواهم ۲ فیلم از کتاب‌ها ببینم",
    "می خواهم ۲ فیلم از کتاب ها ببینم",
    "میخواهم 2 فیلم از کتابها ببینم",
    "مي‌خواهم ٢ فيلم از كتاب‌ها ببينم",
    "مِی‌خواهَم ۲ فیـــلم از کتاب‌ها ببینم",
    "  می‌خواهم  ۲ فیلم از کتاب‌ها   ببینم ",
]


@pytest.fixture()
def options(tmp_path: Path) -> EncoderOptions:
    return EncoderOptions(cache_dir=tmp_path / "cache", backend=EncoderBackend.TORCH)


@pytest.fixture()
def indexed_home(
    home: Path, encoder: ClipEncoder, standard_video: tuple[Path, list[SceneSpan]]
) -> Path:
    """An index built by the tiny CLIP alone (no bundle involved)."""
    with IndexStore(home) as store:
        Ingestor(store, encoder).index_file(standard_video[0])
    return home


def test_persian_query_searches_a_clip_index_through_the_multilingual_encoder(
    indexed_home: Path, tiny_model: Path, tiny_multilingual: Path, options: EncoderOptions
) -> None:
    with (
        IndexStore(indexed_home) as store,
        open_bundle(str(tiny_multilingual), options).load() as bundle,
    ):
        result = Searcher(store, bundle).search_text(QUERY, top_k=3)
        assert result.encoder is not None
        assert result.encoder.name == str(tiny_multilingual / "text-multilingual")
        assert result.encoder.language == "fa"
        assert len(result.moments) == 3

        # the vector that was searched is the multilingual model's, for the normalised text
        text = SentenceTextEncoder(str(tiny_multilingual / "text-multilingual"))
        expected = text.encode_texts([normalize_persian(QUERY)])[0]
        best = store.vectors.search(expected, 1)[0]
        assert result.moments[0].score == pytest.approx((1 + best.score) / 2, abs=1e-4)
        assert result.moments[0].timestamp == pytest.approx(best.timestamp)

        english = Searcher(store, bundle).search_text("a man running on the beach", top_k=3)
        assert english.encoder is not None and english.encoder.language == "en"
        assert english.encoder.name == bundle.image.name == str(tiny_model)
        as_json = result.to_json()
        assert as_json["encoder"] == {
            "bundle": str(tiny_multilingual),
            "name": str(tiny_multilingual / "text-multilingual"),
            "language": "fa",
        }


def test_spelling_variants_give_identical_vectors(
    tiny_multilingual: Path, options: EncoderOptions
) -> None:
    with open_bundle(str(tiny_multilingual), options) as bundle:
        vectors = [bundle.encode_query(v)[0] for v in VARIANTS]
        for vector in vectors[1:]:
            np.testing.assert_array_equal(vector, vectors[0])
        assert bundle.encode_texts(VARIANTS[:2]).shape == (2, bundle.dim)
    # without the normaliser the same text model sees different sentences
    raw = SentenceTextEncoder(str(tiny_multilingual / "text-multilingual")).encode_texts(VARIANTS)
    distinct = {tuple(np.round(row, 5)) for row in raw}
    assert len(distinct) >= 4


def test_language_can_be_given_instead_of_detected(
    tiny_multilingual: Path, options: EncoderOptions
) -> None:
    with open_bundle(str(tiny_multilingual), options) as bundle:
        _, detected = bundle.encode_query("Eine Katze im Schnee")
        _, told = bundle.encode_query("Eine Katze im Schnee", language="AR")
    assert detected.language == "en" and detected.name == bundle.image.name
    assert told.language == "ar" and told.name.endswith("text-multilingual")


def test_image_query_reports_the_image_encoder(
    indexed_home: Path, tiny_multilingual: Path, options: EncoderOptions, tmp_path: Path
) -> None:
    from PIL import Image

    query = tmp_path / "query.png"
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(query)
    with IndexStore(indexed_home) as store, open_bundle(str(tiny_multilingual), options) as bundle:
        result = Searcher(store, bundle).search_image(query, top_k=1)
    assert result.encoder is not None and result.encoder.language is None
    assert result.encoder.name == bundle.image.name
    assert result.to_json()["encoder"]["language"] is None  # type: ignore[index]


def test_clipfa_layout_indexes_and_searches_its_own_index(
    home: Path,
    tiny_clipfa: Path,
    encoder: ClipEncoder,
    standard_video: tuple[Path, list[SceneSpan]],
    options: EncoderOptions,
) -> None:
    with IndexStore(home) as store, open_bundle(str(tiny_clipfa), options).load() as clipfa:
        assert isinstance(clipfa, ModelBundle) and clipfa.identity.startswith("clip-vision:")
        report = Ingestor(store, clipfa).index_file(standard_video[0])
        assert report.frames == 6
        result = Searcher(store, clipfa).search_text("ماشین قرمز در خیابان", top_k=2)
        assert result.encoder is not None and result.encoder.name == str(tiny_clipfa / "text")
        assert len(result.moments) == 2
        # an index is bound to its image encoder: the tiny CLIP cannot search this one
        with pytest.raises(ModelMismatchError, match="was built with model"):
            Searcher(store, encoder)


@pytest.fixture()
def cli(home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("VIDSEARCH_HOME", str(home))
    monkeypatch.setenv("VIDSEARCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("VIDSEARCH_BACKEND", "torch")
    monkeypatch.delenv("VIDSEARCH_MODEL", raising=False)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_cli_routes_persian_and_reports_the_encoder(
    cli, tiny_model: Path, tiny_multilingual: Path, standard_video: tuple[Path, list[SceneSpan]]
) -> None:
    assert cli("index", str(standard_video[0]), "--model", str(tiny_model)).exit_code == 0

    refused = cli("search", QUERY)  # the index's model: the tiny CLIP, English only
    assert refused.exit_code == 1
    assert "cannot read Persian (fa) queries (its text encoders read en)" in refused.output
    assert "multilingual-b32" in refused.output

    result = cli("search", QUERY, "--model", str(tiny_multilingual), "--json", "-k", "2")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["query"] == QUERY and len(data["moments"]) == 2
    assert data["encoder"]["language"] == "fa"
    assert data["encoder"]["name"] == str(tiny_multilingual / "text-multilingual")

    # the index now remembers the bundle: Persian works without --model
    again = cli("search", "کتاب‌ها")
    assert again.exit_code == 0, again.output
    assert f"query read by {tiny_multilingual / 'text-multilingual'} (fa)" in again.output

    forced = cli("search", QUERY, "--lang", "en", "--json")
    assert json.loads(forced.stdout)["encoder"]["name"] == str(tiny_model)


def test_cli_lists_bundles_and_names_unknown_ones(cli) -> None:
    listed = cli("models", "--json")
    assert listed.exit_code == 0
    bundles = {b["name"]: b for b in json.loads(listed.stdout)}
    assert bundles["clip-b32"]["default"] is True
    assert "fa" in bundles["multilingual-b32"]["texts"][1]["languages"]
    text = cli("models")
    assert "clipfa: CLIPfa" in text.stdout and "SajjadAyoubi/clip-fa-text [pooled-text]: fa" in (
        text.stdout
    )

    unknown = cli("search", "x", "--model", "clip-fa")
    assert unknown.exit_code == 1
    assert "unknown model bundle 'clip-fa': did you mean 'clipfa'?" in unknown.output

    onnx = cli("export-onnx", "--model", "clipfa")
    assert onnx.exit_code == 1 and "only CLIP checkpoints are exported to ONNX" in onnx.output
