"""The core install: no PyTorch in the dependencies, published ONNX towers that index and
search with torch, transformers and onnx unimportable, towers opened one at a time through an
injected session factory, and the install hint where PyTorch is needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import numpy as np
import pytest

from vidsearch.encoders import ClipEncoder
from vidsearch.encoders.bundles import TowerFormat, resolve_bundle
from vidsearch.encoders.model_bundle import EncoderOptions, open_bundle
from vidsearch.encoders.onnx_towers import TOWERS_MANIFEST, TowersManifest
from vidsearch.encoders.sessions import Session, open_session
from vidsearch.errors import ConfigError, ModelError
from vidsearch.testing.tiny_model import write_tiny_onnx_towers
from vidsearch.types import EncoderBackend

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "transformers", "onnx", "onnxscript", "sentence_transformers")
FRAME = np.random.default_rng(0).integers(0, 255, size=(60, 80, 3), dtype=np.uint8)

# Runs first in each subprocess: importing any of HEAVY (or a submodule) raises ImportError,
# as on a machine where `pip install vidsearch` left them out.
BLOCKER = f"""
import importlib.abc, sys
class _Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {HEAVY!r}:
            raise ImportError(f"{{name}} is not installed (blocked by the test)")
        return None
sys.meta_path.insert(0, _Blocked())
"""


def run_without_torch(code: str, tmp_path: Path) -> dict:
    """Run `code` in a fresh interpreter where HEAVY cannot be imported; its last stdout line
    is JSON, returned with the heavy modules that were imported anyway."""
    report = f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
    report += "print(json.dumps({**result, 'heavy': heavy}))\n"
    script = "import json\n" + BLOCKER + textwrap.dedent(code) + report
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "VIDSEARCH_CACHE_DIR": str(tmp_path / "cache")},
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def towers(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny CLIP's towers laid out as published on the hub (exported here, offline)."""
    root = tmp_path_factory.mktemp("published")
    return write_tiny_onnx_towers(root / "tiny-clip-onnx", tiny_model, root / "cache", int8=True)


def test_core_dependencies_leave_pytorch_to_an_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {
        dep.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].strip().lower()
        for dep in project["dependencies"]
    }
    assert not names & {"torch", "transformers", "onnx", "onnxscript", "sentence-transformers"}
    assert {"onnxruntime", "av", "qdrant-edge-py", "tokenizers", "huggingface-hub"} <= names
    extras = project["optional-dependencies"]
    assert {"torch", "transformers", "onnx", "onnxscript"} <= {
        dep.split(">")[0] for dep in extras["torch"]
    }
    for extra in ("dev", "train", "multilingual", "data", "bench"):
        assert any(dep.startswith("vidsearch[") and "torch" in dep for dep in extras[extra]), extra


def test_published_layout_names_its_files_and_space(towers: Path, tiny_model: Path) -> None:
    manifest = TowersManifest.read(towers)
    for name in manifest.files(int8=True) + manifest.files():
        assert (towers / name).is_file(), name
    assert manifest.text.inputs == ("input_ids", "attention_mask")
    assert manifest.identity == ClipEncoder(str(tiny_model)).identity  # exported from it
    spec = resolve_bundle(str(towers))
    assert spec.image.format is TowerFormat.ONNX_CLIP and spec.texts[0].ref == str(towers)


class RecordingFactory:
    """The real ONNX Runtime factory, noting which files it opened."""

    def __init__(self) -> None:
        self.opened: list[str] = []

    def __call__(self, path: Path, threads: int | None = None) -> Session:
        self.opened.append(Path(path).name)
        return open_session(path, threads)


def test_a_text_query_opens_only_the_text_tower(towers: Path, tmp_path: Path) -> None:
    factory = RecordingFactory()
    options = EncoderOptions(cache_dir=tmp_path, session_factory=factory)
    with open_bundle(str(towers), options) as bundle:
        assert bundle.load() is bundle and factory.opened == []  # load checks, opens nothing
        vector, choice = bundle.encode_query("a red car in the street")
        bundle.encode_query("two dogs in the snow")
        assert factory.opened == ["text.onnx"]  # once, and never the image tower
        assert vector.shape == (bundle.dim,) and choice.name == str(towers)


