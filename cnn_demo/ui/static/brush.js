() => {
  // Gradio 6's Sketchpad starts (and, after a clear, restarts) with no tool selected and
  // shows "select the draw tool to start"; a learner should be able to draw at once, so the
  // brush is armed.
  const arm = (tries) => {
    const b = document.querySelector('#sketchpad button[aria-label="Brush"]');
    if (b) b.click(); else if (tries > 0) setTimeout(() => arm(tries - 1), 200);
  };
  arm(100);
  document.addEventListener('click', (e) => {
    if (e.target.closest('#sketchpad button[aria-label="Clear canvas"]')) setTimeout(() => arm(10), 150);
  }, true);
  // A first visit opens with an example digit flowing through the network (ui/share.py,
  // open_link); the learner's first stroke takes its place: the canvas is cleared as it begins.
  // Putting a digit there in any other way (an example, a lesson, a link) ends the example.
  let example = !new URLSearchParams(location.search).has('s');
  document.addEventListener('pointerdown', (e) => {
    if (!example || !(e.target instanceof Element)) return;
    if (e.target.closest('#sketchpad canvas')) {
      // the press is held back until the canvas is clear and the brush armed, then given again
      example = false;
      e.preventDefault();
      e.stopImmediatePropagation();
      const again = { clientX: e.clientX, clientY: e.clientY, screenX: e.screenX, screenY: e.screenY,
                      pointerId: e.pointerId, pointerType: e.pointerType, isPrimary: e.isPrimary, pressure: 0.5,
                      button: 0, buttons: 1, bubbles: true, cancelable: true, composed: true };
      document.querySelector('#sketchpad button[aria-label="Clear canvas"]')?.click();
      setTimeout(() => {
        document.querySelector('#sketchpad button[aria-label="Brush"]')?.click();
        requestAnimationFrame(() => {
          const at = document.elementFromPoint(again.clientX, again.clientY);
          (at && at.closest('#sketchpad') ? at : e.target).dispatchEvent(new PointerEvent('pointerdown', again));
        });
      }, 60);
    } else if (e.target.closest('#digits, #random-digit, #upload-to-canvas, #tour, #lesson-setup, #lesson-strip')) {
      example = false;
    }
  }, true);
}
