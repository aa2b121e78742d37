"""Media layer: images, videos (decord / PyAV / OpenCV) and frame folders -> uint8 arrays.

``load_media(kind, paths, n_frames, max_pixels)`` is what other stages call; the
pieces (``load_image``, ``load_video``, ``load_frames``, ``probe_video``,
``resolve_media``) are public too. Every failure is a :class:`MediaError`. The video
decoder is ``media.video_backend`` (:func:`set_video_backend`, :func:`video_backend`).
"""

from gdo.media.backends import set_video_backend, video_backend
from gdo.media.errors import MediaError
from gdo.media.image import load_frames, load_image, load_images
from gdo.media.load import MEDIA_KINDS, load_media
from gdo.media.paths import resolve_media
from gdo.media.resize import fit_max_pixels, resize_frames
from gdo.media.sampling import uniform_indices
from gdo.media.video import VideoInfo, load_video, probe_video

__all__ = [
    "MEDIA_KINDS",
    "MediaError",
    "VideoInfo",
    "fit_max_pixels",
    "load_frames",
    "load_image",
    "load_images",
    "load_media",
    "load_video",
    "probe_video",
    "resize_frames",
    "resolve_media",
    "set_video_backend",
    "uniform_indices",
    "video_backend",
]
