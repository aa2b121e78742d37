"""Clips of the world: coloured shapes on a small canvas, and how they are drawn.

A clip is a plain description (objects with a colour, a shape, a visible time window, a
constant velocity and an optional colour change); ``render`` turns it into frames. Four
scenarios carry the question types: ``sequence`` (shapes appear one after another:
appearance order), ``change`` (one shape changes colour: state change), ``motion`` (some
shapes move: moving count, motion direction) and ``static`` (nothing happens).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from gdo.world.config import SceneConf

SCENARIOS = ("sequence", "change", "motion", "static")
_DIRECTION_STEP = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}
_PLACEMENT_TRIES = 60


@dataclass(frozen=True)
class Obj:
    """One shape. Its top-left corner at frame ``t`` is ``(x + dx * t, y + dy * t)``."""

    colour: str
    shape: str
    size: int
    x: float
    y: float
    dx: float = 0.0
    dy: float = 0.0
    start: int = 0
    end: int = 1
    change_at: int = -1  # first frame showing ``new_colour``; -1: no change
    new_colour: str = ""
    direction: str = ""  # motion direction name, "" when static

    @property
    def moving(self) -> bool:
        """True when the shape changes position during the clip."""
        return self.dx != 0.0 or self.dy != 0.0

    def colour_at(self, t: int) -> str:
        """The colour shown at frame ``t``."""
        return self.new_colour if 0 <= self.change_at <= t else self.colour


@dataclass
class Clip:
    """A clip (or an image when ``n_frames == 1``) and the facts its questions ask about."""

    scenario: str
    n_frames: int
    objects: list[Obj] = field(default_factory=list)
    dropped_objects: int = 0  # objects that found no free place (counted in the manifest)

    @property
    def appearance_order(self) -> list[Obj]:
        """Objects sorted by the frame they first appear in."""
        return sorted(self.objects, key=lambda o: (o.start, o.end))


KNOWN_SHAPES = ("square", "circle", "triangle", "diamond")
SEQUENCE_LAYOUTS = ("overlap", "split")
CHANGE_TIMES = ("third", "middle")


def check_scene(scene: SceneConf) -> None:
    """Fail early, naming the ``world.scene`` key, on a scene that cannot be drawn."""
    from gdo.utils.errors import ConfigError

    def bad(key: str, expected: str, got: object) -> ConfigError:
        return ConfigError(f"world.scene.{key}: expected {expected}, got {got}")

    unknown = [s for s in scene.shapes if s not in KNOWN_SHAPES]
    if not scene.shapes or unknown:
        raise bad("shapes", f"a non-empty list of {KNOWN_SHAPES}", list(scene.shapes))
    if len(scene.colours) < 3 or any(len(v) != 3 for v in scene.colours.values()):
        raise bad("colours", "at least 3 colours, each [r, g, b]", dict(scene.colours))
    for key, lo_min in (
        ("shape_size", 2),
        ("objects", 1),
        ("distractors", 0),
        ("short_frames", 3),
        ("long_frames", 3),
    ):
        lo, hi = getattr(scene, key)
        if not lo_min <= lo <= hi:
            raise bad(key, f"[min, max] with {lo_min} <= min <= max", [lo, hi])
    if scene.shape_size[1] + 2 > scene.canvas:
        raise bad(
            "canvas", f"at least shape_size max + 2 = {scene.shape_size[1] + 2}", scene.canvas
        )
    if not set(scene.directions) <= set(_DIRECTION_STEP) or not scene.directions:
        raise bad("directions", f"a non-empty list of {tuple(_DIRECTION_STEP)}", scene.directions)
    if scene.sequence not in SEQUENCE_LAYOUTS:
        raise bad("sequence", f"one of {SEQUENCE_LAYOUTS}", scene.sequence)
    if scene.change_at not in CHANGE_TIMES:
        raise bad("change_at", f"one of {CHANGE_TIMES}", scene.change_at)


@lru_cache(maxsize=256)
def shape_mask(shape: str, size: int) -> np.ndarray:
    """Boolean ``size x size`` mask of a shape."""
    c = (size - 1) / 2.0
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    if shape == "square":
        return np.ones((size, size), dtype=bool)
    if shape == "circle":
        return (xx - c) ** 2 + (yy - c) ** 2 <= (size / 2.0) ** 2
    if shape == "diamond":
        return np.abs(xx - c) + np.abs(yy - c) <= size / 2.0
    if shape == "triangle":
        # Apex up: the half-width grows linearly from the top row to the bottom row.
        half = (yy + 1) / size * (size / 2.0)
        return np.abs(xx - c) <= half
    raise ValueError(f"unknown shape '{shape}' (expected square, circle, diamond or triangle)")


def render(clip: Clip, scene: SceneConf) -> np.ndarray:
    """Frames ``(T, H, W, 3)`` uint8 (RGB) of a clip."""
    s = scene.canvas
    frames = np.zeros((clip.n_frames, s, s, 3), dtype=np.uint8)
    if scene.grid > 0:
        # A faint grid gives the vision tower a position reference on a uniform background.
        frames[:, :: scene.grid, :, :] = 40
        frames[:, :, :: scene.grid, :] = 40
    palette = {k: np.asarray(v, dtype=np.uint8) for k, v in scene.colours.items()}
    for obj in clip.objects:
        mask = shape_mask(obj.shape, obj.size)
        for t in range(max(obj.start, 0), min(obj.end, clip.n_frames)):
            x = int(round(obj.x + obj.dx * t))
            y = int(round(obj.y + obj.dy * t))
            x0, y0 = max(x, 0), max(y, 0)
            x1, y1 = min(x + obj.size, s), min(y + obj.size, s)
            if x1 <= x0 or y1 <= y0:
                continue
            m = mask[y0 - y : y1 - y, x0 - x : x1 - x]
            frames[t, y0:y1, x0:x1][m] = palette[obj.colour_at(t)]
    return frames


def frames_hash(frames: np.ndarray) -> str:
    """Content identity of a clip (used to keep benchmark clips out of the pool)."""
    return hashlib.sha1(frames.tobytes()).hexdigest()[:20]


def reverse(clip: Clip) -> Clip:
    """The same clip played backwards: ``render(reverse(c)) == render(c)[::-1]``."""
    t_last = clip.n_frames - 1
    objs = []
    for o in clip.objects:
        changed = o.change_at >= 0
        back = {"left": "right", "right": "left", "up": "down", "down": "up"}.get(o.direction, "")
        objs.append(
            replace(
                o,
                x=o.x + o.dx * t_last,
                y=o.y + o.dy * t_last,
                dx=-o.dx,
                dy=-o.dy,
                start=clip.n_frames - o.end,
                end=clip.n_frames - o.start,
                colour=o.new_colour if changed else o.colour,
                new_colour=o.colour if changed else "",
                change_at=clip.n_frames - o.change_at if changed else -1,
                direction=back,
            )
        )
    return Clip(clip.scenario, clip.n_frames, objs, clip.dropped_objects)


def make_clip(
    rng: np.random.Generator,
    scenario: str,
    n_frames: int,
    scene: SceneConf,
    *,
    objects: tuple[int, int] | None = None,
    distractors: tuple[int, int] | None = None,
) -> Clip:
    """Draw a clip of a scenario; ``objects`` / ``distractors`` override the scene's ranges."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario '{scenario}' (expected one of {SCENARIOS})")
    lo, hi = objects or tuple(scene.objects)
    dlo, dhi = distractors or tuple(scene.distractors)
    n_dis = int(rng.integers(dlo, dhi + 1))
    names = list(scene.colours)
    if scenario == "sequence":
        # At least two shapes, and one frame per appearance step.
        n = int(rng.integers(max(lo, 2), max(hi, 2) + 1))
        n = max(2, min(n, n_frames - 1, len(names)))
        return _sequence(rng, n, n_frames, scene, names)
    if scenario == "change":
        return _change(rng, n_dis, n_frames, scene, names)
    n = int(rng.integers(max(lo, 1), max(hi, 1) + 1))
    n = min(n, len(names) - n_dis)
    if scenario == "motion" and n_frames > 1:
        n_moving = int(rng.integers(1, n + 1))
    else:
        n_moving = 0
    return _motion(rng, scenario, n, n_moving, n_dis, n_frames, scene, names)


