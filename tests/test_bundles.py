"""Model bundles: the shipped registry checked at configuration level, bundle directories,
and every tower format opened through the same code as the real models (on tiny stand-ins)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from vidsearch.config import DEFAULT_MODEL
from vidsearch.encoders.bundles import (
    ALIASES,
    BUNDLES,
    CLIP_B32,
    DEFAULT_BUNDLE,
    MANIFEST,
    BundleSpec,
    ImageEncoderSpec,
    TextEncoderSpec,
    TowerFormat,
    is_hub_id,
    read_bundle,
    resolve_bundle,
    write_bundle,
)
from vidsearch.encoders.model_bundle import (
    EncoderOptions,
    ModelBundle,
    open_bundle,
    open_image_encoder,
    open_text_encoder,
)
from vidsearch.encoders.sentence_text import SentenceTextEncoder
from vidsearch.errors import ConfigError, ModelError, QueryError
from vidsearch.testing.tiny_bundles import write_tiny_sentence_model
from vidsearch.types import EncoderBackend

FRAME = np.random.default_rng(0).integers(0, 255, size=(60, 80, 3), dtype=np.uint8)


@pytest.fixture()
def options(tmp_path: Path) -> EncoderOptions:
    return EncoderOptions(cache_dir=tmp_path / "cache", backend=EncoderBackend.TORCH)


# -- the shipped registry, at configuration level ---------------------------------------
def test_shipped_bundles_are_valid_and_name_hub_ids() -> None:
    assert set(BUNDLES) >= {"clip-b32", "multilingual-b32", "clipfa"}
    for name, spec in BUNDLES.items():
        assert spec.name == name and spec.validate() is spec and spec.description
        refs = [spec.image.ref, *(t.ref for t in spec.texts)]
        assert all(is_hub_id(ref) for ref in refs), refs


def test_the_default_is_clip_b32_and_its_hub_id_means_it() -> None:
    assert DEFAULT_BUNDLE == "clip-b32" and BUNDLES[DEFAULT_BUNDLE].image.ref == CLIP_B32
    assert resolve_bundle(DEFAULT_MODEL) is BUNDLES["clip-b32"]  # what Settings falls back to
    assert ALIASES == {CLIP_B32: "clip-b32"}


def test_multilingual_b32_shares_clip_b32s_image_tower_and_reads_persian() -> None:
    clip, multi, clipfa = BUNDLES["clip-b32"], BUNDLES["multilingual-b32"], BUNDLES["clipfa"]
    assert multi.image == clip.image  # so it searches a clip-b32 index without re-indexing
    assert clipfa.image != clip.image  # CLIPfa fine-tuned its image tower: its own index
    assert clip.text_for("fa") is None and clip.text_for("en") == clip.texts[0]
    assert multi.text_for("en") == clip.texts[0]  # English stays with CLIP's own text tower
    persian = multi.text_for("fa")
    assert persian is not None and persian.format is TowerFormat.SENTENCE_TRANSFORMERS
    assert persian.ref == "sentence-transformers/clip-ViT-B-32-multilingual-v1"
    assert {"fa", "ar", "de", "zh"} <= set(persian.languages)
    assert clipfa.image == ImageEncoderSpec(TowerFormat.CLIP_VISION, "SajjadAyoubi/clip-fa-vision")
    assert clipfa.texts == (
        TextEncoderSpec(TowerFormat.POOLED_TEXT, "SajjadAyoubi/clip-fa-text", ("fa",)),
    )
    assert clipfa.text_for("en") is None


def test_undetermined_language_goes_to_the_first_text_encoder() -> None:
    multi = BUNDLES["multilingual-b32"]
    assert multi.text_for("und") == multi.texts[0]
    assert multi.text_for("pt-br") == multi.texts[1]  # a regional code reads as its language


@pytest.mark.parametrize(
    ("bundle", "stand_in"),
    [
        ("clip-b32", "tiny_model"),
        ("multilingual-b32", "tiny_multilingual"),
        ("clipfa", "tiny_clipfa"),
    ],
)
def test_each_shipped_bundle_loads_through_the_tested_code(
    bundle: str, stand_in: str, request: pytest.FixtureRequest, options: EncoderOptions
) -> None:
    """Swap each shipped ref for a tiny local model of the same format: the specs, formats and
    openers are the real ones, only the weights are small."""
    spec = BUNDLES[bundle]
    directory: Path = request.getfixturevalue(stand_in)
    local = resolve_bundle(str(directory))
    tiny = replace(
        spec,
        image=replace(spec.image, ref=local.image.ref),
        texts=tuple(
            replace(text, ref=next(t.ref for t in local.texts if t.format is text.format))
            for text in spec.texts
        ),
    )
    assert [t.format for t in tiny.texts] == [t.format for t in spec.texts]
    image = open_image_encoder(tiny.image, options)
    with ModelBundle(tiny, image, lambda t: open_text_encoder(t, options, image)) as model:
        vectors = model.encode_images([FRAME])
        assert vectors.shape == (1, model.dim) and vectors.dtype == np.float32
        for language in spec.languages[:3] + ("fa",) * (spec.text_for("fa") is not None):
            vector, choice = model.encode_query("یک ماشین قرمز در خیابان", language)
            assert choice.language == language
            assert choice.name == tiny.text_for(language).ref  # type: ignore[union-attr]
            assert vector.shape == (model.dim,)
            assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


def test_real_hub_ids_fail_fast_and_clearly_offline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_model: Path, options: EncoderOptions
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    with pytest.raises(ModelError, match="cannot download model 'openai/clip-vit-base-patch32'"):
        open_bundle("multilingual-b32", options)
    with pytest.raises(ModelError, match="cannot download model 'SajjadAyoubi/clip-fa-vision'"):
        open_bundle("clipfa", options)
    # the multilingual text tower goes through the same model location
    spec = BUNDLES["multilingual-b32"]
    local = replace(spec, image=replace(spec.image, ref=str(tiny_model)))
    write_bundle(tmp_path / "real-text", local)
    with open_bundle(str(tmp_path / "real-text"), options) as model:
        with pytest.raises(ModelError, match="clip-ViT-B-32-multilingual-v1': HF_HUB_OFFLINE"):
            model.encode_query("مردی در ساحل")
    assert time.perf_counter() - started < 10


# -- resolving a --model value ----------------------------------------------------------
def test_resolve_names_directories_and_clip_checkpoints(
    tiny_model: Path, tiny_multilingual: Path
) -> None:
    assert resolve_bundle(" multilingual-b32 ") is BUNDLES["multilingual-b32"]
    assert resolve_bundle(str(tiny_multilingual)).name == "tiny-multilingual"
    clip = resolve_bundle(str(tiny_model))
    assert clip.image == ImageEncoderSpec(TowerFormat.CLIP, str(tiny_model))
    assert [(t.ref, t.languages) for t in clip.texts] == [(str(tiny_model), ("en",))]
    assert resolve_bundle("someone/some-clip").image.ref == "someone/some-clip"


def test_unknown_bundle_name_is_named_with_a_suggestion() -> None:
    with pytest.raises(ConfigError, match="unknown model bundle 'multilingual-b23': did you mean "):
        resolve_bundle("multilingual-b23")
    with pytest.raises(ConfigError, match="the bundles are clip-b32, multilingual-b32, clipfa"):
        resolve_bundle("french")


def test_bundle_directory_round_trip_keeps_refs_relative(tmp_path: Path) -> None:
    (tmp_path / "b" / "image").mkdir(parents=True)
    (tmp_path / "b" / "text").mkdir()
    spec = BundleSpec(
        "trained-fa",
        ImageEncoderSpec(TowerFormat.CLIP, str(tmp_path / "b" / "image")),
        (
            TextEncoderSpec(
                TowerFormat.SENTENCE_TRANSFORMERS, str(tmp_path / "b" / "text"), ("fa",)
            ),
            TextEncoderSpec(TowerFormat.CLIP, "openai/clip-vit-base-patch32", ("en",)),
        ),
        "trained by vidsearch",
    )
    write_bundle(tmp_path / "b", spec)
    data = json.loads((tmp_path / "b" / MANIFEST).read_text())
    assert data["version"] == 1 and data["image"]["ref"] == "image"
    assert [t["ref"] for t in data["texts"]] == ["text", "openai/clip-vit-base-patch32"]
    moved = tmp_path / "moved"
    (tmp_path / "b").rename(moved)
    again = read_bundle(moved)
    assert again.image.ref == str(moved / "image") and again.texts[0].ref == str(moved / "text")
    assert again.texts[1] == spec.texts[1] and again.description == spec.description


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("{", "cannot read the bundle manifest"),
        ('{"version": 7}', "not a version 1 bundle manifest"),
        ('{"version": 1, "texts": []}', "missing or malformed field 'image'"),
        (
            '{"version": 1, "image": {"format": "open-clip", "ref": "x/y"}, "texts": []}',
            "unknown tower format 'open-clip'",
        ),
        (
            '{"version": 1, "image": {"format": "pooled-text", "ref": "x/y"}, "texts": []}',
            "'pooled-text' is not an image encoder format",
        ),
        ('{"version": 1, "image": {"format": "clip", "ref": "x/y"}, "texts": []}', "no text"),
        (
            '{"version": 1, "image": {"format": "clip", "ref": "x/y"}, "texts": '
            '[{"format": "clip", "ref": "x/y", "languages": ["Persian"]}]}',
            r"needs ISO 639-1 language codes \(got \['Persian'\]\)",
        ),
    ],
)
def test_bad_manifests_are_named(tmp_path: Path, manifest: str, message: str) -> None:
    (tmp_path / MANIFEST).write_text(manifest)
    with pytest.raises(ConfigError, match=message):
        resolve_bundle(str(tmp_path))


# -- loading problems -------------------------------------------------------------------
def test_text_encoder_of_another_size_is_refused(
    tmp_path: Path, tiny_model: Path, options: EncoderOptions
) -> None:
    text = write_tiny_sentence_model(tmp_path / "text16", dim=16)
    spec = BundleSpec(
        "misaligned",
        ImageEncoderSpec(TowerFormat.CLIP, str(tiny_model)),
        (TextEncoderSpec(TowerFormat.SENTENCE_TRANSFORMERS, str(text), ("fa",)),),
    )
    write_bundle(tmp_path / "bundle", spec)
    with open_bundle(str(tmp_path / "bundle"), options) as model:
        with pytest.raises(ModelError, match="gives 16-d vectors but image encoder .* 32-d"):
            model.encode_query("مردی در ساحل")


def test_missing_sentence_transformers_gives_the_install_hint(
    tiny_multilingual: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # as if not installed
    encoder = SentenceTextEncoder(str(tiny_multilingual / "text-multilingual"))
    with pytest.raises(
        ModelError, match=r"pip install -c constraints.txt 'vidsearch\[multilingual\]'"
    ):
        encoder.load()


def test_a_persian_query_to_an_english_bundle_names_one_that_reads_it(
    encoder: object, tiny_clipfa: Path, options: EncoderOptions
) -> None:
    english = ModelBundle(BUNDLES["clip-b32"], encoder, lambda _: encoder)  # type: ignore[arg-type]
    with pytest.raises(QueryError) as info:
        english.encode_query("مردی که در ساحل می‌دود")
    message = str(info.value)
    assert "'clip-b32' cannot read Persian (fa) queries (its text encoders read en)" in message
    assert "use --model multilingual-b32: it searches this index as it is" in message

    with open_bundle(str(tiny_clipfa), options) as persian:
        with pytest.raises(QueryError, match="cannot read English .* the bundle 'clip-b32' reads"):
            persian.encode_query("a man on the beach")
        with pytest.raises(QueryError, match="no shipped bundle reads it"):
            persian.encode_query("a man on the beach", language="xx")


def test_text_packages_stay_out_of_the_core_import() -> None:
    code = (
        "import sys, vidsearch.search, vidsearch.encoders, vidsearch.text; "
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    import vidsearch.text

    assert vidsearch.text.__all__ == sorted(vidsearch.text.__all__)
    assert all(hasattr(vidsearch.text, name) for name in vidsearch.text.__all__)
