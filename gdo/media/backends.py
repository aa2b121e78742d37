"""Video decoders behind one small reader interface: decord, PyAV or OpenCV.

``media.video_backend`` picks one (``auto | decord | pyav | opencv``); ``auto`` takes
decord when it imports (x86-64 Linux wheels only), else PyAV (the ``video`` extra),
else OpenCV (always installed). The choice travels in ``$GDO_VIDEO_BACKEND``, so
DataLoader workers and ``torchrun`` children decode with the same backend.

Every reader keeps decord's contract, which the frame sampling rule
(:func:`gdo.media.uniform_indices`) is written against: ``len(reader)`` is the
container's frame count, frame ``i`` is the ``i``-th frame in presentation order,
``get_batch`` returns RGB uint8 ``(n, H, W, 3)``, and no rotation metadata is applied.
Decoding errors are :class:`MediaError`; a missing or unknown backend is a
:class:`ConfigError` that says how to install it.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from gdo.media.errors import MediaError
from gdo.utils.errors import ConfigError

BACKENDS = ("decord", "pyav", "opencv")
CHOICES = ("auto", *BACKENDS)
ENV = "GDO_VIDEO_BACKEND"
_MODULE = {"decord": "decord", "pyav": "av", "opencv": "cv2"}
_INSTALL = {
    "decord": "pip install decord (x86-64 Linux wheels only)",
    "pyav": "pip install 'gdo[video]' (PyAV)",
    "opencv": "pip install opencv-python-headless",
}
# PyAV and OpenCV seek (instead of decoding frame by frame) only across gaps longer than
# this: a seek costs a decode from the previous keyframe, and short clips stay on the
# exact sequential path. Long videos (LVBench: hours) need the seeks.
SEEK_GAP = 250


def set_video_backend(name: str) -> None:
    """Use ``name`` (one of :data:`CHOICES`) for every later video read in this process
    and its children (``$GDO_VIDEO_BACKEND``)."""
    _check_choice(name)
    os.environ[ENV] = name


def available(name: str) -> bool:
    """Whether backend ``name``'s module can be imported here."""
    return importlib.util.find_spec(_MODULE[name]) is not None


def video_backend() -> str:
    """The backend reads use now: ``$GDO_VIDEO_BACKEND`` (default ``auto``), resolved."""
    name = os.environ.get(ENV) or "auto"
    _check_choice(name)
    if name == "auto":
        for candidate in BACKENDS:
            if available(candidate):
                return candidate
        raise ConfigError(
            "media.video_backend=auto: no video decoder is installed "
            f"({'; '.join(_INSTALL.values())})"
        )
    if not available(name):
        raise ConfigError(
            f"media.video_backend={name}: module '{_MODULE[name]}' is not installed "
            f"({_INSTALL[name]}), or use media.video_backend=auto"
        )
    return name


def _check_choice(name: str) -> None:
    if name not in CHOICES:
        raise ConfigError(f"media.video_backend={name!r}: expected one of {', '.join(CHOICES)}")


def open_video(path: str | os.PathLike, backend: str | None = None) -> Any:
    """A reader of ``path`` (``len()``, ``fps``, ``size`` = (H, W), ``get_batch(indices)``)."""
    name = backend or video_backend()
    if backend is not None:
        _check_choice(name)
    opener = {"decord": _DecordReader, "pyav": _PyAVReader, "opencv": _OpenCVReader}[name]
    try:
        reader = opener(os.fspath(path))
    except MediaError:
        raise
    except Exception as exc:  # each library raises its own error types
        raise MediaError(path, f"unreadable video ({name}: {short_error(exc)})") from exc
    if len(reader) == 0:
        raise MediaError(path, "video has no frames")
    return reader


def short_error(exc: Exception) -> str:
    """``ExceptionClass: first line of the message`` (at most 200 characters)."""
    # decord appends a long C++ stack trace; the first line is the useful part.
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:200]}" if text else type(exc).__name__


class _DecordReader:
    """decord's own VideoReader (random access through its frame index)."""

    def __init__(self, path: str) -> None:
        import decord

        self.path = path
        # One decoder thread: describe shards run many readers in parallel already.
        self._vr = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=1)
        self.fps = float(self._vr.get_avg_fps() or 0.0)

    def __len__(self) -> int:
        return len(self._vr)

    @property
    def size(self) -> tuple[int, int]:
        # decord exposes no frame size; decoding the first frame is the portable way.
        h, w = self._vr[0].shape[:2]
        return int(h), int(w)

    def get_batch(self, indices: Sequence[int]) -> np.ndarray:
        return self._vr.get_batch(list(indices)).asnumpy()


class _Opened:
    """A reader whose frame count and frame size were read when it opened the file."""

    _n: int
    _size: tuple[int, int]

    def __len__(self) -> int:
        return self._n

    @property
    def size(self) -> tuple[int, int]:
        return self._size


