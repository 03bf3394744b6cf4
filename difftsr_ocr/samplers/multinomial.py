"""The TDM's multinomial diffusion: posterior and Gumbel-argmax step, exact to the official code.

Everything works on log-probabilities shaped ``[B, num_classes, L]`` (class axis 1), as
upstream does; token ids are ``[B, L]`` int64.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from difftsr_ocr.samplers.base import Sampler, StepOutput
from difftsr_ocr.samplers.schedules import MultinomialSchedule, cosine_multinomial_schedule

__all__ = [
    "MultinomialConfig",
    "MultinomialSampler",
    "gumbel_argmax",
    "tokens_to_log_onehot",
]

# Upstream's index_to_log_onehot takes log(clamp(onehot, 1e-30)): "impossible" is -69.08,
# not -inf, and that finite value flows into every posterior.
_LOG_FLOOR = 1e-30


@dataclasses.dataclass(frozen=True)
class MultinomialConfig:
    num_classes: int = 6736
    num_train_steps: int = 1000
    # Loop positions: the TDM is stepped alongside DDIM, one step per DDIM step.
    num_steps: int = 200


def tokens_to_log_onehot(tokens: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Token ids [B, L] -> log one-hot [B, K, L] with upstream's finite floor."""
    onehot = torch.nn.functional.one_hot(tokens, num_classes).permute(0, 2, 1)
    return torch.log(onehot.float().clamp(min=_LOG_FLOOR))


def gumbel_argmax(log_probs: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
    """Sample class ids over axis 1 with the Gumbel-max trick, given U(0,1) draws."""
    gumbel = -torch.log(-torch.log(uniforms + _LOG_FLOOR) + _LOG_FLOOR)
    return (gumbel + log_probs).argmax(dim=1)


def _log_add_exp(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # Upstream's formulation (not torch.logaddexp): keeps its rounding.
    top = torch.maximum(a, b)
    return top + torch.log(torch.exp(a - top) + torch.exp(b - top))


def _gather(values: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return values.gather(-1, t).reshape(t.shape[0], 1, 1)


class MultinomialSampler(Sampler):
    """Reverse steps of categorical diffusion with x0-parameterised logits.

    The timestep at loop position ``i`` is the DDIM *index* ``num_steps-1-i`` (19..0 for
    20 steps), not the DDPM step the U-Nets see (951..1): upstream hands the TDM the
    index, so the TDM, trained on 0..999, is asked about nearly clean text at every step.
    Reproduced, because that is what the weights expect.
    """

    is_stochastic = True

    def __init__(self, config: MultinomialConfig | None = None) -> None:
        self.config = config or MultinomialConfig()
        self.timesteps = list(range(self.config.num_steps - 1, -1, -1))
        self.schedule: MultinomialSchedule = cosine_multinomial_schedule(self.config.num_train_steps)
        self._log_num_classes = math.log(self.config.num_classes)
        self._on_device: dict[torch.device, MultinomialSchedule] = {}

    def _schedule_on(self, device: torch.device) -> MultinomialSchedule:
        if device not in self._on_device:
            fields = {f.name: getattr(self.schedule, f.name).to(device) for f in dataclasses.fields(self.schedule)}
            self._on_device[device] = MultinomialSchedule(**fields)
        return self._on_device[device]

    def _q_pred(self, log_x_start: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        s = self._schedule_on(log_x_start.device)
        return _log_add_exp(
            log_x_start + _gather(s.log_cumprod_alpha, t),
            _gather(s.log_1_min_cumprod_alpha, t) - self._log_num_classes,
        )

    def _q_pred_one_timestep(self, log_x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        s = self._schedule_on(log_x_t.device)
        return _log_add_exp(
            log_x_t + _gather(s.log_alpha, t),
            _gather(s.log_1_min_alpha, t) - self._log_num_classes,
        )

    def q_posterior(self, log_x_start: torch.Tensor, log_x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """log q(x_{t-1} | x_t, x_0) for a distribution over x_0 given as log-probabilities."""
        log_prior = self._q_pred(log_x_start, (t - 1).clamp(min=0))
        # At t == 0 the "previous" state is x_0 itself.
        log_prior = torch.where((t == 0).reshape(-1, 1, 1), log_x_start, log_prior)
        # Upstream multiplies by q(x_t | x_{t-1}) evaluated at x_t (see Hoogeboom et al.).
        unnormed = log_prior + self._q_pred_one_timestep(log_x_t, t)
        return unnormed - torch.logsumexp(unnormed, dim=1, keepdim=True)

    def posterior_log_probs(self, logits: torch.Tensor, tokens: torch.Tensor, t: torch.Tensor) -> StepOutput:
        """p(x_{t-1} | x_t) from the denoiser's x0 logits; ``prev_sample`` holds the log-probs."""
        log_x_start = torch.log_softmax(logits.float(), dim=1)
        log_x_t = tokens_to_log_onehot(tokens, self.config.num_classes)
        return StepOutput(prev_sample=self.q_posterior(log_x_start, log_x_t, t), pred_original=log_x_start)

    def step(
        self, model_output: torch.Tensor, position: int, sample: torch.Tensor, noise: torch.Tensor | None = None
    ) -> StepOutput:
        """Sample the tokens after loop position ``position`` from the TDM's x0 logits ``model_output``.

        ``sample`` holds the current token ids; ``noise`` the U(0,1) draws of the Gumbel
        trick, shaped like the logits (caller-seeded).
        """
        if noise is None:
            raise ValueError("the multinomial sampler needs uniforms for every step")
        t = self.model_timesteps(position, sample.shape[0], sample.device)
        posterior = self.posterior_log_probs(model_output, sample, t)
        return StepOutput(
            prev_sample=gumbel_argmax(posterior.prev_sample, noise), pred_original=posterior.pred_original
        )
