"""``meaculpa import messages``: good rows land, bad rows are reported, nothing half-imported."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from meaculpa.cases.models import Case
from meaculpa.core.audit import AuditEvent
from meaculpa.core.exceptions import Invalid
from meaculpa.customers.models import Customer, CustomerIdentity
from meaculpa.messages.models import Message
from tests.cli.conftest import count

HEADER = "channel,external_id,sent_at,subject,text,customer_name,customer_language,email,phone"

MIXED_CSV = (
    HEADER + "\n"
    # line 2: good
    "email,m-1,2026-03-02T10:15:00+01:00,Cobro doble,Me habéis cobrado dos veces el pedido 4411,"
    "Lucía Pérez,es,lucia@example.es,\n"
    # line 3: good, a quoted text over two lines (3 and 4)
    'web,m-2,,Late parcel,"My parcel never arrived.\nOrder 7781.",John Smith,en,'
    "john@example.co.uk,\n"
    # line 5: bad e-mail
    "email,m-3,,Hola,Hola buenas,Ana Ruiz,es,not-an-email,\n"
    # line 6: naive date (no offset)
    "email,m-4,2026-03-02T10:15:00,Hola,Texto,Pedro Gil,es,pedro@example.es,\n"
    # line 7: unknown channel
    "fax,m-5,,Hola,Texto,Rosa Vidal,es,rosa@example.es,\n"
    # line 8: no identity at all
    "email,m-6,,Hola,Texto,Nadie,es,,\n"
    # line 9: no text
    "email,m-7,,Asunto,,Marta Gil,es,marta@example.es,\n"
    # line 10: too many fields
    "email,m-8,,a,b,c,es,x@example.es,,extra\n"
    "\n"
    # line 12: good, WhatsApp by phone
    "whatsapp,m-9,,,Hola. El pedido 5520 llegó roto,Pepe Soler,es,,+34 600 111 222\n"
    # line 13: customer language not supported
    "email,m-10,,Hi,Text,Hans Weber,de,hans@example.de,\n"
)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def rejected_lines(output: str) -> dict[int, str]:
    lines = {}
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("line "):
            number, _, reason = line.removeprefix("line ").partition(": ")
            lines[int(number)] = reason
    return lines


def test_csv_with_broken_rows_imports_the_good_ones(cli, mdb, tmp_path):
    path = write(tmp_path, "inbox.csv", MIXED_CSV)
    result = cli("import", "messages", str(path))
    assert result.exit_code == 1, result.output
    assert "imported 3 messages (3 new customers, 3 new cases)" in result.output
    assert "7 rejected" in result.output

    rejected = rejected_lines(result.output)
    assert sorted(rejected) == [5, 6, 7, 8, 9, 10, 13]
    assert rejected[5].startswith("email: ") and "not an e-mail address" in rejected[5]
    assert rejected[6].startswith("sent_at: ") and "time zone" in rejected[6]
    assert rejected[7].startswith("channel: ") and "'fax'" in rejected[7]
    assert "no customer identity" in rejected[8]
    assert rejected[9].startswith("text: ")
    assert "10 fields" in rejected[10] and "9" in rejected[10]
    assert rejected[13].startswith("customer_language: ")

    assert count(mdb, Customer) == 3
    assert count(mdb, Case) == 3
    assert count(mdb, Message) == 3
    with mdb.reading() as session:
        emails = set(session.scalars(
            select(CustomerIdentity.value).where(CustomerIdentity.kind == "email")))
        assert emails == {"lucia@example.es", "john@example.co.uk"}
        john = session.scalar(select(Customer).where(Customer.name == "John Smith"))
        assert john is not None and john.language == "en"
        text = session.scalar(select(Message.text).where(Message.external_id == "m-2"))
        assert text == "My parcel never arrived.\nOrder 7781."
        sent = session.scalar(select(Message.sent_at).where(Message.external_id == "m-1"))
        assert sent is not None and sent.isoformat() == "2026-03-02T09:15:00+00:00"
        actors = set(session.scalars(select(AuditEvent.actor_label)))
        assert actors == {"import"}


def test_reimporting_the_same_file_creates_nothing(cli, mdb, tmp_path):
    path = write(tmp_path, "inbox.csv", MIXED_CSV)
    cli("import", "messages", str(path))
    before = (count(mdb, Customer), count(mdb, Case), count(mdb, Message), count(mdb, AuditEvent))
    again = cli("import", "messages", str(path))
    assert again.exit_code == 1
    assert "imported 0 messages" in again.output and "3 already imported" in again.output
    after = (count(mdb, Customer), count(mdb, Case), count(mdb, Message), count(mdb, AuditEvent))
    assert after == before


def test_all_good_rows_exit_zero_and_errors_out_file(cli, mdb, tmp_path):
    good = write(tmp_path, "good.csv", HEADER + "\nemail,g-1,,Hola,Texto,Ana,es,ana@example.es,\n")
    result = cli("import", "messages", str(good))
    assert result.exit_code == 0, result.output
    assert "imported 1 messages" in result.output and "0 rejected" in result.output

    bad = write(tmp_path, "bad.csv", MIXED_CSV)
    report = tmp_path / "rejected.csv"
    result = cli("import", "messages", str(bad), "--errors-out", str(report))
    assert result.exit_code == 1
    with open(report, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["line"]) for r in rows] == [5, 6, 7, 8, 9, 10, 13]
    assert rows[0]["field"] == "email" and "e-mail" in rows[0]["reason"]


def test_a_row_failing_midway_leaves_nothing_behind(cli, mdb, tmp_path, monkeypatch):
    """The ingestion writes the customer, then the case, then fails: the savepoint undoes all."""
    from meaculpa.messages import importer

    real = importer.do_ingest_message

    def failing_after_writes(session: Any, actor: Any, data: Any) -> Any:
        outcome = real(session, actor, data)
        if "EXPLODE" in data.text:
            raise Invalid("the case could not be opened", field="text")
        return outcome

    monkeypatch.setattr(importer, "do_ingest_message", failing_after_writes)
    path = write(tmp_path, "inbox.csv", HEADER + "\n"
                 "email,a-1,,Hola,Primero,Ana,es,ana@example.es,\n"
                 "email,a-2,,Hola,EXPLODE now,Bea,es,bea@example.es,\n"
                 "email,a-3,,Hola,Tercero,Carla,es,carla@example.es,\n")
    result = cli("import", "messages", str(path))
    assert result.exit_code == 1
    assert rejected_lines(result.output) == {3: "text: the case could not be opened"}
    assert count(mdb, Customer) == 2 and count(mdb, Case) == 2 and count(mdb, Message) == 2
    assert count(mdb, CustomerIdentity, CustomerIdentity.value == "bea@example.es") == 0
    with mdb.reading() as session:
        objects = session.execute(select(AuditEvent.object_type, AuditEvent.object_id)).all()
    assert len(objects) == 6  # customer, case and message for each of the two good rows


def test_small_batches_commit_and_still_reject_per_row(cli, mdb, tmp_path, monkeypatch):
    from meaculpa.messages import importer

    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    rows = [f"email,b-{i},,Hola,Texto {i},Cliente {i},es,c{i}@example.es," for i in range(7)]
    rows[3] = "email,b-3,,Hola,Texto,Cliente,es,broken,"
    path = write(tmp_path, "many.csv", HEADER + "\n" + "\n".join(rows) + "\n")
    result = cli("import", "messages", str(path))
    assert result.exit_code == 1
    assert list(rejected_lines(result.output)) == [5]
    assert count(mdb, Message) == 6


def test_invalid_utf8_line_is_rejected_and_the_rest_lands(cli, mdb, tmp_path):
    content = (
        HEADER.encode() + b"\n"
        + "email,u-1,,Hola,Buenos días,Íñigo,es,inigo@example.es,\n".encode()
        + b"email,u-2,,Hola,Caf\xe9 roto,Latin One,es,latin@example.es,\n"
        + b'email,u-3,,Hola,"dos\nl\xedneas",Two Lines,es,two@example.es,\n'
        + "email,u-4,,Hola,Adiós,Zoe,es,zoe@example.es,\n".encode()
    )
    path = write(tmp_path, "latin1.csv", content)
    result = cli("import", "messages", str(path))
    assert result.exit_code == 1
    rejected = rejected_lines(result.output)
    assert set(rejected) == {3, 4}
    assert "not valid UTF-8" in rejected[3]
    assert "line 5 of this record is not valid UTF-8" in rejected[4]
    assert count(mdb, Message) == 2
    with mdb.reading() as session:
        names = set(session.scalars(select(Customer.name)))
    assert names == {"Íñigo", "Zoe"}


def test_unknown_column_refuses_the_whole_file(cli, mdb, tmp_path):
    path = write(tmp_path, "odd.csv",
                 HEADER + ",mood\nemail,x-1,,Hola,Texto,Ana,es,ana@example.es,,meh\n")
    result = cli("import", "messages", str(path))
    assert result.exit_code == 2
    assert "unknown column 'mood'" in result.output and "nothing was imported" in result.output
    assert count(mdb, Message) == 0 and count(mdb, Customer) == 0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", "", "the file is empty"),
        ("header.csv", HEADER + "\n", "holds no rows"),
        ("nochannel.csv", "text,email\nhola,a@example.es\n", "'channel' is missing"),
        ("noidentity.csv", "channel,text\nemail,hola\n", "no identity column"),
        ("twice.csv", "channel,text,email,email\nemail,hola,a@example.es,b@example.es\n",
         "more than once"),
        ("empty.jsonl", "\n\n", "holds no rows"),
        ("notes.txt", "hello", "cannot tell the format"),
    ],
)
def test_unusable_files_exit_2(cli, mdb, tmp_path, name, content, message):
    path = write(tmp_path, name, content)
    result = cli("import", "messages", str(path))
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert count(mdb, Message) == 0


def test_jsonl_import(cli, mdb, tmp_path):
    good = {
        "channel": "twitter",
        "external_id": "tw-1",
        "text": "@OlivarHogar my parcel is 5 days late",
        "customer": {"name": "Oliver Reid", "language": "en",
                     "identities": [{"kind": "twitter", "value": "@OliverReid"}]},
    }
    follow_up = {
        "channel": "email",
        "external_id": "em-1",
        "subject": "Order 4411",
        "html": "<p>Still <b>nothing</b>.</p><script>alert(1)</script>",
        "sent_at": "2026-04-01T08:00:00Z",
        "customer": {"identities": [{"kind": "twitter", "value": "oliverreid"},
                                    {"kind": "email", "value": "oliver@example.co.uk"}]},
    }
    lines = [
        json.dumps(good),
        "",
        json.dumps(follow_up),
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({**good, "external_id": "tw-2", "mood": "angry"}),
        json.dumps({**good, "external_id": "tw-3",
                    "customer": {"identities": [{"kind": "email", "value": "nope"}]}}),
    ]
    path = write(tmp_path, "inbox.jsonl", "\n".join(lines) + "\n")
    result = cli("import", "messages", str(path))
    assert result.exit_code == 1, result.output
    rejected = rejected_lines(result.output)
    assert set(rejected) == {4, 5, 6, 7}
    assert "not valid JSON" in rejected[4]
    assert "JSON object" in rejected[5]
    assert rejected[6].startswith("mood: ")
    assert rejected[7].startswith("customer.identities.0: ") and "e-mail" in rejected[7]

    assert count(mdb, Customer) == 1 and count(mdb, Case) == 1 and count(mdb, Message) == 2
    with mdb.reading() as session:
        html = session.scalar(select(Message.html).where(Message.external_id == "em-1"))
        identities = set(session.scalars(select(CustomerIdentity.kind)))
    assert html is not None and "script" not in html
    assert identities == {"twitter", "email"}

    again = cli("import", "messages", str(path))
    assert "2 already imported" in again.output and count(mdb, Message) == 2


def test_jsonl_invalid_utf8_and_explicit_format(cli, mdb, tmp_path):
    body = {"channel": "web", "text": "hola",
            "customer": {"identities": [{"kind": "email", "value": "ana@example.es"}]}}
    content = (json.dumps(body).encode() + b"\n" + b'{"channel": "web", "text": "\xff"}\n')
    path = write(tmp_path, "export.txt", content)
    result = cli("import", "messages", str(path), "--format", "jsonl")
    assert result.exit_code == 1
    assert "not valid UTF-8" in rejected_lines(result.output)[2]
    assert count(mdb, Message) == 1


def test_import_as_a_user(cli, mdb, tmp_path):
    created = cli("user", "create", "--email", "ines@example.es", "--name", "Inés",
                  "--role", "manager", "--password", "una clave larga")
    assert created.exit_code == 0, created.output
    path = write(tmp_path, "one.csv", HEADER + "\nemail,z-1,,Hola,Texto,Ana,es,ana@example.es,\n")
    result = cli("import", "messages", str(path), "--as", "ines@example.es")
    assert result.exit_code == 0, result.output
    with mdb.reading() as session:
        labels = set(session.scalars(
            select(AuditEvent.actor_label).where(AuditEvent.verb == "message.create")))
    assert labels == {"ines@example.es"}

    unknown = cli("import", "messages", str(path), "--as", "nobody@example.es")
    assert unknown.exit_code == 2 and "no active user" in unknown.output


def test_oversized_field_is_rejected(cli, mdb, tmp_path):
    huge = "x" * 100_001
    path = write(tmp_path, "big.csv", HEADER + "\n"
                 f"email,o-1,,Hola,{huge},Ana,es,ana@example.es,\n"
                 "email,o-2,,Hola,Texto,Bea,es,bea@example.es,\n")
    result = cli("import", "messages", str(path))
    assert result.exit_code == 1
    rejected = rejected_lines(result.output)
    assert list(rejected) == [2] and rejected[2].startswith("text: ")
    assert count(mdb, Message) == 1
