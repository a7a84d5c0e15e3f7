"""The dialogue sentence model on ONNX Runtime: exported once per model (verified against
sentence-transformers), reused afterwards, and run at query time with torch, transformers and
sentence-transformers unimportable; its vector space keeps the PyTorch encoder's identity."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from vidsearch.cli import app
from vidsearch.dialogue.encoder import DialogueEncoder, open_sentence_encoder
from vidsearch.encoders.onnx_sentence import (
    CACHE_FOLDER,
    MANIFEST,
    MODEL_ONNX,
    OnnxSentenceEncoder,
    SentenceManifest,
    export_folder,
)
from vidsearch.encoders.sentence_text import SentenceTextEncoder
from vidsearch.encoders.sessions import open_session
from vidsearch.errors import ModelError
from vidsearch.testing.tiny_bundles import write_tiny_sentence_model
from vidsearch.testing.videos import Scene, SceneKind, write_video
from vidsearch.types import EncoderBackend

HEAVY = ("torch", "transformers", "sentence_transformers")
TEXTS = [
    "Meet me at the old bridge.",
    "تهران خیلی دور است.",
    "a dog",
    "She said she'll never come back " * 30,  # past the model's 64 tokens
]


def blocker(blocked: tuple[str, ...]) -> str:
    """Code to run first in a subprocess: importing any of `blocked` (or a submodule) fails."""
    return f"""
import importlib.abc, json, sys
class _Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError(f"{{name}} is blocked by the test")
        return None
sys.meta_path.insert(0, _Blocked())
"""


def run_blocked(
    code: str, cwd: Path, env: dict[str, str] | None = None, blocked: tuple[str, ...] = HEAVY
) -> dict:
    """Run `code` where `blocked` cannot be imported; its last stdout line is JSON, returned
    with the HEAVY modules that were imported anyway (under "heavy")."""
    report = f"result['heavy'] = [m for m in {HEAVY!r} if m in sys.modules]\n"
    report += "print(json.dumps(result))\n"
    script = blocker(blocked) + textwrap.dedent(code) + report
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def exported(
    tiny_sentence_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[str]]:
    """A cache holding the tiny sentence model's export, and what its making said."""
    cache = tmp_path_factory.mktemp("sentence-cache")
    said: list[str] = []
    encoder = open_sentence_encoder(str(tiny_sentence_model), cache_dir=cache, notify=said.append)
    assert isinstance(encoder, OnnxSentenceEncoder)
    return cache, said


def test_onnx_vectors_match_sentence_transformers(
    tiny_sentence_model: Path, exported: tuple[Path, list[str]]
) -> None:
    cache, said = exported
    onnx = open_sentence_encoder(str(tiny_sentence_model), cache_dir=cache)
    torch_encoder = SentenceTextEncoder(str(tiny_sentence_model))
    assert isinstance(onnx, OnnxSentenceEncoder)
    got, want = onnx.encode_texts(TEXTS), torch_encoder.encode_texts(TEXTS)
    assert got.dtype == np.float32 and got.shape == want.shape == (len(TEXTS), 32)
    assert np.allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)
    assert (got * want).sum(axis=1).min() >= 0.9999
    single = np.concatenate([onnx.encode_texts([t]) for t in TEXTS])  # no padding
    assert (single * want).sum(axis=1).min() >= 0.9999
    # the same vector space by name: dialogue indexed by either is searched by either
    assert onnx.identity == torch_encoder.identity
    assert onnx.dim == torch_encoder.dim == 32
    assert said[0].startswith(f"exporting '{tiny_sentence_model}' to ONNX once")
    assert said[1].startswith("ONNX export verified: cosine to PyTorch >= ")
    manifest = SentenceManifest.read(onnx.folder)
    assert manifest is not None and manifest.cosine_min >= 0.9999


