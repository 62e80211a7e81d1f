"""The app's logic (mtl.apps.webapp) and the app itself under Streamlit's AppTest, on a real MLflow store filled by `mtl fine-tune`."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pytest

from mtl.apps.cli import main
from mtl.apps.webapp import (
    UNCERTAIN,
    apply_thresholds,
    embedding_table,
    entity_types,
    highlight_html,
    key_metrics,
    legend_html,
    markdown_text,
    model_description,
    model_uri,
    pca_2d,
    preselection,
    sentence_html,
    sentences_from_text,
    similarity_frame,
    words_html,
)

APP = Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py"
CLI_MODEL = "models/cli-tiny"  # what `mtl fine-tune --output_dir` writes in the test store
OLD_MODEL = "models/old-tiny"  # a model saved without data_source (as before it was recorded)
REGISTERED = "mtl-example"
EVIL = "<script>alert(1)</script> and <b>bold</b>"


def _answer(text="Apple rains in Paris", tags=("B-TECH", "O", "O", "B-WEATHER"), scores=(0.9, 0.99, 0.4, 0.6), label="Technology", score=0.55):
    words, cursor, out = text.split(), 0, []
    for word, tag, p in zip(words, tags, scores):
        start = text.index(word, cursor)
        cursor = start + len(word)
        out.append({"word": word, "start": start, "end": cursor, "tag": tag, "score": p, "truncated": False})
    return {
        "text": text, "sentence_label": label, "sentence_score": score,
        "sentence_probs": {"Technology": score, "Weather": 0.3, "Other": round(0.7 - score, 6)},
        "words": out, "entities": [],
    }


def test_highlight_marks_entities_and_escapes_the_rest():
    answer = {"text": "<b>Apple</b> in Paris", "entities": [{"type": "ORG", "text": "Apple", "start": 3, "end": 8, "score": 0.9}]}
    out = highlight_html(answer, ["ORG"])
    assert out.startswith("&lt;b&gt;<mark class=\"entity\" data-type=\"ORG\"")
    assert ">Apple<sub" in out and out.endswith("&lt;/b&gt; in Paris")


def test_model_strings_are_escaped_everywhere():
    # a hostile model: its label, tag and entity type carry markup and a quote that would end title="..."
    bad_type = 'X" onmouseover="alert(1)'
    answer = {
        "text": EVIL, "sentence_label": "<img src=x onerror=alert(1)>", "sentence_score": 0.9,
        "words": [{"word": "<script>alert(1)</script>", "start": 0, "end": 25, "tag": f"B-{bad_type}", "score": 0.9}],
        "entities": [{"type": bad_type, "text": EVIL[:25], "start": 0, "end": 25, "score": 0.9}],
    }
    for out in (sentence_html(answer, [bad_type]), words_html(answer, [bad_type]), legend_html([bad_type, "<i>"])):
        assert "<script>" not in out and "<img" not in out and "<b>" not in out and "<i>" not in out
        assert 'onmouseover="' not in out  # the quote was escaped, so no new attribute starts
    assert html.escape(EVIL) in sentence_html({**answer, "entities": []}, [])


def test_model_uri_and_sentence_split():
    assert model_uri("m", "@champion") == "models:/m@champion"
    assert model_uri("m", "3") == "models:/m/3"
    assert sentences_from_text(" a \n\n b\n") == ["a", "b"]


def test_markdown_text_keeps_model_strings_literal():
    out = markdown_text("<b>x</b> *y* [a](javascript:alert(1)) a_b")
    assert out == "\\<b\\>x\\</b\\> \\*y\\* \\[a\\](javascript:alert(1)) a\\_b"
    assert markdown_text("Technology / Weather / Other (generated example data)") == "Technology / Weather / Other (generated example data)"


def test_thresholds_make_labels_uncertain_and_words_O():
    answer = _answer()
    same = apply_thresholds(answer, 0.5, 0.5)
    assert same["sentence_label"] == "Technology" and [e["type"] for e in same["entities"]] == ["TECH", "WEATHER"]
    strict = apply_thresholds(answer, 0.6, 0.7)
    assert strict["sentence_label"] == UNCERTAIN
    assert [w["tag"] for w in strict["words"]] == ["B-TECH", "O", "O", "O"]
    assert [(e["type"], e["text"]) for e in strict["entities"]] == [("TECH", "Apple")]
    assert answer["words"][3]["tag"] == "B-WEATHER"  # the cached answer is not changed


def test_an_address_can_name_the_registered_model_to_open_with():
    registered = {"mtl-example": ["@champion", "@challenger", "2", "1"], "mtl-pipeline": ["@champion", "1"]}
    assert preselection("models:/mtl-example@challenger", registered) == {
        "source": "registered", "registered_name": "mtl-example", "registered_reference": "@challenger"
    }
    assert preselection("models:/mtl-pipeline/1", registered)["registered_reference"] == "1"
    for nothing in (None, "", "models:/mtl-example/9", "models:/nope@champion", "models:/mtl-example", "dir:/tmp"):
        assert preselection(nothing, registered) == {}, nothing


def test_only_fine_tuned_models_are_listed_as_fine_tuned(make_tiny_model, tmp_path):
    """The pipeline's own models/<source>/model are registered models, not `mtl fine-tune` outputs."""
    from mtl.apps.webapp import cli_choices

    for folder in ("models/real/model", "models/example/model", "models/mine", "outputs/models/fine_tuned"):
        make_tiny_model().save(tmp_path / folder)
    # outputs/models/fine_tuned: where the user guide's `python src/fine_tune.py` saves
    assert [c.label for c in cli_choices(None, tmp_path)] == ["models/mine", "outputs/models/fine_tuned"]


