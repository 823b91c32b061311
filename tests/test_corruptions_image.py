"""Image corruptions: equal to imagecorruptions where it works, fixed ports equal to the
original algorithms, monotone in severity, deterministic per seed, any size."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data
from skimage.filters import gaussian

import corruptions
from corruptions import IMAGE_SHIFTS, UnknownShift, apply_image, seed_for, spec
from corruptions import _pkg_resources_shim as shim
from corruptions._backend import imagecorruptions_module
from corruptions.seeding import numpy_global_seed

# Shifts whose imagecorruptions implementation runs as shipped and is seedable.
PACKAGE_EXACT = (
    "gaussian_noise", "shot_noise", "speckle_noise", "defocus_blur", "motion_blur",
    "snow", "frost", "brightness", "contrast", "elastic_transform", "pixelate",
    "jpeg_compression",
)  # fmt: skip
DETERMINISTIC = (
    "defocus_blur",
    "zoom_blur",
    "brightness",
    "contrast",
    "pixelate",
    "jpeg_compression",
)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A natural image, non-square, small enough for fast tests."""
    return np.array(Image.fromarray(data.astronaut()).resize((80, 64), Image.BILINEAR))


@pytest.fixture(scope="module")
def photo128() -> np.ndarray:
    return np.array(Image.fromarray(data.astronaut()).resize((128, 128), Image.BILINEAR))


@pytest.fixture(scope="module")
def ic():
    imagecorruptions_module()
    import imagecorruptions

    return imagecorruptions


# ---------------------------------------------------------------- pkg_resources shim


def test_shim_resolves_module_and_package_resources(ic):
    frost = shim.resource_filename("imagecorruptions.corruptions", "./frost/frost1.png")
    assert Path(frost).is_file()
    assert Path(shim.resource_filename("imagecorruptions", "frost/frost6.jpg")).is_file()
    with pytest.raises(ModuleNotFoundError):
        shim.resource_filename("no_such_module_xyz", "a.txt")


def test_shim_is_scoped_and_never_replaces_a_real_one(monkeypatch):
    import importlib.util

    monkeypatch.delitem(sys.modules, "pkg_resources", raising=False)
    assert shim.pkg_resources_missing() == (importlib.util.find_spec("pkg_resources") is None)
    # As on a current setuptools, where pkg_resources is gone:
    monkeypatch.setattr(shim, "pkg_resources_missing", lambda: True)
    with shim.installed_if_missing() as installed:
        assert installed
        from pkg_resources import resource_filename  # type: ignore[import-not-found]

        assert resource_filename is shim.resource_filename
    assert "pkg_resources" not in sys.modules
    monkeypatch.undo()
    # A real (here: stand-in) pkg_resources is left alone.
    real = object()
    monkeypatch.setitem(sys.modules, "pkg_resources", real)
    assert not shim.pkg_resources_missing()
    with shim.installed_if_missing() as installed:
        assert not installed and sys.modules["pkg_resources"] is real


# ---------------------------------------------------------------- equality with the package


@pytest.mark.parametrize("name", PACKAGE_EXACT)
@pytest.mark.parametrize("severity", [1, 5])
def test_equals_imagecorruptions(ic, photo, name, severity):
    seed = seed_for("img-7", name, severity)
    with numpy_global_seed(seed):
        expected = ic.corrupt(photo, severity=severity, corruption_name=name)
    np.testing.assert_array_equal(apply_image(name, photo, severity, seed), expected)


@pytest.mark.parametrize("severity", [1, 2, 3, 4])
def test_zoom_blur_equals_package_below_severity_5(ic, photo, severity):
    with numpy_global_seed(0):
        expected = ic.corrupt(photo, severity=severity, corruption_name="zoom_blur")
    np.testing.assert_array_equal(apply_image("zoom_blur", photo, severity, 0), expected)