def test_the_export_is_reused_not_redone(
    tiny_sentence_model: Path, exported: tuple[Path, list[str]]
) -> None:
    cache, _ = exported
    [folder] = (cache / CACHE_FOLDER).iterdir()
    made = (folder / MODEL_ONNX).stat().st_mtime_ns
    said: list[str] = []
    again = open_sentence_encoder(str(tiny_sentence_model), cache_dir=cache, notify=said.append)
    assert isinstance(again, OnnxSentenceEncoder) and again.folder == folder
    assert said == []
    assert (folder / MODEL_ONNX).stat().st_mtime_ns == made


def test_an_interrupted_export_is_redone(tiny_sentence_model: Path, tmp_path: Path) -> None:
    said: list[str] = []
    first = open_sentence_encoder(str(tiny_sentence_model), cache_dir=tmp_path, notify=said.append)
    assert isinstance(first, OnnxSentenceEncoder)
    (first.folder / MANIFEST).unlink()  # as an export killed before its last step leaves it
    said.clear()
    again = open_sentence_encoder(str(tiny_sentence_model), cache_dir=tmp_path, notify=said.append)
    assert said and said[0].startswith("exporting")
    assert again.encode_texts(["a dog"]).shape == (1, 32)


def test_a_query_time_open_needs_no_pytorch(
    tiny_sentence_model: Path, exported: tuple[Path, list[str]], tmp_path: Path
) -> None:
    cache, _ = exported
    result = run_blocked(
        f"""
        from pathlib import Path
        from vidsearch.dialogue.encoder import open_sentence_encoder
        cache = Path({str(cache)!r})
        encoder = open_sentence_encoder({str(tiny_sentence_model)!r}, cache_dir=cache)
        vectors = encoder.encode_texts({TEXTS!r})
        result = {{"kind": type(encoder).__name__, "identity": encoder.identity,
                   "vectors": vectors.tolist()}}
        """,
        tmp_path,
    )
    assert result["heavy"] == []
    assert result["kind"] == "OnnxSentenceEncoder"
    reference = SentenceTextEncoder(str(tiny_sentence_model))
    assert result["identity"] == reference.identity
    cosines = (np.asarray(result["vectors"]) * reference.encode_texts(TEXTS)).sum(axis=1)
    assert cosines.min() >= 0.9999


def test_without_an_export_or_pytorch_the_error_says_how(
    tiny_sentence_model: Path, tmp_path: Path
) -> None:
    result = run_blocked(
        f"""
        from pathlib import Path
        from vidsearch.dialogue.encoder import open_sentence_encoder
        from vidsearch.errors import ModelError
        try:
            open_sentence_encoder({str(tiny_sentence_model)!r}, cache_dir=Path("empty-cache"))
            result = {{"error": None}}
        except ModelError as exc:
            result = {{"error": str(exc)}}
        """,
        tmp_path,
    )
    assert result["heavy"] == []
    assert "needs PyTorch" in result["error"] and "vidsearch[torch]" in result["error"]
    assert "\n" not in result["error"]


def test_without_onnx_runtime_pytorch_runs_it(tiny_sentence_model: Path, tmp_path: Path) -> None:
    """AUTO falls back to sentence-transformers (located, not loaded yet); ONNX says why not."""
    result = run_blocked(
        f"""
        from pathlib import Path
        from vidsearch.dialogue.encoder import open_sentence_encoder
        from vidsearch.errors import ModelError
        from vidsearch.types import EncoderBackend
        ref, cache = {str(tiny_sentence_model)!r}, Path("cache")
        encoder = open_sentence_encoder(ref, cache_dir=cache)
        try:
            open_sentence_encoder(ref, cache_dir=cache, backend=EncoderBackend.ONNX)
            error = None
        except ModelError as exc:
            error = str(exc)
        result = {{"kind": type(encoder).__name__, "error": error,
                   "exported": cache.exists()}}
        """,
        tmp_path,
        blocked=("onnxruntime",),
    )
    assert result["kind"] == "SentenceTextEncoder"
    assert result["error"] is not None and "ONNX Runtime is not installed" in result["error"]
    assert result["exported"] is False and result["heavy"] == []


