"""serving/models.config against the committed SavedModels.

TF Serving (and the docker compose files that mount saved_models/ at
/models) serves what models.config names; a model exported but not listed
would never be served, and an entry without a SavedModel stops the server
from becoming ready.
"""

import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _entries():
    text = (ROOT / "serving" / "models.config").read_text()
    text = re.sub(r"#.*", "", text)
    blocks = re.findall(r"config\s*\{([^{}]*)\}", text)
    entries = []
    for block in blocks:
        fields = dict(re.findall(r"(\w+)\s*:\s*\"([^\"]*)\"", block))
        entries.append(fields)
    return entries


def _saved_models(committed):
    """Model names with a `saved_models/<name>/<version>/saved_model.pb`: the
    committed ones (git-tracked; the relu5_1 exports are ignored), or all
    that are here."""
    if committed and (ROOT / ".git").exists():
        listed = subprocess.run(["git", "ls-files", "saved_models"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.split()
        paths = [pathlib.Path(p) for p in listed]
    else:
        paths = [p.relative_to(ROOT) for p in (ROOT / "saved_models").glob("*/*/saved_model.pb")]
    return sorted({p.parts[1] for p in paths
                   if len(p.parts) == 4 and p.parts[2].isdigit() and p.name == "saved_model.pb"})


def test_every_entry_is_a_tensorflow_model_under_models():
    entries = _entries()
    assert entries, "serving/models.config lists no model"
    for entry in entries:
        assert entry["model_platform"] == "tensorflow", entry
        assert entry["base_path"] == f"/models/{entry['name']}", entry


def test_entries_and_committed_saved_models_match():
    names = [entry["name"] for entry in _entries()]
    assert len(names) == len(set(names)), f"duplicate entries: {names}"
    assert sorted(names) == _saved_models(committed=True)
    assert set(names) <= set(_saved_models(committed=False))


def test_the_clients_default_model_is_served():
    from tf_cbam_style.serving.contract import DEFAULT_MODEL_NAME

    assert DEFAULT_MODEL_NAME in [entry["name"] for entry in _entries()]
