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
}