def test_zoom_blur_severity_5_follows_protocol(ic, photo):
    factors = np.arange(1, 1.33, 0.03)
    assert len(factors) == 12 and factors[-1] == pytest.approx(1.33)  # package: 11, up to 1.30
    x = (photo / 255.0).astype(np.float32)
    out = sum(ic.corruptions.clipped_zoom(x, z)[: x.shape[0], : x.shape[1]] for z in factors)
    expected = np.uint8(np.clip((x + out) / (len(factors) + 1), 0, 1) * 255)
    np.testing.assert_array_equal(apply_image("zoom_blur", photo, 5, 0), expected)
    with numpy_global_seed(0):
        package = ic.corrupt(photo, severity=5, corruption_name="zoom_blur")
    assert not np.array_equal(package, expected)


def test_impulse_noise_equals_package_with_seeded_skimage(ic, photo):
    """skimage's random_noise ignores the global RNG; seeded explicitly it equals the package."""
    original = ic.corruptions.sk.util.random_noise
    for severity in (1, 5):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(
                ic.corruptions.sk.util, "random_noise", lambda *a, **k: original(*a, rng=1234, **k)
            )
            expected = ic.corrupt(photo, severity=severity, corruption_name="impulse_noise")
        np.testing.assert_array_equal(apply_image("impulse_noise", photo, severity, 1234), expected)


# ---------------------------------------------------------------- the fixed ports


def _reference_glass_blur(x: np.ndarray, severity: int) -> np.ndarray:
    """imagecorruptions' glass_blur, sequential loop kept, multichannel -> channel_axis."""
    sigma, delta, iters = [(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)][
        severity - 1
    ]
    img = np.uint8(gaussian(x / 255.0, sigma=sigma, channel_axis=-1) * 255)
    for _ in range(iters):
        for h in range(img.shape[0] - delta, delta, -1):
            for w in range(img.shape[1] - delta, delta, -1):
                dx, dy = np.random.randint(-delta, delta, size=(2,))
                hp, wp = h + dy, w + dx
                img[h, w], img[hp, wp] = img[hp, wp], img[h, w]
    return np.clip(gaussian(img / 255.0, sigma=sigma, channel_axis=-1), 0, 1) * 255


def _reference_plasma(mapsize: int, wibbledecay: float) -> np.ndarray:
    """imagecorruptions' plasma_fractal with np.float_ -> np.float64."""
    arr = np.empty((mapsize, mapsize), dtype=np.float64)
    arr[0, 0] = 0
    step, wibble = mapsize, 100.0

    def wibbled(a):
        return a / 4 + wibble * np.random.uniform(-wibble, wibble, a.shape)

    while step >= 2:
        h = step // 2
        corner = arr[0:mapsize:step, 0:mapsize:step]
        sq = corner + np.roll(corner, shift=-1, axis=0)
        sq += np.roll(sq, shift=-1, axis=1)
        arr[h:mapsize:step, h:mapsize:step] = wibbled(sq)
        dr, ul = arr[h:mapsize:step, h:mapsize:step], arr[0:mapsize:step, 0:mapsize:step]
        lt = (dr + np.roll(dr, 1, axis=0)) + (ul + np.roll(ul, -1, axis=1))
        arr[0:mapsize:step, h:mapsize:step] = wibbled(lt)
        tt = (dr + np.roll(dr, 1, axis=1)) + (ul + np.roll(ul, -1, axis=0))
        arr[h:mapsize:step, 0:mapsize:step] = wibbled(tt)
        step //= 2
        wibble /= wibbledecay
    arr -= arr.min()
    return arr / arr.max()


def _reference_fog(x: np.ndarray, severity: int) -> np.ndarray:
    strength, decay = [(1.5, 2), (2.0, 2), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)][severity - 1]
    img = x / 255.0
    max_val = img.max()
    size = 1 << (int(max(x.shape)) - 1).bit_length()
    img += strength * _reference_plasma(size, decay)[: x.shape[0], : x.shape[1]][..., None]
    return np.clip(img * max_val / (max_val + strength), 0, 1) * 255


