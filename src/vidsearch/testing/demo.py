"""The sample video `vidsearch demo` indexes: captioned scenes a real CLIP model can tell apart."""

from __future__ import annotations

from pathlib import Path

from vidsearch.testing.videos import Scene, SceneKind, write_video

DEMO_CAPTIONS = ("DOG", "BEACH", "RED CAR", "SNOW", "CITY AT NIGHT", "CAT")


def write_demo_video(path: Path, seconds_per_scene: int = 3, fps: int = 25) -> Path:
    """Write the demo video once (kept for later runs) and return its path."""
    if path.is_file() and path.stat().st_size > 0:
        return path
    scenes = [
        Scene(SceneKind.CAPTION, seconds_per_scene * fps, color=i, text=text)
        for i, text in enumerate(DEMO_CAPTIONS)
    ]
    tmp = path.with_suffix(".partial.mp4")
    write_video(tmp, scenes, fps=fps, size=(640, 360))
    tmp.replace(path)
    return path
