"""Deterministic integer-hash weights of the reference data (README_transocr.json ``hash_weight_formula``).

The full TransOCR reference weights are not stored; the official run filled every
state-dict entry from a 32-bit integer hash of (entry number, element index, seed).
:func:`mix32` is that hash (the TDM Gumbel uniforms of tiny_A use it too);
:func:`transocr_hash_state_dict` rebuilds the whole TransOCR state dict from it.
All arithmetic is numpy uint64 masked to 32 bits, vectorised over each entry.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from tests.reference import readme_transocr

__all__ = ["gumbel_uniforms", "hash_uniform_values", "mix32", "transocr_hash_state_dict"]

_MASK32 = np.uint64(0xFFFFFFFF)


def mix32(index: np.ndarray, k: int, seed: int) -> np.ndarray:
    """The 32-bit hash of flat element indices ``index`` for entry/call ``k``; uint64 array of values < 2**32."""
    offset = (k * 0x9E3779B9 + seed * 0x85EBCA6B) % 2**32
    x = index.astype(np.uint64) + np.uint64(offset)
    # In-place steps: fresh temporaries per step made 84 M values take several times longer.
    x &= _MASK32
    x ^= x >> np.uint64(16)
    # Both factors are < 2**32, so the uint64 product wraps mod 2**64, which keeps it exact mod 2**32.
    x *= np.uint64(0x7FEB352D)
    x &= _MASK32
    x ^= x >> np.uint64(15)
    x *= np.uint64(0x846CA68B)
    x &= _MASK32
    x ^= x >> np.uint64(16)
    return x


def hash_uniform_values(count: int, k: int, seed: int, center: float, exponent: int) -> np.ndarray:
    """``center + (n / 2048) * 2**exponent`` with ``n = (mix32 >> 20) - 2048``, as float32.

    Evaluated in float64, where it is exact, then rounded once to float32 (exact too for
    every entry the README lists).
    """
    x = mix32(np.arange(count, dtype=np.uint64), k, seed)
    x >>= np.uint64(20)
    values = x.astype(np.float64)
    values -= 2048.0
    values *= 2.0 ** (exponent - 11)
    values += center
    return values.astype(np.float32)


def gumbel_uniforms(call: int, seed: int, shape: tuple[int, ...]) -> torch.Tensor:
    """The U(0,1) draws that replaced ``torch.rand_like`` in the tiny_A ``general=False`` loop.

    README_tiny_A.json ``general_false_hash_uniforms``: call number ``call`` (one per DDIM
    step, loop order), ``u = (2 * (x >> 9) + 1) / 2**24`` over flat C-order indices.
    """
    x = mix32(np.arange(int(np.prod(shape)), dtype=np.uint64), call, seed)
    values = ((x >> np.uint64(9)) * np.uint64(2) + np.uint64(1)).astype(np.float64) / 2.0**24
    return torch.from_numpy(values.astype(np.float32).reshape(shape))


def transocr_hash_state_dict(template: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The reference TransOCR weights, keyed and shaped like ``template`` (our model's state dict).

    Entries the README marks as kept (``pe.pe``, ``num_batches_tracked``) are taken from
    ``template``; the README's key order must equal the template's, since it numbers them.
    """
    readme = readme_transocr()
    seed = int(readme["hash_weight_seed"])
    rules = readme["hash_weight_rules_per_key"]
    keys = list(template)
    if [rule["key"] for rule in rules] != keys:
        raise AssertionError("template keys differ from README_transocr hash_weight_rules_per_key (names or order)")
    result: dict[str, torch.Tensor] = {}
    for rule in rules:
        key = rule["key"]
        reference = template[key]
        if "center" not in rule:
            result[key] = reference.detach().clone()
            continue
        values = hash_uniform_values(
            reference.numel(), int(rule["k"]), seed, float(rule["center"]), int(rule["exponent"])
        )
        result[key] = torch.from_numpy(values.reshape(tuple(reference.shape)))
    return result
