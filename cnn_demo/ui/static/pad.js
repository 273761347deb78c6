// The Draw tab's canvas (ui/pad.py): run by gr.HTML as the body of a function of
// (element, trigger, props, server, upload, watch). A stroke is drawn as the pointer moves;
// at pointer-up the canvas is encoded once, at once, and sent with a 'stroke' event.
// The history is a list of steps: strokes, a clear, a digit the app put on the canvas. Undo
// takes back any of them (a slip of Clear or of an example digit loses nothing).
const cv = element.querySelector('canvas');
const ctx = cv.getContext('2d');
const N = cv.width, BRUSH = Number(cv.dataset.brush);
let steps = [], undone = [], cur = null, erasing = false, sent = null;
const tool = (act) => element.querySelector(`[data-act="${act}"]`);

function dot(s, p) {
  ctx.fillStyle = s.erase ? '#fff' : '#000';
  ctx.beginPath();
  ctx.arc(p[0], p[1], s.width / 2, 0, 2 * Math.PI);
  ctx.fill();
}
function line(s, a, b) {
  ctx.strokeStyle = s.erase ? '#fff' : '#000';
  ctx.lineWidth = s.width;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.beginPath();
  ctx.moveTo(a[0], a[1]);
  ctx.lineTo(b[0], b[1]);
  ctx.stroke();
}
function paint(s) {
  dot(s, s.pts[0]);
  for (let i = 1; i < s.pts.length; i++) line(s, s.pts[i - 1], s.pts[i]);
}
// the canvas as the steps leave it: from the last clear or digit on, white paper, that digit,
// the strokes after it; blank when nothing is on it
function redraw() {
  let from = -1;
  for (let i = steps.length - 1; i >= 0 && from < 0; i--) if (steps[i].clear || steps[i].paper) from = i;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, N, N);
  let blank = true;
  if (from >= 0 && steps[from].paper) { ctx.drawImage(steps[from].paper, 0, 0, N, N); blank = false; }
  for (const s of steps.slice(from + 1)) { paint(s); blank = false; }
  tools();
  return blank;
}
// a button that cannot act says so (aria-disabled) but keeps its place in the Tab order
function able(btn, on) {
  btn.setAttribute('aria-disabled', String(!on));
}
function tools() {
  tool('brush').setAttribute('aria-pressed', String(!erasing));
  tool('erase').setAttribute('aria-pressed', String(erasing));
  able(tool('undo'), steps.length > 0);
  able(tool('redo'), undone.length > 0);
}
function send(blank) {
  sent = blank ? null : cv.toDataURL('image/png');
  props.value = sent;
  trigger('stroke');
}
function at(e) {
  const r = cv.getBoundingClientRect();
  return [(e.clientX - r.left) * N / r.width, (e.clientY - r.top) * N / r.height];
}

cv.addEventListener('pointerdown', (e) => {
  if (e.button > 0) return;
  e.preventDefault();
  cv.setPointerCapture(e.pointerId);
  cur = { erase: erasing, width: erasing ? 2 * BRUSH : BRUSH, pts: [at(e)] };
  dot(cur, cur.pts[0]);
});
cv.addEventListener('pointermove', (e) => {
  if (!cur) return;
  const events = (e.getCoalescedEvents && e.getCoalescedEvents().length) ? e.getCoalescedEvents() : [e];
  for (const ev of events) {
    const p = at(ev), q = cur.pts[cur.pts.length - 1];
    if (Math.abs(p[0] - q[0]) + Math.abs(p[1] - q[1]) < 0.5) continue;
    cur.pts.push(p);
    line(cur, q, p);
  }
});
const finish = () => {
  if (!cur) return;
  steps.push(cur);
  cur = null;
  undone = [];
  send(redraw());
};
cv.addEventListener('pointerup', finish);
cv.addEventListener('pointercancel', finish);

const act = (name, fn) => tool(name).addEventListener('click', () => {
  if (tool(name).getAttribute('aria-disabled') === 'true') return;
  fn();
});
act('brush', () => { erasing = false; tools(); });
act('erase', () => { erasing = true; tools(); });
act('undo', () => { undone.push(steps.pop()); send(redraw()); });
act('redo', () => { steps.push(undone.pop()); send(redraw()); });
act('clear', () => {  // a fresh sheet, with the brush in hand
  erasing = false;
  if (steps.length && !steps[steps.length - 1].clear) steps.push({ clear: true });
  undone = [];
  send(redraw());
});

// a digit put on the canvas by the app (an example, a link, a lesson) becomes the paper of a
// new step, the brush in hand; the canvas's own value coming back (Gradio reports it as a
// change too) leaves everything be
watch('value', () => {
  const v = props.value;
  if ((v || null) === sent) return;  // Gradio may hand a blank canvas's null back as ''
  sent = v || null;
  erasing = false;
  undone = [];
  if (!v) {
    if (steps.length && !steps[steps.length - 1].clear) steps.push({ clear: true });
    redraw();
    return;
  }
  const img = new Image();
  img.onload = () => { steps.push({ paper: img }); redraw(); };
  img.src = v;
});
redraw();
