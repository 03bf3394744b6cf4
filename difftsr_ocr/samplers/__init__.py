"""Samplers: noise schedules and the steps that walk them; torch only, no networks.

The names below are torch-free on purpose: configs validate a sampler name without
importing torch.
"""

__all__ = ["LATENT_SAMPLERS", "MULTISTEP_METHODS"]

# Few-step ODE solvers of the IDM latent (samplers/multistep.py).
MULTISTEP_METHODS = ("dpmpp_2m", "unipc")
# What may step the IDM latent: the official DDIM, or a multistep solver.
LATENT_SAMPLERS = ("ddim", *MULTISTEP_METHODS)
