"""A loaded model bundle: the image encoder an index is bound to, plus the text encoders
aligned with it, each opened on first use and chosen per query by the query's language.

`ModelBundle` satisfies the `Encoder` protocol, so indexing and searching take it wherever they
took a CLIP encoder: its identity, name and size are the image encoder's, `encode_images` goes
to the image encoder, `encode_texts` routes each text. `encode_query` also says which text
encoder answered, for the search result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidsearch.encoders.base import Encoder, ImageEncoder, TextEncoder
from vidsearch.encoders.bundles import (
    BundleSpec,
    ImageEncoderSpec,
    TextEncoderSpec,
    TowerFormat,
    bundles_reading,
    resolve_bundle,
)
from vidsearch.encoders.sessions import SessionFactory, open_session
from vidsearch.errors import ConfigError, ModelError, QueryError
from vidsearch.text.language import detect_language, language_name
from vidsearch.text.spelling import encoder_spelling
from vidsearch.types import EncoderBackend

Notify = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True, slots=True)
class EncoderOptions:
    """How towers run: the same choices for every tower of a bundle."""

    cache_dir: Path  # ONNX exports
    backend: EncoderBackend = EncoderBackend.AUTO
    int8: bool = False
    batch_size: int = 32
    threads: int | None = None
    notify: Notify = field(default=_quiet, compare=False)
    # opens each ONNX tower (tests pass a recording or fake one); ONNX Runtime by default
    session_factory: SessionFactory = field(default=open_session, compare=False)


@dataclass(frozen=True, slots=True)
class EncoderChoice:
    """Which encoder embedded a query, reported with its results."""

    bundle: str
    name: str
    language: str | None  # None for an image query

    def to_json(self) -> dict[str, object]:
        return {"bundle": self.bundle, "name": self.name, "language": self.language}


prepare_query = encoder_spelling  # the text a text encoder is given (text/spelling.py)


class ModelBundle:
    """Images to the image encoder, each text to the best text encoder for its language."""

    def __init__(
        self,
        spec: BundleSpec,
        image: ImageEncoder,
        open_text: Callable[[TextEncoderSpec], TextEncoder],
        *,
        name: str | None = None,
    ) -> None:
        """`open_text` makes the encoder for a text spec (called once, on first use);
        `name` is how the user referred to the bundle (default: the spec's name)."""
        self.spec = spec
        self.image = image
        self._open_text = open_text
        self._name = name or spec.name
        self._texts: dict[TextEncoderSpec, TextEncoder] = {}
        self._opening = threading.Lock()  # each text encoder opens once, even across threads

    # -- the Encoder protocol -----------------------------------------------------------
    @property
    def identity(self) -> str:
        return self.image.identity

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self.image.dim

    def load(self) -> ModelBundle:
        """Check the image encoder's files now (`Encoder.load`: no tower loads); each text
        encoder is located and checked when a query first needs it."""
        self.image.load()
        return self

    def encode_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        return self.image.encode_images(images)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self.encode_query(text)[0] for text in texts])

    def close(self) -> None:
        for encoder in self._texts.values():
            if encoder is not self.image:
                encoder.close()
        self._texts.clear()
        self.image.close()

    def __enter__(self) -> ModelBundle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- routing ------------------------------------------------------------------------
    def route(self, text: str, language: str | None = None) -> tuple[TextEncoderSpec, str]:
        """The text encoder for `text` and the language it was chosen for."""
        language = (language or detect_language(text)).strip().lower()
        spec = self.spec.text_for(language)
        if spec is None:
            raise unreadable_language(self.spec, language)
        return spec, language

    def text_encoder(self, spec: TextEncoderSpec) -> TextEncoder:
        """The open encoder for `spec` (opened now if it is the first query it reads)."""
        with self._opening:
            encoder = self._texts.get(spec)
            if encoder is None:
                encoder = self._open_text(spec).load()
                if encoder.dim != self.dim:
                    raise ModelError(
                        f"text encoder '{spec.ref}' gives {encoder.dim}-d vectors but image "
                        f"encoder '{self.image.name}' {self.dim}-d: they are not aligned "
                        f"(bundle '{self.spec.name}')"
                    )
                self._texts[spec] = encoder
            return encoder

    def encode_query(
        self, text: str, language: str | None = None, *, prepared: bool = False
    ) -> tuple[np.ndarray, EncoderChoice]:
        """One unit vector for `text`, and which encoder made it for which language.
        `prepared`: `text` is already spelled for encoders (`TextQuery.for_encoders`)."""
        spec, language = self.route(text, language)
        text = text if prepared else prepare_query(text, language)
        vector = self.text_encoder(spec).encode_texts([text])[0]
        return vector, EncoderChoice(self.name, spec.ref, language)


