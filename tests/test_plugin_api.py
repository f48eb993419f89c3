"""The public plugin API (:mod:`workflows.plugin_api`) is enough to write a plugin of each kind: a task, an
objective, an aggregation and a synonym selector are registered from a module written to a temporary folder that imports nothing of
the project but ``workflows.plugin_api``, each with a setting of its own given as a flag, and each is exercised the
way the harness uses it: the task evaluated on the tiny model, the objective's loss computed, the aggregation recomputed by the
paired bootstrap from the result files, the selector building a concept file with ``harness concepts build`` (in test_plugin_selector). Every expected value is computed here, independently of the plugin."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

import numpy as np
import pytest

PLUGIN = textwrap.dedent('''
    """A plugin of each kind, written against the public plugin API only."""

    from dataclasses import dataclass

    import numpy as np

    from workflows.plugin_api import (AT_LEAST_1, POSITIVE, Aggregation, Check, Items, Metric, Task, TaskOutput,
                                      check_fields, ntp_terms, option, register_aggregation, register_objective,
                                      register_selector, register_task, to_floats, LossOutput)

    SEQUENCES = [[int(t) for t in np.random.default_rng(k).integers(10, 400, size=6 + k % 4)] for k in range(10)]


    # ---- an aggregation with a setting of its own: the mean of the values left after trimming a share off each end
    @dataclass(frozen=True)
    class TrimSettings:
        share: float = option(0.1, check=Check(ge=0, lt=0.5), help="share trimmed off each end")

        def __post_init__(self):
            check_fields(self)


    @register_aggregation("plug_trimmed_mean", "mean after trimming a share of the items off each end",
                          settings=TrimSettings)
    def trimmed_mean(x, settings):
        x = np.sort(np.asarray(x, dtype=float))
        k = int(settings.share * len(x))
        kept = x[k:len(x) - k]
        return float(kept.mean()) if len(kept) else float("nan")


    # ---- a task with settings of its own (flags --plug-scale, --plug-trim of harness eval)
    @dataclass(frozen=True)
    class PlugTaskSettings:
        plug_scale: float = option(1.0, check=POSITIVE, help="factor on every sequence's NLL (plugin test)")
        plug_trim: float = option(0.1, check=Check(ge=0, lt=0.5), help="share trimmed off each end (plugin test)")


    def run(lm, ctx, prepared):
        s = ctx.settings(PlugTaskSettings)
        scores = lm.token_scores(SEQUENCES)
        nll = [s.plug_scale * float(sc.nll.sum()) for sc in scores]
        metric = Metric("trimmed_nll", False, "trimmed mean of the scaled sequence NLL",
                        Aggregation("plug_trimmed_mean", ("nll",), settings={"share": s.plug_trim}))
        value = trimmed_mean(nll, TrimSettings(s.plug_trim))
        items = Items(ids=[str(i) for i in range(len(nll))], columns={"nll": nll})
        return [TaskOutput(metrics={"trimmed_nll": value}, items=items, extra_metrics=(metric,))]


    register_task(Task(name="plug_nll", description="scaled sequence NLL, trimmed (plugin test)",
                       metrics=(Metric("sequences", None, "sequences scored"),), main_metric="sequences",
                       run=lambda lm, ctx, prepared: [_with_count(o) for o in run(lm, ctx, prepared)],
                       requires=frozenset({"causal_lm"}), settings=PlugTaskSettings))


    def _with_count(out):
        out.metrics["sequences"] = float(len(out.items.ids))
        return out


    # ---- an objective with a setting of its own (flag --plug-ntp-scale of harness train)
    @dataclass(frozen=True)
    class PlugObjectiveSettings:
        plug_ntp_scale: float = option(1.0, check=POSITIVE, help="factor on the NTP loss (plugin test)")


    @register_objective("plug-scaled-ntp", "L = scale · L_NTP (plugin test)", uses_concepts=False,
                        settings=PlugObjectiveSettings)
    def scaled_ntp(logits, labels, concepts, settings):
        scale = settings.of(PlugObjectiveSettings).plug_ntp_scale
        ntp = ntp_terms(logits, labels)
        loss = scale * ntp.nll.sum() / ntp.n_tokens.clamp(min=1)
        return LossOutput(loss=loss, logs=to_floats(plug_loss=loss))


    # ---- a synonym selector with a setting of its own (flag --plug-min-chars of harness concepts build)
    @dataclass(frozen=True)
    class PlugSelectorSettings:
        plug_min_chars: int = option(4, check=AT_LEAST_1, help="shortest synonym kept (plugin test)")


    @register_selector("plug_long", settings=PlugSelectorSettings)
    class LongCandidates:
        """Every candidate of at least plug_min_chars letters, in the pool's order."""

        name = "plug_long"

        def __init__(self, ctx):
            self.min_chars = ctx.settings(PlugSelectorSettings).plug_min_chars

        def settings(self):
            return {"min_chars": self.min_chars}

        def select(self, queries):
            return [[c for c in q.candidates if len(c) >= self.min_chars] for q in queries]
