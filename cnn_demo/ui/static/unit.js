() => {
  // The look inside one unit (ui/unit_panel.py). A click on a stage's picture names the map
  // under the pointer, and where in it: the mosaic's layout is in the image's data-*
  // attributes (views/common.pickable). Enter or Space on a focused picture chooses its first
  // map. A click on the enlarged map in the detail chooses a position. While the detail is
  // open, every new drawing refreshes it; closed, it costs the drawing nothing.
  const send = (value) => {
    const box = document.querySelector('#unit-pick textarea, #unit-pick input');
    if (!box) return;
    box.value = `${value}|${Date.now()}`;  // a fresh value each time: the same map twice still counts
    box.dispatchEvent(new Event('input', { bubbles: true }));
  };
  const at = (img, ev) => {  // the image pixel under the pointer
    const r = img.getBoundingClientRect();
    return [(ev.clientX - r.left) * img.naturalWidth / r.width, (ev.clientY - r.top) * img.naturalHeight / r.height];
  };
  const inMosaic = (img, ev) => {
    const d = img.dataset, th = +d.th, tw = +d.tw, gap = +d.gap, cols = +d.cols, n = +d.n;
    const [x, y] = at(img, ev);
    const col = Math.floor(x / (tw + gap)), row = Math.floor(y / (th + gap));
    const ch = Math.min(n - 1, Math.max(0, row * cols + col));
    const r = Math.min(th - 1, Math.max(0, Math.floor(y - row * (th + gap))));
    const c = Math.min(tw - 1, Math.max(0, Math.floor(x - col * (tw + gap))));
    return `${d.model}|${d.stage}|${ch}|${r}|${c}`;
  };
  document.addEventListener('click', (ev) => {
    const t = ev.target;
    if (!(t instanceof Element)) return;
    const stage = t.closest('img[data-stage]');
    if (stage) { send(inMosaic(stage, ev)); return; }
    const big = t.closest('img[data-unit-map]');
    if (big) {
      const [x, y] = at(big, ev);
      const rows = +big.dataset.rows, cols = +big.dataset.cols;
      const r = Math.min(rows - 1, Math.floor(y * rows / big.naturalHeight));
      const c = Math.min(cols - 1, Math.floor(x * cols / big.naturalWidth));
      send(`${big.dataset.unitMap}|${r}|${c}`);
    }
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter' && ev.key !== ' ') return;
    const img = ev.target instanceof Element && ev.target.closest('img[data-stage]');
    if (!img) return;
    ev.preventDefault();
    send(`${img.dataset.model}|${img.dataset.stage}|0||`);
  });
  const isOpen = () => {
    const d = document.querySelector('#unit-detail .cx-unit');
    return !!d && d.getBoundingClientRect().height > 0;
  };
  let watched = null;
  const follow = () => {
    const stages = document.querySelector('#stages');
    if (!stages || stages === watched) return;
    watched = stages;
    new MutationObserver(() => {
      if (isOpen()) document.querySelector('#unit-refresh')?.click();
    }).observe(stages, { childList: true, subtree: true });
  };
  follow();
  new MutationObserver(follow).observe(document.body, { childList: true, subtree: true });
}