def test_indexing_opens_only_the_image_tower(towers: Path, tmp_path: Path) -> None:
    for int8, expected in ((False, "image.onnx"), (True, "image.int8.onnx")):
        factory = RecordingFactory()
        options = EncoderOptions(cache_dir=tmp_path, int8=int8, session_factory=factory)
        with open_bundle(str(towers), options).load() as bundle:
            vectors = bundle.encode_images([FRAME, FRAME[::-1]])
            bundle.encode_images([FRAME])
            assert factory.opened == [expected]
            assert vectors.shape == (2, bundle.dim)
            np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


class FakeSession:
    """Answers every run with the same unit rows: no ONNX Runtime involved."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.calls: list[tuple[list[str] | None, dict[str, tuple[int, ...]]]] = []

    def run(self, output_names: list[str] | None, inputs: dict) -> list[np.ndarray]:
        self.calls.append((output_names, {k: np.shape(v) for k, v in inputs.items()}))
        batch = len(next(iter(inputs.values())))
        return [np.tile(np.eye(1, self.dim, 0, np.float32) * 3.0, (batch, 1))]


def test_a_fake_session_stands_in_for_onnx_runtime(towers: Path, tmp_path: Path) -> None:
    sessions: dict[str, FakeSession] = {}

    def factory(path: Path, threads: int | None = None) -> FakeSession:
        return sessions.setdefault(Path(path).name, FakeSession(32))

    options = EncoderOptions(cache_dir=tmp_path, batch_size=2, session_factory=factory)
    with open_bundle(str(towers), options) as bundle:
        images = bundle.encode_images([FRAME] * 3)
        text, _ = bundle.encode_query("a man running")
    assert images.shape == (3, 32) and images[:, 0].tolist() == [1.0, 1.0, 1.0]  # normalised
    assert text[0] == 1.0
    image_calls = sessions["image.onnx"].calls
    assert [shape["pixel_values"][0] for _, shape in image_calls] == [2, 1]  # batches of 2
    assert image_calls[0][0] == ["embeddings"]  # the manifest's output name
    assert set(sessions["text.onnx"].calls[0][1]) == {"input_ids", "attention_mask"}


def test_onnx_towers_refuse_the_torch_backend(towers: Path, tmp_path: Path) -> None:
    options = EncoderOptions(cache_dir=tmp_path, backend=EncoderBackend.TORCH)
    with pytest.raises(ConfigError, match="ONNX towers: they run with the onnx backend only"):
        open_bundle(str(towers), options)


def test_a_broken_manifest_is_named(towers: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    data = json.loads((towers / TOWERS_MANIFEST).read_text())
    data["text"]["inputs"] = ["token_type_ids"]
    (broken / TOWERS_MANIFEST).write_text(json.dumps(data))
    with pytest.raises(ModelError, match="text tower's inputs must be input_ids"):
        open_bundle(str(broken), EncoderOptions(cache_dir=tmp_path)).load()


@pytest.mark.slow
def test_index_and_search_without_pytorch(towers: Path, tiny_model: Path, tmp_path: Path) -> None:
    """The core install's path end to end: published towers, a generated video indexed and
    searched by text and by image, with torch, transformers and onnx unimportable."""
    code = f"""
    from pathlib import Path
    from vidsearch.encoders.model_bundle import EncoderOptions, open_bundle
    from vidsearch.index import IndexStore
    from vidsearch.ingest import Ingestor
    from vidsearch.search import Searcher
    from vidsearch.testing.videos import Scene, SceneKind, write_video

    video = Path("clip.mp4")
    write_video(video, [Scene(SceneKind.TEXTURE, 25, color=0),
                        Scene(SceneKind.TEXTURE, 25, color=2)], fps=25, size=(160, 96))
    options = EncoderOptions(cache_dir=Path("cache"))
    with open_bundle({str(towers)!r}, options).load() as bundle, IndexStore(Path("home")) as store:
        report = Ingestor(store, bundle).index_file(video)
        found = Searcher(store, bundle).search_text("a red texture", top_k=3)
        result = {{
            "status": str(report.status),
            "frames": report.frames,
            "videos": sorted({{m.video for m in found.moments}}),
            "identity": bundle.identity,
        }}
    """
    result = run_without_torch(code, tmp_path)
    assert result["heavy"] == []
    assert result["status"] == "indexed" and result["frames"] >= 1
    assert result["videos"] == ["clip.mp4"]
    # the manifest says the towers are the checkpoint's space: one index serves both
    assert result["identity"] == ClipEncoder(str(tiny_model)).identity


def test_without_the_speech_extra_indexing_says_once_how_to_add_it(
    towers: Path, tmp_path: Path
) -> None:
    """A core install (no faster-whisper, no PyTorch) indexes videos with sound: the frames
    go in, and the run says once that speech needs the `speech` extra."""
    code = f"""
    import sys
    from pathlib import Path
    sys.modules["faster_whisper"] = None  # the speech extra is not installed
    sys.modules["ctranslate2"] = None
    import vidsearch
    from vidsearch.testing.speech import write_speech_video

    videos = [write_speech_video(Path(f"talk{{n}}.mkv"), [], duration=2.0, noise=0.01).path
              for n in range(2)]
    with vidsearch.open("home", {str(towers)!r}, speech="auto", screen_text=False) as library:
        report = library.index(videos)
    result = {{
        "status": [str(v.status) for v in report.videos],
        "warnings": [w for v in report.videos for w in v.warnings],
    }}
    """
    result = run_without_torch(code, tmp_path)
    assert result["heavy"] == [] and result["status"] == ["indexed", "indexed"]
    [warning] = result["warnings"]
    assert warning.startswith("speech not transcribed: ")
    assert "pip install -c constraints.txt 'vidsearch[speech]'" in warning


def test_without_pytorch_the_torch_paths_give_the_install_hint(
    tiny_model: Path, tmp_path: Path
) -> None:
    code = f"""
    from pathlib import Path
    from vidsearch.config import DEFAULT_MODEL
    from vidsearch.encoders import ClipEncoder, open_encoder
    from vidsearch.errors import ModelError

    def error(call):
        try:
            call()
        except ModelError as exc:
            return str(exc)
        return None

    default = open_encoder(DEFAULT_MODEL, cache_dir=Path("cache"))
    result = {{
        "torch_backend": error(lambda: ClipEncoder({str(tiny_model)!r}).load()),
        "torch_encode": error(lambda: ClipEncoder({str(tiny_model)!r}).encode_texts(["x"])),
        "auto_unexported": error(lambda: open_encoder({str(tiny_model)!r}, cache_dir=Path("c"))),
        "default_towers": default.towers.model_ref,
        "default_name": default.name,
        "default_offline": error(default.load),
    }}
    """
    result = run_without_torch(code, tmp_path)
    hint = "pip install -c constraints.txt 'vidsearch[torch]'"
    for key in ("torch_backend", "torch_encode", "auto_unexported"):
        assert result[key] is not None and hint in result[key], (key, result[key])
        assert "\n" not in result[key]
    assert "needs PyTorch, which is not installed" in result["torch_backend"]
    assert "has no ONNX export yet and PyTorch is not installed" in result["auto_unexported"]
    # the default model runs its published ONNX towers (offline here: fails fast, named)
    assert result["default_towers"] == "Xenova/clip-vit-base-patch32"
    assert result["default_name"] == "openai/clip-vit-base-patch32"
    assert "cannot download model 'Xenova/clip-vit-base-patch32'" in result["default_offline"]
    assert result["heavy"] == []
