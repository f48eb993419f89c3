"""`harness eval` through the CLI: user errors end in one line and exit 2 without writing results;
the embedded default, an adapter of it and the external encoder evaluate end to end."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_user_error(code, err, needle, results):
    assert code == 2
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert lines[-1].startswith("harness: error:") and needle in lines[-1]
    assert "Traceback" not in err
    assert not Path(results).exists(), "a failed run must write no results"


def test_model_path_that_does_not_exist(capsys, tmp_path):
    code, _, err = run_cli(capsys, "eval", "--model", str(tmp_path / "nope"), "--results-dir", str(tmp_path / "r"))
    assert_user_error(code, err, "does not exist", tmp_path / "r")


def test_folder_that_is_no_model(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(capsys, "eval", "--model", str(tmp_path / "empty"), "--results-dir", str(tmp_path / "r"))
    assert_user_error(code, err, "no model folder", tmp_path / "r")


def test_unknown_task_suggests(capsys, tmp_path):
    code, _, err = run_cli(capsys, "eval", "--model", "smollm2-135m", "--tasks", "simlex99",
                           "--results-dir", str(tmp_path / "r"))
    assert_user_error(code, err, "did you mean simlex999", tmp_path / "r")


def test_data_folder_without_the_needed_file(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    (tmp_path / "data").mkdir()
    code, _, err = run_cli(capsys, "eval", "--model", "smollm2-135m", "--tasks", "men",
                           "--data-dir", str(tmp_path / "data"), "--results-dir", str(tmp_path / "r"))
    assert_user_error(code, err, "MEN_dataset_natural_form_full", tmp_path / "r")


def test_benchmark_file_with_a_malformed_line(capsys, tmp_path):
    (tmp_path / "data" / "men").mkdir(parents=True)
    bad = tmp_path / "data" / "men" / "MEN_dataset_natural_form_full"
    bad.write_text("sun sunlight 50.0\ncar automobile\n")
    code, _, err = run_cli(capsys, "eval", "--model", "smollm2-135m", "--tasks", "men",
                           "--data-dir", str(tmp_path / "data"), "--results-dir", str(tmp_path / "r"))
    assert_user_error(code, err, f"{bad}:2:", tmp_path / "r")


def test_help_and_list_do_not_import_torch():
    code = ("import sys\nfrom harness.cli import main\n"
            "main(['list'])\n"
            "assert 'torch' not in sys.modules, 'harness list imported torch'\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules\nprint('no torch')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "no torch" in out.stdout and "simlex999" in out.stdout


REQUIRED = ("schema_version", "task", "model", "metrics", "main_metric", "items", "protocol", "data",
            "seed", "versions", "git_commit", "wall_time_s")


@pytest.mark.slow
def test_embedded_default_all_similarity_tasks(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "eval", "--model", "smollm2-135m", "--tasks", "men,wordsim353,simlex999,stsb",
                           "--limit", "60", "--results-dir", str(tmp_path))
    assert code == 0
    files = sorted(p.name for p in tmp_path.glob("smollm2-135m-*/*.json"))
    assert files == ["men.json", "simlex999.json", "stsb.json", "wordsim353.json"]
    for p in tmp_path.glob("smollm2-135m-*/*.json"):
        rec = json.loads(p.read_text())
        assert all(k in rec for k in REQUIRED)
        assert -1 <= rec["metrics"]["spearman"] <= 1
        assert len(rec["items"]["ids"]) == 60
        assert rec["protocol"]["layer"] == -1 and rec["protocol"]["bos"] == "context"
        assert rec["protocol"]["context_token"] == "<|endoftext|>"
        assert rec["model"]["kind"] == "causal_lm"
        assert f"{rec['task']}" in out


def _save_adapter(base_model, folder: Path, base_spec: str, seed: int = 0):
    import torch
    from peft import LoraConfig

    from harness.lm.hf_load import wrap_lora

    torch.manual_seed(seed)
    cfg = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    peft_model = wrap_lora(base_model, cfg)
    peft_model.save_pretrained(folder)
    meta = json.loads((folder / "adapter_config.json").read_text())
    meta["base_model_name_or_path"] = base_spec
    (folder / "adapter_config.json").write_text(json.dumps(meta))
    peft_model.unload()


@pytest.mark.slow
def test_adapter_of_the_default_model_differs_from_base(capsys, tmp_path, smollm2_folder):
    from transformers import AutoModelForCausalLM

    _save_adapter(AutoModelForCausalLM.from_pretrained(smollm2_folder), tmp_path / "adapter", "smollm2-135m")
    res = tmp_path / "results"
    assert run_cli(capsys, "eval", "--model", "smollm2-135m", "--tasks", "wordsim353", "--limit", "80",
                   "--results-dir", str(res))[0] == 0
    code, out, _ = run_cli(capsys, "eval", "--model", str(tmp_path / "adapter"), "--tasks", "wordsim353",
                           "--limit", "80", "--results-dir", str(res))
    assert code == 0
    base = json.loads(next(res.glob("smollm2-135m-*/wordsim353.json")).read_text())
    adapted = json.loads(next(res.glob("adapter-*/wordsim353.json")).read_text())
    assert adapted["model"]["kind"] == "adapter" and adapted["model"]["adapter_hash"]
    assert adapted["model"]["base_id"] == base["model"]["id"]
    assert adapted["items"]["columns"]["cosine"] != base["items"]["columns"]["cosine"]
    assert adapted["metrics"]["spearman"] != base["metrics"]["spearman"]
    comp = adapted["comparison"]["metrics"]["spearman"]  # automatic paired bootstrap against the base
    assert comp["diff"] == pytest.approx(adapted["metrics"]["spearman"] - base["metrics"]["spearman"])
    assert "paired bootstrap" in out


def test_adapter_whose_base_does_not_fit(capsys, tmp_path, smollm2_folder):
    from harness.testing import tiny_llama_model

    _save_adapter(tiny_llama_model(49152), tmp_path / "tiny-adapter", "smollm2-135m")
    code, _, err = run_cli(capsys, "eval", "--model", str(tmp_path / "tiny-adapter"), "--tasks", "wordsim353",
                           "--results-dir", str(tmp_path / "r"))
    assert_user_error(code, err, "does not fit base model smollm2-135m", tmp_path / "r")


@pytest.mark.slow
def test_all_minilm_on_stsb_test_matches_mteb(capsys, tmp_path):
    """MTEB's published figure for all-MiniLM-L6-v2 on the STS-B test split is 0.8203."""
    code, _, _ = run_cli(capsys, "eval", "--model", "all-minilm-l6-v2", "--tasks", "stsb", "--results-dir", str(tmp_path))
    assert code == 0
    rec = json.loads(next(tmp_path.glob("all-minilm-l6-v2-*/stsb.json")).read_text())
    assert len(rec["items"]["ids"]) == 1379
    assert rec["metrics"]["spearman"] == pytest.approx(0.820, abs=0.002)
