"""The four DiffTSR networks of ``DiffTSR.ckpt`` together, and the TransOCR text prior.

``DiffTSRNetworks`` only groups modules; it has no forward. How they cooperate at
sampling time belongs to the restorer, which composes them with the samplers.
"""

from __future__ import annotations

import torch
from torch import nn

from difftsr_ocr.models.config import DiffTSRConfig, TransOCRConfig
from difftsr_ocr.models.mom import MoM
from difftsr_ocr.models.text_transformer import TextDiffusionTransformer
from difftsr_ocr.models.transocr import TransOCR
from difftsr_ocr.models.unet import UNet
from difftsr_ocr.models.vae import AutoencoderKL

__all__ = ["CHECKPOINT_COMPONENTS", "DiffTSRNetworks", "build_difftsr_networks", "build_transocr"]

# Top-level keys of the official DiffTSR.ckpt -> our attribute names.
CHECKPOINT_COMPONENTS: dict[str, str] = {
    "IDM_Unet": "idm_unet",
    "TDM_Decoder": "tdm",
    "MoM_module": "mom",
    "VAE_model": "vae",
}


class DiffTSRNetworks(nn.Module):
    """IDM U-Net, TDM transformer, MoM and VAE, built from one :class:`DiffTSRConfig`."""

    def __init__(self, config: DiffTSRConfig) -> None:
        super().__init__()
        self.config = config
        self.idm_unet = UNet(config.idm_unet)
        self.tdm = TextDiffusionTransformer(config.tdm)
        self.mom = MoM(config.mom)
        self.vae = AutoencoderKL(config.vae)

    def component(self, checkpoint_key: str) -> nn.Module:
        """The module stored under an official checkpoint key such as ``"IDM_Unet"``."""
        return getattr(self, CHECKPOINT_COMPONENTS[checkpoint_key])


def build_difftsr_networks(config: DiffTSRConfig, device: torch.device | str = "meta") -> DiffTSRNetworks:
    """Build the networks without initialising weights worth keeping.

    The default ``meta`` device allocates nothing: weights are then attached with
    :func:`difftsr_ocr.weights.load_difftsr_weights`, which maps them from disk.
    """
    with torch.device(device):
        return DiffTSRNetworks(config).eval()


def build_transocr(config: TransOCRConfig | None = None, device: torch.device | str = "meta") -> TransOCR:
    with torch.device(device):
        return TransOCR(config or TransOCRConfig()).eval()
