"""Settings to working objects, in one place.

Every part of vidsearch that needs a model, an index, a decoder, an ingestor or a searcher
gets it from here (through `vidsearch.open`, usually), so the wiring — which settings reach
which constructor — is written once:

    Settings ─┬─ open_store ──────────────── IndexStore (data directory or Qdrant server)
              ├─ encoder_options ─ open_model ─ ModelBundle (image tower + text towers)
              ├─ open_dialogue ───────────── DialogueEncoder (the lines; None: off)
              ├─ open_line_readers ───────── [SpeechLines (Whisper), ScreenLines (OCR)]
              ├─ open_frame_source ───────── SerialDecoder | DecodePool
              └─ frame_sampler ──┐
    make_ingestor(settings, store, model, dialogue, readers, decoder, progress) ─ Ingestor
    make_searcher(store, model, dialogue, timer) ──────────────────────── Searcher
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from vidsearch.config import Settings, make_settings
from vidsearch.index.backends import open_store

if TYPE_CHECKING:  # imported where used, so opening a library to list videos stays light
    from vidsearch.dialogue.encoder import DialogueEncoder
    from vidsearch.dialogue.sources import LineReader
    from vidsearch.encoders.base import Encoder
    from vidsearch.encoders.model_bundle import EncoderOptions, ModelBundle
    from vidsearch.index.store import IndexStore
    from vidsearch.ingest import Ingestor, ProgressListener
    from vidsearch.media.pool import FrameSource
    from vidsearch.media.sampler import FrameSampler, SamplerConfig
    from vidsearch.search.searcher import Searcher, StageTimer
    from vidsearch.speech import SpeechTranscriber

Notify = Callable[[str], None]

__all__ = [
    "encoder_options",
    "frame_sampler",
    "make_ingestor",
    "make_searcher",
    "make_settings",
    "open_dialogue",
    "open_frame_source",
    "open_line_readers",
    "open_model",
    "open_store",
]


def _quiet(_: str) -> None:
    pass


def encoder_options(settings: Settings, notify: Notify | None = None) -> EncoderOptions:
    """How every tower of a model runs, from the settings."""
    from vidsearch.encoders.model_bundle import EncoderOptions

    return EncoderOptions(
        cache_dir=settings.cache_dir,
        backend=settings.backend,
        int8=settings.int8,
        batch_size=settings.batch_size,
        threads=settings.threads,
        notify=notify or _quiet,
    )


def open_model(
    settings: Settings, index_model_ref: str | None = None, notify: Notify | None = None
) -> ModelBundle:
    """The model for an index built with `index_model_ref` (None: a new index): the one the
    settings name, else the index's own, else the default. Located, not loaded."""
    from vidsearch.encoders.model_bundle import open_bundle

    return open_bundle(settings.model_for(index_model_ref), encoder_options(settings, notify))


def open_dialogue(
    settings: Settings, store: IndexStore, notify: Notify | None = None
) -> DialogueEncoder | None:
    """The encoder of the dialogue index's lines for `store` (its model loads with the first
    line or dialogue query), or None when no source of lines is on (subtitles, speech, screen
    text)."""
    from vidsearch.dialogue.encoder import DialogueEncoder, open_sentence_encoder

    if not (settings.subtitles or settings.speech != "off" or settings.screen_text):
        return None
    return DialogueEncoder(
        settings.dialogue_model_for(store.dialogue_model_ref),
        open_encoder=lambda ref: open_sentence_encoder(
            ref,
            cache_dir=settings.cache_dir,
            backend=settings.backend,
            threads=settings.threads,
            notify=notify,
        ),
    )


def open_line_readers(settings: Settings) -> list[LineReader]:
    """The readers of lines besides subtitles the settings turn on: speech (Whisper) and text
    on screen (Tesseract). Nothing loads here: a missing model or program is told, once, by
    the indexing run that needs it."""
    from vidsearch.dialogue.sources import ScreenLines, SpeechLines

    readers: list[LineReader] = []
    if settings.speech != "off":
        from vidsearch.speech import open_transcriber

        def transcriber() -> SpeechTranscriber:  # made when a video with sound needs it
            return open_transcriber(
                settings.asr_model,
                language=settings.asr_language,
                cache_dir=settings.cache_dir,
                threads=settings.threads,
            )

        readers.append(SpeechLines(transcriber, every_video=settings.speech == "all"))
    if settings.screen_text:
        from vidsearch.screen_text import open_screen_reader

        languages = tuple(settings.ocr_languages.split("+"))
        readers.append(ScreenLines(open_screen_reader(languages, workers=settings.workers)))
    return readers


def open_frame_source(settings: Settings) -> FrameSource:
    """Decoding in this process (`workers=1`) or in a pool of worker processes."""
    from vidsearch.media.pool import open_decoder

    return open_decoder(settings.workers, settings.decode)


def frame_sampler(settings: Settings) -> FrameSampler:
    from vidsearch.media.sampler import FrameSampler, sampler_config

    return FrameSampler(sampler_config(settings.interval, settings.shot_detector))


def make_ingestor(
    settings: Settings,
    store: IndexStore,
    model: Encoder,
    *,
    dialogue: DialogueEncoder | None,
    readers: Sequence[LineReader] = (),
    decoder: FrameSource | None = None,
    progress: ProgressListener | None = None,
    sampling: SamplerConfig | None = None,
) -> Ingestor:
    """An Ingestor with the sampling (unless `sampling` replaces it) and batching the
    settings choose."""
    from vidsearch.ingest import Ingestor
    from vidsearch.media.sampler import FrameSampler

    return Ingestor(
        store,
        model,
        FrameSampler(sampling) if sampling is not None else frame_sampler(settings),
        batch_size=settings.batch_size,
        progress=progress,
        decode_mode=settings.decode,
        dialogue=dialogue,
        readers=readers,
        subtitles=settings.subtitles,
        decoder=decoder,
    )


def make_searcher(
    store: IndexStore,
    model: Encoder,
    *,
    dialogue: DialogueEncoder | None,
    timer: StageTimer | None = None,
) -> Searcher:
    from vidsearch.search.searcher import Searcher

    return Searcher(store, model, dialogue=dialogue, timer=timer)
