"""What the benchmark scripts share: offline hub settings and the ``--model`` / ``--corpus`` flags."""

from __future__ import annotations

import argparse
import os


def bench_parser(doc: str, corpus: str = "wiki") -> argparse.ArgumentParser:
    """A parser described by the first line of ``doc``, with ``--model`` and ``--corpus``; sets the hub offline."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--corpus", default=corpus)
    return ap
