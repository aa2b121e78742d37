"""gdo.media: images, videos, frame lists, resizing, sampling and media errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gdo.media import (
    MediaError,
    fit_max_pixels,
    load_frames,
    load_image,
    load_media,
    load_video,
    probe_video,
    resolve_media,
    uniform_indices,
)
from gdo.media.testing import gray_level, write_image, write_video
from gdo.utils.errors import InputError


def test_uniform_indices_cover_the_clip_and_repeat_when_short() -> None:
    assert uniform_indices(10, 4).tolist() == [0, 3, 6, 9]
    assert uniform_indices(3, 5).tolist() == [0, 0, 1, 2, 2]
    assert uniform_indices(4, 0).tolist() == [0, 1, 2, 3]
    assert uniform_indices(0, 4).size == 0


@pytest.mark.parametrize(("h", "w", "budget"), [(480, 640, 50176), (100, 3000, 5000), (7, 9, 10)])
def test_fit_max_pixels_keeps_aspect_within_budget(h: int, w: int, budget: int) -> None:
    nh, nw = fit_max_pixels(h, w, budget)
    assert nh * nw <= budget
    assert abs(nh / nw - h / w) / (h / w) < 0.2
    assert fit_max_pixels(h, w, None) == (h, w)
    assert fit_max_pixels(20, 30, 10_000) == (20, 30)  # never upscaled


def test_load_image_rgb_and_resize(tmp_path: Path) -> None:
    p = write_image(tmp_path / "red.png", (255, 0, 0), size=(20, 30))
    img = load_image(p)
    assert img.shape == (20, 30, 3) and img.dtype == np.uint8
    assert img[..., 0].min() == 255 and img[..., 2].max() == 0  # RGB, not BGR
    small = load_image(p, max_pixels=150)
    assert small.shape[0] * small.shape[1] <= 150
    assert load_image(p, size=(8, 8)).shape == (8, 8, 3)


def test_probe_video(tmp_path: Path) -> None:
    p = write_video(tmp_path / "v.mp4", n_frames=12, fps=6.0, size=(24, 32))
    info = probe_video(p)
    assert (info.n_frames, info.height, info.width) == (12, 24, 32)
    assert info.fps == pytest.approx(6.0)
    assert info.duration_s == pytest.approx(2.0)


def test_load_video_samples_uniformly(tmp_path: Path) -> None:
    p = write_video(tmp_path / "v.mp4", n_frames=10)
    frames = load_video(p, 4)
    assert frames.shape == (4, 24, 32, 3) and frames.dtype == np.uint8
    means = frames.reshape(4, -1).mean(axis=1)
    expected = [gray_level(i) for i in (0, 3, 6, 9)]
    assert np.allclose(means, expected, atol=8), (means, expected)
    small = load_video(p, 4, max_pixels=200)
    assert small.shape[1] * small.shape[2] <= 200
    assert load_video(p, 2, size=(16, 16)).shape == (2, 16, 16, 3)


def test_short_video_repeats_frames_unless_strict(tmp_path: Path) -> None:
    p = write_video(tmp_path / "short.mp4", n_frames=3)
    frames = load_video(p, 5)
    assert frames.shape[0] == 5
    means = frames.reshape(5, -1).mean(axis=1)
    assert abs(means[0] - means[1]) < 3 and abs(means[3] - means[4]) < 3  # repeated
    with pytest.raises(MediaError, match=r"fewer than the 5 asked"):
        load_video(p, 5, strict=True)
    with pytest.raises(MediaError, match=r"min_frames=4"):
        load_video(p, 5, min_frames=4)


def test_missing_empty_and_corrupt_videos_raise_media_error(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match=r"nope\.mp4.*not found"):
        load_video(tmp_path / "nope.mp4", 4)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match=r"empty\.mp4.*zero-length"):
        probe_video(empty)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(MediaError, match=r"bad\.mp4.*unreadable video") as exc:
        load_video(bad, 4)
    assert isinstance(exc.value, InputError)


def test_truncated_video_is_an_error(tmp_path: Path) -> None:
    p = write_video(tmp_path / "v.mp4", n_frames=10)
    data = p.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(MediaError, match=r"cut\.mp4"):
        load_video(cut, 4)


def test_corrupt_image_raises_media_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises(MediaError, match=r"bad\.png.*unreadable image"):
        load_image(bad)


def test_load_frames_samples_files(tmp_path: Path) -> None:
    paths = [write_image(tmp_path / f"f{i}.png", (10 * i, 0, 0)) for i in range(6)]
    frames = load_frames(paths, 3)
    assert frames.shape == (3, 20, 30, 3)
    assert [int(f[0, 0, 0]) for f in frames] == [0, 20, 50]  # indices 0, 2(.5->2), 5
    with pytest.raises(MediaError, match="strict"):
        load_frames(paths, 8, strict=True)


def test_load_media_kinds(tmp_path: Path) -> None:
    img = write_image(tmp_path / "media" / "a.png")
    vid = write_video(tmp_path / "media" / "v.mp4", n_frames=8)
    assert load_media("image", [img]).shape == (1, 20, 30, 3)
    assert load_media("video", "v.mp4", n_frames=4, root=tmp_path / "media").shape[0] == 4
    assert load_media("frames", [img, img], n_frames=3).shape == (3, 20, 30, 3)
    assert load_media("none", []).shape[0] == 0
    with pytest.raises(ValueError, match="expected one of"):
        load_media("audio", [vid])


def test_resolve_media_containment(tmp_path: Path) -> None:
    root = tmp_path / "media"
    assert resolve_media("a/b.mp4", root) == root / "a" / "b.mp4"
    assert resolve_media("a/../b.mp4", root) == root / "b.mp4"
    with pytest.raises(MediaError, match="escapes the media root"):
        resolve_media("../../etc/passwd", root)
    with pytest.raises(MediaError, match="absolute path refused"):
        resolve_media("/etc/passwd", root)
    with pytest.raises(MediaError, match="escapes"):
        load_media("video", "../outside.mp4", root=root)
    assert resolve_media("/abs/x.mp4") == Path("/abs/x.mp4")  # no root: paths as given
