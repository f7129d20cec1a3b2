// wirestep's only script: keyboard stepping and linked highlighting. The pages work without it.
(() => {
  'use strict';
  // ← → Home End follow the page's own first/prev/next/last links.
  const keys = { ArrowLeft: 'prev', ArrowRight: 'next', Home: 'first', End: 'last' };
  document.addEventListener('keydown', (ev) => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    const target = ev.target;
    if (target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    const rel = keys[ev.key];
    if (!rel) return;
    const link = document.querySelector(`link[rel="${rel}"]`);
    if (link) {
      ev.preventDefault();
      window.location.href = link.getAttribute('href');
    }
  });

  // Pointing at a field's explanation lights its bytes, and pointing at bytes lights the explanation.
  const sameField = (id) => document.querySelectorAll(`[data-field="${CSS.escape(id)}"]`);
  const light = (id, on) => { for (const el of sameField(id)) el.classList.toggle('lit', on); };
  const fieldOf = (el) => (el instanceof Element ? el.closest('[data-field]') : null);
  let lit = null;
  const update = (el) => {
    const id = el ? el.getAttribute('data-field') : null;
    if (id === lit) return;
    if (lit) light(lit, false);
    lit = id;
    if (lit) light(lit, true);
  };
  document.addEventListener('mouseover', (ev) => update(fieldOf(ev.target)));
  document.addEventListener('focusin', (ev) => update(fieldOf(ev.target)));

  // Hovering a byte says its offset in the stream and within its field.
  const info = document.querySelector('.byte-info');
  document.addEventListener('mouseover', (ev) => {
    if (!info || !(ev.target instanceof HTMLElement) || ev.target.tagName !== 'I') return;
    const run = ev.target.parentElement;
    if (!run || !run.classList.contains('run')) return;
    const index = Array.prototype.indexOf.call(run.children, ev.target);
    const offset = Number(run.dataset.start) + index;
    const hex = run.closest('.row').querySelector('.hex');
    for (const old of document.querySelectorAll('.dump i.hover')) old.classList.remove('hover');
    // Mark the byte in both columns.
    const row = run.closest('.row');
    const column = offset - Number(row.dataset.offset);
    const hexCell = hex.querySelectorAll('i')[column];
    const txtCell = row.querySelector('.txt').querySelectorAll('i')[column];
    if (hexCell) hexCell.classList.add('hover');
    if (txtCell) txtCell.classList.add('hover');
    let text = info.dataset.stream.replace('{offset}', String(offset)).replace('{hex}', offset.toString(16).toUpperCase());
    const hexRun = [...hex.querySelectorAll('.run')].find((r) => r.dataset.start === run.dataset.start);
    const id = run.dataset.field;
    if (id && hexRun && hexRun.dataset.fstart !== undefined) {
      const within = Number(hexRun.dataset.fstart) + index;
      text += ' · ' + info.dataset.within.replace('{n}', String(within)).replace('{field}', hexRun.dataset.title || id);
    }
    info.textContent = text;
  });
})();
