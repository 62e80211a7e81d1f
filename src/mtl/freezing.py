"""Freeze all or part of the shared encoder, and report what is trainable."""

from __future__ import annotations

import re

from torch import nn

FREEZE_MODES: tuple[str, ...] = ("none", "embeddings", "layers:N", "encoder")
_LAYERS = re.compile(r"^layers:(\d+)$")


def check_freeze(spec: str) -> str:
    """Return ``spec`` if valid (``none``, ``embeddings``, ``layers:N`` or ``encoder``), else raise ``ValueError``."""
    if spec in ("none", "embeddings", "encoder") or _LAYERS.match(spec):
        return spec
    raise ValueError(f"unknown freeze {spec!r}: choose one of {', '.join(FREEZE_MODES)} (N a whole number, e.g. layers:3)")


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
    check_freeze(spec)
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
    match = _LAYERS.match(spec)
    if match:
        layers = transformer_layers(backbone)
        n = int(match.group(1))
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
