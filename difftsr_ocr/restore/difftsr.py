"""The DiffTSR restorer: batches of line crops through the text prior, VAE and joint loop.

Per crop, as upstream's ``inference_DiffTSR.py`` + ``DiffTSR_sample`` do: resize to
512x128 with PIL's bicubic, read a text prior with TransOCR, encode with the VAE, run
the joint IDM/TDM loop from the noised LR latent, and decode. Unlike upstream it runs
batches, on whatever device the networks are on, keeps the transcript, draws every
random number from a per-crop generator, and returns the 512x128 result as it is (no
resize back to the crop: the pipeline warps it once into the output page).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from difftsr_ocr.errors import ConfigError
from difftsr_ocr.models.config import DiffTSRConfig
from difftsr_ocr.models.difftsr import DiffTSRNetworks, build_difftsr_networks, build_transocr
from difftsr_ocr.models.text_prior import ids_to_text, predict_text_prior
from difftsr_ocr.models.transocr import TransOCR
from difftsr_ocr.restore.base import ProgressCallback, RestoredCrop, RestoreProgress, normalize_crop
from difftsr_ocr.restore.sampling import SamplingConfig, SeededNoise, StepCallback, StepState, joint_denoise
from difftsr_ocr.runtime.allocator import reusing_freed_memory
from difftsr_ocr.weights import (
    DIFFTSR_WEIGHTS,
    TRANSOCR_WEIGHTS,
    load_difftsr_weights,
    load_transocr_weights,
    locate_weights,
)

__all__ = ["PRECISIONS", "CompiledNetworks", "DiffTSRRestorer", "DiffTSRRestorerConfig", "compile_networks"]

logger = logging.getLogger(__name__)

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}

# Activation memory of one 512x128 crop through the full-size model, fp32, measured
# with benchmarks/restore_speed.py (peak minus weights, divided by the batch size),
# rounded up; half precision roughly halves it.
_BYTES_PER_CROP_FP32 = 1.5e9
_CPU_BUDGET_BYTES = 6e9
_MAX_BATCH = 64


@dataclasses.dataclass(frozen=True)
class DiffTSRRestorerConfig:
    sampling: SamplingConfig = dataclasses.field(default_factory=SamplingConfig)
    # "sample": z_LR drawn from the VAE posterior, as upstream; "mean": its mean (deterministic).
    posterior: str = "sample"
    # "fp32" is the reference mode; "bf16"/"fp16" run the networks under torch.autocast.
    precision: str = "fp32"
    # Crops per forward pass; None picks it from the memory budget.
    batch_size: int | None = None
    # Bytes the activations may use; None: 80% of free GPU memory, or 6 GB on the CPU.
    memory_budget_bytes: float | None = None
    # Seed of crop i when the caller gives none: seed + i.
    seed: int = 0
    # torch.compile the U-Net, MoM, TDM and VAE (CUDA: mode reduce-overhead, CUDA graphs).
    # Opt-in: the first batch of each shape pays the compilation.
    compile: bool = False

    def __post_init__(self) -> None:
        if self.posterior not in ("sample", "mean"):
            raise ConfigError(f"restorer posterior must be 'sample' or 'mean', not {self.posterior!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"restorer precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ConfigError(f"restorer batch_size must be >= 1, not {self.batch_size}")


@dataclasses.dataclass(frozen=True)
class CompiledNetworks:
    """The loop's view of the networks with each module compiled; the networks stay untouched."""

    config: DiffTSRConfig
    idm_unet: Callable[..., torch.Tensor]
    mom: Callable[..., tuple[torch.Tensor, torch.Tensor]]
    tdm: Callable[..., torch.Tensor]
    encode: Callable[[torch.Tensor], Any]
    decode: Callable[[torch.Tensor], torch.Tensor]


def compile_networks(networks: DiffTSRNetworks, device: torch.device) -> CompiledNetworks:
    # reduce-overhead captures CUDA graphs, which pays off because every step of the loop
    # has the same shapes; on the CPU it only adds bookkeeping.
    mode = "reduce-overhead" if device.type == "cuda" else None
    return CompiledNetworks(
        config=networks.config,
        idm_unet=torch.compile(networks.idm_unet, mode=mode),
        mom=torch.compile(networks.mom, mode=mode),
        tdm=torch.compile(networks.tdm, mode=mode),
        encode=torch.compile(networks.vae.encode, mode=mode),
        decode=torch.compile(networks.vae.decode, mode=mode),
    )


