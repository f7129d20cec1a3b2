// The /live page: follows the receiver's transfers and traced programs' as Server-Sent Events, no reload.
(() => {
  'use strict';
  const table = document.getElementById('live');
  if (!table || !window.EventSource) return;
  const d = table.dataset;
  const body = table.querySelector('tbody');
  const lang = d.lang === 'pt' ? 'pt-BR' : 'en-US';
  const fmt = (n) => new Intl.NumberFormat(lang).format(Number(n));
  const fill = (template, values) => template.replace(/\{(\w+)\}/g, (all, k) => (k in values ? String(values[k]) : all));
  const titleKey = { count: 'titleCount', name: 'titleName', size: 'titleSize', payload: 'titlePayload', trailing: 'titleTrailing' };

  function cell(cls, text) {
    const td = document.createElement('td');
    td.className = cls;
    if (text !== undefined) td.textContent = text;
    return td;
  }

  function render(x) {
    let row = body.querySelector(`tr[data-key="${CSS.escape(x.key)}"]`);
    if (!row) {
      row = document.createElement('tr');
      row.dataset.key = x.key;
      const who = cell('');
      const code = document.createElement('code');
      code.textContent = `${x.client.address}:${x.client.port}`;
      who.append(code);
      if (x.program) {
        const program = document.createElement('span');
        program.className = 'program';
        program.textContent = fill(x.program.side === 'sender' ? d.tracedSender : d.tracedReceiver, { program: x.program.name });
        who.append(' ', program);
      }
      row.append(who, cell('status-cell'), cell('num bytes'), cell('files'), cell('now'), cell('link'));
      body.prepend(row);
      const empty = document.getElementById('live-empty');
      if (empty) empty.remove();
    }
    row.className = `st-${x.status}`;
    const status = row.querySelector('.status-cell');
    status.textContent = '';
    const badge = document.createElement('span');
    badge.className = `status s-${x.status}`;
    const moving = x.program && x.program.side === 'sender' ? d.sending : d.receiving;
    badge.textContent = x.status === 'receiving' ? moving : d[`status${x.status[0].toUpperCase()}${x.status.slice(1)}`] || x.status;
    status.append(badge);
    if (x.message) {
      const reason = document.createElement('span');
      reason.className = 'reason';
      reason.textContent = ` ${x.message}`;
      status.append(reason);
    }
    row.querySelector('.bytes').textContent = fmt(x.bytes);
    row.querySelector('.files').textContent = fill(d.files, { done: x.filesDone, count: x.count === null ? '?' : x.count });
    const now = row.querySelector('.now');
    if (x.status === 'receiving' && x.kind) {
      const title = fill(d[titleKey[x.kind]] || x.kind, { file: x.file || 0 });
      now.textContent = (x.name ? `“${x.name}” · ` : '') + fill(d.inField, { title, have: fmt(x.have), needed: fmt(x.needed) });
    } else {
      now.textContent = '';
    }
    const link = row.querySelector('.link');
    if (x.captureId && x.status !== 'receiving') {
      // A traced connection's two ends are joined into one capture: the link follows it.
      const a = link.querySelector('a') || link.appendChild(document.createElement('a'));
      a.href = `/captures/${encodeURIComponent(x.captureId)}/steps/1?by=field${d.langQuery}`;
      a.textContent = x.captureId;
    }
  }

  const source = new EventSource('/live/events');
  source.addEventListener('snapshot', (e) => {
    for (const x of JSON.parse(e.data).reverse()) render(x);
  });
  source.addEventListener('transfer', (e) => render(JSON.parse(e.data)));
})();