class _PyAVReader(_Opened):
    """PyAV (FFmpeg): frames decoded in order; a seek by timestamp across long gaps."""

    def __init__(self, path: str) -> None:
        import av

        self.path = path
        with av.open(path) as container:
            if not container.streams.video:
                raise MediaError(path, "no video stream")
            stream = container.streams.video[0]
            self.fps = float(stream.average_rate or stream.guessed_rate or 0.0)
            self._size = (int(stream.codec_context.height), int(stream.codec_context.width))
            # nb_frames from the container index (what decord counts); some containers
            # (webm, mkv) leave it 0, then the packets are counted without decoding.
            self._n = int(stream.frames) or sum(
                1 for p in container.demux(stream) if p.size and p.dts is not None
            )

    def get_batch(self, indices: Sequence[int]) -> np.ndarray:
        wanted = sorted(set(int(i) for i in indices))
        got = self._decode(wanted, seek=self.fps > 0)
        missing = [i for i in wanted if i not in got]
        if missing:  # a seek landed past its frame (variable frame rate): decode in order
            got.update(self._decode(missing, seek=False))
        return _stack(self.path, indices, got, self._n)

    def _decode(self, wanted: list[int], seek: bool) -> dict[int, np.ndarray]:
        import av

        got: dict[int, np.ndarray] = {}
        with av.open(self.path) as container:
            stream = container.streams.video[0]
            stream.thread_count = 1  # as decord: parallelism comes from the callers
            frames = enumerate(container.decode(stream))
            pos = 0  # index of the next frame `frames` yields
            for target in wanted:
                if seek and target - pos > SEEK_GAP:
                    frames = self._seek(container, stream, target)
                for i, frame in frames:
                    pos = i + 1
                    if i == target:
                        got[i] = frame.to_ndarray(format="rgb24")
                    if i >= target:
                        break
        return got

    def _seek(self, container: Any, stream: Any, target: int):
        """(index, frame) from a keyframe before ``target``; indices from timestamps.

        FFmpeg seeks by decoding timestamp, so with B-frames the keyframe found can show a
        frame after ``target``: the seek then aims further back (up to 1024 frames).
        """
        start = stream.start_time or 0
        base = float(stream.time_base)
        for back in (4, 64, 1024):
            aim = max(0, target - back)
            container.seek(start + int(aim / self.fps / base), stream=stream, backward=True)
            frames = container.decode(stream)
            frame = next(frames, None)
            if frame is None or frame.pts is None:
                return
            first = round((frame.pts - start) * base * self.fps)
            if first <= target:
                yield first, frame
                for i, frame in enumerate(frames, start=first + 1):
                    yield i, frame
                return


class _OpenCVReader(_Opened):
    """OpenCV's FFmpeg capture: frames grabbed in order, a seek across long gaps."""

    def __init__(self, path: str) -> None:
        self.path = path
        cv2 = _cv2()
        cap = self._capture()
        try:
            self.fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            self._size = (
                int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            )
            self._n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            if self._n <= 0:  # no count in the container: count by grabbing
                self._n = 0
                while cap.grab():
                    self._n += 1
        finally:
            cap.release()

    def _capture(self) -> Any:
        cv2 = _cv2()
        cap = cv2.VideoCapture(self.path, cv2.CAP_FFMPEG)
        if not cap.isOpened():
            raise MediaError(self.path, "unreadable video (opencv: cannot open)")
        # decord and PyAV ignore rotation metadata; so must this reader, for equal frames.
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
        return cap

    def get_batch(self, indices: Sequence[int]) -> np.ndarray:
        cv2 = _cv2()
        got: dict[int, np.ndarray] = {}
        cap = self._capture()
        try:
            pos = 0  # index of the frame the next read returns
            for idx in sorted(set(int(i) for i in indices)):
                if idx - pos > SEEK_GAP:
                    cap.set(cv2.CAP_PROP_POS_FRAMES, idx)
                    pos = idx
                while pos < idx and cap.grab():
                    pos += 1
                ok, frame = cap.read() if pos == idx else (False, None)
                if not ok:
                    break
                pos += 1
                got[idx] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        finally:
            cap.release()
        return _stack(self.path, indices, got, self._n)


def _cv2() -> Any:
    import cv2

    return cv2


def _stack(path: str, indices: Sequence[int], got: dict[int, np.ndarray], n: int) -> np.ndarray:
    """The frames of ``indices`` in the order asked; a frame the decoder never reached
    (the container claims more frames than the stream holds) is a :class:`MediaError`."""
    missing = [int(i) for i in indices if int(i) not in got]
    if missing:
        raise MediaError(
            path,
            f"cannot decode frames: frame {missing[0]} of {n} not reached "
            f"({len(got)} of {len(set(indices))} asked were decoded)",
        )
    return np.stack([got[int(i)] for i in indices])
