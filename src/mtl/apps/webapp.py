"""What the Streamlit app shows, as plain functions: which models can be picked, how they are run, how answers are drawn.

``app/streamlit_app.py`` is only the page layout around these. Predictions come from the library's one
code path (``mtl.inference.predict.predict_texts``); thresholds are applied afterwards, to the cached answers, so
moving a threshold never re-runs the model.

Every string that reaches HTML here (sentences, labels, tags, entity types) is escaped: model-provided
strings are data, never markup.
"""

from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from mtl.apps.examples import DEMO_SENTENCES, REAL_DEMO_SENTENCES
from mtl.config.paths import FINE_TUNED_DIR, pipeline_model_dirs
from mtl.registry.loading import load_registered
from mtl.registry.versions import resolve
from mtl.text.entities import keep_confident
from mtl.tracking.runs import CLI_EXPERIMENT, MODEL_DIR_TAG

ENTITY_COLOURS = ["#fde68a", "#bfdbfe", "#bbf7d0", "#fecaca", "#ddd6fe", "#fed7aa"]
SOURCE_TITLES = {
    "registered": "Registered model",
    "cli": "Fine-tuned with mtl fine-tune",
    "backbone": "Pre-trained backbone (embeddings only)",
}
UNCERTAIN = "uncertain"
EMBEDDING_DIMS = 8  # first dimensions shown in the embeddings table
# the same ready-made sentences as `mtl demo` and `mtl demo --real-data` print
EXAMPLES = {
    "Example domain: Technology / Weather / Other": DEMO_SENTENCES,
    "Real data: SST-2 reviews and CoNLL-2003 news": REAL_DEMO_SENTENCES,
}


# ---------------------------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class ModelChoice:
    """One model the sidebar offers: ``key`` is what ``load_source`` takes, ``label`` what the user reads."""

    kind: str
    key: str
    label: str
    details: dict = field(default_factory=dict, compare=False, hash=False)


def model_choices(client) -> dict[str, list[str]]:
    """For each registered model, its loadable references: aliases first (``@champion``), then versions (newest first)."""
    choices: dict[str, list[str]] = {}
    for model in client.search_registered_models():
        versions = sorted(client.search_model_versions(f"name='{model.name}'"), key=lambda v: -int(v.version))
        # the registered model carries the alias map; version search results leave aliases empty
        aliases = sorted((client.get_registered_model(model.name).aliases or {}).keys(), key=lambda a: (a != "champion", a))
        choices[model.name] = [f"@{a}" for a in aliases] + [str(v.version) for v in versions]
    return choices


def model_uri(name: str, reference: str) -> str:
    """``models:/name@alias`` or ``models:/name/version`` from a ``model_choices`` reference."""
    return f"models:/{name}{reference}" if reference.startswith("@") else f"models:/{name}/{reference}"


