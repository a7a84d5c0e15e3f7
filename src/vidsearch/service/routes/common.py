"""Pieces shared by routes: the multipart request bodies documented for /docs, and moments
as JSON."""

from __future__ import annotations

from pathlib import Path

from vidsearch.service.context import Urls
from vidsearch.service.schemas import DialogueLineOut, FrameScore, MomentOut
from vidsearch.types import Moment


def multipart_body(field: str, description: str) -> dict[str, object]:
    """`openapi_extra` for a route that reads one file from a multipart body itself."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": [field],
                        "properties": {
                            field: {
                                "type": "string",
                                "format": "binary",
                                "description": description,
                            }
                        },
                    }
                }
            },
        }
    }


def moment_out(moment: Moment, urls: Urls) -> MomentOut:
    thumbnail = None
    if moment.thumbnail:
        thumb = Path(moment.thumbnail)
        thumbnail = urls.thumbnail(thumb.parent.name, thumb.stem)
    data = moment.to_json()
    return MomentOut(
        video=moment.video,
        path=moment.path,
        start=data["start"],  # type: ignore[arg-type]
        end=data["end"],  # type: ignore[arg-type]
        timestamp=data["timestamp"],  # type: ignore[arg-type]
        score=data["score"],  # type: ignore[arg-type]
        shot=moment.shot,
        frames=[FrameScore(**f) for f in data["frames"]],  # type: ignore[union-attr]
        thumbnail_url=thumbnail,
        play_url=urls.play(moment.video, moment.start),
        why=moment.why,
        dialogue=[DialogueLineOut(**line) for line in data["dialogue"]],  # type: ignore[union-attr]
    )
