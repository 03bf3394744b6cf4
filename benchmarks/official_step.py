"""Time the official DiffTSR code's own joint step, imported at run time from a local checkout.

Nothing of the official code is vendored: ``--official-dir`` of restore_speed.py names a
checkout (DiffTSR @ f983963, e.g. fetched under /tmp) whose ``model`` package is imported
from there. The official networks come from its own ``model/DiffTSR_config.yaml`` through
its own ``instantiate_from_config``, filled with the same random weights as ours, and the
step is the body of ``DiffTSR_sample``'s loop (general=True) through the official methods:
``MoM_module`` then ``IDM_p_sample``, under no-grad as there.

Two things stand between that code and a CPU, and both are bridged here at run time rather
than by editing the checkout: ``DiffTSR_pipline.register_buffer`` moves every schedule to
"cuda" whatever the device (we store it on our device instead), and ``model/DiffTSR.py``
imports pytorch_lightning and torchvision for parts the step never runs (VAE, TDM, image
conversion); where they are not installed, empty stand-ins take their names. The official
code itself needs einops (``pip install einops``).
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from random_weights import fill_random
from step_clock import StepClock

__all__ = ["OfficialStep"]

# DiffTSR_pipline.__init__'s schedule calls, with its arguments.
_DDPM = {"timesteps": 1000, "schedule": "linear", "linear_start": 0.0015, "linear_end": 0.0205, "cosine_s": 8e-3}
_DDIM = {"ddim_num_steps": 200, "ddim_discretize": "uniform", "ddim_eta": 0.2, "verbose": False}


def _stand_in(name: str, **attributes: object) -> None:
    if name in sys.modules:
        return
    try:
        importlib.import_module(name)
    except ImportError:
        module = types.ModuleType(name)
        module.__dict__.update(attributes)
        sys.modules[name] = module


@contextlib.contextmanager
def _official_on_path(official_dir: Path) -> Iterator[None]:
    sys.path.insert(0, str(official_dir))
    try:
        yield
    finally:
        sys.path.remove(str(official_dir))


class OfficialStep:
    """The official pipeline object holding only the two networks a general=True step runs."""

    def __init__(self, official_dir: str | Path, device: torch.device, generator: torch.Generator) -> None:
        official_dir = Path(official_dir).resolve()
        config_path = official_dir / "model" / "DiffTSR_config.yaml"
        if not config_path.is_file():
            raise FileNotFoundError(f"{config_path} not found: --official-dir must be a DiffTSR checkout")
        _stand_in("pytorch_lightning", LightningModule=torch.nn.Module)
        _stand_in("torchvision")
        _stand_in("torchvision.transforms")
        import yaml

        with _official_on_path(official_dir):
            util = importlib.import_module("model.IDM.utils.util")
            pipeline_class = importlib.import_module("model.DiffTSR").DiffTSR_pipline
            params = yaml.safe_load(config_path.read_text())["model"]["params"]
            # __init__ would also build the VAE, the TDM and TransOCR, none of which a step runs.
            pipe = pipeline_class.__new__(pipeline_class)
            pipe.device = str(device)
            pipe.register_buffer = lambda name, value: setattr(
                pipe, name, value.to(device) if isinstance(value, torch.Tensor) else value
            )
            pipe.max_length, pipe.num_classes = params["max_length"], params["num_classes"]
            pipe.IDM_Unet = util.instantiate_from_config(params["IDM_Unet_config"]).eval()
            pipe.MoM_module = util.instantiate_from_config(params["MoM_module_config"]).eval()
        for network in (pipe.IDM_Unet, pipe.MoM_module):
            fill_random(network, device, generator)
        pipe.IDM_ddpm_schedule_init(**_DDPM)
        pipe.IDM_ddim_schedule_init(**_DDIM)
        self.pipe = pipe
        self.device = device

    def step_seconds(self, batch: int, steps: int, synchronize: Callable[[], None]) -> tuple[float, float]:
        """Median (wall, process CPU) seconds of ``steps`` joint steps at ``batch``, after one warm-up step."""
        pipe, device = self.pipe, self.device
        generator = torch.Generator().manual_seed(batch)
        z_lr = torch.randn(batch, 3, *pipe.IDM_Unet.image_size, generator=generator).to(device)
        z_t = torch.randn(batch, 3, *pipe.IDM_Unet.image_size, generator=generator).to(device)
        c_t = torch.randint(0, pipe.num_classes, (batch, pipe.max_length), generator=generator).to(device)
        total = len(pipe.IDM_ddim_timesteps)
        clock = StepClock(synchronize)
        clock.stamp()
        with torch.no_grad():
            for i, step in enumerate(np.flip(pipe.IDM_ddim_timesteps)[: steps + 1]):
                ts = torch.full((batch,), int(step), device=device, dtype=torch.long)
                _, text_condition = pipe.MoM_module(c_t, z_lr, z_t, ts)
                z_t, _ = pipe.IDM_p_sample(z_t, z_lr, text_condition, ts, index=total - i - 1)
                clock.stamp()
        return clock.wall_s(), clock.cpu_s()
