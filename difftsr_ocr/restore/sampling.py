"""The joint IDM/TDM denoising loop of DiffTSR, on batches, with every random draw injectable.

The networks and the samplers know nothing of each other; this loop is where they meet,
exactly in the order of the official ``DiffTSR_sample``: per step, MoM reads the current
latent and transcript, the IDM U-Net predicts the noise under MoM's text condition, the
latent sampler (DDIM, as upstream, or a few-step multistep solver) steps the latent, and
(when text refinement is on) the TDM steps the transcript under MoM's image condition.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol

import torch

from difftsr_ocr.models.config import DiffTSRConfig
from difftsr_ocr.models.difftsr import DiffTSRNetworks
from difftsr_ocr.samplers import LATENT_SAMPLERS
from difftsr_ocr.samplers.base import LatentSampler
from difftsr_ocr.samplers.ddim import DDIMConfig, DDIMSampler
from difftsr_ocr.samplers.multinomial import MultinomialConfig, MultinomialSampler
from difftsr_ocr.samplers.multistep import MultistepConfig, MultistepSolver

__all__ = [
    "LoopNetworks",
    "NoiseSource",
    "SamplingConfig",
    "SamplingResult",
    "SeededNoise",
    "StepState",
    "build_latent_sampler",
    "joint_denoise",
]


@dataclasses.dataclass(frozen=True)
class SamplingConfig:
    # The official defaults: 200 DDIM steps, eta 0.2, TDM never run (general=True).
    steps: int = 200
    # DDIM only; the multistep solvers are deterministic.
    eta: float = 0.2
    refine_text: bool = False
    # "ddim" (official), or a multistep ODE solver: "dpmpp_2m", "unipc" (20 steps suffice).
    sampler: str = "ddim"

    def __post_init__(self) -> None:
        if self.sampler not in LATENT_SAMPLERS:
            raise ValueError(f"sampler must be one of {', '.join(LATENT_SAMPLERS)}, not {self.sampler!r}")
        if self.refine_text and self.sampler != "ddim":
            # The TDM is stepped by DDIM index, in lockstep with DDIM; no coupling with an
            # ODE solver's grid has been shown to be sound.
            raise ValueError(f"refine_text needs the ddim sampler, not {self.sampler!r}")


def build_latent_sampler(config: SamplingConfig) -> LatentSampler:
    """The sampler that steps the IDM latent under ``config``."""
    if config.sampler == "ddim":
        return DDIMSampler(DDIMConfig(num_steps=config.steps, eta=config.eta))
    return MultistepSolver(MultistepConfig(method=config.sampler, num_steps=config.steps))


class NoiseSource(Protocol):
    """Where the loop's randomness comes from, so tests can inject the official draws."""

    def initial(self, shape: torch.Size, device: torch.device) -> torch.Tensor: ...

    def step(self, position: int, shape: torch.Size, device: torch.device) -> torch.Tensor: ...

    def uniforms(self, position: int, shape: torch.Size, device: torch.device) -> torch.Tensor: ...


class SeededNoise:
    """One generator per crop: a crop's draws do not depend on its batch or position in it."""

    def __init__(self, seeds: list[int], device: torch.device | str) -> None:
        self._device = torch.device(device)
        self._generators = [torch.Generator(device=self._device).manual_seed(seed) for seed in seeds]

    def _draw(self, kind: Callable[..., torch.Tensor], shape: torch.Size, device: torch.device) -> torch.Tensor:
        if shape[0] != len(self._generators):
            raise ValueError(f"noise for {shape[0]} crops requested from {len(self._generators)} generators")
        return torch.cat([kind((1, *shape[1:]), generator=g, device=device) for g in self._generators])

    def normal(self, shape: torch.Size, device: torch.device | None = None) -> torch.Tensor:
        return self._draw(torch.randn, shape, device or self._device)

    def initial(self, shape: torch.Size, device: torch.device) -> torch.Tensor:
        return self._draw(torch.randn, shape, device)

    def step(self, position: int, shape: torch.Size, device: torch.device) -> torch.Tensor:
        return self._draw(torch.randn, shape, device)

    def uniforms(self, position: int, shape: torch.Size, device: torch.device) -> torch.Tensor:
        return self._draw(torch.rand, shape, device)


@dataclasses.dataclass(frozen=True)
class SamplingResult:
    latents: torch.Tensor  # z_0, unscaled, [B, 3, h, w]
    tokens: torch.Tensor  # transcript ids after the loop, [B, L]
    token_log_probs: torch.Tensor | None  # TDM's last x0 estimate [B, K, L] (refine_text only)


@dataclasses.dataclass(frozen=True)
class StepState:
    """Handed to ``on_step`` after each step; tensors stay on the device (no sync)."""

    done: int
    total: int
    latents: torch.Tensor
    tokens: torch.Tensor


StepCallback = Callable[[StepState], None]


class LoopNetworks(Protocol):
    """What the loop calls: :class:`DiffTSRNetworks`, or a view of it with compiled modules."""

    @property
    def config(self) -> DiffTSRConfig: ...

    @property
    def mom(self) -> Callable[..., tuple[torch.Tensor, torch.Tensor]]: ...

    @property
    def idm_unet(self) -> Callable[..., torch.Tensor]: ...

    @property
    def tdm(self) -> Callable[..., torch.Tensor]: ...


def joint_denoise(
    networks: LoopNetworks | DiffTSRNetworks,
    z_lr: torch.Tensor,
    tokens: torch.Tensor,
    config: SamplingConfig,
    noise: NoiseSource,
    on_step: StepCallback | None = None,
) -> SamplingResult:
    """Run the DiffTSR loop from the LR latent ``z_lr`` and the text prior ``tokens``.

    No host synchronisation happens inside the loop; ``on_step`` sees the state after each
    step and must not synchronise either if it wants to keep the GPU busy.
    """
    latent_sampler = build_latent_sampler(config)
    text_sampler = MultinomialSampler(
        MultinomialConfig(num_classes=networks.config.num_classes, num_steps=latent_sampler.num_steps)
    )
    batch, device = z_lr.shape[0], z_lr.device
    context_width = networks.config.transformer_dim

    z_t = latent_sampler.add_noise(z_lr, noise.initial(z_lr.shape, device))
    token_log_probs = None
    for position in range(latent_sampler.num_steps):
        timesteps = latent_sampler.model_timesteps(position, batch, device)
        image_condition, text_condition = networks.mom(tokens, z_lr, z_t, timesteps)
        eps = networks.idm_unet(torch.cat([z_t, z_lr], dim=1), timesteps, text_condition)
        step_noise = noise.step(position, z_t.shape, device) if latent_sampler.is_stochastic else None
        z_t = latent_sampler.step(eps, position, z_t, step_noise).prev_sample
        if config.refine_text:
            t = text_sampler.model_timesteps(position, batch, device)
            # Upstream views the image condition [B, 3, H, W] as a sequence of width D (C-order).
            logits = networks.tdm(tokens, t, image_condition.reshape(batch, -1, context_width))
            uniforms = noise.uniforms(position, logits.shape, device)
            text_step = text_sampler.step(logits, position, tokens, uniforms)
            tokens, token_log_probs = text_step.prev_sample, text_step.pred_original
        if on_step is not None:
            on_step(StepState(done=position + 1, total=latent_sampler.num_steps, latents=z_t, tokens=tokens))
    return SamplingResult(latents=z_t, tokens=tokens, token_log_probs=token_log_probs)
