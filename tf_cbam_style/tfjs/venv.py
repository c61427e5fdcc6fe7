"""The TensorFlow.js converter's own virtualenv.

`tensorflowjs` pins its own TensorFlow (2.19 for 4.22.0), which cannot share
an environment with this package's TensorFlow, so the converter runs from a
separate virtualenv that is created on first use and reused afterwards.
"""

import collections
import glob
import os
import pathlib
import subprocess
import sys

CONVERTER_VERSION = "4.22.0"
CONVERTER_REQUIREMENTS = (f"tensorflowjs=={CONVERTER_VERSION}", "ydf<0.16")
VENV_ENV_VAR = "TF_CBAM_STYLE_TFJS_VENV"
_STAMP = "tf_cbam_style-requirements.txt"

ConverterEnv = collections.namedtuple("ConverterEnv", ["path", "python", "converter", "created"])
ConverterEnv.__doc__ = """A ready converter virtualenv.

Attributes:
    path: the virtualenv folder.
    python: its Python interpreter.
    converter: its `tensorflowjs_converter` script.
    created: whether this call installed anything.
"""


def default_venv_path():
    """`$TF_CBAM_STYLE_TFJS_VENV`, or `~/.cache/tf_cbam_style/tfjs-venv`."""
    env = os.environ.get(VENV_ENV_VAR)
    if env:
        return pathlib.Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(cache) / "tf_cbam_style" / "tfjs-venv"


def _bin(path, name):
    folder = "Scripts" if os.name == "nt" else "bin"
    suffix = ".exe" if os.name == "nt" else ""
    return path / folder / (name + suffix)


def _stamp_text():
    return "\n".join(CONVERTER_REQUIREMENTS) + "\n"


def is_ready(path=None):
    """Whether the virtualenv at `path` has the pinned converter installed."""
    path = pathlib.Path(path) if path is not None else default_venv_path()
    stamp = path / _STAMP
    return (
        _bin(path, "tensorflowjs_converter").is_file()
        and stamp.is_file()
        and stamp.read_text() == _stamp_text()
    )


def ensure_converter_venv(path=None, python=None, log=None):
    """Creates (once) and returns the converter's virtualenv.

    Args:
        path: the virtualenv folder; defaults to `default_venv_path()`.
        python: the interpreter that creates it; defaults to this one.
        log: optional callable receiving progress lines.

    Returns:
        A `ConverterEnv`.
    """
    path = pathlib.Path(path).expanduser() if path is not None else default_venv_path()
    say = log or (lambda message: None)
    created = False
    if not is_ready(path):
        created = True
        if not _bin(path, "python").is_file():
            say(f"Creating the TF.js converter virtualenv in {path} (once; about 3 GB) ...")
            path.parent.mkdir(parents=True, exist_ok=True)
            _run([python or sys.executable, "-m", "venv", str(path)], "python -m venv")
        say(f"Installing {' '.join(CONVERTER_REQUIREMENTS)} (a few minutes) ...")
        _run(
            [str(_bin(path, "python")), "-m", "pip", "install", "-q", "--disable-pip-version-check",
             *CONVERTER_REQUIREMENTS],
            "pip install " + " ".join(repr(r) for r in CONVERTER_REQUIREMENTS),
        )
        (path / _STAMP).write_text(_stamp_text())
    return ConverterEnv(path, _bin(path, "python"), _bin(path, "tensorflowjs_converter"), created)


def _run(command, what):
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise RuntimeError(f"`{what}` failed (exit {result.returncode}):\n{tail}")


def supported_ops(env):
    """The TensorFlow op names the converter accepts (its `op_list/*.json`)."""
    import json

    pattern = str(env.path / "lib" / "python*" / "site-packages" / "tensorflowjs" / "op_list" / "*.json")
    files = glob.glob(pattern) or glob.glob(
        str(env.path / "Lib" / "site-packages" / "tensorflowjs" / "op_list" / "*.json")
    )
    if not files:
        raise FileNotFoundError(
            f"The converter virtualenv has no tensorflowjs op list. Received: path='{env.path}'"
        )
    names = set()
    for file in files:
        with open(file, encoding="utf-8") as f:
            names.update(entry["tfOpName"] for entry in json.load(f))
    return frozenset(names)
