"""Try any model: sentence labels with all class probabilities, coloured word tags, entities, similarity, embeddings.

Run: make app (or make run-frontend, ./run_streamlit.sh). Layout only: the logic is in ``mtl.apps.webapp``.
"""

import os
from datetime import datetime
from pathlib import Path

import altair as alt
import streamlit as st
from mlflow.tracking import MlflowClient

from mtl.apps.hints import HOW_TO_TRAIN, NO_TRAINED_MODEL
from mtl.apps.webapp import (
    EXAMPLES,
    SOURCE_TITLES,
    analyse,
    apply_thresholds,
    backbone_choices,
    cli_choices,
    embedding_table,
    entity_types,
    legend_html,
    load_source,
    markdown_text as md,
    model_choices,
    model_description,
    pca_2d,
    preselection,
    probability_frame,
    registered_choice,
    sentence_html,
    sentences_from_text,
    similarity_frame,
    words_html,
)
from mtl.config.options import POOLING_MODES
from mtl.tracking.store import configure

ROOT = Path(os.environ.get("MTL_ROOT", "."))
DEFAULT_TEXT = "\n".join(s for sentences in EXAMPLES.values() for s in sentences[:2])

st.set_page_config(page_title="mtl-pipeline", layout="wide")
st.title("Multi-task sentence transformer")

uri = configure(ROOT)
client = MlflowClient()


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def load(key: str, stamp: float):
    """One loaded model per key (a registered version, a directory as of its weights' mtime, or a backbone)."""
    return load_source(key)


@st.cache_data(show_spinner="Running the model…", max_entries=64)
def run(key: str, stamp: float, sentences: tuple[str, ...], pooling: str) -> dict:
    """The model's answers and embeddings, cached per model, sentences and pooling: thresholds never re-run it."""
    return analyse(load(key, stamp), list(sentences), pooling)


# ------------------------------------------------------------------ sidebar: the model configuration
side = st.sidebar
side.header("Model")
registered = model_choices(client)
# an address may name the model to open with: ?model=models:/mtl-example@champion (or models:/NAME/VERSION)
for key, value in preselection(st.query_params.get("model"), registered).items():
    st.session_state.setdefault(key, value)
cli = cli_choices(client, ROOT)
backbones = backbone_choices()
available = {"registered": registered, "cli": cli, "backbone": backbones}
kinds = [kind for kind, found in available.items() if found]
if not kinds:
    st.error(f"No model found: nothing registered in {uri}, no fine-tuned model in {ROOT / 'models'}, no local backbone.")
    st.stop()
kind = side.radio("Source", kinds, format_func=SOURCE_TITLES.get, key="source")
if kind == "registered":
    names = sorted(registered, key=lambda n: (n != "mtl-pipeline", n))
    name = side.selectbox("Registered model", names, key="registered_name")
    reference = side.selectbox("Alias or version", registered[name], key="registered_reference")
    # an alias is resolved on every run, so a moved @champion loads its new version without a restart
    choice = registered_choice(client, name, reference)
    d = choice.details
    side.caption(f"**{md(name)}** version {d['version']} · run {d.get('run_date', 'unknown date')}")
    if d.get("metrics"):
        side.caption(" · ".join(f"{md(k)} {v:.3f}" for k, v in d["metrics"].items()))
elif kind == "cli":
    labels = [c.label for c in cli]
    choice = cli[labels.index(side.selectbox("Fine-tuned model", labels, key="cli_model"))]
    d = choice.details
    if d.get("metrics"):
        side.caption(" · ".join(f"{md(k)} {v:.3f}" for k, v in d["metrics"].items()))
    if d.get("registered"):
        side.caption(f"registered as {md(d['registered'])}")
else:
    labels = [c.label for c in backbones]
    choice = backbones[labels.index(side.selectbox("Backbone", labels, key="backbone"))]
pooling = side.radio("Pooling (embeddings and similarity)", POOLING_MODES, horizontal=True, key="pooling")

stamp = 0.0
if choice.key.startswith("dir:"):
    stamp = (Path(choice.key[4:]) / "model.safetensors").stat().st_mtime
loaded = load(choice.key, stamp)

side.subheader("Confidence thresholds")
# a one-task model gets the slider of its task only (an untrained backbone answers neither task: both stay, as ever)
tasks = loaded.model.config.tasks if loaded.trained else ("sentence", "token")
sentence_threshold = token_threshold = 0.5
if "sentence" in tasks:
    sentence_threshold = side.slider("Sentence label: below it shows 'uncertain'", 0.0, 1.0, 0.5, 0.05, key="sentence_threshold")
if "token" in tasks:
    token_threshold = side.slider("Entity: below it the whole entity is dropped", 0.0, 1.0, 0.5, 0.05, key="token_threshold")
side.caption(f"tracking: {uri}")

# ------------------------------------------------------------------ what the model is for
if loaded.trained:
    about = model_description(loaded.model.config)
    inferred = " *(inferred from its labels: this model was saved before its data set was recorded)*" if about["inferred"] else ""
    # a one-task model (a source with sentence labels only, or word tags only) names the head it has
    heads = [f"**{md(choice.label)}**{inferred}"]
    if about["sentence_labels"]:
        heads.append(f"Sentence head: **{md(about['sentence_task'])}** · labels {md(' / '.join(about['sentence_labels']))}")
    if about["entity_types"]:
        heads.append(f"Token head: **{md(about['token_task'])}** · entity types {md(', '.join(about['entity_types']))}")
    if len(heads) == 2:
        heads.append("One task only: its data labels " + ("sentences" if about["sentence_labels"] else "words") + ".")
    st.markdown("  \n".join(heads), help="From the model's saved config.")
    if pooling != about["pooling"]:
        st.caption(
            f"The sentence head was trained on {md(about['pooling'])} pooling and keeps using it; "
            f"the {pooling} pooling chosen here changes the embeddings and similarity below."
        )
