"""Try any registered model: sentence labels, entities with offsets, and sentence similarity.

Run: make app   (streamlit run app/streamlit_app.py)
"""

import os
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import streamlit as st
from mlflow.tracking import MlflowClient

from mtl.encoder import cosine_similarity
from mtl.tracking import configure
from mtl.webapp import highlight_html, model_choices, model_uri, sentences_from_text

EXAMPLES = "Apple unveiled a new iPhone in California\nThe weather in Paris is terrible today\na gorgeous , witty , seductive movie ."

st.set_page_config(page_title="mtl-pipeline", layout="wide")
st.title("Multi-task sentence transformer")

uri = configure()
choices = model_choices(MlflowClient())
if not choices:
    st.error(f"No registered model in {uri}. Run `make run` first.")
    st.stop()
name = st.sidebar.selectbox("Registered model", sorted(choices))
reference = st.sidebar.selectbox("Alias or version", choices[name])
st.sidebar.caption(f"tracking: {uri}")


@st.cache_resource(show_spinner="Loading the model…")
def load(uri: str):
    """One loaded model per URI for the whole app session."""
    return mlflow.pyfunc.load_model(uri)


model = load(model_uri(name, reference))
text = st.text_area("Sentences, one per line", EXAMPLES, height=140)
sentences = sentences_from_text(text)
if st.button("Analyse", type="primary") and sentences:
    answers = model.predict(sentences, params={"return_embeddings": True})
    kinds = sorted({e["type"] for a in answers for e in a["entities"]})
    for answer in answers:
        st.markdown(
            f'<div class="answer"><b class="label">{answer["sentence_label"]}</b> ({answer["sentence_score"]:.2f}) &nbsp; '
            f'{highlight_html(answer, kinds)}</div>',
            unsafe_allow_html=True,
        )
        with st.expander("words"):
            st.dataframe(pd.DataFrame(answer["words"]), hide_index=True)
    if len(answers) > 1:
        st.subheader("Similarity (cosine)")
        embeddings = np.array([a["embedding"] for a in answers])
        labels = [s[:40] for s in sentences]
        st.dataframe(pd.DataFrame(cosine_similarity(embeddings, embeddings), index=labels, columns=labels).round(3))