def run_date(start_time_ms: int | None) -> str:
    """An MLflow run's start time as ``YYYY-MM-DD HH:MM UTC``."""
    if not start_time_ms:
        return "unknown date"
    return datetime.fromtimestamp(start_time_ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


_FINAL_SCORE = re.compile(r"(?P<dataset>.+)_(?P<split>train|dev|validation|test)_(?P<metric>sentence_accuracy|entity_f1)")
_SCORE_TITLES = {"sentence_accuracy": "accuracy", "entity_f1": "F1"}


def key_metrics(metrics: dict[str, float]) -> dict[str, float]:
    """A run's final scores worth a glance, under plain names: each data set's sentence accuracy and entity F1 on its
    selection split ("SST-2 dev accuracy (chose)") and on its held-out splits ("CoNLL test F1 (held out)").

    Read from the scores evaluate and ``mtl fine-tune`` log, ``<dataset>_<split>_<metric>`` (the served F1, the
    per-epoch ``val_*`` and the runs table's headline names are the same figures again, left out).
    """
    from mtl.data.sources import DATASET_TITLES
    from mtl.data.splits import selection_split

    found: dict[str, dict[str, dict[str, float]]] = {}
    for key, value in metrics.items():
        match = None if key.startswith("val_") else _FINAL_SCORE.fullmatch(key)  # val_*: per epoch, not final
        if match and match["split"] != "train":
            found.setdefault(match["dataset"], {}).setdefault(match["split"], {})[match["metric"]] = float(value)
    shown: dict[str, float] = {}
    for dataset, splits in sorted(found.items()):
        chose = selection_split(splits)
        for split in sorted(splits, key=lambda s: s != chose):
            role = "chose" if split == chose else "held out"
            for metric, value in splits[split].items():
                shown[f"{DATASET_TITLES.get(dataset, dataset)} {split} {_SCORE_TITLES[metric]} ({role})"] = round(value, 3)
    return shown


def registered_choice(client, name: str, reference: str) -> ModelChoice:
    """The registered model version behind ``name`` + alias or version, with its run's date and key metrics."""
    version = resolve(name, reference)
    mv = client.get_model_version(name, version)
    details: dict = {"name": name, "reference": reference, "version": version, "run_id": mv.run_id}
    if mv.run_id:
        run = client.get_run(mv.run_id)
        details["run_date"] = run_date(run.info.start_time)
        details["metrics"] = key_metrics(run.data.metrics)
    label = f"{name} {reference}" if reference.startswith("@") else f"{name} version {version}"
    return ModelChoice("registered", f"models:/{name}/{version}", label, details)


def _is_model_dir(path: Path) -> bool:
    return (path / "config.json").is_file() and (path / "model.safetensors").is_file() and (path / "labels.json").is_file()


def cli_choices(client, root: str | Path) -> list[ModelChoice]:
    """Models fine-tuned with ``mtl fine-tune``: the runs of experiment ``mtl-cli`` whose saved model still
    exists (newest first), then any other saved model directory under ``<root>/models`` but the pipeline's own
    (``models/<source>/model``: those are registered, and listed as registered models), or under ``outputs/models``
    (where the user guide's ``fine_tune.py`` saves).

    Nothing here comes from a typed path: the app offers only what these two places list.
    """
    root = Path(root).resolve()
    choices: list[ModelChoice] = []
    seen: set[Path] = set()
    experiment = client.get_experiment_by_name(CLI_EXPERIMENT) if client is not None else None
    if experiment is not None:
        for run in client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=200):
            directory = run.data.tags.get(MODEL_DIR_TAG)
            if not directory or not _is_model_dir(Path(directory)) or Path(directory).resolve() in seen:
                continue
            path = Path(directory).resolve()
            seen.add(path)
            shown = path.relative_to(root) if path.is_relative_to(root) else path
            registered = run.data.tags.get("registered_model")
            details = {
                "path": str(path),
                "run_id": run.info.run_id,
                "run_name": run.info.run_name,
                "run_date": run_date(run.info.start_time),
                "metrics": key_metrics(run.data.metrics),
                **({"registered": registered} if registered else {}),
            }
            choices.append(ModelChoice("cli", f"dir:{path}", f"{shown} ({run.info.run_name}, {details['run_date']})", details))
    # the pipeline's own model directories (models/<source>/model, any source) are its registered models' copies
    seen.update(path.resolve() for path in pipeline_model_dirs(root))
    for models in (root / "models", root / FINE_TUNED_DIR.parent):
        for config in sorted(models.glob("**/config.json")) if models.is_dir() else ():
            path = config.parent.resolve()
            if path in seen or not _is_model_dir(path) or len(path.relative_to(models).parts) > 3:
                continue
            seen.add(path)
            choices.append(ModelChoice("cli", f"dir:{path}", str(path.relative_to(root)), {"path": str(path)}))
    return choices


def preselection(model: str | None, registered: dict[str, list[str]]) -> dict[str, str]:
    """The sidebar's choices for an address that names a model (``?model=models:/NAME@ALIAS`` or ``models:/NAME/VERSION``):
    the widget keys and values to start from, or {} when it names nothing the registry lists."""
    from mtl.registry.loading import registered_reference

    parsed = registered_reference(model) if model else None
    if parsed is None or parsed[1] not in registered.get(parsed[0], []):
        return {}
    return {"source": "registered", "registered_name": parsed[0], "registered_reference": parsed[1]}


def backbone_choices() -> list[ModelChoice]:
    """Pre-trained encoders installed locally (MiniLM; mpnet once ``make setup-mpnet`` ran)."""
    from mtl.model.backbones import installed_backbones

    return [
        ModelChoice("backbone", f"backbone:{name}", f"{name.split('/')[-1]} (embeddings only, heads untrained)", {"backbone": name})
        for name in installed_backbones()
    ]


# ---------------------------------------------------------------------------------------------- loading and running


@dataclass
class LoadedModel:
    """What ``load_source`` returns: a trained multi-task model, or (for a bare backbone) only its encoder."""

    key: str
    encoder: object  # mtl.model.encoder.SentenceEncoder
    model: object | None = None  # mtl.model.multitask.MultiTaskModel; None for a bare backbone

    @property
    def trained(self) -> bool:
        """True when the heads were trained (a multi-task model), False for a bare backbone."""
        return self.model is not None


