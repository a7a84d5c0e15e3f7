"""Reading subtitles: SRT/WebVTT/ASS, every encoding met in the wild, sidecar names, streams
inside an MKV, and bad files turned into warnings."""

from __future__ import annotations

import codecs
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from vidsearch.errors import SubtitleError
from vidsearch.subtitles import (
    Cue,
    decode_subtitle_bytes,
    find_sidecars,
    parse_subtitle_text,
    read_subtitles,
    tidy_cues,
)

PERSIAN = "من هرگز برنمی‌گردم"
PERSIAN_CP1256 = "كجا مي‌روي؟ من هرگز برنمي‌گردم"  # as Windows keyboards type it (ك ي)
SRT = """1
00:00:01,000 --> 00:00:02,500
<i>Where is</i> <font color="#ff0000">the key?</font>

2
00:00:03,000 --> 00:00:04,000
{\\an8}She said she'll never come back.
- And I believed her.

3
00:00:05,000 --> 00:00:06,000
♪ ♪
"""
VTT = """WEBVTT
Kind: captions

NOTE a comment that is not dialogue

intro-1
00:01.000 --> 00:02.000 align:start position:10%
<v Roger>Hi <b>there</b> &amp; welcome

00:00:03.000 --> 00:00:04.000
<c.yellow>Second</c> <00:00:03.500>line
"""
ASS = """[Script Info]
ScriptType: v4.00+

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, \
Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, \
Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,Arial,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,\
2,2,10,10,10,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,{\\i1}Hello{\\i0}\\Nworld
Comment: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,a translator's note
Dialogue: 0,0:00:02.00,0:00:03.00,Default,,0,0,0,,{\\p1}m 0 0 l 100 0 100 100{\\p0}
Dialogue: 0,0:00:04.00,0:00:05.00,Default,,0,0,0,,{\\fad(200,200)}Goodbye
"""


def srt_of(*lines: tuple[float, float, str]) -> str:
    def clock(t: float) -> str:
        ms = round(t * 1000)
        return f"00:{ms // 60000:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    blocks = [f"{i}\n{clock(a)} --> {clock(b)}\n{t}\n" for i, (a, b, t) in enumerate(lines, 1)]
    return "\n".join(blocks)


# -- formats and cleaning -------------------------------------------------------------------
def test_srt_tags_removed_lines_joined_music_dropped() -> None:
    cues = parse_subtitle_text(SRT, "srt", language="en")
    assert [(c.start, c.end, c.text) for c in cues] == [
        (1.0, 2.5, "Where is the key?"),
        (3.0, 4.0, "She said she'll never come back. - And I believed her."),
    ]
    assert {c.language for c in cues} == {"en"}


def test_vtt_identifiers_notes_settings_and_entities() -> None:
    cues = parse_subtitle_text(VTT, None, language="und")
    assert [(c.start, c.end, c.text) for c in cues] == [
        (1.0, 2.0, "Hi there & welcome"),
        (3.0, 4.0, "Second line"),
    ]
    assert cues[0].language == "en"  # from the script, the track naming none


def test_ass_overrides_comments_and_drawings() -> None:
    cues = parse_subtitle_text(ASS, "ass", language="en")
    assert [(c.start, c.text) for c in cues] == [(1.0, "Hello world"), (4.0, "Goodbye")]


def test_overlapping_cues_same_text_merge_different_text_kept() -> None:
    cues = tidy_cues(
        [
            Cue(1.0, 3.0, "rolling line", "en"),
            Cue(2.5, 4.0, "rolling line", "en"),  # the same line again: one cue
            Cue(2.0, 5.0, "a second speaker", "en"),  # overlaps, different: kept with its times
            Cue(9.0, 8.0, "end before start", "en"),  # given a second
            Cue(12.0, 13.0, "rolling line", "en"),  # said again much later: its own cue
        ]
    )
    assert [(c.start, c.end, c.text) for c in cues] == [
        (1.0, 4.0, "rolling line"),
        (2.0, 5.0, "a second speaker"),
        (9.0, 10.0, "end before start"),
        (12.0, 13.0, "rolling line"),
    ]


def test_not_subtitles_is_an_error() -> None:
    with pytest.raises(SubtitleError, match="not a subtitle file"):
        parse_subtitle_text("just some\nwords here", None, language="en")
    with pytest.raises(SubtitleError, match="no dialogue"):
        parse_subtitle_text(srt_of((1, 2, "♪")), "srt", language="en")


# -- encodings ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (SRT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + SRT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF16_LE + SRT.encode("utf-16-le"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + SRT.encode("utf-16-be"), "utf-16-be"),
        (SRT.encode("utf-16-le"), "utf-16-le"),  # no BOM
        (SRT.encode("utf-16-be"), "utf-16-be"),
        (codecs.BOM_UTF32_LE + SRT.encode("utf-32-le"), "utf-32-le"),
    ],
)
def test_unicode_encodings(data: bytes, encoding: str) -> None:
    text, found = decode_subtitle_bytes(data)
    assert found == encoding
    assert text == SRT


