// The Draw tab's canvas (ui/pad.py): run by gr.HTML as the body of a function of
// (element, trigger, props, server, upload, watch). A stroke is drawn as the pointer moves;
// at pointer-up the canvas is encoded once, at once, and sent with a 'stroke' event.
const cv = element.querySelector('canvas');
const ctx = cv.getContext('2d');
const N = cv.width, BRUSH = Number(cv.dataset.brush);
let strokes = [], undone = [], cur = null, erasing = false, paper = null, sent = null;
const tool = (act) => element.querySelector(`[data-act="${act}"]`);

function blank() {
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, N, N);
  if (paper) ctx.drawImage(paper, 0, 0, N, N);
}
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
function tools() {
  tool('brush').setAttribute('aria-pressed', String(!erasing));
  tool('erase').setAttribute('aria-pressed', String(erasing));
  tool('undo').disabled = !strokes.length;
  tool('redo').disabled = !undone.length;
}
function redraw() {
  blank();
  strokes.forEach(paint);
  tools();
}
function send() {
  sent = strokes.length || paper ? cv.toDataURL('image/png') : null;
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
  strokes.push(cur);
  cur = null;
  undone = [];
  tools();
  send();
};
cv.addEventListener('pointerup', finish);
cv.addEventListener('pointercancel', finish);

tool('brush').addEventListener('click', () => { erasing = false; tools(); });
tool('erase').addEventListener('click', () => { erasing = true; tools(); });
tool('undo').addEventListener('click', () => {
  if (!strokes.length) return;
  undone.push(strokes.pop());
  redraw();
  send();
});
tool('redo').addEventListener('click', () => {
  if (!undone.length) return;
  strokes.push(undone.pop());
  redraw();
  send();
});
tool('clear').addEventListener('click', () => {
  strokes = [];
  undone = [];
  paper = null;
  redraw();
  send();
});

// a digit put on the canvas by the app (an example, a link, a lesson) becomes its paper; the
// canvas's own value coming back (Gradio reports it as a change too) leaves the strokes be
watch('value', () => {
  const v = props.value;
  if ((v || null) === sent) return;  // Gradio may hand a blank canvas's null back as ''
  sent = v || null;
  strokes = [];
  undone = [];
  if (!v) {
    paper = null;
    redraw();
    return;
  }
  const img = new Image();
  img.onload = () => { paper = img; redraw(); };
  img.src = v;
});
redraw();
