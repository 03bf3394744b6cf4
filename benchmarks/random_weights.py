"""Random weights for timing the networks at full size without the authors' checkpoints."""

from __future__ import annotations

import torch


def fill_random(module: torch.nn.Module, device: torch.device | str, generator: torch.Generator) -> None:
    """Materialise a meta-device module on ``device`` with small random weights (N(0, 0.02))."""
    module.to_empty(device=device)
    with torch.no_grad():
        for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
            if name.endswith("running_var"):
                tensor.fill_(1.0)  # a negative variance would turn BatchNorm into NaNs
            elif tensor.is_floating_point():
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.02)
            else:
                tensor.zero_()  # to_empty leaves integer buffers holding whatever memory held