@pytest.mark.parametrize("severity", [1, 2, 3, 4, 5])
def test_glass_blur_equals_original_algorithm(severity):
    x = np.array(Image.fromarray(data.astronaut()).resize((40, 36), Image.BILINEAR))
    with numpy_global_seed(99):
        expected = np.uint8(_reference_glass_blur(x, severity))
    np.testing.assert_array_equal(apply_image("glass_blur", x, severity, 99), expected)


@pytest.mark.parametrize("severity", [1, 2, 3, 4, 5])
def test_fog_equals_original_algorithm(photo, severity):
    with numpy_global_seed(5):
        expected = np.uint8(_reference_fog(photo, severity))
    np.testing.assert_array_equal(apply_image("fog", photo, severity, 5), expected)


def _high_frequency_energy(img: np.ndarray) -> float:
    g = img.astype(np.float64).mean(axis=2)
    return float(np.mean(np.diff(g, axis=0) ** 2) + np.mean(np.diff(g, axis=1) ** 2))


def test_glass_blur_high_frequency_energy_falls(photo128):
    energy = [
        _high_frequency_energy(apply_image("glass_blur", photo128, s, 3)) for s in range(1, 6)
    ]
    assert energy[0] < _high_frequency_energy(photo128)
    assert all(b < a for a, b in zip(energy, energy[1:], strict=False)), energy


def test_fog_washes_out_the_photo_with_severity(photo128):
    """Fog scales the photo by max/(max + strength) and adds the plasma layer, so what is left
    of the photo (its correlation with the clean one) falls. Strength is 2.5 at both 3 and 4
    (only the fog's roughness changes), hence the average over a few seeds."""
    clean = photo128.astype(np.float64).ravel()

    def corr(severity: int, seed: int) -> float:
        out = apply_image("fog", photo128, severity, seed).astype(np.float64).ravel()
        return float(np.corrcoef(clean, out)[0, 1])

    mean_corr = [np.mean([corr(s, seed) for seed in range(4)]) for s in range(1, 6)]
    assert mean_corr[0] < 0.95
    assert all(b < a for a, b in zip(mean_corr, mean_corr[1:], strict=False)), mean_corr


def test_glass_blur_is_fast_at_224():
    x = np.array(Image.fromarray(data.astronaut()).resize((224, 224), Image.BILINEAR))
    apply_image("glass_blur", x, 5, 0)
    start = time.perf_counter()
    apply_image("glass_blur", x, 5, 1)
    # ~0.03 s here; the sequential original takes ~2 s. Loose bound for shared CPUs.
    assert time.perf_counter() - start < 0.25


# ---------------------------------------------------------------- severity is monotone

# Steps where the original parameter table itself lowers the distance slightly, each
# measured on several images and seeds before being allowed (relative tolerance):
# - glass_blur 3 -> 4: iterations (2, 1, 3, 2, 2); three copy passes at severity 3 move more
#   pixels than two at severity 4 (MAD -2..3 %); blur still increases (see the HF test).
# - snow 2 -> 3: (loc, threshold, zoom) (0.2, 0.5, 2) -> (0.55, 0.9, 4): fewer, larger
#   flakes (MAD -1..2 %).
ALLOWED_DIP = {("glass_blur", 3): 0.05, ("snow", 2): 0.04}


def _distance(name: str, out: np.ndarray, clean: np.ndarray) -> float:
    if name == "frost":
        # Frost darkens the photo (weight 1 -> 0.6) while adding bright ice: the two cancel
        # in a pixel difference (MAD dips 3 -> 4), structure loss is monotone.
        from skimage.metrics import structural_similarity

        return 1.0 - structural_similarity(out, clean, channel_axis=-1)
    return float(np.abs(out.astype(np.float64) - clean).mean())