def unreadable_language(spec: BundleSpec, language: str) -> QueryError:
    """The error for a language no text encoder of `spec` reads, naming a bundle that does."""
    message = (
        f"the model bundle '{spec.name}' cannot read {language_name(language)} queries "
        f"(its text encoders read {', '.join(spec.languages)})"
    )
    readers = bundles_reading(language)
    same_image = [b for b in readers if b.image == spec.image]
    if same_image:
        message += f"; use --model {same_image[0].name}: it searches this index as it is"
    elif readers:
        other = readers[0]
        message += (
            f"; the bundle '{other.name}' reads it, but searches only an index built with its "
            f"own image encoder (index with --model {other.name})"
        )
    else:
        message += "; no shipped bundle reads it"
    return QueryError(message)


def encode_query(
    encoder: Encoder, text: str, language: str | None = None
) -> tuple[np.ndarray, EncoderChoice]:
    """`ModelBundle.encode_query`, also for a plain encoder (which reads every language)."""
    if isinstance(encoder, ModelBundle):
        return encoder.encode_query(text, language)
    language = (language or detect_language(text)).strip().lower()
    vector = encoder.encode_texts([prepare_query(text, language)])[0]
    return vector, EncoderChoice(encoder.name, encoder.name, language)


def image_choice(encoder: Encoder) -> EncoderChoice:
    image = encoder.image if isinstance(encoder, ModelBundle) else encoder
    return EncoderChoice(encoder.name, image.name, None)


# -- opening ------------------------------------------------------------------------------
def open_image_encoder(spec: ImageEncoderSpec, options: EncoderOptions) -> ImageEncoder:
    """The image tower, located now (a missing model fails here), loaded on first use."""
    from vidsearch.encoders.factory import open_encoder
    from vidsearch.encoders.hf_towers import ClipVisionEncoder

    if spec.format is TowerFormat.CLIP:
        return open_encoder(
            spec.ref,
            backend=options.backend,
            cache_dir=options.cache_dir,
            int8=options.int8,
            batch_size=options.batch_size,
            threads=options.threads,
            notify=options.notify,
            session_factory=options.session_factory,
        )
    if spec.format is TowerFormat.ONNX_CLIP:
        return _onnx_towers(spec.ref, options)
    if spec.format is TowerFormat.CLIP_VISION:
        vision = ClipVisionEncoder(spec.ref, batch_size=options.batch_size, threads=options.threads)
        _ = vision.files
        return vision
    raise ConfigError(f"'{spec.format}' is not an image encoder format")


def _onnx_towers(ref: str, options: EncoderOptions) -> Encoder:
    """Published ONNX towers (`onnx_towers.py`): ONNX Runtime only, whatever the backend."""
    from vidsearch.encoders.onnx_clip import OnnxClipEncoder, PublishedTowers

    if options.backend is EncoderBackend.TORCH:
        raise ConfigError(f"'{ref}' holds ONNX towers: they run with the onnx backend only")
    encoder = OnnxClipEncoder(
        PublishedTowers(ref),
        int8=options.int8,
        batch_size=options.batch_size,
        threads=options.threads,
        session_factory=options.session_factory,
    )
    _ = encoder.towers.files
    return encoder


def open_text_encoder(
    spec: TextEncoderSpec, options: EncoderOptions, image: ImageEncoder | None = None
) -> TextEncoder:
    """The text tower, located now; a CLIP text tower of the image checkpoint is `image`
    (whose text session opens on the first query, its image session never for a query)."""
    from vidsearch.encoders.hf_towers import PooledTextEncoder
    from vidsearch.encoders.sentence_text import SentenceTextEncoder

    if spec.format in (TowerFormat.CLIP, TowerFormat.ONNX_CLIP):
        if isinstance(image, Encoder) and image.name == spec.ref:
            return image
        return open_image_encoder(ImageEncoderSpec(spec.format, spec.ref), options)  # type: ignore[return-value]
    encoder: SentenceTextEncoder | PooledTextEncoder
    if spec.format is TowerFormat.SENTENCE_TRANSFORMERS:
        encoder = SentenceTextEncoder(
            spec.ref, batch_size=options.batch_size, threads=options.threads
        )
    elif spec.format is TowerFormat.POOLED_TEXT:
        encoder = PooledTextEncoder(
            spec.ref, batch_size=options.batch_size, threads=options.threads
        )
    else:
        raise ConfigError(f"'{spec.format}' is not a text encoder format")
    _ = encoder.files
    return encoder


def open_bundle(ref: str, options: EncoderOptions) -> ModelBundle:
    """The bundle `ref` names (see `bundles.resolve_bundle`), its image encoder located."""
    spec = resolve_bundle(ref, cache_dir=options.cache_dir)
    image = open_image_encoder(spec.image, options)
    return ModelBundle(
        spec, image, lambda text: open_text_encoder(text, options, image), name=ref.strip()
    )