class DiffTSRRestorer:
    """Restores line crops with DiffTSR; device and dtype follow the networks' weights.

    Weights in half precision run in it (under autocast, whatever ``precision`` says);
    fp32 weights run in ``precision``. The VAE decode always runs in the VAE weights'
    own dtype outside autocast: a half-precision decode overflows on bright pages (the
    reason diffusers upcasts its VAE).
    """

    name = "difftsr"

    def __init__(
        self, networks: DiffTSRNetworks, text_prior: TransOCR, config: DiffTSRRestorerConfig | None = None
    ) -> None:
        self.networks = networks.eval()
        self.text_prior = text_prior.eval()
        self.config = config or DiffTSRRestorerConfig()
        model = networks.config
        factor = 2 ** (len(model.vae.ch_mult) - 1)
        latent_height, latent_width = model.idm_unet.image_size
        self.input_size = (latent_width * factor, latent_height * factor)  # PIL order: width, height
        self._compiled = compile_networks(networks, self.device) if self.config.compile else None
        # Crops per batch that ran out of device memory once: never tried again.
        self._batch_limit = _MAX_BATCH
        self._measured_bytes_per_crop: float | None = None

    @classmethod
    def from_weights(
        cls,
        ckpt: str | os.PathLike[str] | None = None,
        transocr: str | os.PathLike[str] | None = None,
        model_config: DiffTSRConfig | None = None,
        config: DiffTSRRestorerConfig | None = None,
        device: torch.device | str = "cpu",
    ) -> DiffTSRRestorer:
        """Find (see :mod:`difftsr_ocr.weights`), map and load both weight files, then move to ``device``."""
        model_config = model_config or DiffTSRConfig()
        networks = build_difftsr_networks(model_config)
        load_difftsr_weights(networks, locate_weights(DIFFTSR_WEIGHTS, ckpt))
        text_prior = build_transocr(model_config.text_prior)
        load_transocr_weights(text_prior, locate_weights(TRANSOCR_WEIGHTS, transocr))
        return cls(networks.to(device), text_prior.to(device), config)

    @property
    def device(self) -> torch.device:
        return next(self.networks.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.networks.parameters()).dtype

    def _compute_dtype(self) -> torch.dtype | None:
        """The autocast dtype, None for plain fp32."""
        return self.dtype if self.dtype != torch.float32 else PRECISIONS[self.config.precision]

    def batch_size(self) -> int:
        """Crops per forward pass: the configured size, or what the memory budget holds."""
        if self.config.batch_size is not None:
            return min(self.config.batch_size, self._batch_limit)
        budget = self.config.memory_budget_bytes
        if budget is None:
            if self.device.type == "cuda":
                free, _ = torch.cuda.mem_get_info(self.device)
                budget = 0.8 * free
            else:
                budget = _CPU_BUDGET_BYTES
        per_crop = self._bytes_per_crop()
        return max(1, min(self._batch_limit, math.floor(budget / per_crop)))

    def _bytes_per_crop(self) -> float:
        if self.device.type != "cuda" or self.config.memory_budget_bytes is not None:
            return _BYTES_PER_CROP_FP32 / (1 if self._compute_dtype() is None else 2)
        if self._measured_bytes_per_crop is None:
            self._measured_bytes_per_crop = self._probe_bytes_per_crop()
        return self._measured_bytes_per_crop

    def _probe_bytes_per_crop(self) -> float:
        """Peak device memory of one crop through every stage, with one sampler step.

        Every step of the loop has the same shapes, so one step shows the loop's peak; the
        margin covers what grows with the batch beyond the activations (allocator slack).
        """
        probe = np.full((self.input_size[1], self.input_size[0], 3), 128, np.uint8)
        torch.cuda.synchronize(self.device)
        torch.cuda.reset_peak_memory_stats(self.device)
        resident = torch.cuda.memory_allocated(self.device)
        one_step = dataclasses.replace(self.config.sampling, steps=1)
        self._restore_batch([probe], [0], None, one_step)
        peak = torch.cuda.max_memory_allocated(self.device) - resident
        logger.info("DiffTSR needs %.0f MB of device memory per crop (measured)", peak / 1e6)
        return 1.2 * max(peak, 1.0)

    @property
    def text_prior_dtype(self) -> torch.dtype:
        return next(self.text_prior.parameters()).dtype

    def _to_model_input(self, crop: np.ndarray) -> torch.Tensor:
        resized = np.asarray(Image.fromarray(crop).resize(self.input_size, Image.Resampling.BICUBIC))
        # Upstream: float64 division by 255, then float32, contiguous CHW (the VAE
        # encoder's result depends on the memory layout it is given).
        return torch.from_numpy(resized / 255.0).float().permute(2, 0, 1).contiguous()

    def restore(
        self,
        crops: Sequence[np.ndarray],
        seeds: Sequence[int] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> list[RestoredCrop]:
        """Restore ``crops`` (any size, see :func:`normalize_crop`); one result per crop, in order."""
        if seeds is not None and len(seeds) != len(crops):
            raise ValueError(f"{len(seeds)} seeds for {len(crops)} crops")
        seeds = list(seeds) if seeds is not None else [self.config.seed + i for i in range(len(crops))]
        results: list[RestoredCrop | None] = [None] * len(crops)
        valid: list[tuple[int, np.ndarray]] = []
        for index, crop in enumerate(crops):
            normalized = normalize_crop(crop)
            if isinstance(normalized, str):
                results[index] = RestoredCrop(image=None, skipped=normalized)
            else:
                valid.append((index, normalized))

        # Hundreds of network calls in a row: freed activations are reused instead of faulted
        # in again (where the application chose so, see runtime/allocator.py).
        with reusing_freed_memory():
            self._restore_in_batches(valid, seeds, results, on_progress)
        return [result for result in results if result is not None]

    def _restore_in_batches(
        self,
        valid: list[tuple[int, np.ndarray]],
        seeds: list[int],
        results: list[RestoredCrop | None],
        on_progress: ProgressCallback | None,
    ) -> None:
        steps = self.config.sampling.steps
        size = self.batch_size() if valid else 1
        done_steps = 0
        pending = valid
        while pending:
            batch, rest = pending[:size], pending[size:]
            total = done_steps + math.ceil(len(pending) / size) * steps

            def report(state: StepState, offset: int = done_steps, total: int = total) -> None:
                if on_progress is not None:
                    on_progress(RestoreProgress(done=offset + state.done, total=total))

            try:
                restored = self._restore_batch([crop for _, crop in batch], [seeds[i] for i, _ in batch], report)
            except torch.OutOfMemoryError:
                self._release_device_memory()
                if size > 1:
                    # Halve and retry the same crops; later calls start at the smaller size.
                    size = self._batch_limit = size // 2
                    logger.warning("DiffTSR ran out of device memory; retrying with %d crops per batch", size)
                    continue
                reason = "out of device memory even alone (lower restorer.precision, or use a larger device)"
                restored = [RestoredCrop(image=None, skipped=reason)]
            for (index, _), result in zip(batch, restored, strict=True):
                results[index] = result
            done_steps += steps
            pending = rest

    def _release_device_memory(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def _autocast(self) -> torch.autocast:
        dtype = self._compute_dtype()
        return torch.autocast(self.device.type, dtype=dtype or torch.float32, enabled=dtype is not None)

    def _restore_batch(
        self,
        crops: list[np.ndarray],
        seeds: list[int],
        on_step: StepCallback | None,
        sampling: SamplingConfig | None = None,
    ) -> list[RestoredCrop]:
        device = self.device
        x = torch.stack([self._to_model_input(crop) for crop in crops]).to(device)
        noise = SeededNoise(seeds, device)
        networks = self.networks
        loop_networks = self._compiled or networks
        encode = self._compiled.encode if self._compiled else networks.vae.encode
        decode = self._compiled.decode if self._compiled else networks.vae.decode
        vae_dtype = next(networks.vae.parameters()).dtype
        with torch.inference_mode():
            with self._autocast():
                prior = predict_text_prior(self.text_prior, x.to(self.text_prior_dtype), networks.config.max_length)
                posterior = encode(x.to(vae_dtype))
                if self.config.posterior == "mean":
                    z_lr = posterior.mean
                else:
                    z_lr = posterior.sample(noise.normal(posterior.mean.shape))
                result = joint_denoise(
                    loop_networks, z_lr.float(), prior.ids, sampling or self.config.sampling, noise, on_step
                )
            decoded = decode((result.latents / networks.config.vae.scale_factor).to(vae_dtype))
        # Upstream truncates (astype(uint8)) rather than rounds. A diverging model (bad weights,
        # fp16 overflow) must give a bad crop, not undefined bytes: NaN becomes black.
        decoded = torch.nan_to_num(decoded.float(), nan=0.0)
        images = (decoded.clamp(0, 1) * 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()

        if result.token_log_probs is not None:
            source = "difftsr"
            texts = ids_to_text(result.tokens)
            chosen = result.token_log_probs.float().gather(1, result.tokens[:, None, :])[:, 0].exp()
            real = result.tokens != networks.config.num_classes - 1
            confidences = ((chosen * real).sum(1) / real.sum(1).clamp(min=1)).tolist()
        else:
            source = "text_prior"
            texts, confidences = prior.texts, prior.confidences

        outputs = []
        for image, text, score in zip(images, texts, confidences, strict=True):
            # A diverging model's NaN score means "no confidence", not a value JSON cannot hold.
            confidence = float(score) if math.isfinite(score) else 0.0
            outputs.append(RestoredCrop(image=image, text=text, confidence=confidence, text_source=source))
        return outputs
