"""Host-memory allocator settings for a phase of work: freed tensors go back to the operating system.

PyTorch allocates CPU tensors with the C library's ``malloc``. glibc serves blocks below its mmap threshold
from its heap, and the threshold grows (up to 32 MB) each time a larger block is freed; a heap fragmented by
blocks of different lifetimes is not given back. A training step allocates thousands of activation tensors
of 1–30 MB (e.g. ``[8, 128, 576]`` float32 = 2.4 MB per layer input) and frees them in another order in the
backward pass, so the resident set of ``harness train`` on SmolLM2-135M grew to 2.2 GB, and to 1.6 GB with
this setting (4 steps, ``/usr/bin/time -v``). :func:`mmap_large_blocks` pins the threshold at 1 MB for the
phase: such blocks are mapped and unmapped one by one, at the price of page faults on fresh pages; then it
sets the threshold to glibc's dynamic maximum. A no-op on other C libraries (macOS, musl) and where ``mallopt`` is
missing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from contextlib import contextmanager
from typing import Iterator

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number (malloc.h)
PHASE_THRESHOLD = 1 << 20  # bytes
AFTER_THRESHOLD = 32 << 20  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit systems, where the dynamic one ends


def _mallopt():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        gnu = ctypes.CDLL(None).gnu_get_libc_version  # glibc only
    except (OSError, AttributeError):
        return None
    return libc.mallopt if gnu and hasattr(libc, "mallopt") else None


@contextmanager
def mmap_large_blocks(threshold: int = PHASE_THRESHOLD) -> Iterator[bool]:
    """Within the block, blocks of ``threshold`` bytes or more are mapped and unmapped one by one (glibc);
    yields whether the setting took effect."""
    mallopt = _mallopt()
    done = bool(mallopt and mallopt(M_MMAP_THRESHOLD, threshold) == 1)
    try:
        yield done
    finally:
        if done:
            mallopt(M_MMAP_THRESHOLD, AFTER_THRESHOLD)
