"""Shared pytest fixtures."""

import numpy as np
import pytest

# ---------------------------------------------------------------------------
# Image files
# ---------------------------------------------------------------------------


@pytest.fixture
def write_image(tmp_path):
    """Factory: `write_image(name, height=48, width=64, seed=0)` -> path.

    Writes a smooth random-ish RGB image (format from the extension) under
    `tmp_path` and returns its path as a string.
    """
    from PIL import Image

    def write(name, height=48, width=64, seed=0):
        rng = np.random.default_rng(seed)
        y, x = np.mgrid[0:height, 0:width] / max(height, width)
        phase = rng.uniform(0, 2 * np.pi, size=3)
        image = 0.5 + 0.4 * np.sin(6 * (x + y)[..., None] + phase)
        image += rng.normal(0, 0.05, size=image.shape)
        pixels = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path)
        return str(path)

    return write


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory):
    """An untrained relu4_1 CBAM model exported once per session (no VGG download)."""
    from tf_cbam_style.models import AttentionAutoencoder
    from tf_cbam_style.training import export_model

    model = AttentionAutoencoder(depth="relu4_1", attention="cbam", encoder_weights=None)
    model.build()
    return export_model(model, str(tmp_path_factory.mktemp("model") / "tiny.keras"))


# ---------------------------------------------------------------------------
# Shared data (../shared beside the checkout) and VGG weights
# ---------------------------------------------------------------------------

import os  # noqa: E402
import pathlib  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
VGG_WEIGHTS = SHARED / "weights" / "vgg19_imagenet_notop.weights.h5"
if VGG_WEIGHTS.is_file():
    os.environ.setdefault("TF_CBAM_STYLE_VGG_WEIGHTS", str(VGG_WEIGHTS))


@pytest.fixture(scope="session")
def vgg_weights():
    """Path of the ImageNet VGG19 weights file; skips when it is absent."""
    path = os.environ.get("TF_CBAM_STYLE_VGG_WEIGHTS")
    if not path or not os.path.isfile(path):
        pytest.skip("set TF_CBAM_STYLE_VGG_WEIGHTS to the VGG19 Keras weights file")
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def load_tool():
    """Factory: `load_tool("quality_targets")` -> the module `tools/quality_targets.py`."""
    import importlib.util

    def load(name):
        spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