@pytest.mark.parametrize("name", IMAGE_SHIFTS)
def test_distance_grows_with_severity(photo128, name):
    dist = [
        np.mean(
            [_distance(name, apply_image(name, photo128, s, seed), photo128) for seed in (0, 1)]
        )
        for s in range(1, 6)
    ]
    assert dist[0] > 0
    for s in range(1, 5):
        tolerance = ALLOWED_DIP.get((name, s), 0.0)
        assert dist[s] >= dist[s - 1] * (1 - tolerance), (name, s, dist)
    assert dist[4] > dist[0]


# ---------------------------------------------------------------- determinism, shapes, errors


@pytest.mark.parametrize("name", IMAGE_SHIFTS)
def test_deterministic_per_seed(photo, name):
    a = apply_image(name, photo, 3, 11)
    assert a.tobytes() == apply_image(name, photo, 3, 11).tobytes()
    b = apply_image(name, photo, 3, 12)
    assert np.array_equal(a, b) == (name in DETERMINISTIC)


@pytest.mark.parametrize("shape", [(64, 64, 3), (64, 100, 3), (480, 640, 3)])
def test_shape_and_dtype(shape):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=shape, dtype=np.uint8)
    names = IMAGE_SHIFTS if shape[0] < 100 else ("glass_blur", "fog", "frost", "snow", "zoom_blur")
    for name in names:
        out = apply_image(name, img, 5, 1)
        assert out.shape == shape and out.dtype == np.uint8, name


def test_grayscale_input_gives_rgb(photo):
    gray = photo.mean(axis=2).astype(np.uint8)
    for name in ("gaussian_noise", "glass_blur", "fog", "brightness", "jpeg_compression"):
        out = apply_image(name, gray, 2, 0)
        assert out.shape == gray.shape + (3,) and out.dtype == np.uint8
        np.testing.assert_array_equal(out, apply_image(name, np.stack([gray] * 3, -1), 2, 0))
    assert apply_image("fog", gray[..., None], 2, 0).shape == gray.shape + (3,)


def test_global_rng_state_is_restored(photo):
    np.random.seed(123)
    expected = np.random.random(3)
    np.random.seed(123)
    apply_image("gaussian_noise", photo, 1, 5)
    np.testing.assert_array_equal(np.random.random(3), expected)


def test_input_errors(photo):
    with pytest.raises(ValueError, match="at least 32"):
        apply_image("fog", np.zeros((31, 64, 3), np.uint8), 1, 0)
    with pytest.raises(ValueError, match="uint8"):
        apply_image("fog", photo.astype(np.float32), 1, 0)
    with pytest.raises(ValueError, match="shape"):
        apply_image("fog", np.zeros((64, 64, 4), np.uint8), 1, 0)
    with pytest.raises(ValueError, match="level"):
        apply_image("fog", photo, 6, 0)
    with pytest.raises(UnknownShift, match="gaussian_noise") as info:
        apply_image("gaussian_blur", photo, 1, 0)
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)


def test_seed_for_is_stable_and_distinct():
    seed = seed_for("coco:42", "fog", 5)
    assert seed == seed_for("coco:42", "fog", 5) and 0 <= seed < 2**32
    assert seed == 1729868288  # sha256-based: the same on every machine and process
    others = {seed_for("coco:43", "fog", 5), seed_for("coco:42", "snow", 5),
              seed_for("coco:42", "fog", 4), seed_for("coco:42", "fog", 5, base_seed=1)}  # fmt: skip
    assert seed not in others and len(others) == 4


def test_specs_for_images():
    assert len(IMAGE_SHIFTS) == 16 and IMAGE_SHIFTS[0] == "gaussian_noise"
    groups = [spec(n).group for n in IMAGE_SHIFTS]
    assert groups == ["noise"] * 4 + ["blur"] * 4 + ["weather"] * 3 + ["digital"] * 5
    s = spec("glass_blur")
    assert s.modality == "image" and s.levels == (1, 2, 3, 4, 5) and s.max_level == 5
    assert s.available() == (True, "") and "scikit-image" in s.needs
    assert corruptions.spec("snow").needs.startswith("imagecorruptions")
