"""Export a sentence-transformers model to one ONNX graph, once, and check it against PyTorch.

The graph is the model's whole pipeline as sentence-transformers runs it (the transformer,
its pooling, any dense layers) followed by L2 normalisation; beside it go the model's fast
tokenizer (`tokenizer.json`) and a manifest (`onnx_sentence.py` reads them). The export needs
the `torch` extra (torch, transformers, sentence-transformers, onnx). It is verified end to
end, tokenisation included: texts in several scripts and lengths (one longer than the model
reads) embedded by ONNX Runtime must match sentence-transformers' vectors to a cosine of
`MIN_COSINE`, or the export is discarded.
"""

from __future__ import annotations

import shutil
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from vidsearch.encoders.loading import ModelFiles
from vidsearch.encoders.onnx_sentence import (
    MANIFEST_VERSION,
    MODEL_ONNX,
    OUTPUT,
    TOKENIZER,
    OnnxSentenceEncoder,
    SentenceManifest,
    export_key,
)
from vidsearch.encoders.sentence_text import sentence_identity
from vidsearch.encoders.torch_extra import require_torch
from vidsearch.errors import ModelError

OPSET = 17
MIN_COSINE = 1 - 1e-4
INPUT_ORDER = ("input_ids", "attention_mask", "token_type_ids")
DEFAULT_MAX_LENGTH = 512  # when neither the model nor its tokenizer says
VERIFY_TEXTS = (
    "Meet me at the old bridge.",
    "a dog",
    "She said she'll never come back, and the city was quiet all night long.",
    "تهران خیلی دور است.",
    "¿Dónde está la estación?",
    "Zwei Kaffee, bitte.",
    " ".join(["the long road home goes on and on"] * 80),  # longer than any model reads
)


def _load(files: ModelFiles):  # -> SentenceTransformer
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        model = SentenceTransformer(str(files.directory), device="cpu", local_files_only=True)
    except Exception as exc:  # torch, transformers and sentence-transformers raise many types
        reason = f"{type(exc).__name__}: {exc}"
        raise ModelError(
            f"cannot load sentence-transformers model '{files.ref}': {reason}"
        ) from None
    return model.eval()


def _features(model, texts: list[str]) -> dict:
    """The model's own tokenisation of `texts` (`preprocess`, `tokenize` before version 6)."""
    preprocess = getattr(model, "preprocess", None) or model.tokenize
    return dict(preprocess(texts))


def _max_length(model) -> int:
    for length in (model.max_seq_length, getattr(model.tokenizer, "model_max_length", None)):
        if isinstance(length, int) and 0 < length <= 100_000:
            return length
    return DEFAULT_MAX_LENGTH


def export_sentence_onnx(files: ModelFiles, folder: Path) -> SentenceManifest:
    """Write `sentence.onnx`, `tokenizer.json` and a manifest into `folder`, verified."""
    torch = require_torch(
        f"exporting '{files.ref}' to ONNX", "transformers", "sentence_transformers", "onnx"
    )
    model = _load(files)
    fast = getattr(model.tokenizer, "backend_tokenizer", None)
    if fast is None:
        raise ModelError(f"model '{files.ref}' has no fast tokenizer: ONNX use needs one")
    sample = _features(model, list(VERIFY_TEXTS[:4]))  # mixed lengths: the mask is traced
    inputs = [name for name in INPUT_ORDER if torch.is_tensor(sample.get(name))]
    constants = {k: v for k, v in sample.items() if not torch.is_tensor(v)}  # e.g. modality
    model.requires_grad_(False)

    class Pipeline(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            features = dict(zip(inputs, tensors, strict=True)) | constants
            vectors = self.model(features)["sentence_embedding"]
            return torch.nn.functional.normalize(vectors, dim=-1)

    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    axes = {name: {0: "batch", 1: "tokens"} for name in inputs} | {OUTPUT: {0: "batch"}}
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer chatter about Python control flow
            torch.onnx.export(
                Pipeline().eval(),
                tuple(sample[name] for name in inputs),
                tmp / MODEL_ONNX,
                input_names=inputs,
                output_names=[OUTPUT],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,
            )
            reference = model.encode(
                list(VERIFY_TEXTS),
                batch_size=4,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
    except Exception as exc:  # the exporter raises many types
        shutil.rmtree(tmp, ignore_errors=True)
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise ModelError(f"ONNX export of '{files.ref}' failed: {reason}") from None
    fast.save(str(tmp / TOKENIZER))
    manifest = SentenceManifest(
        version=MANIFEST_VERSION,
        identity=sentence_identity(files),
        key=export_key(files),
        dim=int(reference.shape[1]),
        inputs=inputs,
        max_length=_max_length(model),
        pad_token=str(model.tokenizer.pad_token),
        pad_id=int(model.tokenizer.pad_token_id or 0),
        opset=OPSET,
        torch=torch.__version__,
        cosine_min=0.0,
    )
    manifest.write(tmp)
    cosine = _verify(files, tmp, np.asarray(reference, np.float32))
    if cosine < MIN_COSINE:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelError(
            f"ONNX export of '{files.ref}' does not match PyTorch "
            f"(cosine {cosine:.6f}; need >= {MIN_COSINE})"
        )
    manifest = replace(manifest, cosine_min=cosine)
    manifest.write(tmp)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return manifest


def _verify(files: ModelFiles, folder: Path, reference: np.ndarray) -> float:
    """The lowest cosine between the export's vectors (run as at query time: one text, and
    batches padded differently from sentence-transformers') and `reference`."""
    with OnnxSentenceEncoder(files, folder, batch_size=3) as onnx:
        batched = onnx.encode_texts(VERIFY_TEXTS)
        single = np.concatenate([onnx.encode_texts([text]) for text in VERIFY_TEXTS])
    cosines = np.concatenate([(batched * reference).sum(1), (single * reference).sum(1)])
    return float(cosines.min())