def test_model_description_from_config_and_for_old_models(make_tiny_model):
    from mtl.data.readers import CONLL_TAGS, SST2_LABELS

    old = make_tiny_model().config  # saved before data_source existed: inferred from its labels
    assert old.data_source == ""
    about = model_description(old)
    assert about["inferred"] and about["sentence_task"].startswith("Technology / Weather / Other")
    real = make_tiny_model(sentence_labels=SST2_LABELS, token_labels=CONLL_TAGS).config
    real.data_source = "real"
    about = model_description(real)
    assert not about["inferred"] and "SST-2" in about["sentence_task"] and "CoNLL-2003" in about["token_task"]
    assert about["entity_types"] == ["LOC", "MISC", "ORG", "PER"] == entity_types(list(CONLL_TAGS))


def test_old_saved_model_without_data_source_loads(make_tiny_model, tmp_path):
    from mtl.model.multitask import CONFIG, MultiTaskModel

    make_tiny_model().save(tmp_path)
    raw = json.loads((tmp_path / CONFIG).read_text())
    raw.pop("data_source")
    (tmp_path / CONFIG).write_text(json.dumps(raw))
    assert MultiTaskModel.load(tmp_path).config.data_source == ""


def test_key_metrics_name_each_score_by_data_set_split_and_role():
    metrics = {
        "sst2_dev_sentence_accuracy": 0.8463, "sst2_validation_sentence_accuracy": 0.8440, "val_sst2_dev_sentence_accuracy": 0.8,
        "conll2003_validation_entity_f1": 0.8643, "conll2003_validation_served_entity_f1": 0.8643, "val_conll2003_validation_entity_f1": 0.86,
        "conll2003_test_entity_f1": 0.8315, "val_entity_f1": 0.8643, "train_loss": 0.3,
    }
    assert key_metrics(metrics) == {
        "CoNLL validation F1 (chose)": 0.864, "CoNLL test F1 (held out)": 0.832,
        "SST-2 dev accuracy (chose)": 0.846, "SST-2 validation accuracy (held out)": 0.844,
    }
    assert key_metrics({"example_validation_entity_f1": 0.71234, "train_loss": 1.0}) == {"example validation F1 (chose)": 0.712}