''')
PROJECT = {"harness", "concepts", "tasks", "trainers", "leaderboard", "workflows"}


@pytest.fixture()
def plugin(tmp_path, monkeypatch):
    """The plugin module, imported from a temporary folder through the public API's import_plugin; every
    registry as it was before, afterwards."""
    from harness.testing import isolated_registries
    from workflows.plugin_api import import_plugin

    (tmp_path / "plug_module.py").write_text(PLUGIN, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with isolated_registries():
        import_plugin("plug_module")
        yield sys.modules["plug_module"]
    sys.modules.pop("plug_module", None)


def test_the_plugin_imports_only_the_public_api():
    imported = set()
    for node in ast.walk(ast.parse(PLUGIN)):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    assert imported == {"dataclasses", "numpy", "workflows.plugin_api"}


def test_nothing_in_the_project_imports_the_public_api():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    importers = []
    for package in sorted(PROJECT):
        for path in sorted((root / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                    [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if "workflows.plugin_api" in names and path.name != "plugin_api.py":
                    importers.append(str(path.relative_to(root)))
    assert importers == []


def nll_sums(module, sequences) -> list[float]:
    """Σ −log softmax(logits_{p−1})[x_p] per sequence, straight from the torch module."""
    import torch

    out = []
    with torch.no_grad():
        for seq in sequences:
            ids = torch.tensor([seq])
            logp = torch.log_softmax(module(ids).logits[0, :-1].double(), dim=-1)
            out.append(float(-logp.gather(1, ids[0, 1:, None]).sum()))
    return out


def test_task_and_aggregation_plugins_through_eval_flags_and_the_bootstrap(plugin, tmp_path, smollm2_tokenizer):
    from scipy.stats import trim_mean

    from harness.cli import build_parser
    from harness.commands.common import eval_options
    from harness.result_files import load_result
    from harness.runner import evaluate
    from harness.bootstrap import paired_bootstrap
    from harness.testing import tiny_llama_model, tiny_lm

    args = build_parser().parse_args(["eval", "--model", "x", "--tasks", "plug_nll", "--plug-scale", "2.5",
                                      "--plug-trim", "0.2", "--results-dir", str(tmp_path / "results")])
    options = eval_options(args)
    modules = [tiny_llama_model(len(smollm2_tokenizer), seed=s) for s in (0, 1)]
    paths = [evaluate(name, "plug_nll", options, lm=tiny_lm(smollm2_tokenizer, name=name, module=m)).paths[0]
             for name, m in zip(("tiny-a", "tiny-b"), modules)]
    records = [load_result(p).record for p in paths]  # written, validated and read back
    scaled = [2.5 * np.array(nll_sums(m, plugin.SEQUENCES)) for m in modules]
    for rec, nll in zip(records, scaled):
        assert rec.metrics["trimmed_nll"] == pytest.approx(trim_mean(nll, 0.2), rel=1e-6)
        assert rec.metrics["sequences"] == 10.0
        assert rec.aggregations["trimmed_nll"].to_dict() == {"fn": "plug_trimmed_mean", "columns": ["nll"],
                                                            "settings": {"share": 0.2}}
    comps = {c.metric: c for c in paired_bootstrap(records[0], records[1], n_resamples=200, seed=3)}
    got = comps["trimmed_nll"]
    a, b = (np.asarray(r.items.columns["nll"]) for r in records)
    rng = np.random.default_rng(3)  # the documented scheme: items drawn with replacement, B − A per resample
    draws = [rng.integers(0, len(a), size=len(a)) for _ in range(200)]
    diffs = np.array([trim_mean(b[d], 0.2) - trim_mean(a[d], 0.2) for d in draws])
    assert (got.a, got.b) == (pytest.approx(trim_mean(a, 0.2)), pytest.approx(trim_mean(b, 0.2)))
    assert got.lower == pytest.approx(np.quantile(diffs, 0.025)) and got.upper == pytest.approx(np.quantile(diffs, 0.975))


def test_a_recorded_aggregation_setting_out_of_its_bounds_is_refused(plugin):
    from harness.result_checks import _aggregation_problems

    items = {"columns": {"nll": [1.0, 2.0]}}
    ok = {"m": {"fn": "plug_trimmed_mean", "columns": ["nll"], "settings": {"share": 0.2}}}
    bad = {"m": {"fn": "plug_trimmed_mean", "columns": ["nll"], "settings": {"share": 0.7}}}
    assert _aggregation_problems(ok, items) == []
    assert "less than 0.5" in _aggregation_problems(bad, items)[0]


def test_objective_plugin_through_train_flags(plugin):
    import torch

    from harness.cli import build_parser
    from harness.config import from_args, recorded
    from trainers.objectives import OBJECTIVES
    from trainers.recipe import TrainConfig

    args = build_parser().parse_args(["train", "--concepts", "c.jsonl", "--out", "o", "--lambda", "0",
                                      "--objective", "plug-scaled-ntp", "--plug-ntp-scale", "2.5"])
    cfg = from_args(TrainConfig, args)
    objective = OBJECTIVES.get("plug-scaled-ntp")
    own = objective.own(cfg.settings)
    assert recorded(own)["plug_ntp_scale"] == 2.5
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 7, 50, generator=g)
    labels = torch.randint(0, 50, (2, 7), generator=g)
    labels[0, 3] = labels[1, 5] = -100
    expected = 2.5 * torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, 50), labels[:, 1:].reshape(-1),
                                                       ignore_index=-100)
    out = objective(logits, labels, None, own)
    assert float(out.loss) == pytest.approx(float(expected), rel=1e-5)
    assert out.logs["plug_loss"] == pytest.approx(float(expected), rel=1e-5)


def test_isolated_registries_forget_the_plugins(tmp_path, monkeypatch):
    from harness.aggregate import AGGREGATIONS
    from harness.task import TASKS
    from harness.testing import isolated_registries
    from workflows.plugin_api import import_plugin
    from trainers.objectives import OBJECTIVES

    (tmp_path / "plug_module_2.py").write_text(PLUGIN, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    from concepts.selectors import SELECTORS

    before = {r.kind: r.names() for r in (TASKS, OBJECTIVES, AGGREGATIONS, SELECTORS)}
    with isolated_registries():
        import_plugin("plug_module_2")
        assert "plug_nll" in TASKS and "plug-scaled-ntp" in OBJECTIVES and "plug_trimmed_mean" in AGGREGATIONS
        assert "plug_long" in SELECTORS
    sys.modules.pop("plug_module_2", None)
    assert {r.kind: r.names() for r in (TASKS, OBJECTIVES, AGGREGATIONS, SELECTORS)} == before


def test_start_up_imports_neither_the_testing_helpers_nor_torch():
    code = ("import sys, harness.cli; from harness.plugins import load_plugins; load_plugins(); "
            "print(sorted(m for m in ('torch', 'transformers', 'harness.testing', 'workflows.plugin_api') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
