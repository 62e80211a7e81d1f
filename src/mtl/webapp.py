"""What the Streamlit app shows, as plain functions: which models can be picked, and how an answer is drawn.

``app/streamlit_app.py`` is only the page layout around these.
"""

from __future__ import annotations

import html

from mlflow.tracking import MlflowClient

ENTITY_COLOURS = ["#fde68a", "#bfdbfe", "#bbf7d0", "#fecaca", "#ddd6fe", "#fed7aa"]


def model_choices(client: MlflowClient) -> dict[str, list[str]]:
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


def entity_colour(kind: str, kinds: list[str]) -> str:
    """A stable background colour per entity type."""
    return ENTITY_COLOURS[sorted(kinds).index(kind) % len(ENTITY_COLOURS)] if kind in kinds else ENTITY_COLOURS[0]


def highlight_html(answer: dict, kinds: list[str]) -> str:
    """The sentence as HTML with each entity marked (type and score on hover), everything else escaped."""
    text = answer["text"]
    parts, cursor = [], 0
    for entity in answer["entities"]:
        parts.append(html.escape(text[cursor : entity["start"]]))
        colour = entity_colour(entity["type"], kinds)
        parts.append(
            f'<mark class="entity" data-type="{html.escape(entity["type"])}" title="{entity["type"]} {entity["score"]:.2f}" '
            f'style="background:{colour};padding:0 3px;border-radius:3px">{html.escape(text[entity["start"]:entity["end"]])}'
            f'<sub style="font-size:0.7em;margin-left:2px">{html.escape(entity["type"])}</sub></mark>'
        )
        cursor = entity["end"]
    parts.append(html.escape(text[cursor:]))
    return "".join(parts)


def sentences_from_text(text: str) -> list[str]:
    """One sentence per non-empty line."""
    return [line.strip() for line in text.splitlines() if line.strip()]