def test_similarity_embeddings_and_projection():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(4, 16)).astype(np.float32)
    sentences = ["a", "b", "c", "d"]
    frame = similarity_frame(sentences, emb)
    assert len(frame) == 16 and frame.loc[0, "cosine"] == pytest.approx(1.0, abs=1e-3)
    table = embedding_table(sentences, emb, dims=5)
    assert list(table.columns) == ["d0", "d1", "d2", "d3", "d4", "norm"]
    assert table["norm"].iloc[0] == pytest.approx(float(np.linalg.norm(emb[0])), abs=1e-3)
    assert pca_2d(sentences, emb).shape == (4, 3)
    with pytest.raises(ValueError, match="at least 3"):
        pca_2d(sentences[:2], emb[:2])


# --------------------------------------------------------------------------------------------- the app


@pytest.fixture(scope="module")
def store(tmp_path_factory, tiny_backbone, make_tiny_model):
    """A project folder with an MLflow store: two `mtl fine-tune --register` runs (tiny backbone) and one older model dir."""
    from mlflow.tracking import MlflowClient

    root = tmp_path_factory.mktemp("app-store")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root}/mlruns/mlflow.db")
        for run_name in ("first", "second"):
            main(["fine-tune", "--model_name", str(tiny_backbone), "--n", "60", "--num_epochs", "1", "--batch_size", "16",
                  "--max_length", "48", "--output_dir", CLI_MODEL, "--register", REGISTERED, "--force", "--run_name", run_name])
        MlflowClient().set_registered_model_alias(REGISTERED, "champion", "1")
    make_tiny_model().save(root / OLD_MODEL)
    return root