def _sizes(rng: np.random.Generator, scene: SceneConf, n: int) -> list[int]:
    lo, hi = scene.shape_size
    return [int(v) for v in rng.integers(lo, hi + 1, size=n)]


def _sequence(rng, n: int, n_frames: int, scene: SceneConf, names: list[str]) -> Clip:
    colours = [str(c) for c in rng.choice(names, size=n, replace=False)]
    shapes = [str(s) for s in rng.choice(scene.shapes, size=n)]
    split = scene.sequence == "split"
    # overlap: windows in first-in-first-out order (reversing time reverses the order);
    # split: shape i alone on screen in segment i, so a frame never shows two of them.
    seg = n_frames / (n if split else n + 1)
    specs = []
    for i, (col, shp, size) in enumerate(zip(colours, shapes, _sizes(rng, scene, n))):
        start = int(round(i * seg))
        if i == n - 1:
            end = n_frames
        else:
            end = int(round((i + 1 if split else i + 2) * seg))
        specs.append(dict(colour=col, shape=shp, size=size, start=start, end=end))
    return _place(rng, "sequence", specs, n_frames, scene)


def _change(rng, n_dis: int, n_frames: int, scene: SceneConf, names: list[str]) -> Clip:
    n_dis = min(n_dis, len(names) - 2, len(scene.shapes) - 1)
    colours = [str(c) for c in rng.choice(names, size=n_dis + 2, replace=False)]
    shapes = [str(s) for s in rng.choice(scene.shapes, size=n_dis + 1, replace=False)]
    sizes = _sizes(rng, scene, n_dis + 1)
    if scene.change_at == "middle":
        change_at = max(1, n_frames // 2)
    else:
        lo = max(1, n_frames // 3)
        hi = max(lo, min(n_frames - 1, (2 * n_frames) // 3))
        change_at = int(rng.integers(lo, hi + 1))
    specs = [
        dict(
            colour=colours[0],
            shape=shapes[0],
            size=sizes[0],
            start=0,
            end=n_frames,
            change_at=change_at,
            new_colour=colours[1],
        )
    ]
    for i in range(n_dis):
        specs.append(
            dict(
                colour=colours[i + 2], shape=shapes[i + 1], size=sizes[i + 1], start=0, end=n_frames
            )
        )
    return _place(rng, "change", specs, n_frames, scene)


def _motion(rng, scenario, n, n_moving, n_dis, n_frames, scene, names) -> Clip:
    total = n + n_dis
    colours = [str(c) for c in rng.choice(names, size=total, replace=False)]
    shapes = [str(s) for s in rng.choice(scene.shapes, size=total)]
    specs = []
    for i, size in enumerate(_sizes(rng, scene, total)):
        spec = dict(colour=colours[i], shape=shapes[i], size=size, start=0, end=n_frames)
        if i < n_moving:
            spec["direction"] = str(rng.choice(scene.directions))
        specs.append(spec)
    return _place(rng, scenario, specs, n_frames, scene)


def _place(rng, scenario: str, specs: list[dict], n_frames: int, scene: SceneConf) -> Clip:
    """Give every shape a start position whose whole path overlaps the path of no other
    shape on screen at the same time (shapes of disjoint time windows may share a place)."""
    s = scene.canvas
    steps = max(n_frames - 1, 1)
    boxes: list[tuple[float, float, float, float]] = []
    windows: list[tuple[int, int]] = []
    placed: list[Obj] = []
    dropped = 0
    for spec in specs:
        direction = spec.pop("direction", "")
        size = spec["size"]
        # The path must fit the canvas: long travel shrinks to what the canvas allows.
        travel = min(float(scene.travel), float(s - size)) if direction else 0.0
        ux, uy = _DIRECTION_STEP.get(direction, (0, 0))
        dx, dy = ux * travel / steps, uy * travel / steps
        span_x, span_y = abs(ux) * travel, abs(uy) * travel
        ok = False
        for _ in range(_PLACEMENT_TRIES):
            bx = float(rng.integers(0, int(s - size - span_x) + 1))
            by = float(rng.integers(0, int(s - size - span_y) + 1))
            box = (bx, by, bx + span_x + size, by + span_y + size)
            window = (spec["start"], spec["end"])
            if all(
                not _overlap(box, b) or w[1] <= window[0] or window[1] <= w[0]
                for b, w in zip(boxes, windows)
            ):
                ok = True
                break
        if not ok:
            dropped += 1
            continue
        boxes.append(box)
        windows.append(window)
        # The box is the path's hull; the start corner depends on the direction.
        x0 = bx + (span_x if ux < 0 else 0.0)
        y0 = by + (span_y if uy < 0 else 0.0)
        placed.append(Obj(x=x0, y=y0, dx=dx, dy=dy, direction=direction, **spec))
    return Clip(scenario, n_frames, placed, dropped)


def _overlap(a: tuple[float, ...], b: tuple[float, ...], margin: float = 1.0) -> bool:
    return not (
        a[2] + margin <= b[0]
        or b[2] + margin <= a[0]
        or a[3] + margin <= b[1]
        or b[3] + margin <= a[1]
    )
