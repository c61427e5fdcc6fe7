"""serving/models.config against the shipped SavedModels.

TF Serving (and the docker compose files that mount saved_models/ at
/models) serves what models.config names; a model exported but not listed
would never be served, and an entry without a SavedModel stops the server
from becoming ready.
"""

import pathlib
import re

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


def _shipped_saved_models():
    return sorted(
        base.name for base in (ROOT / "saved_models").iterdir()
        if any((version / "saved_model.pb").is_file() for version in base.iterdir() if version.name.isdigit())
    )


def test_every_entry_is_a_tensorflow_model_under_models():
    entries = _entries()
    assert entries, "serving/models.config lists no model"
    for entry in entries:
        assert entry["model_platform"] == "tensorflow", entry
        assert entry["base_path"] == f"/models/{entry['name']}", entry


def test_entries_and_shipped_saved_models_match():
    names = [entry["name"] for entry in _entries()]
    assert len(names) == len(set(names)), f"duplicate entries: {names}"
    assert sorted(names) == _shipped_saved_models()


def test_the_clients_default_model_is_served():
    from tf_cbam_style.serving.contract import DEFAULT_MODEL_NAME

    assert DEFAULT_MODEL_NAME in [entry["name"] for entry in _entries()]
