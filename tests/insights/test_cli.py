"""``meaculpa analyze FILE`` and ``meaculpa analysis train``."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from meaculpa.analysis.training import load_corpus
from meaculpa.cases.actions import do_open_case
from meaculpa.core.audit import Actor
from meaculpa.core.clock import utcnow
from meaculpa.customers.actions import do_create_customer
from meaculpa.customers.schemas import CustomerCreate
from meaculpa.insights.actions import do_analyze_messages, do_correct_label
from meaculpa.insights.models import MessageAnalysis, OrgModel
from meaculpa.messages.models import Message
from tests.cli.conftest import cli  # noqa: F401 - the in-process command fixture
from tests.conftest import audit_verbs


def test_analyze_writes_one_json_line_per_row(cli, tmp_path):  # noqa: F811
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text(
        '{"id": "a", "text": "¡Es la tercera vez que escribo! Os denuncio en la OMIC."}\n'
        '{"id": "b", "text": "Thanks, all sorted."}\n'
        "not json\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    result = cli("analyze", str(jsonl), "--output", str(out))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in lines[:2]] == ["a", "b"] and len(lines) == 3
    assert lines[0]["sentiment"]["label"] == "negative" and "error" in lines[2]

    csv_file = tmp_path / "in.csv"
    csv_file.write_text('id,text\n1,"Muy contenta, gracias"\n2,""\n', encoding="utf-8")
    result = cli("analyze", str(csv_file))
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [r["id"] for r in rows] == ["1", "2"]


def seed_corrections(db, n: int) -> list[int]:
    spanish = [r for r in load_corpus() if r["lang"] == "es"]
    rows = [
        r
        for label in ("negative", "neutral", "positive")
        for r in [r for r in spanish if r["sentiment"] == label][: n // 3 + 1]
    ][:n]
    actor = Actor(kind="user", id=None, label="agente@example.es", role="agent")
    with db.transaction() as s:
        customer = do_create_customer(s, Actor.system(), CustomerCreate(name="Muchos Mensajes"))
        case = do_open_case(s, Actor.system(), customer, channel="email", subject="Varios")
        messages = [
            Message(
                case_id=case.id,
                customer_id=customer.id,
                direction="inbound",
                channel="email",
                subject="",
                text=r["text"],
                sent_at=utcnow(),
            )
            for r in rows
        ]
        s.add_all(messages)
        s.flush()
        for message, row in zip(messages, rows, strict=True):
            do_correct_label(s, actor, message, "sentiment", row["sentiment"])
            do_correct_label(s, actor, message, "anger", "angry" if row["anger"] else "calm")
        return [m.id for m in messages]


def test_train_needs_enough_corrections(cli, db):  # noqa: F811
    seed_corrections(db, 5)
    result = cli("analysis", "train")
    assert result.exit_code == 1 and "at least 50" in result.output


def test_train_prints_before_and_after_and_the_model_is_used(cli, db):  # noqa: F811
    ids = seed_corrections(db, 60)
    result = cli("analysis", "train")
    assert result.exit_code == 0, result.output
    # The corpus texts are the shipped model's own training data: only the format is checked.
    assert re.search(r"macro-F1 before \(shipped model\): [01]\.\d{3}\n", result.output)
    assert re.search(r"macro-F1 after \(retrained\): +[01]\.\d{3}\n", result.output)
    assert "held back 12" in result.output and "stored model 1.3.0+org." in result.output
    with db.reading() as s:
        model = s.scalars(select(OrgModel)).one()
        assert model.report["n_examples"] == 60 and len(model.blob) > 1000
    assert "org_model.create" in audit_verbs(db, "org_model")
    # New analyses use the organisation's model and say so in their version.
    with db.transaction() as s:
        assert do_analyze_messages(s, ids[0], batch=1) == 1
    with db.reading() as s:
        row = s.scalars(select(MessageAnalysis)).one()
        assert f"sentiment={model.version}" in row.version
        assert row.result["sentiment"]["version"] == model.version
