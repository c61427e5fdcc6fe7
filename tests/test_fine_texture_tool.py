"""tools/fine_texture_energy.py: the band energies on known answers."""

import numpy as np
import pytest


def _stripes(period, size=96, axis=1, amplitude=0.25):
    x = np.arange(size)
    wave = 0.5 + amplitude * np.sin(2 * np.pi * x / period)
    image = np.broadcast_to(wave[None, :] if axis == 1 else wave[:, None], (size, size))
    return np.repeat(image[..., None], 3, axis=2)


@pytest.mark.parametrize("period, band", [(3.0, 0), (4.0, 1), (6.0, 2), (12.0, None)])
def test_a_sinusoid_falls_in_its_band(load_tool, period, band):
    tool = load_tool("fine_texture_energy")
    energies = tool.band_energies(_stripes(period))
    if band is None:  # longer than every band
        np.testing.assert_allclose(energies, 0.0, atol=1e-18)
        return
    assert energies[band] > 0
    assert np.delete(energies, band).max() < 1e-12 * energies[band]
    # A whole number of periods in n = 96 px (3, 4 and 6 px) puts each row's
    # sinusoid in one rfft bin of |amplitude * n / 2|^2, the same in every row
    # (the rows' mean); the other axis's spectra are flat (zero after the mean).
    np.testing.assert_allclose(energies[band], (0.25 * 96 / 2) ** 2, rtol=1e-9)


def test_energy_scales_with_the_square_of_the_amplitude_and_is_axis_symmetric(load_tool):
    tool = load_tool("fine_texture_energy")
    weak, strong = tool.band_energies(_stripes(4.0, amplitude=0.1)), tool.band_energies(_stripes(4.0, amplitude=0.2))
    np.testing.assert_allclose(strong, 4 * weak, rtol=1e-9, atol=1e-20)
    np.testing.assert_allclose(tool.band_energies(_stripes(4.0, axis=0)), tool.band_energies(_stripes(4.0)),
                               rtol=1e-9, atol=1e-20)
    flat = np.full((40, 40, 3), 0.3)
    np.testing.assert_allclose(tool.band_energies(flat), 0.0, atol=1e-20)


def test_bad_content_step_is_one_line(load_tool, capsys):
    tool = load_tool("fine_texture_energy")
    with pytest.raises(SystemExit):
        tool.main(["--content-step", "0"])
    assert "Received: content_step=0" in capsys.readouterr().err


def test_folder_without_images_is_one_line(load_tool, tmp_path, capsys):
    tool = load_tool("fine_texture_energy")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(SystemExit):
        tool.main(["--contents", str(tmp_path)])
    assert f"Received: contents={str(tmp_path)!r}" in capsys.readouterr().err