def load_source(key: str) -> LoadedModel:
    """Load what a ``ModelChoice.key`` names: ``models:/name/version``, ``dir:/path`` or ``backbone:name``."""
    if key.startswith("models:/"):
        model = load_registered(key)
        return LoadedModel(key, model.encoder, model)
    if key.startswith("dir:"):
        from mtl.model.multitask import MultiTaskModel

        model = MultiTaskModel.load(key[len("dir:") :])
        return LoadedModel(key, model.encoder, model)
    if key.startswith("backbone:"):
        from mtl.model.encoder import SentenceEncoder

        return LoadedModel(key, SentenceEncoder.from_pretrained(key[len("backbone:") :]))
    raise ValueError(f"unknown model key {key!r}: expected models:/NAME/VERSION, dir:PATH or backbone:NAME")


def analyse(loaded: LoadedModel, sentences: list[str], pooling: str) -> dict:
    """Run the model once: both tasks' answers (trained models only) and the embeddings under ``pooling``.

    The result is what the app caches; ``computed_at`` shows when the model last ran.
    """
    from mtl.inference.predict import embed_texts, predict_texts

    started = time.time()
    answers = predict_texts(loaded.model, sentences) if loaded.trained else None
    embeddings = embed_texts(loaded.encoder, sentences, pooling=pooling)
    return {"answers": answers, "embeddings": embeddings, "pooling": pooling, "computed_at": started, "seconds": time.time() - started}


def apply_thresholds(answer: dict, sentence_threshold: float, entity_threshold: float) -> dict:
    """A copy of ``answer`` with the thresholds applied.

    A sentence label whose probability is below ``sentence_threshold`` becomes ``uncertain``; an entity whose
    score is below ``entity_threshold`` is dropped whole and its words become ``O``, as the served model's
    ``threshold`` param and ``mtl predict --threshold`` do (``mtl.text.entities.keep_confident``).
    """
    out = dict(answer)
    # a one-task model's answer has one task's keys only (mtl.inference.predict): each threshold applies where it can
    if "sentence_label" in answer:
        out["sentence_label"] = answer["sentence_label"] if answer["sentence_score"] >= sentence_threshold else UNCERTAIN
    if "words" in answer:
        words = answer["words"]
        tags, entities = keep_confident(
            answer["text"], [w["tag"] for w in words], [(w["start"], w["end"]) for w in words], [w["score"] for w in words], entity_threshold
        )
        out["words"] = [{**w, "tag": tag} for w, tag in zip(words, tags)]
        out["entities"] = [e.as_dict() for e in entities]
    return out


# ---------------------------------------------------------------------------------------------- what a model is for


def model_description(config) -> dict:
    """What a trained model's labels mean, from its saved config: task and data set of each head, pooling, backbone."""
    from mtl.data.sources import task_descriptions

    sentence, token, inferred = task_descriptions(config.data_source, config.sentence_labels, config.token_labels)
    return {
        "sentence_task": sentence,
        "token_task": token,
        "inferred": inferred,
        "sentence_labels": list(config.sentence_labels),
        "entity_types": entity_types(config.token_labels),
        "pooling": config.pooling,
        "backbone": config.backbone,
    }


def entity_types(token_labels: list[str]) -> list[str]:
    """The entity types of an IOB2 tag set, sorted (``B-ORG``, ``I-ORG`` → ``ORG``)."""
    return sorted({tag.partition("-")[2] for tag in token_labels if tag[:2] in ("B-", "I-")})


# ---------------------------------------------------------------------------------------------- drawing


def entity_colour(kind: str, kinds: list[str]) -> str:
    """A stable background colour per entity type (B- and I- words of a type share it)."""
    return ENTITY_COLOURS[sorted(kinds).index(kind) % len(ENTITY_COLOURS)] if kind in kinds else ENTITY_COLOURS[0]


_MARKDOWN_SPECIAL = set("\\`*_[]<>#|~$")


def markdown_text(value: object) -> str:
    """``value`` as literal text inside Streamlit markdown: markup characters (``*_[]<>`` ...) are backslash-escaped."""
    return "".join(f"\\{c}" if c in _MARKDOWN_SPECIAL else c for c in str(value))


def _attr(value: object) -> str:
    """``value`` escaped for a double-quoted HTML attribute."""
    return html.escape(str(value), quote=True)


def highlight_html(answer: dict, kinds: list[str]) -> str:
    """The sentence as HTML with each entity marked (type and score shown and on hover), everything else escaped."""
    text = answer["text"]
    parts, cursor = [], 0
    for entity in answer.get("entities", ()):
        parts.append(html.escape(text[cursor : entity["start"]]))
        colour = entity_colour(entity["type"], kinds)
        kind = html.escape(entity["type"])
        parts.append(
            f'<mark class="entity" data-type="{_attr(entity["type"])}" title="{_attr(entity["type"])} {entity["score"]:.2f}" '
            f'style="background:{colour};padding:1px 4px;border-radius:4px">{html.escape(text[entity["start"]:entity["end"]])}'
            f'<sub style="font-size:0.7em;margin-left:3px;font-weight:600">{kind} {entity["score"]:.2f}</sub></mark>'
        )
        cursor = entity["end"]
    parts.append(html.escape(text[cursor:]))
    return "".join(parts)


