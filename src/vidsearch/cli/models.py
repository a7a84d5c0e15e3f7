"""`vidsearch models` and `export-onnx`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from vidsearch.cli.failing import errors
from vidsearch.cli.options import JsonOption, ModelOption, settings_from


def models_command(as_json: JsonOption = False) -> None:
    """List the model bundles: an image encoder and the text encoders aligned with it.

    An index is bound to its image encoder: bundles that share one search the same index.
    """
    from vidsearch.encoders.bundles import BUNDLES, DEFAULT_BUNDLE

    if as_json:
        data = [
            spec.to_json() | {"default": name == DEFAULT_BUNDLE} for name, spec in BUNDLES.items()
        ]
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for name, spec in BUNDLES.items():
        default = " (default)" if name == DEFAULT_BUNDLE else ""
        typer.echo(f"{name}{default}: {spec.description}")
        typer.echo(f"    image  {spec.image.ref} [{spec.image.format}]")
        for text in spec.texts:
            typer.echo(f"    text   {text.ref} [{text.format}]: {' '.join(text.languages)}")


def export_onnx_command(
    model: ModelOption = None,
    int8: Annotated[bool, typer.Option("--int8", help="Also write an int8 image tower")] = False,
    as_json: JsonOption = False,
) -> None:
    """Export a model to ONNX now and check it against PyTorch (otherwise done on first use)."""
    from vidsearch.encoders.bundles import TowerFormat, resolve_bundle
    from vidsearch.encoders.clip_common import ClipFiles
    from vidsearch.encoders.factory import onnx_folder
    from vidsearch.encoders.onnx_export import export_onnx
    from vidsearch.errors import ConfigError

    settings = settings_from(model=model)
    with errors():
        bundle = resolve_bundle(settings.model_for(None))
        if bundle.image.format is not TowerFormat.CLIP:
            raise ConfigError(
                f"the model bundle '{bundle.name}' runs its image encoder with PyTorch: "
                "only CLIP checkpoints are exported to ONNX"
            )
        files = ClipFiles(bundle.image.ref)
        folder = onnx_folder(settings.cache_dir, files)
        manifest = export_onnx(files, folder, quantize=int8)
    if as_json:
        from dataclasses import asdict

        typer.echo(json.dumps({"folder": str(folder), **asdict(manifest)}, indent=2))
        return
    typer.echo(f"exported {files.name} to {folder}")
    typer.echo(
        f"cosine to PyTorch: image >= {manifest.image_cosine_min:.6f}, "
        f"text >= {manifest.text_cosine_min:.6f}"
    )
    if manifest.int8_cosine_min is not None:
        typer.echo(f"int8 image tower: cosine to fp32 >= {manifest.int8_cosine_min:.6f}")
