// wirestep's only script: keyboard stepping and linked highlighting. The pages work without it.
(() => {
  'use strict';
  // ← → Home End follow the page's own first/prev/next/last links.
  const keys = { ArrowLeft: 'prev', ArrowRight: 'next', Home: 'first', End: 'last' };
  // Home and End scroll a page taller than the window, or a box that scrolls, as everywhere else.
  const scrolls = (target) => {
    if (document.documentElement.scrollHeight > window.innerHeight + 1) return true;
    for (let el = target instanceof Element ? target : null; el && el !== document.body; el = el.parentElement) {
      if (el.scrollHeight > el.clientHeight + 1 && /(auto|scroll)/.test(getComputedStyle(el).overflowY)) return true;
    }
    return false;
  };
  const clickerKeys = { PageDown: 'next', ' ': 'next', ArrowDown: 'next', PageUp: 'prev', ArrowUp: 'prev' };
  const quiz = document.getElementById('quiz');
  let answered = false;
  document.addEventListener('keydown', (ev) => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    const target = ev.target;
    if (target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    // f: full screen, for the projector.
    if (ev.key === 'f' && document.body.classList.contains('present')) {
      ev.preventDefault();
      if (document.fullscreenElement) void document.exitFullscreen();
      else void document.documentElement.requestFullscreen().catch(() => {});
      return;
    }
    if (quiz && !answered && quizKey(ev)) return;
    // In presenter mode the page does not scroll: what clicker remotes send steps too.
    const presenting = document.body.classList.contains('present') && !(ev.key === ' ' && target instanceof HTMLElement && target.closest('a, button'));
    const rel = keys[ev.key] || (presenting ? clickerKeys[ev.key] : undefined);
    if (!rel) return;
    if ((ev.key === 'Home' || ev.key === 'End') && !document.body.classList.contains('present') && scrolls(target)) return;
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

  // Clicking a byte opens the step of the field that holds it (Wireshark's bytes pane does so too).
  document.addEventListener('click', (ev) => {
    // In a quiz a click is an answer, and the answer stays on screen.
    if (quiz) return;
    const cell = ev.target instanceof Element ? ev.target.closest('.dump .hex .run[data-href] i') : null;
    if (!cell || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    window.location.href = cell.parentElement.dataset.href;
  });

  // Predict, then reveal: the student picks the byte where the field starts.
  const cells = quiz ? [...document.querySelectorAll('.dump .hex .run i')] : [];
  const offsetOf = (cell) => Number(cell.parentElement.dataset.start) + Array.prototype.indexOf.call(cell.parentElement.children, cell);
  let cursor = -1;
  function moveCursor(to) {
    if (cells.length === 0) return;
    if (cursor >= 0) cells[cursor].classList.remove('cursor');
    cursor = Math.max(0, Math.min(cells.length - 1, to));
    cells[cursor].classList.add('cursor');
  }
  // The page does not hold the answer: the server judges the chosen byte.
  async function choose(cell) {
    if (!quiz || answered) return;
    answered = true;
    const chosen = offsetOf(cell);
    const showAnswer = quiz.querySelector('.noscript-answer');
    let judged;
    try {
      const res = await fetch(`${quiz.dataset.ask}&at=${chosen}`, { headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error(String(res.status));
      judged = await res.json();
    } catch {
      // Without the server's verdict the answer is still one link away.
      answered = false;
      if (showAnswer) showAnswer.hidden = false;
      return;
    }
    const answer = judged.answer;
    const verdict = quiz.querySelector('.verdict');
    verdict.className = `verdict ${judged.right ? 'right' : 'wrong'}`;
    verdict.textContent = (judged.right ? quiz.dataset.right : quiz.dataset.wrong).replace('{offset}', String(answer)).replace('{chosen}', String(chosen));
    cell.classList.add(judged.right ? 'answer' : 'chosen');
    const correct = cells.find((c) => offsetOf(c) === answer);
    if (correct) correct.classList.add('answer');
    if (cursor >= 0) cells[cursor].classList.remove('cursor');
    document.body.classList.remove('quiz');
    // The whole step, labels and explanations, is the answer's page.
    if (showAnswer) showAnswer.hidden = false;
  }
  function quizKey(ev) {
    const moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -16, ArrowDown: 16 };
    if (ev.key in moves) {
      ev.preventDefault();
      moveCursor(cursor < 0 ? 0 : cursor + moves[ev.key]);
      return true;
    }
    if (ev.key === 'Enter' && cursor >= 0) {
      ev.preventDefault();
      choose(cells[cursor]);
      return true;
    }
    return false;
  }
  if (quiz) {
    const noscript = quiz.querySelector('.noscript-answer');
    if (noscript) noscript.hidden = true;
    for (const cell of cells) cell.addEventListener('click', () => choose(cell));
  }
})();