@pytest.mark.parametrize("language", ["fa", None])  # from the name, or from the bytes alone
def test_windows_1256_persian(language: str | None) -> None:
    data = srt_of((1, 2, PERSIAN_CP1256)).encode("cp1256")
    text, encoding = decode_subtitle_bytes(data, language=language)
    assert encoding == "cp1256"
    assert PERSIAN_CP1256 in text


def test_windows_1252_french_and_1251_russian() -> None:
    french = srt_of((1, 2, "Déjà vu, señor? Ça va très bien."))
    text, encoding = decode_subtitle_bytes(french.encode("cp1252"))
    assert (text, encoding) == (french, "cp1252")
    russian = srt_of((1, 2, "Я никогда не вернусь, понимаешь?"))
    text, _ = decode_subtitle_bytes(russian.encode("cp1251"))
    assert text == russian


def test_binary_and_undecodable_bytes_are_errors() -> None:
    with pytest.raises(SubtitleError, match="not a text file"):
        decode_subtitle_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01\x02\x03")
    noise = bytes(np.random.default_rng(0).integers(128, 256, 400, dtype=np.uint8))
    with pytest.raises(SubtitleError, match="cannot tell the text encoding"):
        decode_subtitle_bytes(noise)


# -- sidecars -------------------------------------------------------------------------------
def test_sidecar_names(tmp_path: Path) -> None:
    video = tmp_path / "film.mkv"
    video.write_bytes(b"")
    for name in [
        "film.srt",
        "film.fa.srt",
        "film.en.forced.VTT",
        "film.Persian.ass",
        "film.per.ssa",
        "film.part2.srt",  # another video's
        "film2.srt",
        "other.srt",
        "film.fa.txt",
    ]:
        (tmp_path / name).write_text("x")
    found = {s.path.name: (s.format, s.language) for s in find_sidecars(video)}
    assert found == {
        "film.srt": ("srt", "und"),
        "film.fa.srt": ("srt", "fa"),
        "film.en.forced.VTT": ("vtt", "en"),
        "film.Persian.ass": ("ass", "fa"),
        "film.per.ssa": ("ssa", "fa"),
    }


def test_every_sidecar_read_and_bad_ones_warned(tmp_path: Path) -> None:
    video = tmp_path / "film.mp4"
    video.write_bytes(b"not a video")
    (tmp_path / "film.en.srt").write_bytes(codecs.BOM_UTF8 + SRT.encode())
    (tmp_path / "film.fa.srt").write_bytes(srt_of((7, 8, PERSIAN_CP1256)).encode("cp1256"))
    (tmp_path / "film.de.vtt").write_bytes(b"\x00\x01\x02garbage\x00\xff")
    (tmp_path / "film.es.srt").write_text("")
    report = read_subtitles(video)
    assert [t.source for t in report.tracks] == ["film.en.srt", "film.fa.srt"]
    assert [t.language for t in report.tracks] == ["en", "fa"]
    assert report.tracks[1].cues[0].language == "fa"
    warnings = "\n".join(report.warnings)
    assert "film.de.vtt: not a text file" in warnings
    assert "film.es.srt: the file is empty" in warnings
    assert "film.mp4: cannot open it to read its subtitle streams" in warnings
    assert [c.start for c in report.cues()] == [1.0, 3.0, 7.0]


# -- streams inside the container -----------------------------------------------------------
def write_mkv_with_subtitles(path: Path, srt: Path, language: str, seconds: int = 4) -> None:
    """A real MKV: H.264 video and a SubRip stream remuxed from `srt` (FFmpeg's demuxer)."""
    with av.open(str(srt)) as source, av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 64, "yuv420p"
        subtitles = out.add_stream_from_template(source.streams.subtitles[0])
        subtitles.metadata["language"] = language
        for i in range(25 * seconds):
            pixels = np.full((64, 64, 3), (i * 7) % 255, np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        for packet in source.demux(source.streams.subtitles[0]):
            if packet.dts is None:
                continue
            packet.stream = subtitles
            out.mux(packet)


def test_embedded_subtitle_stream(tmp_path: Path) -> None:
    srt = tmp_path / "source.srt"
    srt.write_text(srt_of((0.5, 1.5, "<i>Hello</i> there"), (2.0, 3.25, PERSIAN)))
    video = tmp_path / "movie.mkv"
    write_mkv_with_subtitles(video, srt, "per")
    srt.unlink()
    report = read_subtitles(video)
    assert report.warnings == []
    [track] = report.tracks
    assert (track.source, track.language) == ("stream #1", "fa")
    assert [(c.start, c.end, c.text) for c in track.cues] == [
        (0.5, 1.5, "Hello there"),
        (2.0, 3.25, PERSIAN),
    ]
    assert read_subtitles(video, embedded=False).tracks == []