@pytest.fixture
def app(store, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("MTL_ROOT", str(store))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store}/mlruns/mlflow.db")
    at = AppTest.from_file(str(APP), default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    return at


def _html(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def _ran_at(at) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Model ran at"))


def _charts(at) -> int:
    return len(at.get("vega_lite_chart"))


@pytest.mark.slow
def test_app_registered_model_says_what_its_labels_mean(app):
    at = app
    assert at.radio(key="source").options == ["Registered model", "Fine-tuned with mtl fine-tune", "Pre-trained backbone (embeddings only)"]
    assert at.selectbox(key="registered_name").value == REGISTERED
    assert at.selectbox(key="registered_reference").options[:1] == ["@champion"]
    sidebar = " ".join(c.value for c in at.sidebar.caption)
    assert "version 1" in sidebar and markdown_text("example validation accuracy (chose)") in sidebar
    assert markdown_text("example test F1 (held out)") in sidebar
    page = _html(at)
    assert "Technology / Weather / Other (generated example data)" in page and "TECH / WEATHER spans" in page
    assert page.count('<div class="answer">') == 4 and 'class="legend"' in page and 'class="word"' in page
    # one probability chart per sentence, the similarity heatmap and the PCA projection
    assert _charts(at) == 4 + 2
    assert at.dataframe[0].value.shape == (4, 9)  # 8 dims + norm


@pytest.mark.slow
def test_app_opens_the_model_its_address_names(store, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("MTL_ROOT", str(store))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store}/mlruns/mlflow.db")
    at = AppTest.from_file(str(APP), default_timeout=180)
    at.query_params["model"] = f"models:/{REGISTERED}/2"
    at.run()
    assert not at.exception, at.exception
    assert at.radio(key="source").value == "registered" and at.selectbox(key="registered_reference").value == "2"
    assert "version 2" in " ".join(c.value for c in at.sidebar.caption)


@pytest.mark.slow
def test_app_picks_up_a_moved_alias_without_restart(app, store):
    from mlflow.tracking import MlflowClient

    at = app
    assert "version 1" in " ".join(c.value for c in at.sidebar.caption)
    MlflowClient().set_registered_model_alias(REGISTERED, "champion", "2")
    at.run()
    assert "version 2" in " ".join(c.value for c in at.sidebar.caption)


@pytest.mark.slow
def test_app_pooling_changes_embeddings_and_says_the_head_keeps_its_own(app):
    at = app
    before = at.dataframe[0].value.copy()
    at.radio(key="pooling").set_value("max").run()
    assert not at.exception
    assert not np.allclose(before.to_numpy(), at.dataframe[0].value.to_numpy())
    assert any("trained on mean pooling and keeps using it" in c.value for c in at.caption)


@pytest.mark.slow
def test_app_thresholds_rerender_without_rerunning_the_model(app):
    at = app
    at.radio(key="source").set_value("cli").run()
    labels = at.selectbox(key="cli_model").options
    assert labels[0].startswith(f"{CLI_MODEL} (second, ")  # listed from MLflow after `mtl fine-tune --register`
    assert OLD_MODEL in labels  # listed from the models folder
    at.selectbox(key="cli_model").set_value(OLD_MODEL).run()
    assert "inferred from its labels" in _html(at)
    ran = _ran_at(at)
    at.slider(key="token_threshold").set_value(0.0).run()  # a random head's entities score low: keep them all
    loose = _html(at)
    assert 'data-tag="B-' in loose or 'data-tag="I-' in loose  # a random head tags some words
    at.slider(key="token_threshold").set_value(1.0).run()
    strict = _html(at)
    assert 'data-tag="B-' not in strict and 'data-tag="I-' not in strict and 'class="entity"' not in strict
    at.slider(key="sentence_threshold").set_value(1.0).run()
    assert _html(at).count(f'<b class="label uncertain">{UNCERTAIN}</b>') == 4
    assert _ran_at(at) == ran  # both thresholds re-rendered the cached answers


@pytest.mark.slow
def test_app_backbone_shows_embeddings_only_and_escapes_sentences(app):
    at = app
    at.radio(key="source").set_value("backbone").run()
    assert not at.exception
    assert any("untrained heads" in i.value for i in at.info)
    assert '<div class="answer">' not in _html(at) and _charts(at) == 2  # heatmap + projection, no labels
    at.radio(key="source").set_value("registered").run()
    at.slider(key="token_threshold").set_value(1.0)  # no entity marks: the sentence shows as one escaped string
    at.text_area(key="text").set_value(f"{EVIL}\nThe weather in Paris is terrible today").run()
    page = _html(at)
    assert "<script>" not in page and "<b>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;bold&lt;/b&gt;" in page



def test_a_one_task_model_is_described_answered_and_shown_by_its_task_only(make_tiny_model):
    """A source with sentence labels only (or word tags only) trains one head: the answer, the thresholds, the page's
    HTML and its description leave the other task out, so an untrained head's output never shows."""
    from mtl.inference.predict import predict_texts

    sentence_only = make_tiny_model(sentence_labels=["bug", "feature", "refund"], token_labels=[])
    sentence_only.config.data_source = "faq"
    [answer] = predict_texts(sentence_only, ["Zoom crashes on start"])
    assert set(answer) == {"text", "sentence_label", "sentence_score", "sentence_probs", "truncated_words", "truncated_start"}
    shown = apply_thresholds(answer, 0.99, 0.5)
    assert shown["sentence_label"] == "uncertain" and "words" not in shown
    assert words_html(shown, []) == "" and "uncertain" in sentence_html(shown, [])
    about = model_description(sentence_only.config)
    assert (about["sentence_task"], about["token_task"], about["entity_types"]) == ("bug / feature / refund (faq)", "", [])

    token_only = make_tiny_model(sentence_labels=[], token_labels=["O", "B-APP", "I-APP"])
    token_only.config.data_source = "apps"
    [answer] = predict_texts(token_only, ["Zoom crashes on start"], threshold=0.0)
    assert "sentence_label" not in answer and [w["word"] for w in answer["words"]] == ["Zoom", "crashes", "on", "start"]
    shown = apply_thresholds(answer, 0.5, 0.0)
    assert "sentence_label" not in shown and 'class="word"' in words_html(shown, ["APP"])
    assert "<b" not in sentence_html(shown, ["APP"])
    assert model_description(token_only.config)["token_task"] == "APP spans (apps)"


def test_mtl_predict_prints_a_one_task_models_task_only(make_tiny_model, capsys):
    from mtl.apps.cli import print_answers
    from mtl.inference.predict import predict_texts

    print_answers(predict_texts(make_tiny_model(sentence_labels=["bug", "refund"], token_labels=[]), ["Zoom crashes"]))
    out = capsys.readouterr().out
    assert "sentence:" in out and "words:" not in out and "entity:" not in out
