() => {
  // Accessibility (axe-core, screen readers): Gradio's markup has buttons without names
  // (the example digits), `aria-label` on plain divs (the empty state of labels and
  // plots) and accordion buttons that never say whether they are open. Names, roles and
  // states are added as the page renders; README, "Accessibility", says which.
  const name = () => {
    document.querySelectorAll('#digits button.gallery-item:not([aria-label])').forEach((b) => {
      const img = b.querySelector('img[src]');  // named once its picture is there (the file names say the digit)
      const m = img && img.getAttribute('src').match(/label(\d)\.png/);
      if (m) b.setAttribute('aria-label', `Put the MNIST test digit ${m[1]} on the canvas`);
    });
    document.querySelectorAll('div.empty[aria-label]:not([role])').forEach((d) => d.setAttribute('role', 'img'));
    // the footer's "Settings" link says its name twice (text and icon alt)
    document.querySelectorAll('footer img[alt="Settings"]').forEach((i) => i.setAttribute('alt', ''));
    document.querySelectorAll('.gr-accordion > button.label-wrap').forEach((b) => {
      const open = String(b.classList.contains('open'));
      if (b.getAttribute('aria-expanded') !== open) b.setAttribute('aria-expanded', open);
      const icon = b.querySelector('.icon:not([aria-hidden])');
      if (icon) icon.setAttribute('aria-hidden', 'true');  // the ▼ is decoration, not a word
    });
  };
  name();
  new MutationObserver(name).observe(document.body, { childList: true, subtree: true, attributes: true,
                                                       attributeFilter: ['class', 'src'] });
}