def sentence_html(answer: dict, kinds: list[str]) -> str:
    """One answer's headline: its (escaped) sentence label and score, then the sentence with entities marked (a
    token-only model's answer: the sentence alone)."""
    if "sentence_label" not in answer:
        return f'<div class="answer">{highlight_html(answer, kinds)}</div>'
    label = html.escape(answer["sentence_label"])
    uncertain = " uncertain" if answer["sentence_label"] == UNCERTAIN else ""
    return (
        f'<div class="answer"><b class="label{uncertain}">{label}</b> ({answer["sentence_score"]:.2f}) &nbsp; '
        f"{highlight_html(answer, kinds)}</div>"
    )


def words_html(answer: dict, kinds: list[str]) -> str:
    """Every word as a chip coloured by its tag's type (``O`` uncoloured), with the tag under it ("" for a model
    without the token task)."""
    if "words" not in answer:
        return ""
    chips = []
    for word in answer["words"]:
        kind = word["tag"].partition("-")[2]
        colour = entity_colour(kind, kinds) if kind else "#f3f4f6"
        chips.append(
            f'<span class="word" data-tag="{_attr(word["tag"])}" title="{_attr(word["tag"])} {word["score"]:.2f}" '
            f'style="display:inline-block;margin:2px;padding:1px 5px;border-radius:4px;background:{colour};text-align:center">'
            f'{html.escape(word["word"])}<br><small style="opacity:0.7">{html.escape(word["tag"])}</small></span>'
        )
    return f'<div class="words">{"".join(chips)}</div>'


def legend_html(kinds: list[str]) -> str:
    """The colour of each entity type (B- and I- alike) and of ``O``."""
    items = [
        f'<span class="legend-item" data-type="{_attr(k)}" style="background:{entity_colour(k, kinds)};padding:1px 8px;'
        f'border-radius:4px;margin-right:6px">{html.escape(k)}</span>'
        for k in kinds
    ]
    items.append('<span class="legend-item" data-type="O" style="background:#f3f4f6;padding:1px 8px;border-radius:4px">O</span>')
    return f'<div class="legend">Tags (B- and I- share a colour): {"".join(items)}</div>'


def probability_frame(answer: dict) -> pd.DataFrame:
    """All class probabilities of one sentence, one row per class, in the model's label order."""
    return pd.DataFrame({"label": list(answer["sentence_probs"]), "probability": list(answer["sentence_probs"].values())})


def short_names(sentences: list[str], width: int = 32) -> list[str]:
    """Unique short row names for charts: ``1. first words…``."""
    return [f"{i + 1}. {s[:width]}{'…' if len(s) > width else ''}" for i, s in enumerate(sentences)]


def similarity_frame(sentences: list[str], embeddings: np.ndarray) -> pd.DataFrame:
    """The cosine similarity matrix in long form, as a heatmap wants it: row ``a`` and column ``b`` by short name,
    ``column`` by number alone (the heatmap's top axis: numbers stay level and legible at any count), ``cosine``."""
    from mtl.model.encoder import cosine_similarity

    names = short_names(sentences)
    matrix = cosine_similarity(embeddings, embeddings)
    return pd.DataFrame(
        [
            {"a": names[i], "b": names[j], "column": str(j + 1), "cosine": round(float(matrix[i, j]), 3)}
            for i in range(len(names))
            for j in range(len(names))
        ]
    )


def embedding_table(sentences: list[str], embeddings: np.ndarray, dims: int = EMBEDDING_DIMS) -> pd.DataFrame:
    """The first ``dims`` dimensions of each embedding and its L2 norm."""
    shown = min(dims, embeddings.shape[1])
    table = pd.DataFrame(embeddings[:, :shown].round(4), columns=[f"d{i}" for i in range(shown)], index=short_names(sentences))
    table["norm"] = np.linalg.norm(embeddings, axis=1).round(4)
    return table


def pca_2d(sentences: list[str], embeddings: np.ndarray) -> pd.DataFrame:
    """A 2-D PCA projection of the embeddings (needs three or more sentences for two meaningful axes)."""
    from sklearn.decomposition import PCA

    if len(sentences) < 3:
        raise ValueError(f"a 2-D projection needs at least 3 sentences, got {len(sentences)}")
    points = PCA(n_components=2, random_state=0).fit_transform(embeddings)
    return pd.DataFrame({"sentence": short_names(sentences), "pc1": points[:, 0].round(4), "pc2": points[:, 1].round(4)})


def sentences_from_text(text: str) -> list[str]:
    """One sentence per non-empty line."""
    return [line.strip() for line in text.splitlines() if line.strip()]
