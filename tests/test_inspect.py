"""`gdo inspect`: the replayed selection's reasons, the static page, and the page in Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import compose
from PIL import Image
from synthetic import make_pool

from gdo.cli import main as gdo_main
from gdo.columns import LOSS_VISUAL, VDS
from gdo.inspect.load import build_view, goal_from_manifest, resolve
from gdo.media.testing import write_video
from gdo.scoring.stage import run as score_run
from gdo.selection.stage import run as select_run

CHROMIUM = next(
    (shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)),
    None,
)


def _picture(path: Path, i: int) -> None:
    """A saturated colour block on black, different per image (the page must show it)."""
    img = np.zeros((32, 32, 3), dtype=np.uint8)
    colour = np.array([(230, 30, 30), (30, 200, 40), (40, 80, 255), (240, 230, 30)][i % 4])
    img[4 + i % 10 : 16 + i % 10, 6:20] = colour
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)


@pytest.fixture(scope="module")
def subset_dir(tmp_path_factory) -> Path:
    """A scored synthetic pool with real media files and the temp_plus subset of it."""
    root = tmp_path_factory.mktemp("inspect")
    pool, desc, _ = make_pool(240, seed=5)
    media_dir = root / "media"
    new_media = []
    for i, (kind, media) in enumerate(zip(pool["media_kind"], pool["media"])):
        name = Path(media[0]).stem
        if kind == "video":
            path = media_dir / f"{name}.mp4"
            if not path.exists():
                write_video(path, n_frames=8)
        else:
            path = media_dir / f"{name}.png"
            if not path.exists():
                _picture(path, i)
        new_media.append([str(path)])
    pool["media"] = new_media
    wd = root / "outputs" / "s"
    for sub, df, name in (
        ("pool", pool, "pool.parquet"),
        ("descriptors", desc, "descriptors.parquet"),
    ):
        (wd / sub).mkdir(parents=True, exist_ok=True)
        df.to_parquet(wd / sub / name)
    cfg = compose([f"paths.root_dir={root}", "name=s", "logger=none"])
    score_run(cfg)
    return select_run(
        compose([f"paths.root_dir={root}", "name=s", "logger=none", "goal=temp_plus"])
    )


def test_replayed_selection_matches_the_subset_and_says_why(subset_dir) -> None:
    inputs = resolve(subset_dir)
    assert inputs.subset == subset_dir and inputs.pool.name == "pool.parquet"
    view = build_view(inputs, goal_from_manifest(subset_dir))
    subset = set(pd.read_parquet(subset_dir / "subset.parquet")["uid"])
    rows = view.rows
    assert set(rows.loc[rows["picked"].astype(bool), "uid"]) == subset
    assert not view.notes  # the replay agrees with subset.parquet
    assert rows["why"].map(bool).all()
    picked = rows[rows["picked"].astype(bool)]
    assert picked["why"].str.startswith("picked by ").all()
    assert picked["step"].isin(["temporal_video_min", "video_min", "stratum_quotas"]).any()
    not_picked = rows.loc[~rows["picked"].astype(bool), "why"]
    assert not_picked.str.contains(r"not reached: rank \d+ of \d+ in its stratum").any()
    assert (rows["stratum_rank"] >= 1).any() and "goal_score" in view.numeric
    assert {VDS, LOSS_VISUAL, "score"} <= set(view.numeric)  # descriptors and scores
    assert {c["name"] for c in view.constraints} >= {"budget", "video_share_min"}


def _payload(page: Path) -> dict:
    text = page.read_text()
    m = re.search(r"<script type='application/json' id='data'>(.*?)</script>", text, re.S)
    return json.loads(m.group(1).replace("<\\/", "</"))


def test_page_embeds_frames_every_column_and_the_constraints(subset_dir, capsys) -> None:
    assert gdo_main(["inspect", str(subset_dir), "--limit", "100"]) == 0
    page = subset_dir / "inspect.html"
    text = page.read_text()
    assert "<h2>Constraints</h2>" in text and "min_temporal_share_of_video" in text
    assert "src=" not in text.split("<script")[0]  # frames live in the data, no file links
    data = _payload(page)
    assert len(data["rows"]) == 100
    assert sum(r["picked"] for r in data["rows"]) == len(
        pd.read_parquet(subset_dir / "subset.parquet")
    )
    keys = {c["key"] for c in data["columns"]}
    assert {"frames", "why", "stratum", "question", "answer", VDS, "goal_score"} <= keys
    strips = [data["strips"][r["media_index"]] for r in data["rows"]]
    assert all(len(s) >= 1 for s in strips) and any(len(s) == 4 for s in strips)
    assert all(u.startswith("data:image/png;base64,") for s in strips for u in s)
    assert "showing 100 of 240" in text


def test_pool_with_and_without_a_goal(subset_dir, tmp_path) -> None:
    pool = subset_dir.parent.parent / "pool" / "pool.parquet"
    out = tmp_path / "pool.html"
    assert gdo_main(["inspect", str(pool), "--out", str(out)]) == 0
    data = _payload(out)
    assert len(data["rows"]) == 240 and "picked" not in {c["key"] for c in data["columns"]}
    out2 = tmp_path / "goal.html"
    args = ["inspect", str(pool), "--goal", "minloss", "--out", str(out2), "select.budget=30"]
    assert gdo_main(args) == 0
    assert sum(r["picked"] for r in _payload(out2)["rows"]) == 30


def test_a_path_that_is_no_pool_or_subset_fails_with_one_line(tmp_path, capsys) -> None:
    assert gdo_main(["inspect", str(tmp_path / "nothing")]) == 1
    err = capsys.readouterr().err
    assert "gdo inspect: error:" in err and "a subset folder" in err


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium / chromium-browser / google-chrome")
def test_the_page_renders_rows_and_images_in_headless_chromium(subset_dir, tmp_path) -> None:
    page = tmp_path / "page.html"
    assert gdo_main(["inspect", str(subset_dir), "--limit", "60", "--out", str(page)]) == 0
    base = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--allow-file-access-from-files",
    ]
    dom = subprocess.run(
        [*base, "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    body = re.search(r"<body([^>]*)>", dom).group(1)
    rows = int(re.search(r'data-rows="(\d+)"', body).group(1))
    images = int(re.search(r'data-images="(\d+)"', body).group(1))
    loaded = int(re.search(r'data-images-loaded="(\d+)"', body).group(1))
    assert rows == 60 and images >= 60 and loaded == images
    assert dom.count('<tr class="picked">') + dom.count('<tr class="not">') == 60
    # Filters from the link's fragment: only rows that were not picked.
    dom = subprocess.run(
        [*base, "--virtual-time-budget=5000", "--dump-dom", page.as_uri() + "#picked=not"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    picked = len(pd.read_parquet(subset_dir / "subset.parquet"))  # all in the page (first)
    assert dom.count('<tr class="not">') == 60 - picked and dom.count('<tr class="picked">') == 0
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            *base,
            "--window-size=1400,900",
            "--virtual-time-budget=5000",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    px = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    # The picture blocks are saturated colours: the page must show many such pixels.
    saturated = (px.max(axis=2) - px.min(axis=2)) > 120
    assert saturated.sum() > 500
