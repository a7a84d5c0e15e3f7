"""Shared fixtures: a tiny CLIP model and generated videos, built once per session, offline."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from system_programs import report_header
from vidsearch.encoders import ClipEncoder
from vidsearch.testing.tiny_bundles import write_tiny_clipfa_bundle, write_tiny_multilingual_bundle
from vidsearch.testing.tiny_model import write_tiny_model
from vidsearch.testing.videos import SceneSpan, standard_scenes, write_video

FPS = 25

# Speech and on-screen text are on by default for users; the suite turns them off so that a
# test indexing a video runs no OCR and tries no ASR model (the ASR default is not on this
# machine). Tests of those sources turn them on with their own settings.
os.environ.setdefault("VIDSEARCH_SPEECH", "off")
os.environ.setdefault("VIDSEARCH_SCREEN_TEXT", "false")


def pytest_report_header() -> str:
    return report_header()


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """ONNX exports go to a temporary cache, shared by the session, never to ~/.cache."""
    old = os.environ.get("VIDSEARCH_CACHE_DIR")
    os.environ["VIDSEARCH_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        del os.environ["VIDSEARCH_CACHE_DIR"]
    else:
        os.environ["VIDSEARCH_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_model(tmp_path_factory.mktemp("models") / "tiny-clip")


@pytest.fixture(scope="session")
def tiny_multilingual(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> Path:
    """A bundle directory: the tiny CLIP (images, English) + a tiny multilingual text model."""
    return write_tiny_multilingual_bundle(
        tmp_path_factory.mktemp("models") / "tiny-multilingual", clip_dir=tiny_model
    )


@pytest.fixture(scope="session")
def tiny_clipfa(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle directory in CLIPfa's layout: a tiny CLIPVisionModel and a tiny RoBERTa."""
    return write_tiny_clipfa_bundle(tmp_path_factory.mktemp("models") / "tiny-clipfa")


@pytest.fixture(scope="session")
def encoder(tiny_model: Path) -> ClipEncoder:
    return ClipEncoder(str(tiny_model), batch_size=8).load()


@pytest.fixture(scope="session")
def standard_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[SceneSpan]]:
    """14 s: texture 0-3, cut, texture 3-5, cut, fade 5-6, black 6-7, static 7-12, cut, 12-14."""
    path = tmp_path_factory.mktemp("videos") / "standard.mp4"
    return path, write_video(path, standard_scenes(FPS), fps=FPS)


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture(scope="session")
def tiny_translator(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random MarianMT model (garbage translations, real loading and generation)."""
    from vidsearch.testing.tiny_translator import write_tiny_translator

    return write_tiny_translator(tmp_path_factory.mktemp("models") / "tiny-marian")


@pytest.fixture(scope="session")
def tiny_sentence_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random multilingual sentence-transformers model (the filter's encoder)."""
    from vidsearch.testing.tiny_bundles import write_tiny_sentence_model

    return write_tiny_sentence_model(tmp_path_factory.mktemp("models") / "tiny-sentence")
