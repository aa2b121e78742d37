"""The static page: one HTML file with the rows as JSON and a small script that sorts,
filters and pages the table (no server, no network: frames are embedded data URIs)."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

from gdo.columns import GOAL_SCORE
from gdo.inspect.load import View
from gdo.utils.io import atomic_write_text

_STYLE = """
body{font:13px system-ui,sans-serif;margin:12px;color:#222}
h1{font-size:18px;margin:0 0 6px} h2{font-size:14px;margin:12px 0 4px}
table{border-collapse:collapse} td,th{border:1px solid #ddd;padding:3px 5px;vertical-align:top}
th{background:#f3f3f3;cursor:pointer;position:sticky;top:0;white-space:nowrap}
th.asc:after{content:" \\25B2"} th.desc:after{content:" \\25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.q{min-width:200px;max-width:360px} td.why{min-width:170px;max-width:280px;font-size:12px;overflow-wrap:anywhere}
tr.picked td:first-child{border-left:4px solid #2a2} tr.not td:first-child{border-left:4px solid #ccc}
td.strip{white-space:nowrap} .strip img{height:48px;margin-right:2px;image-rendering:pixelated}
.bar{margin:8px 0;display:flex;gap:8px;align-items:center;flex-wrap:wrap}
.note{color:#a60} .err{color:#c00;font-size:11px}
table.small td,table.small th{font-size:12px;cursor:default;position:static}
"""

_SCRIPT = r"""
const D = JSON.parse(document.getElementById('data').textContent);
const PAGE = 100;
let rows = D.rows, view = rows, sortKey = null, sortDir = 1, page = 0;
const $ = (id) => document.getElementById(id);
function cell(c, r) {
  const v = r[c.key];
  if (c.key === 'frames') {
    const s = D.strips[r.media_index] || [];
    const err = D.errors[r.media_index];
    return '<td class="strip">' + s.map(u => '<img src="' + u + '" alt="frame">').join('') +
      (err ? '<div class="err">' + esc(err) + '</div>' : '') + '</td>';
  }
  if (v === null || v === undefined) return '<td></td>';
  if (typeof v === 'boolean') return '<td>' + (v ? '&#10003;' : '') + '</td>';
  if (typeof v === 'number') return '<td class="num">' + (Number.isInteger(v) ? v : v.toFixed(3)) + '</td>';
  return '<td class="' + (c.cls || '') + '">' + esc(String(v)) + '</td>';
}
function esc(s) { return s.replace(/[&<>"]/g, ch => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[ch])); }
function render() {
  const start = page * PAGE, shown = view.slice(start, start + PAGE);
  $('body').innerHTML = shown.map(r =>
    '<tr class="' + (r.picked ? 'picked' : 'not') + '">' + D.columns.map(c => cell(c, r)).join('') + '</tr>').join('');
  $('count').textContent = view.length + ' of ' + rows.length + ' rows; page ' + (page + 1) + ' of ' + Math.max(1, Math.ceil(view.length / PAGE));
  document.body.dataset.rows = String(shown.length);
}
function apply() {
  const text = $('filter').value.toLowerCase(), pick = $('picked').value, bucket = $('bucket').value;
  view = rows.filter(r =>
    (!text || [r.uid, r.question, r.answer, r.source, r.why, r.stratum].join(' ').toLowerCase().includes(text)) &&
    (pick === 'all' || (pick === 'picked') === !!r.picked) &&
    (bucket === 'all' || r.bucket === bucket));
  if (sortKey) {
    view = view.slice().sort((a, b) => {
      const x = a[sortKey], y = b[sortKey];
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * sortDir;
    });
  }
  page = 0; render();
}
function head() {
  $('head').innerHTML = '<tr>' + D.columns.map(c => '<th data-key="' + c.key + '" title="' + esc(c.title || c.label) + '">' + esc(c.label) + '</th>').join('') + '</tr>';
  document.querySelectorAll('#head th').forEach(th => th.addEventListener('click', () => {
    const k = th.dataset.key; if (k === 'frames') return;
    sortDir = (sortKey === k) ? -sortDir : (D.columns.find(c => c.key === k).type === 'num' ? -1 : 1);
    sortKey = k;
    document.querySelectorAll('#head th').forEach(t => t.className = '');
    th.className = sortDir > 0 ? 'asc' : 'desc';
    apply();
  }));
}
const buckets = [...new Set(rows.map(r => r.bucket))].sort();
$('bucket').innerHTML = '<option value="all">every bucket</option>' + buckets.map(b => '<option>' + esc(b) + '</option>').join('');
['filter', 'picked', 'bucket'].forEach(id => $(id).addEventListener('input', apply));
$('prev').onclick = () => { if (page > 0) { page--; render(); } };
$('next').onclick = () => { if ((page + 1) * PAGE < view.length) { page++; render(); } };
// A link can carry the filters: inspect.html#picked=not&bucket=image&filter=colour
new URLSearchParams(location.hash.slice(1)).forEach((v, k) => { if ($(k)) $(k).value = v; });
head(); apply();
window.addEventListener('load', () => {
  const imgs = [...document.images];
  document.body.dataset.images = String(imgs.length);
  document.body.dataset.imagesLoaded = String(imgs.filter(i => i.complete && i.naturalWidth > 0).length);
});
"""


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item"):
        return _clean(v.item())
    return v


def columns(view: View) -> list[dict[str, str]]:
    """The table's columns: frames, identity, selection, text, then every number."""
    cols = [{"key": "frames", "label": "frames", "type": "img"}]
    have = set(view.rows.columns)
    for key, label, typ, cls in (
        ("picked", "picked", "bool", ""),
        ("why", "why", "str", "why"),
        ("stratum", "stratum", "str", "why"),
        ("stratum_rank", "rank", "num", ""),
        ("stratum_quota", "quota", "num", ""),
        (GOAL_SCORE, "goal score", "num", ""),
        ("uid", "uid", "str", ""),
        ("source", "source", "str", ""),
        ("bucket", "bucket", "str", ""),
        ("question", "question", "str", "q"),
        ("answer", "answer", "str", "q"),
    ):
        if key in have:
            cols.append({"key": key, "label": label, "type": typ, "cls": cls})
    shown = {c["key"] for c in cols}
    cols += [{"key": c, "label": c, "type": "num"} for c in view.numeric if c not in shown]
    return cols


def render(view: View, strips: list[list[str]], errors: list[str], media_index: list[int]) -> str:
    """The whole page as one HTML string."""
    cols = columns(view)
    keys = [c["key"] for c in cols if c["key"] != "frames"]
    records = [
        {**{k: _clean(v) for k, v in zip(keys, values)}, "media_index": int(m)}
        for values, m in zip(view.rows[keys].itertuples(index=False, name=None), media_index)
    ]
    data = {"columns": cols, "rows": records, "strips": strips, "errors": errors}
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>gdo inspect: {esc(view.title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{esc(view.title)}</h1>",
        f"<div>{view.total} candidates; {len(records)} in this page's table.</div>",
    ]
    parts += [f"<div class='note'>{esc(n)}</div>" for n in view.notes]
    if view.budget:
        items = ", ".join(f"{esc(str(k))}: {esc(str(v))}" for k, v in view.budget.items())
        parts.append(f"<h2>Budget</h2><div>{items}</div>")
    if view.constraints:
        parts.append(_constraints(view.constraints))
    parts += [
        "<h2>Candidates</h2><div class='bar'>",
        "<input id='filter' placeholder='filter: text, uid, source, why' size='40'>",
        "<select id='picked'><option value='all'>picked or not</option>"
        "<option value='picked'>picked</option><option value='not'>not picked</option></select>",
        "<select id='bucket'></select><button id='prev'>&lt;</button><button id='next'>&gt;</button>",
        "<span id='count'></span></div>",
        "<table><thead id='head'></thead><tbody id='body'></tbody></table>",
        f"<script type='application/json' id='data'>{payload}</script>",
        f"<script>{_SCRIPT}</script></body></html>",
    ]
    return "\n".join(parts)


def _constraints(constraints: list[dict[str, Any]]) -> str:
    keys = ("name", "kind", "requested", "target", "supply", "achieved", "status", "reason")
    head = "".join(f"<th>{k}</th>" for k in keys)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(str(_clean(c.get(k)) or ''))}</td>" for k in keys)
        + "</tr>"
        for c in constraints
    )
    return f"<h2>Constraints</h2><table class='small'><tr>{head}</tr>{body}</table>"


def write_page(path: Path, text: str) -> Path:
    """Write the page atomically."""
    atomic_write_text(path, text)
    return path
