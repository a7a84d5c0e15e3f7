"""Pieces shared by routes: the multipart request bodies documented for /docs, and moments
as JSON."""

from __future__ import annotations

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
    # Named whether or not this machine has the file: the route makes a missing one (a frame
    # indexed on another machine into a shared Qdrant server) from the video.
    thumbnail = None
    if moment.thumbnail_pts is not None:
        thumbnail = urls.thumbnail(moment.video_id, moment.thumbnail_pts)
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
