"""The index and the encoders a command works with."""

from __future__ import annotations

from typing import Any

import typer

from vidsearch.config import Settings


def open_index(settings: Settings, *, with_model: bool):
    from vidsearch.encoders.model_bundle import EncoderOptions, open_bundle
    from vidsearch.index import open_store

    store = open_store(settings)
    if not with_model:
        return store, None
    try:
        ref = settings.model_for(store.model_ref)
        options = EncoderOptions(
            cache_dir=settings.cache_dir,
            backend=settings.backend,
            int8=settings.int8,
            batch_size=settings.batch_size,
            threads=settings.threads,
            notify=lambda message: typer.echo(message, err=True),
        )
        encoder = open_bundle(ref, options)
        encoder.load()  # a missing or broken model fails before any work starts
    except BaseException:
        store.close()
        raise
    return store, encoder


def dialogue_encoder(settings: Settings, store: Any):
    """The dialogue encoder for `store` (its model loads when first needed), or None when
    subtitles are off."""
    if not settings.subtitles:
        return None
    from vidsearch.dialogue.encoder import DialogueEncoder, open_sentence_encoder

    return DialogueEncoder(
        settings.dialogue_model_for(store.dialogue_model_ref),
        open_encoder=lambda ref: open_sentence_encoder(ref, threads=settings.threads),
    )
