"""pyproject.toml declares what the code imports, nothing it does not, and floors the code can rely on.

The transformers floor (5.23) is tested by the behaviours it stands for: a float ``warmup_steps`` below
1 is a ratio of the steps (the trainer passes the profile's ``warmup_ratio`` that way),
``from_pretrained(..., dtype=...)`` sets the dtype (both fail under transformers 4.x) and
``TrainingArguments(activation_checkpointing=...)`` exists (5.23; before, only ``gradient_checkpointing``).
"""

from __future__ import annotations

import ast
import sys
from importlib.metadata import packages_distributions, version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("harness", "concepts", "tasks", "trainers", "leaderboard", "workflows")
# declared but never imported, each for a reason the code states
NEEDED_UNIMPORTED = {
    "accelerate": "transformers.Trainer needs it",
    "gguf": "transformers reads the embedded default's GGUF file with it",
}
tomllib = pytest.importorskip("tomllib")


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def requirement_names(specs: list[str]) -> set[str]:
    from packaging.requirements import Requirement

    return {Requirement(s).name.lower().replace("_", "-") for s in specs}


def imported_distributions(folders: list[Path]) -> set[str]:
    """The distributions of every third-party module imported anywhere (also inside functions) in ``folders``."""
    owners = packages_distributions()
    mine = set(PACKAGES) | {p.stem for p in (ROOT / "tests").glob("*.py")}
    names = set()
    for folder in folders:
        for path in folder.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    third_party = names - set(sys.stdlib_module_names) - mine - {"__future__"}
    return {d.lower().replace("_", "-") for n in third_party for d in owners.get(n, [n])}


def test_the_code_imports_exactly_its_declared_dependencies():
    declared = requirement_names(project()["dependencies"])
    extras = project()["optional-dependencies"]
    used = imported_distributions([ROOT / p for p in PACKAGES])
    optional = requirement_names(extras["assets"] + extras["interop"] + extras["vllm"])  # interop: harness/interop/ only
    assert used - declared - optional == set()  # nothing imported undeclared
    assert declared - used == set(NEEDED_UNIMPORTED)  # nothing declared unused but what must be there
    tests = imported_distributions([ROOT / "tests"])
    assert tests - declared - optional - requirement_names(extras["test"]) == set()


def test_installed_versions_meet_the_floors():
    from packaging.requirements import Requirement

    for spec in project()["dependencies"]:
        req = Requirement(spec)
        assert req.specifier.contains(version(req.name), prereleases=True), f"{version(req.name)} fails {spec}"


def test_the_dependencies_that_are_not_imported_are_needed():
    from transformers.utils import is_accelerate_available, is_gguf_available

    assert is_accelerate_available() and is_gguf_available()


def test_a_float_warmup_steps_below_one_is_a_ratio(tmp_path):
    """trainers.trainer passes the profile's warmup_ratio as warmup_steps (the cpu profile's 0.05)."""
    from transformers import TrainingArguments

    args = TrainingArguments(output_dir=str(tmp_path), warmup_steps=0.05, use_cpu=True, report_to="none")
    assert args.get_warmup_steps(100) == 5 and args.get_warmup_steps(40) == 2


def test_training_arguments_take_activation_checkpointing(tmp_path):
    from transformers import TrainingArguments

    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none", activation_checkpointing=True,
                             activation_checkpointing_kwargs={"use_reentrant": False})
    assert args.activation_checkpointing is True


def test_from_pretrained_takes_dtype(tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    from harness.testing import tiny_llama_model

    tiny_llama_model(64).save_pretrained(tmp_path)
    assert AutoModelForCausalLM.from_pretrained(tmp_path, dtype=torch.bfloat16).dtype == torch.bfloat16


def test_setup_installs_no_recommended_apt_packages():
    """WordNet's Debian packages recommend others (``wordnet-gui``, Tk) that nothing here uses: every apt
    install in ``scripts/setup.sh`` asks for the named packages only."""
    import re

    text = (ROOT / "scripts" / "setup.sh").read_text().replace("\\\n", " ")  # continued lines joined
    installs = [m.group(0) for m in re.finditer(r"\bapt(?:-get)?\s+install\b[^;&|)\n]*", text)]
    assert installs, "setup.sh installs no apt package: this test is out of date"
    assert [i for i in installs if "--no-install-recommends" not in i] == []