elif not registered and not cli:
    # a first visit before any training: say what the page lacks and how to get it, not only which backbone this is
    st.warning(
        f"**{NO_TRAINED_MODEL.capitalize()}.** Only pre-trained backbones are here ({md(choice.label)}): they give "
        f"embeddings and similarity, but both task heads need training first. {HOW_TO_TRAIN.capitalize()}, then "
        "reload this page: the model appears under Source.",
        icon=":material/school:",
    )
else:
    st.info(f"**{md(choice.label)}**: a pre-trained encoder with untrained heads, so it shows embeddings and similarity only.")

# ------------------------------------------------------------------ input
st.write("Ready-made examples:")
columns = st.columns(len(EXAMPLES))
for column, (title, sentences) in zip(columns, EXAMPLES.items()):
    if column.button(title, key=f"example-{title}"):
        st.session_state["text"] = "\n".join(sentences)
if "text" not in st.session_state:
    st.session_state["text"] = DEFAULT_TEXT
text = st.text_area("Sentences, one per line", key="text", height=150)
sentences = sentences_from_text(text)
if not sentences:
    st.warning("Type at least one sentence.")
    st.stop()

result = run(choice.key, stamp, tuple(sentences), pooling)
st.caption(
    f"Model ran at {datetime.fromtimestamp(result['computed_at']).strftime('%H:%M:%S.%f')[:-3]} "
    f"({result['seconds']:.2f} s); thresholds apply to these answers without running it again."
)

# ------------------------------------------------------------------ both tasks
if result["answers"] is not None:
    kinds_of_entity = entity_types(loaded.model.config.token_labels)
    st.subheader({("sentence", "token"): "Sentence labels and word tags", ("sentence",): "Sentence labels", ("token",): "Word tags"}[tasks])
    if "token" in tasks:
        st.markdown(legend_html(kinds_of_entity), unsafe_allow_html=True)
    for i, raw in enumerate(result["answers"]):
        answer = apply_thresholds(raw, sentence_threshold, token_threshold)
        left, right = st.columns([5, 2])
        left.markdown(sentence_html(answer, kinds_of_entity), unsafe_allow_html=True)
        left.markdown(words_html(answer, kinds_of_entity), unsafe_allow_html=True)
        if "sentence_probs" not in answer:
            continue
        bars = alt.Chart(probability_frame(answer)).encode(
            x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=None),
            y=alt.Y("label:N", sort=None, title=None, axis=alt.Axis(labelLimit=120, labelOverlap=False)),
            tooltip=["label", alt.Tooltip("probability:Q", format=".3f")],
        )
        chart = (bars.mark_bar(color="#60a5fa") + bars.mark_text(align="left", dx=3).encode(text=alt.Text("probability:Q", format=".2f"))).properties(
            height={"step": 22}
        )
        right.altair_chart(chart, width="stretch")

# ------------------------------------------------------------------ similarity and embeddings
embeddings = result["embeddings"]
if len(sentences) > 1:
    st.subheader(f"Similarity (cosine, {result['pooling']} pooling)")
    frame = similarity_frame(sentences, embeddings)
    # rows named, columns numbered (level labels that never crowd), one fixed-height band per sentence, so 2 to 10
    # sentences all read: with rotated names on both axes the labels took the height and two rows collapsed
    base = alt.Chart(frame).encode(
        x=alt.X("column:N", sort=None, title=None, axis=alt.Axis(orient="top", labelAngle=0)),
        y=alt.Y("a:N", sort=None, title=None, axis=alt.Axis(labelLimit=280, labelOverlap=False)),
        tooltip=[alt.Tooltip("a:N", title="row"), alt.Tooltip("b:N", title="column"), alt.Tooltip("cosine:Q", format=".3f")],
    )
    heatmap = base.mark_rect().encode(color=alt.Color("cosine:Q", scale=alt.Scale(scheme="blues", domain=[-0.2, 1]))) + base.mark_text(
        fontSize=12
    ).encode(text=alt.Text("cosine:Q", format=".2f"), color=alt.condition("datum.cosine > 0.6", alt.value("white"), alt.value("black")))
    st.altair_chart(heatmap.properties(height=alt.Step(34)), width="stretch")

st.subheader(f"Embeddings ({embeddings.shape[1]} dimensions, {result['pooling']} pooling)")
left, right = st.columns([3, 2])
left.dataframe(embedding_table(sentences, embeddings))
if len(sentences) >= 3:
    points = pca_2d(sentences, embeddings)
    scatter = alt.Chart(points).encode(x="pc1:Q", y="pc2:Q", tooltip=["sentence"])
    right.altair_chart((scatter.mark_circle(size=90) + scatter.mark_text(align="left", dx=7, fontSize=11).encode(text="sentence")).properties(
        title="2-D projection (PCA)", height=300), width="stretch")
else:
    right.caption("A 2-D projection (PCA) appears with three or more sentences.")
