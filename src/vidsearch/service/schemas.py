"""Request and response models: what /docs shows and what the routes return."""

from __future__ import annotations

from pydantic import BaseModel, Field

from vidsearch.service.jobs import JobState
from vidsearch.types import SearchMode, TextSource, VideoState


class ErrorOut(BaseModel):
    """Every error: a code, a sentence for people, and the HTTP status."""

    error: str = Field(examples=["not_found"])
    message: str = Field(examples=["no indexed video named 'film.mp4'"])
    status: int = Field(examples=[404])
    details: list[dict[str, str]] | None = Field(
        None, description="For 422: each field and what is wrong with it"
    )


class FrameScore(BaseModel):
    timestamp: float = Field(description="Seconds from the start of the video")
    score: float = Field(description="Similarity to the query, 0-1: (1 + cosine) / 2")


class DialogueLineOut(BaseModel):
    """A line that made a moment match: said (subtitle, speech) or written on screen."""

    start: float = Field(description="When the line starts, seconds")
    end: float = Field(description="When it ends, seconds")
    text: str = Field(description="What is said or written")
    language: str = Field(description="ISO 639-1 code of the line ('und': unknown)")
    source: TextSource = Field(
        TextSource.SUBTITLE,
        description="Where the line comes from: a subtitle, the speech transcribed, or text "
        "read on screen",
    )
    similarity: float | None = Field(description="Meaning: cosine of sentence embeddings")
    keyword: float | None = Field(description="Words: BM25 score of the query's words")


class MomentOut(BaseModel):
    """A span of one video that matches the query (one shot, or part of a long one)."""

    video: str = Field(description="The video's name, as GET /videos lists it")
    path: str = Field(description="Where the video file is on the server")
    start: float = Field(description="Start of the moment, seconds")
    end: float = Field(description="End of the moment, seconds")
    timestamp: float = Field(description="The best-matching frame, seconds")
    score: float = Field(
        description="How well it matches, 0-1 in every mode (higher is better; moments at 0 "
        "are not returned): visual, the best frame's (1 + cosine) / 2; the other modes, "
        "the fused score as a share of the most the query's channels can give"
    )
    shot: int = Field(description="Index of the shot in the video")
    frames: list[FrameScore] = Field(description="The matching frames of the moment")
    thumbnail_url: str | None = Field(description="JPEG of the best frame")
    play_url: str = Field(description="Plays the video from `start` (a media fragment URL)")
    why: str = Field(
        "frame",
        description="What matched, joined by ' + ': frame, subtitle, speech, screen text",
        examples=["frame", "speech", "frame + subtitle", "screen text"],
    )
    dialogue: list[DialogueLineOut] = Field(
        default_factory=list,
        description="The matching lines (subtitles, speech, text on screen), best first",
    )


class EncoderOut(BaseModel):
    """Which encoder embedded the query: bundles route each language to its text encoder."""

    bundle: str = Field(description="The model bundle searching the index")
    name: str = Field(description="The encoder (hub id or directory) that read the query")
    language: str | None = Field(description="The query's language (None for an image)")


class SearchOut(BaseModel):
    query: str
    moments: list[MomentOut]
    encoder: EncoderOut | None = Field(None, description="Which encoder read the query")
    mode: SearchMode | None = Field(
        None,
        description="What a text query searched: frames (visual), what is said (dialogue), "
        "what is written (screen), both (text), or frames and every line (hybrid)",
    )
    took_ms: float = Field(description="Time spent on the server")
    notes: list[str] = Field(
        default_factory=list,
        description="What could not be searched, and why (e.g. frames, for a query in a "
        "language the model bundle cannot read: the lines answered it)",
    )


class VideoOut(BaseModel):
    name: str
    video_id: str = Field(description="Hash of the file's content")
    path: str
    duration: float
    frames: int = Field(description="Frames stored in the index")
    state: VideoState
    complete: bool
    indexed_at: str
    uploaded: bool = Field(description="The file was uploaded to this server (and is its own)")
    stream_url: str
    subtitle_lines: int = Field(
        0, description="Lines indexed for text search (subtitles, speech, text on screen)"
    )
    lines: dict[str, int] = Field(
        default_factory=dict,
        description="The lines indexed per source (subtitle, speech, screen text); sources the "
        "video has none of are left out",
        examples=[{"speech": 212, "screen text": 40}],
    )


class VideoListOut(BaseModel):
    videos: list[VideoOut]


class DeletedOut(BaseModel):
    name: str
    file_deleted: bool = Field(description="The uploaded file was deleted too")
    cancelled_jobs: list[str] = Field(description="Indexing jobs of this video that were stopped")


class JobOut(BaseModel):
    """An indexing job started by an upload."""

    id: str
    url: str
    state: JobState
    file: str = Field(description="The uploaded file's name")
    video: str | None = Field(description="The name it is searchable under, once known")
    result: str | None = Field(description="'indexed', or 'skipped' when already indexed")
    frames_done: int = Field(
        description="Frames of the file behind the decoder (decoded or skipped); "
        "frames_total once the job is done"
    )
    frames_total: int = Field(description="Frames in the file (estimated from its header)")
    frames_kept: int = Field(description="Frames sampled for the index so far")
    frames_indexed: int = Field(description="Frames stored in the index, once done")
    progress: float = Field(ge=0, le=1)
    position: float = Field(description="Seconds of video decoded")
    duration: float
    stage: str = Field(
        "frames",
        description="What the job is doing: frames, then speech and screen text (the lines "
        "read after the frames)",
    )
    stage_progress: float = Field(0.0, ge=0, le=1, description="How far through the stage")
    error: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None


class JobListOut(BaseModel):
    jobs: list[JobOut]


class CompatFrameOut(BaseModel):
    timestamp: float
    score: float
    shot: int
    image: str = Field(description="The frame as a base64-encoded JPEG")
    thumbnail_url: str


class CompatSearchOut(BaseModel):
    """The top frames of one video for a text (the seed design's response)."""

    video: str
    query: str
    frames: list[CompatFrameOut]
    lines: list[DialogueLineOut] = Field(
        default_factory=list,
        description="The video's lines that match (subtitles, speech, text on screen), best first",
    )


class HealthOut(BaseModel):
    status: str = Field(examples=["ok"])


class ReadyOut(BaseModel):
    ready: bool
    model_loaded: bool
    index_open: bool
    jobs_worker: bool
    model: str | None
    videos: int | None
    error: str | None = None


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in {
        400: "Bad request (the message says what)",
        401: "The API key is missing or wrong",
        403: "Writes are disabled: the server has no API key",
        404: "No such video, job or file",
        409: "Conflict: the name or content is already indexed",
        413: "Too large",
        415: "Not a video (or not an image)",
        422: "A parameter is invalid",
        503: "The server is starting or stopping",
    }.items()
}


def errors(*statuses: int) -> dict[int | str, dict[str, object]]:
    """The documented error responses of a route."""
    return {s: ERROR_RESPONSES[s] for s in statuses}
