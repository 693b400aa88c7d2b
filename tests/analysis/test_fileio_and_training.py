from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from meaculpa.analysis import SentimentModel, train_from_corrections
from meaculpa.analysis.cli import analyze_command
from meaculpa.analysis.fileio import analyze_file
from meaculpa.analysis.training import load_corpus


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_analyze_csv_with_bad_rows(tmp_path: Path, shipped_model: SentimentModel) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(
        b"id,text\n"
        b'1,"Es la tercera vez que escribo, voy a ir a la OMIC"\n'
        b"2,Thanks a lot!\n"
        b",no id here\n"
        b"4,\xff\xfe broken\n"
    )
    out = tmp_path / "out.jsonl"
    calls: list[tuple[int, int]] = []
    summary = analyze_file(src, out, lambda done, total: calls.append((done, total)))
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == ["1", "2", None, "4"]
    assert rows[0]["sentiment"]["label"] == "negative"  # type: ignore[index]
    assert "probabilities" in rows[1]["sentiment"]  # type: ignore[operator]
    assert rows[2]["error"] == "missing id"
    assert rows[3]["error"] == "invalid UTF-8 in text"
    assert (summary.rows, summary.analyzed, summary.errors) == (4, 2, 2)
    assert calls[-1] == (4, 4)


def test_analyze_jsonl_via_cli(tmp_path: Path, shipped_model: SentimentModel) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(
        b'{"id": "a", "text": "Me doy de baja, sois un desastre"}\n'
        b"\xff\n"
        b'{"id": "b"}\n'
        b"not json\n"
        b'{"id": 7, "text": "ok"}\n'
    )
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(analyze_command, [str(src), "--output", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    rows = read_jsonl(out)
    assert len(rows) == 5
    assert rows[0]["escalation"]["kinds"] == ["cancel_or_leave"]  # type: ignore[index]
    assert rows[1]["error"].startswith("invalid UTF-8")  # type: ignore[union-attr]
    assert rows[2] == {"id": "b", "line": 3, "error": "missing text"}
    assert rows[3]["error"].startswith("invalid JSON")  # type: ignore[union-attr]
    assert rows[4]["id"] == 7 and "sentiment" in rows[4]


def test_cli_rejects_csv_without_columns(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("a,b\n1,2\n", encoding="utf-8")
    result = CliRunner().invoke(analyze_command, [str(src)])
    assert result.exit_code == 0
    assert "'id' and 'text'" in result.output


def test_shipped_weights_are_small_and_load(shipped_model: SentimentModel) -> None:
    from importlib import resources

    blob = resources.files("meaculpa.analysis").joinpath("weights", "sentiment_v1.npz").read_bytes()
    assert len(blob) < 2_000_000
    assert SentimentModel.from_bytes(blob).meta["trained_on"].startswith("meaculpa corpus")
    with pytest.raises(ValueError):
        SentimentModel.from_bytes(b"not a model")


def test_train_from_corrections(shipped_model: SentimentModel) -> None:
    corpus = load_corpus()
    examples: list[dict[str, object]] = [
        {"text": r["text"], "sentiment": r["sentiment"], "anger": bool(r["anger"])}
        for r in corpus[::12]
    ]
    examples += [{"text": "", "sentiment": "negative"}, {"text": "hola", "sentiment": "furious"}]
    model, report = train_from_corrections(examples, base_model=shipped_model)
    assert report.n_rejected == 2 and report.n_heldout > 0
    assert report.macro_f1_before is not None and report.macro_f1_after is not None
    assert 0.0 <= report.macro_f1_after <= 1.0
    again = SentimentModel.from_bytes(model.to_bytes())
    assert again.meta["n_corrections"] == len(examples) - 2
    json.dumps(report.to_dict())
    with pytest.raises(ValueError):
        train_from_corrections([{"text": "x", "sentiment": "neutral"}])
