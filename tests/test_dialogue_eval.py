"""The dialogue evaluation runs end to end and shows what each mode is for."""

from __future__ import annotations

from pathlib import Path

from vidsearch.evaluation.dialogue import QueryKind, build_set, evaluate, iou, main, table


def test_the_set_has_every_kind_of_query_with_targets(tmp_path: Path) -> None:
    data = build_set(tmp_path, videos=2)
    assert len(data.videos) == 2
    assert sorted(p.name for p in tmp_path.glob("*.srt")) == ["film0.en.srt", "film1.fa.srt"]
    kinds = {q.kind for q in data.queries}
    assert kinds == set(QueryKind)
    both = [q for q in data.queries if q.kind is QueryKind.BOTH]
    assert len({q.text for q in both}) == len(both) == 8  # 4 repeated lines x 2 films


def test_each_mode_wins_its_own_queries_and_hybrid_the_combined_ones(tmp_path: Path) -> None:
    results = evaluate(tmp_path, videos=3)  # two English films: a line alone is ambiguous
    visual, hybrid = results["visual"], results["hybrid (score sum)"]
    dialogue = results["dialogue (score sum)"]
    assert visual[QueryKind.PICTURE]["R@1"] == 1.0
    assert visual[QueryKind.DIALOGUE]["R@1"] < 0.5
    assert dialogue[QueryKind.DIALOGUE]["R@1"] == 1.0
    assert dialogue[QueryKind.PICTURE]["R@1"] < 1.0
    assert hybrid[QueryKind.BOTH]["R@1"] == 1.0
    assert hybrid[QueryKind.BOTH]["R@1"] > max(
        visual[QueryKind.BOTH]["R@1"], dialogue[QueryKind.BOTH]["R@1"]
    )
    assert hybrid["all"]["R@5"] >= max(visual["all"]["R@5"], dialogue["all"]["R@5"])
    assert "| hybrid (RRF) |" in table(results)


def test_iou() -> None:
    assert iou((0, 2), (0, 2)) == 1.0
    assert iou((0, 2), (1, 3)) == 1 / 3
    assert iou((0, 1), (2, 3)) == 0.0


def test_main_prints_a_table(capsys, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert main(["--videos", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| setting |") and out.count("\n") == 7
