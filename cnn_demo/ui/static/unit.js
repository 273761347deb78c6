() => {
  // The look inside one unit (ui/unit_panel.py). A click on a tile of the network's flow
  // (views/flow.py) names the stage, the map and where in it; a click on a vector strip names
  // the cell. Enter or Space on a focused stage chooses its first map. A click on the enlarged
  // map in the detail chooses a position. The unit the detail shows is outlined in the flow,
  // and the detail is brought into view when a click opens it. While the detail is open, every
  // new drawing refreshes it; closed, it costs the drawing nothing.
  const send = (value) => {
    const box = document.querySelector('#unit-pick textarea, #unit-pick input');
    if (!box) return;
    box.value = `${value}|${Date.now()}`;  // a fresh value each time: the same map twice still counts
    box.dispatchEvent(new Event('input', { bubbles: true }));
  };
  const frac = (el, ev) => {  // where in the element the pointer is, 0..1 each way
    const r = el.getBoundingClientRect();
    return [(ev.clientX - r.left) / r.width, (ev.clientY - r.top) / r.height];
  };
  let clicked = false;  // a click asked for the detail: bring it into view once it is there
  document.addEventListener('click', (ev) => {
    const t = ev.target;
    if (!(t instanceof Element)) return;
    const tile = t.closest('.cx-tile');
    const grid = t.closest('[data-stage]');
    if (tile && grid) {
      const [fx, fy] = frac(tile, ev);
      const r = Math.min(+grid.dataset.th - 1, Math.floor(fy * +grid.dataset.th));
      const c = Math.min(+grid.dataset.tw - 1, Math.floor(fx * +grid.dataset.tw));
      clicked = true;
      send(`${grid.dataset.model}|${grid.dataset.stage}|${tile.dataset.ch}|${r}|${c}`);
      return;
    }
    const strip = t.closest('.cx-vec img');
    if (strip && grid) {
      const [fx, fy] = frac(strip, ev);
      const n = +grid.dataset.n;
      const i = Math.min(n - 1, Math.floor((strip.dataset.dir === 'down' ? fy : fx) * n));
      clicked = true;
      send(`${grid.dataset.model}|${grid.dataset.stage}|${i}||`);
      return;
    }
    const big = t.closest('img[data-unit-map]');
    if (big) {
      const [fx, fy] = frac(big, ev);
      const rows = +big.dataset.rows, cols = +big.dataset.cols;
      send(`${big.dataset.unitMap}|${Math.min(rows - 1, Math.floor(fy * rows))}|${Math.min(cols - 1, Math.floor(fx * cols))}`);
    }
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter' && ev.key !== ' ') return;
    const grid = ev.target instanceof Element && ev.target.closest('#stages [data-stage]');
    if (!grid) return;
    ev.preventDefault();
    clicked = true;
    send(`${grid.dataset.model}|${grid.dataset.stage}|0||`);
  });
  const shown = () => {  // the unit the detail shows: {model, stage, ch}, or null
    const d = document.querySelector('#unit-detail .cx-unit');
    return d && d.getBoundingClientRect().height > 0 ? d.dataset : null;
  };
  const outline = () => {  // that unit's tile (its stage's, and the same map after ReLU) outlined
    document.querySelectorAll('#stages .cx-picked').forEach((e) => e.classList.contains('cx-vmark') ? e.remove()
      : e.classList.remove('cx-picked'));
    const u = shown();
    if (!u || !u.stage) return;
    for (const name of [u.stage, `${u.stage}_relu`]) {
      const grid = document.querySelector(`#stages [data-stage="${name}"][data-model="${u.model}"]`);
      if (!grid) continue;
      const tile = grid.querySelector(`.cx-tile[data-ch="${u.ch}"]`);
      if (tile) { tile.classList.add('cx-picked'); continue; }
      const strip = [...grid.querySelectorAll('img')].find((i) => i.getBoundingClientRect().width > 0);
      if (!strip) continue;
      const n = +grid.dataset.n, down = strip.dataset.dir === 'down', box = grid.getBoundingClientRect();
      const r = strip.getBoundingClientRect(), mark = document.createElement('div');
      mark.className = 'cx-vmark cx-picked';
      Object.assign(mark.style, down
        ? { top: `${r.top - box.top + (r.height * u.ch) / n}px`, left: `${r.left - box.left - 2}px`,
            width: `${r.width + 4}px`, height: `${r.height / n}px` }
        : { top: `${r.top - box.top - 2}px`, left: `${r.left - box.left + (r.width * u.ch) / n}px`,
            width: `${r.width / n}px`, height: `${r.height + 4}px` });
      grid.appendChild(mark);
    }
  };
  const bring = () => {  // after a click: the detail's top in view, and the flow above it too where both fit
    const d = document.querySelector('#unit-detail .cx-unit'), flow = document.querySelector('#stages');
    if (!d) return;
    const top = d.getBoundingClientRect().top, room = window.innerHeight;
    if (top >= 0 && top < room * 0.75) return;  // already where the learner looks
    const from = flow ? flow.getBoundingClientRect().top : top;
    const y = top - from < room * 0.7 ? from - 8 : top - 60;  // the flow's top, else the detail's own
    window.scrollBy({ top: y, behavior: 'instant' });
  };
  const watch = (selector, then) => {  // `then` whenever the element's content changes (it is re-rendered too)
    let seen = null;
    const hook = () => {
      const el = document.querySelector(selector);
      if (!el || el === seen) return;
      seen = el;
      new MutationObserver(then).observe(el, { childList: true, subtree: true });
    };
    hook();
    new MutationObserver(hook).observe(document.body, { childList: true, subtree: true });
  };
  const ours = (records) => records.every((r) => [...r.addedNodes, ...r.removedNodes]
    .every((n) => n.classList && n.classList.contains('cx-vmark')));
  watch('#stages', (records) => {
    if (ours(records)) return;  // only the outline's own marks moved
    if (shown()) document.querySelector('#unit-refresh')?.click();
    outline();
  });
  watch('#unit-detail', () => {
    outline();
    if (clicked && shown()) { clicked = false; bring(); }
  });
}
