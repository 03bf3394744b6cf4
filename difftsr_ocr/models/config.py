"""Configs of the DiffTSR networks: frozen plain data, read from the official YAML shape.

The official ``model/DiffTSR_config.yaml`` names a Python class per component
(``target:``) and its keyword arguments (``params:``). We never import what a
config names: each ``target`` is looked up in an allow-list and its ``params``
are checked against the fields of our dataclass. Unknown targets, unknown keys and
options whose non-default value the official code never uses are errors.

The dataclass defaults ARE the full official configuration (DiffTSR @ f983963,
``model/DiffTSR_config.yaml``); ``configs/DiffTSR_config.yaml`` is the same data
as YAML and a test keeps the two equal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from difftsr_ocr.configschema import ConfigT, dataclass_from_mapping
from difftsr_ocr.errors import ConfigError
from difftsr_ocr.yamlfile import read_yaml

__all__ = [
    "BERTConfig",
    "DiffTSRConfig",
    "MoMConfig",
    "TDMConfig",
    "TransOCRConfig",
    "UNetConfig",
    "VAEConfig",
    "difftsr_config_from_official",
    "difftsr_config_to_official",
    "load_difftsr_config",
]

# Latent scale of the f4 KL-VAE, from the official DiffTSR_pipline and MoM_model
# constructors (scale_factor=0.18215, the Stable Diffusion value).
LATENT_SCALE = 0.18215


@dataclasses.dataclass(frozen=True)
class UNetConfig:
    """openaimodel.UNetModel with spatial transformers (IDM denoiser and the MoM U-Net)."""

    image_size: tuple[int, int] = (32, 128)
    in_channels: int = 6
    out_channels: int = 3
    model_channels: int = 320
    attention_resolutions: tuple[int, ...] = (8, 4, 2)
    num_res_blocks: int = 2
    channel_mult: tuple[int, ...] = (1, 2, 3, 4)
    num_heads: int = 8
    num_head_channels: int = -1
    resblock_updown: bool = True
    use_spatial_transformer: bool = True
    transformer_depth: int = 1
    context_dim: int = 160
    # Gradient checkpointing only; kept so official configs round-trip.
    use_checkpoint: bool = True
    legacy: bool = False
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if not self.use_spatial_transformer:
            raise ConfigError(
                "UNet use_spatial_transformer: false is not a DiffTSR configuration; "
                "set it to true (every official DiffTSR U-Net uses spatial transformers)"
            )
        if self.num_heads == -1 and self.num_head_channels == -1:
            raise ConfigError("UNet config: set num_heads or num_head_channels")


@dataclasses.dataclass(frozen=True)
class VAEConfig:
    """The f4 KL autoencoder (LDM AutoencoderKL); ``ddconfig`` fields are flattened here."""

    embed_dim: int = 3
    double_z: bool = True
    z_channels: int = 3
    resolution: int = 512
    in_channels: int = 3
    out_ch: int = 3
    ch: int = 128
    ch_mult: tuple[int, ...] = (1, 2, 4)
    num_res_blocks: int = 2
    attn_resolutions: tuple[int, ...] = ()
    dropout: float = 0.0
    scale_factor: float = LATENT_SCALE

    def __post_init__(self) -> None:
        if not self.double_z:
            raise ConfigError("VAE ddconfig double_z: false is not a KL autoencoder; set it to true")


@dataclasses.dataclass(frozen=True)
class TDMConfig:
    """The TDM DynamicsTransformer (text diffusion denoiser)."""

    num_classes: int = 6736
    transformer_dim: int = 768
    transformer_heads: int = 16
    transformer_depth: int = 12
    transformer_blocks: int = 1
    max_seq_len: int = 24
    diffusion_steps: int = 1000
    attn_layer_dropout: float = 0.0
    transformer_local_heads: int = 8
    transformer_local_size: int = 4
    transformer_reversible: bool = False
    receives_context: bool = True

    def __post_init__(self) -> None:
        if self.transformer_reversible:
            raise ConfigError(
                "TDM transformer_reversible: true is not supported (inference is identical; set it to false)"
            )
        if not self.receives_context:
            raise ConfigError("TDM receives_context: false is not a DiffTSR configuration; set it to true")


@dataclasses.dataclass(frozen=True)
class BERTConfig:
    """The MoM text encoder (LDM BERTEmbedder without tokenizer)."""

    n_embed: int = 160
    n_layer: int = 4
    vocab_size: int = 6736
    max_seq_len: int = 24
    use_tokenizer: bool = False

    def __post_init__(self) -> None:
        if self.use_tokenizer:
            raise ConfigError(
                "MoM_Transformer use_tokenizer: true needs a HuggingFace tokenizer DiffTSR never uses; set it to false"
            )


@dataclasses.dataclass(frozen=True)
class MoMConfig:
    """The Mixture-of-Multi-modality module: a small U-Net plus a BERT text encoder."""

    unet: UNetConfig = dataclasses.field(
        default_factory=lambda: UNetConfig(
            model_channels=32,
            attention_resolutions=(0,),
            channel_mult=(1, 2),
            num_heads=4,
            context_dim=128,
        )
    )
    text_encoder: BERTConfig = dataclasses.field(default_factory=BERTConfig)
    num_classes: int = 6736
    context_dim: int = 128
    scale_factor: float = LATENT_SCALE


@dataclasses.dataclass(frozen=True)
class TransOCRConfig:
    """The TransOCR recogniser that gives DiffTSR its text prior.

    Not configurable in the official YAML (``Text_Prediction_config`` has no params);
    the values are those of ``Text_Prediction.__init__`` and ``Transformer(7937)``.
    """

    num_classes: int = 7937
    image_height: int = 32
    image_width: int = 256
    # Text_Prediction.predict runs 24 greedy steps but scans only START + 23 tokens.
    decode_steps: int = 24


@dataclasses.dataclass(frozen=True)
class DiffTSRConfig:
    """Everything needed to build the DiffTSR networks."""

    max_length: int = 24
    num_classes: int = 6736
    transformer_dim: int = 768
    idm_unet: UNetConfig = dataclasses.field(default_factory=UNetConfig)
    tdm: TDMConfig = dataclasses.field(default_factory=TDMConfig)
    mom: MoMConfig = dataclasses.field(default_factory=MoMConfig)
    vae: VAEConfig = dataclasses.field(default_factory=VAEConfig)
    text_prior: TransOCRConfig = dataclasses.field(default_factory=TransOCRConfig)


# --- the official YAML shape ----------------------------------------------------------

_PIPELINE_TARGET = "model.DiffTSR.DiffTSR_pipline"
_UNET_TARGET = "model.IDM.modules.diffusionmodules.openaimodel.UNetModel"
_TARGETS = {
    "IDM_Unet_config": "model.IDM.modules.diffusionmodules.openaimodel.UNetModel",
    "TDM_Decoder_config": "model.TDM.models.modules.DynamicsTransformer",
    "MoM_module_config": "model.MoM.MoM.MoM_model",
    "VAE_model_config": "model.IDM.models.autoencoder.AutoencoderKL",
    "Text_Prediction_config": "model.TDM.models.text_prediction.Text_Prediction",
}
_BERT_TARGET = "model.IDM.modules.encoders.modules.BERTEmbedder"


def _build(cls: type[ConfigT], params: Mapping[str, Any], where: str, source: str) -> ConfigT:
    try:
        return dataclass_from_mapping(cls, params, where)
    except ConfigError as error:
        message = str(error)
        # Key and type errors name the dotted key already; the dataclasses' own checks
        # name only the component, so they get told where it sits in the file.
        raise ConfigError(f"{source}: {message if where in message else f'{where}: {message}'}") from None


def _section(node: Any, key: str, target: str, where: str, source: str) -> Mapping[str, Any]:
    """Return ``node[key]['params']`` after checking ``node[key]['target']`` is ``target``."""
    if not isinstance(node, Mapping) or key not in node:
        raise ConfigError(f"{source}: missing '{key}' under {where}; start from configs/DiffTSR_config.yaml")
    section = node[key]
    if not isinstance(section, Mapping):
        raise ConfigError(f"{source}: '{where}.{key}' must be a mapping with target/params")
    extra = sorted(set(section) - {"target", "params"})
    if extra:
        raise ConfigError(
            f"{source}: unknown key(s) {', '.join(extra)} in {where}.{key}; only target and params are allowed"
        )
    if section.get("target") != target:
        raise ConfigError(
            f"{source}: {where}.{key}.target is {section.get('target')!r}; "
            f"only {target!r} is allowed here (configs never import code)"
        )
    params = section.get("params") or {}
    if not isinstance(params, Mapping):
        raise ConfigError(f"{source}: {where}.{key}.params must be a mapping")
    return params


def difftsr_config_from_official(document: Mapping[str, Any], source: str = "<config>") -> DiffTSRConfig:
    """Read a mapping in the official ``DiffTSR_config.yaml`` shape."""
    root = _section(document, "model", _PIPELINE_TARGET, "top level", source)
    top = dict(root)
    sections = {key: top.pop(key, None) for key in _TARGETS}
    missing = sorted(key for key, value in sections.items() if value is None and key != "Text_Prediction_config")
    if missing:
        raise ConfigError(f"{source}: missing {', '.join(missing)} under model.params")
    scale_factor = top.pop("scale_factor", LATENT_SCALE)
    head = _build(DiffTSRConfig, top, "model.params", source)
    idm = _build(
        UNetConfig,
        _section(root, "IDM_Unet_config", _TARGETS["IDM_Unet_config"], "model.params", source),
        "IDM_Unet_config",
        source,
    )
    tdm = _build(
        TDMConfig,
        _section(root, "TDM_Decoder_config", _TARGETS["TDM_Decoder_config"], "model.params", source),
        "TDM_Decoder_config",
        source,
    )

    mom_params = dict(_section(root, "MoM_module_config", _TARGETS["MoM_module_config"], "model.params", source))
    mom_where = "model.params.MoM_module_config.params"
    mom_unet = _build(UNetConfig, _section(mom_params, "MoM_Unet", _UNET_TARGET, mom_where, source), "MoM_Unet", source)
    bert = _build(
        BERTConfig, _section(mom_params, "MoM_Transformer", _BERT_TARGET, mom_where, source), "MoM_Transformer", source
    )
    del mom_params["MoM_Unet"], mom_params["MoM_Transformer"]
    mom = dataclasses.replace(
        _build(MoMConfig, mom_params, "MoM_module_config", source), unet=mom_unet, text_encoder=bert
    )

    vae_params = dict(_section(root, "VAE_model_config", _TARGETS["VAE_model_config"], "model.params", source))
    ddconfig = vae_params.pop("ddconfig", None)
    if not isinstance(ddconfig, Mapping):
        raise ConfigError(f"{source}: VAE_model_config.params.ddconfig is missing")
    vae = _build(VAEConfig, {**vae_params, **ddconfig, "scale_factor": scale_factor}, "VAE_model_config", source)

    if sections["Text_Prediction_config"] is not None:
        text_params = _section(
            root, "Text_Prediction_config", _TARGETS["Text_Prediction_config"], "model.params", source
        )
        if text_params:
            raise ConfigError(f"{source}: Text_Prediction_config takes no params (the official recogniser is fixed)")

    config = dataclasses.replace(head, idm_unet=idm, tdm=tdm, mom=mom, vae=vae)
    _check_consistency(config, source)
    return config


def _check_consistency(config: DiffTSRConfig, source: str) -> None:
    """Cross-component sizes the official code silently assumes."""
    problems = []
    if config.tdm.num_classes != config.num_classes:
        problems.append(f"TDM num_classes {config.tdm.num_classes} != model num_classes {config.num_classes}")
    if config.tdm.transformer_dim != config.transformer_dim:
        problems.append(
            f"TDM transformer_dim {config.tdm.transformer_dim} != model transformer_dim {config.transformer_dim}"
        )
    if config.mom.text_encoder.n_embed != config.idm_unet.context_dim:
        problems.append(
            f"MoM_Transformer n_embed {config.mom.text_encoder.n_embed} != IDM_Unet context_dim {config.idm_unet.context_dim}"
        )
    if config.mom.context_dim != config.mom.unet.context_dim:
        problems.append(
            f"MoM context_dim {config.mom.context_dim} != MoM_Unet context_dim {config.mom.unet.context_dim}"
        )
    if config.tdm.max_seq_len != config.max_length or config.mom.text_encoder.max_seq_len != config.max_length:
        problems.append(f"TDM/MoM max_seq_len must equal max_length {config.max_length}")
    if problems:
        raise ConfigError(f"{source}: inconsistent DiffTSR config: {'; '.join(problems)}")


def _plain(value: Any) -> Any:
    return [_plain(v) for v in value] if isinstance(value, tuple) else value


def _params(config: Any, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    return {f.name: _plain(getattr(config, f.name)) for f in dataclasses.fields(config) if f.name not in drop}


def difftsr_config_to_official(config: DiffTSRConfig) -> dict[str, Any]:
    """The inverse of :func:`difftsr_config_from_official` (official YAML shape)."""
    vae = _params(config.vae, drop=("embed_dim", "scale_factor"))
    mom = _params(config.mom, drop=("unet", "text_encoder"))
    mom["MoM_Unet"] = {"target": _UNET_TARGET, "params": _params(config.mom.unet)}
    mom["MoM_Transformer"] = {"target": _BERT_TARGET, "params": _params(config.mom.text_encoder)}
    params = {
        "max_length": config.max_length,
        "num_classes": config.num_classes,
        "transformer_dim": config.transformer_dim,
        "scale_factor": config.vae.scale_factor,
        "IDM_Unet_config": {"target": _TARGETS["IDM_Unet_config"], "params": _params(config.idm_unet)},
        "TDM_Decoder_config": {"target": _TARGETS["TDM_Decoder_config"], "params": _params(config.tdm)},
        "MoM_module_config": {"target": _TARGETS["MoM_module_config"], "params": mom},
        "VAE_model_config": {
            "target": _TARGETS["VAE_model_config"],
            "params": {"embed_dim": config.vae.embed_dim, "ddconfig": vae},
        },
        "Text_Prediction_config": {"target": _TARGETS["Text_Prediction_config"]},
    }
    return {"model": {"target": _PIPELINE_TARGET, "params": params}}


def load_difftsr_config(path: str | Path) -> DiffTSRConfig:
    """Load a DiffTSR model config in the official YAML shape."""
    document = read_yaml(path, "config file", "configs/DiffTSR_config.yaml")
    return difftsr_config_from_official(document, source=str(path))
