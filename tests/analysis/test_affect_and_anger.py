"""The affect lexicon, the anger head conditioned on a negative message, 1.1 model loading,
and the script that rebuilds the shipped weights (on a tiny stand-in for ../shared/data)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from meaculpa.analysis import SentimentModel, analyze_inbound
from meaculpa.analysis.affect import AFFECT_FEATURE_NAMES, affect_features
from meaculpa.analysis.model import (
    FEATURE_DIM,
    GIVEN_NEGATIVE,
    LABELS,
    LEGACY_FEATURE_DIM,
    rescale_anger,
    train_model,
)
from meaculpa.analysis.text import prepare

ROOT = Path(__file__).resolve().parents[2]


def feats(text: str) -> dict[str, float]:
    return dict(zip(AFFECT_FEATURE_NAMES, affect_features(prepare(text)), strict=True))


def test_affect_lexicon_reads_both_languages() -> None:
    es = feats("¡Estoy HARTO! Sois unos sinvergüenzas, una vergüenza de empresa!!")
    assert es["lex_anger"] > 0 and es["lex_insult"] > 0 and es["multi_exclamation"] == 1.0
    en = feats("Worst airline ever, you are a bunch of incompetent clowns. NEVER AGAIN")
    assert en["lex_anger"] == pytest.approx(2 / 3)  # "worst" and "never again", of 3 max
    assert en["lex_insult"] > 0 and en["caps_ratio"] > 0.1
    sad = feats("Qué tristeza, no puedo parar de llorar 😢")
    assert sad["lex_sadness"] > 0 and sad["lex_anger"] == 0 and sad["lex_insult"] == 0
    fear = feats("I'm honestly scared and worried about the results")
    assert fear["lex_fear"] == 1.0 and fear["lex_anger"] == 0
    joy = feats("Gracias, todo perfecto y el personal encantador")
    assert joy["lex_joy"] > 0 and joy["lex_negated_joy"] == 0
    assert feats("The room was not great")["lex_negated_joy"] > 0
    mixed = feats("Hotel correcto, sin más, aunque el desayuno es mejorable")
    assert mixed["lex_mixed"] > 0.5
    question = feats("@AeroSol ¿puedo llevar la guitarra en cabina?")
    assert question["starts_with_question"] == 1.0
    assert feats("Noooo way")["elongated"] == 1.0
    # whole words only: "ira" (will go) and "pena" inside "vale la pena" are not affect
    neutral = feats("Irá mañana; vale la pena verlo. The hellenic museum")
    assert neutral["lex_anger"] == 0 and neutral["lex_sadness"] == 0 and neutral["lex_swear"] == 0


def test_affect_features_are_bounded_on_odd_input() -> None:
    for text in ("", "😡" * 500, "A" * 50_000, "x\ud800y", "!!!???"):
        values = affect_features(prepare(text))
        assert len(values) == len(AFFECT_FEATURE_NAMES)
        assert all(0.0 <= v <= 1.0 for v in values)


def test_shipped_model_conditions_anger_on_a_negative_message(
    shipped_model: SentimentModel,
) -> None:
    meta = shipped_model.meta
    assert meta["anger_head"] == GIVEN_NEGATIVE and 0.0 < meta["anger_cut"] < 1.0
    assert meta["features"][-len(AFFECT_FEATURE_NAMES) :] == list(AFFECT_FEATURE_NAMES)
    assert "en_support_conversations" in meta["trained_on"]
    texts = [
        "Sois unos incompetentes, tres semanas sin línea y me seguís cobrando. ¡Vergüenza!",
        "You lost my bag AGAIN. Worst airline ever, never again",
        "Qué pena que se cancelara el concierto, tenía muchas ganas 😢",
        "Muchas gracias por la ayuda, todo resuelto",
        "Can I bring a stroller to the gate?",
    ]
    res = analyze_inbound(texts, model=shipped_model)
    angry_es, angry_en, sad, thanks, question = res
    assert angry_es.anger.angry and angry_en.anger.angry
    assert sad.sentiment.label == "negative" and not sad.anger.angry
    assert thanks.sentiment.label == "positive" and thanks.anger.score < 0.1
    assert question.sentiment.label == "neutral" and question.anger.score < 0.1


def test_rescale_anger_maps_the_cut_to_one_half_and_keeps_order() -> None:
    s = np.asarray([0.0, 0.1, 0.4, 0.7, 1.0])
    out = rescale_anger(s, 0.4)
    assert out[2] == pytest.approx(0.5) and out[0] == 0.0 and out[-1] == pytest.approx(1.0)
    assert np.all(np.diff(out) > 0)
    assert np.array_equal(rescale_anger(s, None), s)


def _toy_rows() -> tuple[np.ndarray, list[str], list[int | None]]:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, FEATURE_DIM)).astype(np.float32)
    sentiment = [LABELS[i % 3] for i in range(60)]
    anger: list[int | None] = [
        (1 if i % 6 == 0 else 0) if s == "negative" else 0 for i, s in enumerate(sentiment)
    ]
    x[[i for i, a in enumerate(anger) if a], 0] += 3.0  # anger is learnable from feature 0
    return x, sentiment, anger


def test_anger_head_is_trained_on_negative_rows_and_bounded_by_p_negative() -> None:
    x, sentiment, anger = _toy_rows()
    model = train_model(x, sentiment, anger, l2=1e-3, steps=200)
    assert model.anger_given_negative
    probs, score = model.predict(x)
    assert np.all(score <= probs[:, 0] + 1e-9)
    angry = [i for i, a in enumerate(anger) if a]
    calm_negative = [i for i, s in enumerate(sentiment) if s == "negative" and not anger[i]]
    assert score[angry].mean() > score[calm_negative].mean()


def test_a_1_1_model_still_loads_and_predicts_as_before() -> None:
    rng = np.random.default_rng(5)
    legacy = SentimentModel(
        w_sent=rng.normal(size=(LEGACY_FEATURE_DIM, 3)).astype(np.float16).astype(np.float32),
        b_sent=np.asarray([0.1, 0.0, -0.1], np.float32),
        w_anger=rng.normal(size=LEGACY_FEATURE_DIM).astype(np.float16).astype(np.float32),
        b_anger=-0.5,
        meta={"version": "1.1.0"},
    )
    loaded = SentimentModel.from_bytes(legacy.to_bytes())
    assert loaded.w_sent.shape == (FEATURE_DIM, 3) and not loaded.anger_given_negative
    x = rng.normal(size=(4, FEATURE_DIM)).astype(np.float32)
    probs, anger = loaded.predict(x)
    old = x[:, :LEGACY_FEATURE_DIM].astype(np.float64)
    z = old @ legacy.w_sent.astype(np.float64) + legacy.b_sent
    expected = np.exp(z - z.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    assert np.allclose(probs, expected)
    assert np.allclose(anger, 1 / (1 + np.exp(-(old @ legacy.w_anger + legacy.b_anger))))
    bad = SentimentModel(legacy.w_sent[:100], legacy.b_sent, legacy.w_anger[:100], 0.0)
    with pytest.raises(ValueError, match="wrong shape"):
        SentimentModel.from_bytes(bad.to_bytes())


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "train_shipped_model", ROOT / "scripts" / "train_shipped_model.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_label_file_holds_ids_and_labels_only() -> None:
    lines = (ROOT / "scripts" / "labels" / "support_customer_tweets.jsonl").read_text().split("\n")
    rows = [json.loads(line) for line in lines if line]
    assert len(rows) >= 400 and len({r["ref"] for r in rows}) == len(rows)
    for r in rows:
        assert set(r) == {"ref", "sentiment", "anger"}
        assert r["sentiment"] in LABELS and r["anger"] in (0, 1)
        assert not (r["anger"] and r["sentiment"] != "negative")


def test_training_script_joins_labels_with_the_tweets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    script = _script()
    folder = tmp_path / "en_support_conversations"
    folder.mkdir()
    conv = {
        "dialogHeader": {"sessionID": "S1"},
        "dialogContent": [
            {"client": "u", "message": "@Acme my order never arrived"},
            {"agent": "a", "message": "Sorry to hear that, please DM us"},
            {"client": "u", "message": "done, thanks"},
        ],
    }
    (folder / "dev.json").write_text(json.dumps([conv]), encoding="utf-8")
    (folder / "test.json").write_text("[]", encoding="utf-8")
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        '{"ref": "dev/S1/2", "sentiment": "neutral", "anger": 0}\n'
        '{"ref": "dev/S1/0", "sentiment": "negative", "anger": 0}\n',
        encoding="utf-8",
    )
    rows = script.labelled_support_rows(labels, folder)
    assert [(r["text"], r["sentiment"]) for r in rows] == [
        ("done, thanks", "neutral"),
        ("@Acme my order never arrived", "negative"),
    ]
    assert set(script.customer_messages(folder)) == {"dev/S1/0", "dev/S1/2"}
    # without ../shared/data the script explains and stops instead of shipping other weights
    monkeypatch.setattr(script, "SUPPORT", tmp_path / "absent")
    monkeypatch.setattr(sys, "argv", ["train_shipped_model.py", "--check"])
    assert script.main() == 2
    assert "cannot be rebuilt" in capsys.readouterr().err