def test_every_module_is_in_the_export_key(
    tiny_sentence_model: Path, exported: tuple[Path, list[str]], tmp_path: Path
) -> None:
    """Same transformer weights (one seed), another Dense layer: another export, 16-d."""
    cache, _ = exported
    narrow = write_tiny_sentence_model(tmp_path / "narrow", dim=16)
    assert SentenceTextEncoder(str(narrow)).identity == (
        SentenceTextEncoder(str(tiny_sentence_model)).identity
    )  # the space's name comes from the transformer's weights alone, as it always did
    encoder = open_sentence_encoder(str(narrow), cache_dir=cache)
    assert isinstance(encoder, OnnxSentenceEncoder)
    assert encoder.dim == 16 and encoder.encode_texts(["a dog"]).shape == (1, 16)
    assert len(list((cache / CACHE_FOLDER).iterdir())) == 2


def test_the_session_opens_with_the_first_text(
    tiny_sentence_model: Path, exported: tuple[Path, list[str]]
) -> None:
    cache, _ = exported
    opened: list[Path] = []

    def recording(path: Path, threads: int | None = None):
        opened.append(path)
        return open_session(path, threads)

    from vidsearch.encoders.onnx_sentence import open_sentence_encoder as open_onnx

    encoder = open_onnx(str(tiny_sentence_model), cache_dir=cache, session_factory=recording)
    assert isinstance(encoder, OnnxSentenceEncoder)
    assert encoder.dim == 32 and encoder.identity.startswith("sentence-transformers:")
    assert opened == []
    encoder.encode_texts(["a dog", "a cat"])
    encoder.encode_texts(["a bird"])
    assert opened == [export_folder(cache, encoder.files) / MODEL_ONNX]
    encoder.close()
    encoder.encode_texts(["a bird"])  # reopened after close
    assert len(opened) == 2


def test_backends_and_the_dialogue_encoder_default(tiny_sentence_model: Path) -> None:
    """TORCH keeps sentence-transformers; by default (AUTO) dialogue runs on ONNX Runtime,
    exported into the cache the settings name (VIDSEARCH_CACHE_DIR, set by conftest)."""
    ref = str(tiny_sentence_model)
    assert isinstance(open_sentence_encoder(ref, backend=EncoderBackend.TORCH), SentenceTextEncoder)
    dialogue = DialogueEncoder(ref)
    assert isinstance(dialogue.sentences, OnnxSentenceEncoder)
    assert dialogue.sentences.folder.parent == Path(os.environ["VIDSEARCH_CACHE_DIR"]) / (
        CACHE_FOLDER
    )
    with pytest.raises(ModelError, match="does not exist"):
        open_sentence_encoder(str(tiny_sentence_model) + "-missing")


def test_a_hybrid_cli_search_imports_no_pytorch(
    tiny_model: Path, tiny_sentence_model: Path, tmp_path: Path
) -> None:
    """Index (with PyTorch, exporting both models once), then search from a process where
    torch, transformers and sentence-transformers cannot be imported: frames and lines."""
    folder = tmp_path / "videos"
    folder.mkdir()
    scenes = [Scene(SceneKind.TEXTURE, 25, color=i) for i in range(2)]
    write_video(folder / "clip.mp4", scenes, fps=25, size=(160, 96))
    (folder / "clip.srt").write_text("1\n00:00:00,500 --> 00:00:01,500\nMeet me at the bridge.\n")
    env = {
        "VIDSEARCH_HOME": str(tmp_path / "home"),
        "VIDSEARCH_MODEL": str(tiny_model),
        "VIDSEARCH_DIALOGUE_MODEL": str(tiny_sentence_model),
    }
    done = CliRunner().invoke(app, ["index", str(folder), "--json"], env=env)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)[0]["cues"] == 1
    result = run_blocked(
        """
        import contextlib, io
        from vidsearch.cli import app
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                app(["search", "Meet me at the bridge", "--json"])
            except SystemExit as exit:
                code = exit.code
        result = {"code": code, "out": out.getvalue()}
        """,
        tmp_path,
        env,
    )
    assert result["heavy"] == []
    assert result["code"] in (0, None), result["out"]
    found = json.loads(result["out"])
    assert found["mode"] == "hybrid"
    assert found["moments"][0]["dialogue"][0]["text"] == "Meet me at the bridge."
