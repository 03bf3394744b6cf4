"""Restorers on real crops: sizes, transcripts, seeds, batching and bad crops."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from difftsr_ocr.errors import ConfigError, WeightsError
from difftsr_ocr.models.config import load_difftsr_config
from difftsr_ocr.models.difftsr import DiffTSRNetworks, build_difftsr_networks, build_transocr
from difftsr_ocr.restore.base import RestoreProgress, normalize_crop
from difftsr_ocr.restore.classical import ClassicalRestorer
from difftsr_ocr.restore.difftsr import DiffTSRRestorer, DiffTSRRestorerConfig
from difftsr_ocr.restore.factory import build_restorer
from difftsr_ocr.restore.sampling import SamplingConfig
from difftsr_ocr.weights import load_difftsr_weights
from tests.hash_weights import transocr_hash_state_dict
from tests.reference import REFERENCE_DIR, TINY_A_DIR

TESTSET = REFERENCE_DIR.parent / "upstream_testset"


def _crop(name: str, size: tuple[int, int] | None = None) -> np.ndarray:
    image = Image.open(TESTSET / name).convert("RGB")
    return np.asarray(image.resize(size, Image.Resampling.BICUBIC) if size else image)


@pytest.fixture(scope="module")
def parts():
    config = load_difftsr_config(TINY_A_DIR / "config_tiny_A.yaml")
    networks = build_difftsr_networks(config)
    load_difftsr_weights(networks, TINY_A_DIR / "difftsr_tiny_A.ckpt")
    text_prior = build_transocr(config.text_prior, device="cpu")
    text_prior.load_state_dict(transocr_hash_state_dict(text_prior.state_dict()))
    return networks, text_prior


def _restorer(parts, **overrides) -> DiffTSRRestorer:
    sampling = overrides.pop("sampling", SamplingConfig(steps=2, eta=0.2, refine_text=False))
    return DiffTSRRestorer(*parts, DiffTSRRestorerConfig(sampling=sampling, **overrides))


def test_restores_crops_of_any_size_with_transcripts(parts) -> None:
    crops = [_crop("1_lr_real/0.png", (180, 40)), _crop("0_lr_synth/3.png", (96, 30))]
    progress: list[RestoreProgress] = []
    restorer = _restorer(parts)
    results = restorer.restore(crops, seeds=[1, 2], on_progress=progress.append)
    width, height = restorer.input_size
    assert [r.image.shape for r in results] == [(height, width, 3)] * 2, "DiffTSR's own resolution, no resize back"
    assert all(r.image.dtype == np.uint8 and r.skipped is None for r in results)
    assert all(isinstance(r.text, str) and 0.0 <= r.confidence <= 1.0 for r in results)
    assert results[0].text, "the hash-weight TransOCR reads a non-empty string"
    assert all(r.text_source == "text_prior" for r in results), "without refinement the transcript is the prior"
    assert [p.done for p in progress] == [1, 2] and progress[-1].total == 2


def test_a_multistep_solver_restores_in_its_own_steps(parts) -> None:
    crop = _crop("1_lr_real/5.png", (180, 40))
    progress: list[RestoreProgress] = []
    runs = {
        sampler: _restorer(parts, posterior="mean", sampling=SamplingConfig(steps=3, sampler=sampler)).restore(
            [crop], seeds=[4], on_progress=progress.append
        )[0]
        for sampler in ("dpmpp_2m", "unipc")
    }
    assert [p.done for p in progress] == [1, 2, 3, 1, 2, 3]
    assert all(r.image.shape == (128, 512, 3) and r.skipped is None for r in runs.values())
    # Different update rules from the same start: the corrector changes the result.
    assert not np.array_equal(runs["dpmpp_2m"].image, runs["unipc"].image)


def test_text_refinement_gives_the_tdm_transcript(parts) -> None:
    crops = [_crop("1_lr_real/1.png", (200, 50))]
    sampling = SamplingConfig(steps=2, eta=0.0, refine_text=True)
    result = _restorer(parts, sampling=sampling).restore(crops)[0]
    assert result.image.shape == (128, 512, 3)
    assert 0.0 < result.confidence <= 1.0
    assert result.text_source == "difftsr"


def test_a_crops_result_is_independent_of_its_batch(parts) -> None:
    a, b = _crop("1_lr_real/2.png", (160, 40)), _crop("1_lr_real/3.png", (150, 45))
    together = _restorer(parts).restore([a, b], seeds=[11, 12])
    alone = _restorer(parts, batch_size=1).restore([b], seeds=[12])
    assert np.abs(together[1].image.astype(int) - alone[0].image.astype(int)).max() <= 1
    other_seed = _restorer(parts).restore([b], seeds=[13])
    assert not np.array_equal(other_seed[0].image, alone[0].image)


def test_same_seed_same_result(parts) -> None:
    crop = _crop("0_lr_synth/1.png", (128, 32))
    restorer = _restorer(parts, posterior="mean", sampling=SamplingConfig(steps=2, eta=0.0))
    first, again = restorer.restore([crop], seeds=[1])[0], restorer.restore([crop], seeds=[1])[0]
    assert np.array_equal(first.image, again.image)


def test_bad_crops_are_skipped_with_a_reason_and_the_rest_restored(parts) -> None:
    good = _crop("1_lr_real/4.png", (120, 30))
    crops = [
        np.zeros((0, 0, 3), np.uint8),
        np.zeros((1, 50, 3), np.uint8),
        np.zeros((20, 2000, 3), np.uint8),
        "not an image",
        good,
    ]
    results = _restorer(parts).restore(crops)  # type: ignore[arg-type]
    assert [r.skipped is not None for r in results] == [True, True, True, True, False]
    assert "too small" in results[1].skipped and "too wide" in results[2].skipped
    assert results[4].image.shape == (128, 512, 3)


def test_crop_conversions() -> None:
    gray = np.full((10, 30), 100, np.uint8)
    assert normalize_crop(gray).shape == (10, 30, 3)
    deep = np.full((10, 30, 3), 65535, np.uint16)
    assert normalize_crop(deep).max() == 255
    rgba = np.zeros((10, 30, 4), np.uint8)
    assert normalize_crop(rgba).min() == 255, "transparent pixels are paper"
    floats = np.full((10, 30, 3), 0.5, np.float32)
    assert normalize_crop(floats)[0, 0, 0] == 128


def test_batch_size_follows_the_memory_budget(parts) -> None:
    assert _restorer(parts, memory_budget_bytes=1).batch_size() == 1
    assert _restorer(parts, memory_budget_bytes=6e9).batch_size() == 4
    assert _restorer(parts, memory_budget_bytes=6e9, precision="bf16").batch_size() == 8
    assert _restorer(parts, batch_size=3).batch_size() == 3


def _quarter(networks: DiffTSRNetworks) -> DiffTSRNetworks:
    """The same networks on quarter-size crops (128x32): they are fully convolutional, and
    checks of precision, memory handling and compilation need no full-size compute."""
    small = dataclasses.replace(
        networks.config, idm_unet=dataclasses.replace(networks.config.idm_unet, image_size=(8, 32))
    )
    quarter = copy.copy(networks)
    quarter.config = small
    return quarter


def test_bf16_autocast_runs(parts) -> None:
    networks, text_prior = parts
    # bf16 convolutions are very slow on CPUs.
    quarter = _quarter(networks)
    crop = _crop("1_lr_real/5.png", (128, 32))
    restorer = DiffTSRRestorer(
        quarter, text_prior, DiffTSRRestorerConfig(sampling=SamplingConfig(steps=2), precision="bf16")
    )
    assert restorer.input_size == (128, 32)
    decoder_inputs: list[torch.dtype] = []
    hook = quarter.vae.decoder.register_forward_pre_hook(lambda _, args: decoder_inputs.append(args[0].dtype))
    try:
        result = restorer.restore([crop])[0]
    finally:
        hook.remove()
    assert result.image.shape == crop.shape and result.skipped is None
    assert decoder_inputs == [torch.float32], "the VAE decodes in fp32 under a half-precision autocast"


def test_running_out_of_device_memory_halves_the_batch_and_never_fails(parts, monkeypatch) -> None:
    networks, text_prior = parts
    config = DiffTSRRestorerConfig(sampling=SamplingConfig(steps=1), batch_size=4)
    restorer = DiffTSRRestorer(_quarter(networks), text_prior, config)
    crops = [_crop("1_lr_real/7.png", (128, 32))] * 5
    real = restorer._restore_batch
    sizes: list[int] = []

    def tight_memory(batch, *args, **kwargs):
        sizes.append(len(batch))
        if len(batch) > 1:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(batch, *args, **kwargs)

    monkeypatch.setattr(restorer, "_restore_batch", tight_memory)
    results = restorer.restore(crops)
    assert sizes == [4, 2, 1, 1, 1, 1, 1] and restorer.batch_size() == 1
    assert all(r.skipped is None and r.image is not None for r in results)

    def no_memory(batch, *args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(restorer, "_restore_batch", no_memory)
    failed = restorer.restore(crops[:2])
    assert [r.skipped is not None and "out of device memory" in r.skipped for r in failed] == [True, True]


def test_half_precision_weights_set_the_restorers_dtype(parts) -> None:
    networks, text_prior = parts
    halved = _quarter(copy.deepcopy(networks).to(torch.bfloat16))
    restorer = DiffTSRRestorer(halved, text_prior, DiffTSRRestorerConfig(sampling=SamplingConfig(steps=1)))
    assert restorer.dtype == torch.bfloat16
    result = restorer.restore([_crop("1_lr_real/8.png", (128, 32))])[0]
    assert result.skipped is None and result.image.shape == (32, 128, 3)


def test_compiled_networks_give_the_eager_result(parts) -> None:
    networks, text_prior = parts
    crop = _crop("0_lr_synth/2.png", (128, 32))
    runs = {}
    for compile_networks in (False, True):
        config = DiffTSRRestorerConfig(
            sampling=SamplingConfig(steps=2, sampler="dpmpp_2m"), posterior="mean", compile=compile_networks
        )
        runs[compile_networks] = DiffTSRRestorer(_quarter(networks), text_prior, config).restore([crop], seeds=[3])[0]
    eager, compiled = runs[False], runs[True]
    # The reference rule for uint8 images: within 1 (fused kernels round differently).
    assert np.abs(compiled.image.astype(int) - eager.image.astype(int)).max() <= 1
    assert compiled.text == eager.text


def test_classical_restorer_works_at_its_height_and_sharpens() -> None:
    crop = _crop("1_lr_real/6.png", (200, 40))
    results = ClassicalRestorer().restore([crop, np.zeros((2, 2, 3), np.uint8)])
    assert results[0].image.shape == (64, 320, 3) and results[0].text == "", "a 40 px line comes back 64 px high"
    assert results[1].skipped is not None

    def contrast(image: np.ndarray) -> float:
        return float(np.abs(np.diff(image.astype(float), axis=1)).mean())

    upscaled = cv2.resize(crop, (320, 64), interpolation=cv2.INTER_LANCZOS4)
    assert contrast(results[0].image) > contrast(upscaled)


def test_testset_exists() -> None:
    assert Path(TESTSET / "1_lr_real" / "0.png").exists()


def test_factory_falls_back_with_a_notice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DIFFTSR_CKPT", raising=False)
    monkeypatch.delenv("DIFFTSR_TRANSOCR", raising=False)
    with caplog.at_level("WARNING"):
        restorer = build_restorer()
    assert isinstance(restorer, ClassicalRestorer)
    notice = caplog.records[-1].getMessage()
    assert "\n" not in notice and "looked in $DIFFTSR_CKPT" in notice and "$DIFFTSR_TRANSOCR" in notice


def test_factory_builds_difftsr_from_found_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parts) -> None:
    _, text_prior = parts
    transocr = tmp_path / "transocr.safetensors"
    save_file(text_prior.state_dict(), transocr)
    monkeypatch.setenv("DIFFTSR_TRANSOCR", str(transocr))
    config = load_difftsr_config(TINY_A_DIR / "config_tiny_A.yaml")
    restorer = build_restorer(ckpt=TINY_A_DIR / "difftsr_tiny_A.ckpt", model_config=config)
    assert isinstance(restorer, DiffTSRRestorer)
    torch.testing.assert_close(
        restorer.text_prior.state_dict()["encoder.conv1.weight"], text_prior.state_dict()["encoder.conv1.weight"]
    )
    with pytest.raises(WeightsError, match=r"nowhere\.ckpt"):
        build_restorer(ckpt=tmp_path / "nowhere.ckpt", model_config=config)


def test_factory_kinds_never_fall_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DIFFTSR_CKPT", raising=False)
    monkeypatch.delenv("DIFFTSR_TRANSOCR", raising=False)
    assert isinstance(build_restorer(kind="classical"), ClassicalRestorer)
    with pytest.raises(WeightsError, match="looked in"):
        build_restorer(kind="difftsr")
    with pytest.raises(ConfigError, match="auto, difftsr, classical"):
        build_restorer(kind="none")


def test_a_diverging_model_gives_a_defined_result(parts) -> None:
    networks, text_prior = parts
    broken, broken_prior = copy.deepcopy(networks), copy.deepcopy(text_prior)
    with torch.no_grad():
        broken.vae.decoder.conv_out.bias.fill_(float("nan"))
        broken_prior.encoder.bn1.running_var.fill_(-1.0)  # NaN probabilities, hence a NaN score
    restorer = DiffTSRRestorer(broken, broken_prior, DiffTSRRestorerConfig(sampling=SamplingConfig(steps=1)))
    result = restorer.restore([_crop("1_lr_real/7.png", (128, 32))])[0]
    assert result.image.dtype == np.uint8 and result.image.shape == (128, 512, 3)
    assert (result.image == 0).all(), "NaN pixels become black"
    assert result.confidence == 0.0
