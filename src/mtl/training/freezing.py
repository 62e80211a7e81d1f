"""Freeze all or part of the shared encoder (``train.freeze``), and report what is trainable."""

from __future__ import annotations

from torch import nn

from mtl.config.options import frozen_layers
from mtl.model.multitask import MultiTaskModel


def transformer_layers(backbone: nn.Module) -> nn.ModuleList:
    """The backbone's stack of transformer blocks (the ModuleList as long as ``num_hidden_layers``)."""
    n = getattr(backbone.config, "num_hidden_layers", None)
    for module in backbone.modules():
        if isinstance(module, nn.ModuleList) and len(module) == n:
            return module
    raise ValueError(f"cannot find the {n} transformer layers of {type(backbone).__name__}")


def embeddings_module(backbone: nn.Module) -> nn.Module:
    """The backbone's embedding block (word + position embeddings), or the input embeddings alone."""
    return getattr(backbone, "embeddings", None) or backbone.get_input_embeddings()


def apply_freeze(backbone: nn.Module, spec: str) -> None:
    """Set ``requires_grad`` on the backbone: ``layers:N`` freezes the embeddings and the first N layers."""
    n = frozen_layers(spec)  # also checks the spec
    for p in backbone.parameters():
        p.requires_grad = True
    if spec == "none":
        return
    if spec == "encoder":
        for p in backbone.parameters():
            p.requires_grad = False
        return
    for p in embeddings_module(backbone).parameters():
        p.requires_grad = False
    if n is not None:
        layers = transformer_layers(backbone)
        if n > len(layers):
            raise ValueError(f"freeze layers:{n} asks for more layers than the backbone has ({len(layers)})")
        for layer in layers[:n]:
            for p in layer.parameters():
                p.requires_grad = False


def parameter_report(components: dict[str, nn.Module]) -> dict[str, dict[str, int]]:
    """Trainable and frozen parameter counts for each named component."""
    report = {}
    for name, module in components.items():
        trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
        total = sum(p.numel() for p in module.parameters())
        report[name] = {"trainable": trainable, "frozen": total - trainable}
    return report


def format_report(report: dict[str, dict[str, int]]) -> str:
    """A small aligned table of a ``parameter_report``."""
    lines = [f"{'component':<14}{'trainable':>12}{'frozen':>12}"]
    for name, counts in report.items():
        lines.append(f"{name:<14}{counts['trainable']:>12,}{counts['frozen']:>12,}")
    return "\n".join(lines)


def model_parameters(model: MultiTaskModel) -> dict[str, dict[str, int]]:
    """Trainable and frozen parameter counts of a multi-task model: embeddings, encoder layers, each head."""
    backbone = model.encoder.backbone
    components = {
        "embeddings": embeddings_module(backbone),
        "layers": transformer_layers(backbone),
        "sentence_head": model.sentence_head,
        "token_head": model.token_head,
    }
    if model.case_embedding is not None:
        components["case_embedding"] = model.case_embedding
    return parameter_report(components)


def freeze(model: MultiTaskModel, spec: str) -> dict[str, dict[str, int]]:
    """Freeze part of ``model``'s encoder by ``spec`` (``mtl.config.options.FREEZE_MODES``); returns ``model_parameters``."""
    apply_freeze(model.encoder.backbone, spec)
    return model_parameters(model)
