/**
 * The page's own script, inlined after the chart libraries. It reads the embedded JSON, writes
 * every trace string with textContent (never as markup), renders the charts with the CSP-safe
 * expression interpreter (`ast: true`), and exposes the views on window.__moeTrace for tests.
 */
export const CLIENT_SCRIPT = String.raw`(function () {
  'use strict';
  var state = { views: {}, errors: [], ready: false };
  window.__moeTrace = state;
  var data = JSON.parse(document.getElementById('moe-data').textContent);
  var main = document.getElementById('moe-main');
  document.title = 'moe-trace: ' + data.traces.map(function (t) { return t.title; }).join(' vs ');

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function list(items, cls) {
    var ul = el('ul', cls);
    items.forEach(function (t) { ul.appendChild(el('li', null, t)); });
    return ul;
  }
  function table(t) {
    var tb = el('table', 'moe-table');
    if (t.key) tb.setAttribute('data-table', t.key);
    tb.appendChild(el('caption', null, t.caption));
    if (t.rows.length === 0) {
      var empty = el('tr');
      var cell = el('td', 'moe-none', t.note || '(none)');
      empty.appendChild(cell);
      tb.appendChild(empty);
      return tb;
    }
    var head = el('tr');
    t.header.forEach(function (h) { head.appendChild(el('th', null, h)); });
    tb.appendChild(head);
    t.rows.forEach(function (r) {
      var tr = el('tr');
      r.forEach(function (c, i) {
        var x = el(i === 0 ? 'th' : 'td', null, c);
        if (i === 0) x.title = c;
        tr.appendChild(x);
      });
      tb.appendChild(tr);
    });
    if (t.more) {
      var more = el('tr');
      more.appendChild(el('td', 'moe-none', '… and ' + t.more.toLocaleString('en-US') + ' more (all of them: moe-trace analyze --json)'));
      tb.appendChild(more);
    }
    if (t.note) {
      var note = el('tr');
      note.appendChild(el('td', 'moe-none', t.note));
      tb.appendChild(note);
    }
    return tb;
  }

  // Charts are laid out for 900 px; stretch them to the page's width (the window's, less margins).
  var BASE = 900;
  function fitWidth(spec, scale) {
    if (Array.isArray(spec)) { spec.forEach(function (x) { fitWidth(x, scale); }); return; }
    if (!spec || typeof spec !== 'object') return;
    Object.keys(spec).forEach(function (k) {
      if (k === 'datasets' || k === 'data' || k === 'values') return;
      if (k === 'width' && typeof spec[k] === 'number') spec[k] = Math.round(spec[k] * scale);
      else fitWidth(spec[k], scale);
    });
  }

  var tip = null;
  function tooltip(handler, event, item, value) {
    if (!tip) { tip = el('div', 'moe-tooltip'); tip.id = 'moe-tooltip'; document.body.appendChild(tip); }
    if (value === null || value === undefined || value === '') { tip.classList.remove('visible'); return; }
    while (tip.firstChild) tip.removeChild(tip.firstChild);
    var tb = el('table');
    var entries = typeof value === 'object' ? Object.keys(value).map(function (k) { return [k, value[k]]; }) : [['', value]];
    entries.forEach(function (kv) {
      var tr = el('tr');
      tr.appendChild(el('th', null, kv[0]));
      tr.appendChild(el('td', null, kv[1]));
      tb.appendChild(tr);
    });
    tip.appendChild(tb);
    tip.classList.add('visible');
    var x = event.clientX + 14, y = event.clientY + 14;
    var box = tip.getBoundingClientRect();
    if (x + box.width > window.innerWidth) x = Math.max(0, event.clientX - box.width - 14);
    if (y + box.height > window.innerHeight) y = Math.max(0, event.clientY - box.height - 14);
    tip.style.left = (x + window.scrollX) + 'px';
    tip.style.top = (y + window.scrollY) + 'px';
  }

  var charts = [];
  function chartSlot(parent, chart) {
    var fig = el('figure', 'moe-chart');
    var div = el('div');
    div.id = 'chart-' + chart.id;
    div.setAttribute('data-kind', chart.kind);
    fig.appendChild(div);
    parent.appendChild(fig);
    if (chart.spec) charts.push({ chart: chart, div: div });
    else div.appendChild(el('p', 'moe-empty', chart.message || 'Nothing to draw.'));
  }

  function findingBlock(f) {
    var d = el('div', 'moe-finding sev-' + f.severity);
    var h = el('h4');
    h.appendChild(el('span', 'sev', f.severity));
    h.appendChild(document.createTextNode(' ' + f.title));
    if (f.costText) h.appendChild(el('span', 'cost', ' ' + f.costText));
    d.appendChild(h);
    if (f.evidence.length) d.appendChild(list(f.evidence));
    d.appendChild(el('p', 'fix', 'Fix: ' + f.fix));
    return d;
  }

  if (data.aggregated) {
    main.appendChild(el('p', 'moe-note', 'This trace is large: some charts show aggregated data (see the notes under each trace). Every number in the text and tables is exact.'));
  }
  if (data.comparison) {
    var cs = el('section', 'moe-compare');
    cs.appendChild(el('h2', null, 'Comparison of ' + data.traces.length + ' traces'));
    cs.appendChild(table(data.comparison.table));
    data.comparison.charts.forEach(function (c) { chartSlot(cs, c); });
    main.appendChild(cs);
  }
  data.traces.forEach(function (t) {
    var s = el('section', 'moe-trace');
    s.id = t.id;
    s.appendChild(el('h2', null, t.title));
    s.appendChild(list(t.meta, 'moe-meta'));
    var lead = el('div', 'moe-lead');
    lead.appendChild(list(t.headline.length ? t.headline : ['No GPU kernels in this trace.'], 'moe-headline'));
    if (t.summary && t.summary.length) lead.appendChild(list(t.summary, 'moe-summary'));
    if (t.findings.length) {
      t.findings.forEach(function (f) { lead.appendChild(findingBlock(f)); });
    } else {
      lead.appendChild(el('p', 'moe-none', 'No findings: nothing in this trace matched a known cause of lost overlap.'));
    }
    s.appendChild(lead);
    if (t.warnings.length) s.appendChild(list(t.warnings, 'moe-warnings'));
    if (t.notes.length) s.appendChild(list(t.notes, 'moe-notes'));
    t.charts.forEach(function (c) { chartSlot(s, c); });
    t.tables.forEach(function (tb) { s.appendChild(table(tb)); });
    main.appendChild(s);
  });

  // room for the charts: the page's width less the y-axis labels (~260 px) and the padding
  var scale = Math.max(1, Math.min(2.4, (main.clientWidth - 340) / BASE));
  charts.forEach(function (c) { fitWidth(c.chart.spec, scale); });
  state.scale = scale;
  var options = { renderer: 'canvas', actions: false, ast: true, defaultStyle: false, tooltip: tooltip };
  charts.reduce(function (prev, c) {
    return prev.then(function () {
      return window.vegaEmbed(c.div, c.chart.spec, options).then(function (result) {
        state.views[c.chart.id] = result.view;
      }, function (err) {
        state.errors.push(c.chart.id + ': ' + err.message);
        c.div.appendChild(el('p', 'moe-error', 'This chart could not be drawn: ' + err.message));
        console.error(err);
      });
    });
  }, Promise.resolve()).then(function () {
    state.ready = true;
    document.documentElement.setAttribute('data-state', state.errors.length ? 'error' : 'ready');
  });
})();
`;
