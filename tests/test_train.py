"""Training pipeline steps on small data: a Persian text encoder trained into the tiny CLIP's
frozen image space (from scratch, from a sentence-transformers model, from a plain transformers
encoder), exact resume after an interruption, the tiny CLIP from scratch, the bundles they
leave, bad input, and the `vidsearch train` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from train_support import (
    InterruptAt,
    Interrupted,
    options,
    text_config,
    write_small_world,
)
from vidsearch.cli import app
from vidsearch.data.dataset import Dataset
from vidsearch.data.errors import DatasetError
from vidsearch.data.records import CaptionRecord, Split
from vidsearch.encoders.bundles import read_bundle
from vidsearch.encoders.model_bundle import open_bundle
from vidsearch.errors import ConfigError
from vidsearch.testing.tiny_model import TINY_DIM
from vidsearch.train.bundle_output import TRAINING_MANIFEST
from vidsearch.train.checkpoint import Checkpoints
from vidsearch.train.config import parse_config
from vidsearch.train.errors import CheckpointError, TrainError
from vidsearch.train.runner import train

QUERY_FA = "دایره قرمز در وسط"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_small_world(tmp_path_factory.mktemp("train") / "world")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("train-cache")


def _weights(output: Path) -> dict[str, torch.Tensor]:
    checkpoint = torch.load(output / "checkpoints" / "last.pt", weights_only=True)
    return {
        f"{module}.{name}": tensor
        for module, state in checkpoint["states"]["modules"].items()
        for name, tensor in state.items()
    }


def test_persian_encoder_from_scratch_trains_and_leaves_a_bundle(
    world: Path, tiny_model: Path, cache: Path, tmp_path: Path
) -> None:
    config = text_config(tmp_path / "run", world, tiny_model, optim={"epochs": 3})
    result = train(config, encoder_options=options(cache))
    assert result.epochs == 3 and not result.resumed and result.precision == "fp32"
    assert result.steps == 3 * 3  # 42 training images, batches of 16 (the last of 10)
    assert set(result.baseline) == set(result.metrics) == {f"val/recall_at_{k}" for k in (1, 5, 10)}
    manifest = json.loads((result.bundle / TRAINING_MANIFEST).read_text())
    history = manifest["history"]
    assert [h["epoch"] for h in history] == [0, 1, 2, 3]
    assert manifest["best_epoch"] == result.best_epoch and manifest["version"] == 1
    assert manifest["image_identity"].startswith("clip:") and manifest["libraries"]["torch"]
    assert history[-1]["train/epoch_seconds"] > 0

    spec = read_bundle(result.bundle)
    assert spec.name == "test-fa" and spec.image.ref == str(tiny_model)
    assert [t.languages for t in spec.texts] == [("fa",), ("en",)]
    with open_bundle(str(result.bundle), options(cache)) as bundle:
        vector, choice = bundle.encode_query(QUERY_FA)
        assert choice.language == "fa" and choice.name == str(result.bundle / "text-fa")
        assert vector.shape == (TINY_DIM,) and abs(float(vector @ vector) - 1) < 1e-5
        assert bundle.encode_query("a red circle")[1].name == str(tiny_model)


def test_a_run_interrupted_mid_epoch_resumes_to_the_same_weights(
    world: Path, tiny_model: Path, cache: Path, tmp_path: Path
) -> None:
    """Dropout on, so the RNG state must come back too. Interrupted in epoch 2, after epoch
    1's checkpoint: the rerun repeats epoch 2 from that checkpoint and ends exactly where the
    run that was never stopped ends (same machine, one thread)."""
    text = {"dropout": 0.1}
    whole = train(
        text_config(tmp_path / "whole", world, tiny_model, text=text, optim={"epochs": 3}),
        encoder_options=options(cache),
    )
    config = text_config(tmp_path / "cut", world, tiny_model, text=text, optim={"epochs": 3})
    with pytest.raises(Interrupted):
        train(config, encoder_options=options(cache), callbacks=[InterruptAt(step=4)])
    stopped = Checkpoints(tmp_path / "cut" / "checkpoints", config.fingerprint()).load()
    assert stopped is not None and stopped[0].epoch == 1 and stopped[0].step == 3

    resumed = train(config, encoder_options=options(cache))
    assert resumed.resumed and resumed.steps == whole.steps and resumed.baseline == whole.baseline
    expected, got = _weights(tmp_path / "whole"), _weights(tmp_path / "cut")
    assert expected.keys() == got.keys() and len(expected) > 10
    assert all(torch.equal(expected[k], got[k]) for k in expected)
    assert resumed.metrics == whole.metrics
    assert not torch.equal(expected["scale.log_scale"], torch.tensor(2.6593))  # it learned


def test_a_checkpoint_of_another_config_is_refused_until_restart(
    world: Path, tiny_model: Path, cache: Path, tmp_path: Path
) -> None:
    output = tmp_path / "run"
    train(
        text_config(output, world, tiny_model, optim={"epochs": 1}), encoder_options=options(cache)
    )
    changed = text_config(output, world, tiny_model, optim={"epochs": 1, "lr": 1e-4})
    with pytest.raises(CheckpointError, match="another training config"):
        train(changed, encoder_options=options(cache))
    again = train(changed, encoder_options=options(cache), restart=True)
    assert not again.resumed and again.epochs == 1
    (output / "checkpoints" / "last.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read the checkpoint"):
        train(changed, encoder_options=options(cache))


def test_sentence_transformers_student_with_distillation_accumulation_and_bf16(
    world: Path, tiny_model: Path, tiny_sentence_model: Path, cache: Path, tmp_path: Path
) -> None:
    config = text_config(
        tmp_path / "st",
        world,
        tiny_model,
        text={"model": str(tiny_sentence_model), "distillation": 0.5},
        optim={"epochs": 2, "accumulation": 2, "precision": "bf16", "lr": 1e-4},
    )
    result = train(config, encoder_options=options(cache))
    assert result.precision == "bf16" and result.steps == 2 * 2  # 3 micro-batches -> 2 steps
    trained = result.bundle / "text-fa"
    assert (trained / "modules.json").is_file()
    # the model's own layers are kept: its Dense already gives the CLIP's 32 dimensions
    modules = json.loads((trained / "modules.json").read_text())
    assert len(modules) == len(json.loads((tiny_sentence_model / "modules.json").read_text()))
    with open_bundle(str(result.bundle), options(cache)) as bundle:
        assert bundle.encode_query(QUERY_FA)[0].shape == (TINY_DIM,)


def _plain_bert(directory: Path, hidden: int) -> Path:
    from transformers import BertConfig, BertModel

    from vidsearch.text.vocabulary import train_wordpiece

    tokenizer = train_wordpiece(["دایره قرمز", "مربع آبی در وسط"] * 5, vocab_size=60, max_length=16)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=hidden,
        max_position_embeddings=20,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def test_plain_transformers_encoder_gets_mean_pooling_and_a_projection(
    world: Path, tiny_model: Path, cache: Path, tmp_path: Path
) -> None:
    bert = _plain_bert(tmp_path / "bert", hidden=24)
    text = {"model": str(bert), "max_length": 16}
    result = train(
        text_config(tmp_path / "run", world, tiny_model, text=text, optim={"epochs": 1}),
        encoder_options=options(cache),
    )
    modules = json.loads((result.bundle / "text-fa" / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[-1] for m in modules] == ["Transformer", "Pooling", "Dense"]
    with open_bundle(str(result.bundle), options(cache)) as bundle:
        assert bundle.encode_query(QUERY_FA)[0].shape == (TINY_DIM,)

    fixed = text | {"projection": False}
    with pytest.raises(ConfigError, match=r"gives 24-d embeddings but the image encoder 32-d"):
        train(
            text_config(tmp_path / "r2", world, tiny_model, text=fixed),
            encoder_options=options(cache),
        )


def test_tiny_clip_from_scratch_is_an_ordinary_clip_model(
    world: Path, cache: Path, tmp_path: Path
) -> None:
    config = parse_config(
        {
            "kind": "clip",
            "name": "tiny-shapes",
            "output": str(tmp_path / "clip"),
            "data": {"dataset": str(world), "language": "en", "captions": "first"},
            "clip": {"image_size": 32, "patch_size": 8, "hidden": 32, "heads": 2, "dim": 16},
            "optim": {"epochs": 2, "batch_size": 16, "lr": 3e-3, "threads": 1},
        }
    )
    result = train(config, encoder_options=options(cache))
    clip = result.bundle / "clip"
    assert (clip / "model.safetensors").is_file() and (clip / "preprocessor_config.json").is_file()
    spec = read_bundle(result.bundle)
    assert spec.image.ref == str(clip) and spec.texts[0].languages == ("en",)
    for model in (str(result.bundle), str(clip)):  # the bundle, or the CLIP directory alone
        with open_bundle(model, options(cache)) as bundle:
            image = bundle.encode_images([torch.zeros(40, 40, 3, dtype=torch.uint8).numpy()])
            text = bundle.encode_texts(["a red circle at the center"])
            assert image.shape == text.shape == (1, 16)


def test_bad_input_is_named(world: Path, tiny_model: Path, cache: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=f"no dataset at {tmp_path / 'none'}"):
        train(
            text_config(tmp_path / "a", tmp_path / "none", tiny_model),
            encoder_options=options(cache),
        )
    with pytest.raises(DatasetError, match="no 'de' captions in the train split"):
        train(
            text_config(tmp_path / "b", world, tiny_model, data={"language": "de"}),
            encoder_options=options(cache),
        )
    with pytest.raises(ConfigError, match="distillation needs a 'de' text encoder"):
        train(
            text_config(
                tmp_path / "c",
                world,
                tiny_model,
                text={"distillation": 1.0, "teacher_language": "de"},
            ),
            encoder_options=options(cache),
        )
    single = tmp_path / "single"
    with Dataset.open(single, create=True) as dataset:
        dataset.add_image("s-1", Image.new("RGB", (32, 32)), source="s", split=Split.TRAIN)
        dataset.upsert_caption(CaptionRecord("s-1", "fa", "s", 0, "دایره قرمز"))
    with pytest.raises(TrainError, match="no batch of two or more captions"):
        train(
            text_config(tmp_path / "e", single, tiny_model, data={"validation_split": "train"}),
            encoder_options=options(cache),
        )
    with pytest.raises(ConfigError, match="unknown model bundle 'clip-b23'"):
        train(text_config(tmp_path / "d", world, "clip-b23"), encoder_options=options(cache))  # type: ignore[arg-type]


def test_the_train_command(world: Path, tiny_model: Path, tmp_path: Path) -> None:
    config = tmp_path / "fa.toml"
    config.write_text(
        f'kind = "text"\noutput = "run"\nbundle = "{tiny_model}"\n'
        f'[data]\ndataset = "{world}"\n'
        '[text]\nmodel = "scratch"\nhidden = 32\nheads = 2\nvocab_size = 120\n'
        "[optim]\nepochs = 1\nbatch_size = 16\nthreads = 1\n"
    )
    runner = CliRunner()
    env = {"VIDSEARCH_CACHE_DIR": str(tmp_path / "cache"), "VIDSEARCH_BACKEND": "torch"}
    first = runner.invoke(app, ["train", str(config), "--json"], env=env)
    assert first.exit_code == 0, first.output
    result = json.loads(first.stdout)
    assert result["bundle"] == str(tmp_path / "run" / "bundle") and not result["resumed"]
    again = runner.invoke(app, ["train", "run", str(config)], env=env)
    assert again.exit_code == 0 and "resuming after epoch 1" in again.stderr
    assert f"bundle: {tmp_path / 'run' / 'bundle'}" in again.stdout

    missing = runner.invoke(app, ["train", str(tmp_path / "missing.toml")])
    assert missing.exit_code == 1
    assert "error: cannot read the training config" in missing.stderr
    config.write_text(config.read_text().replace("epochs = 1", "epochs = 0"))
    bad = runner.invoke(app, ["train", str(config)])
    assert (
        bad.exit_code == 1
        and "optim.epochs: Input should be greater than or equal to 1" in bad.stderr
    )
