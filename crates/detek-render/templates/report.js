(function () {
  'use strict';
  // detek report: search, level tiles, views and cluster selector. It only reads textContent
  // and toggles hidden/open/aria-pressed and counts; it never builds markup from report data.
  function all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  var controls = document.getElementById('controls');
  if (!controls) { return; }
  controls.hidden = false;
  all('.js-only').forEach(function (el) { el.hidden = false; });
  var q = document.getElementById('q');
  var sup = document.getElementById('show-suppressed');
  var only = null;
  var view = 'detectors';

  function has(el, text) { return !text || el.textContent.toLowerCase().indexOf(text) >= 0; }
  function on(level) { return only === null || only === level; }
  function plural(n, one, many) { return n + ' ' + (n === 1 ? one : many); }
  function add(map, key, n) { map[key] = (map[key] || 0) + n; }
  // Open a details element for the search, and close it again when the search no longer needs it.
  function autoOpen(d, want) {
    if (want) {
      if (!d.open) { d.open = true; d.setAttribute('data-auto', ''); }
    } else if (d.hasAttribute('data-auto')) {
      d.open = false; d.removeAttribute('data-auto');
    }
  }

  // Rows of one detector or object: shown when their level is on, suppressed ones are wanted,
  // and the head or the row matches the search. Returns counts ignoring the level filter (for
  // the tiles) and what is shown.
  function rows(box, sel, text, headHit) {
    var r = { match: {}, matched: 0, shown: 0, active: 0 };
    all(sel, box).forEach(function (tr) {
      var level = tr.getAttribute('data-level');
      var s = tr.classList.contains('suppressed');
      var match = (sup.checked || !s) && (headHit || has(tr, text));
      var show = match && on(level);
      tr.hidden = !show;
      if (match) { r.matched++; if (!s) { add(r.match, level, 1); } }
      if (show) { r.shown++; if (!s) { r.active++; } }
    });
    return r;
  }

  function apply() {
    var text = q.value.trim().toLowerCase();
    all('section.cluster').forEach(function (sec) {
      var dets = {}, finds = {}, total = 0, shown = 0;
      all('.det', sec).forEach(function (det) {
        total++;
        var level = det.getAttribute('data-level');
        var headHit = !text || has(det.querySelector('.det-head'), text);
        var r = rows(det, '.finding', text, headHit);
        var match = headHit || r.matched > 0;
        var show = match && on(level);
        det.hidden = !show;
        if (match) {
          add(dets, level, 1);
          for (var k in r.match) { add(finds, k, r.match[k]); }
        }
        if (show) { shown++; }
        var ds = det.querySelector('.det-shown');
        if (ds) {
          var n = det.querySelectorAll('.finding').length;
          ds.textContent = n > r.shown ? r.shown + ' shown' : '';
        }
        all('details.more', det).forEach(function (m) {
          autoOpen(m, !!text && !headHit && !!m.querySelector('.finding:not([hidden])'));
        });
        var line = sec.querySelector('tr[data-det="' + det.id + '"]');
        if (line) {
          line.hidden = !show;
          var cnt = line.querySelector('.cnt');
          if (cnt) { cnt.textContent = r.active; }
        }
      });
      all('details.group', sec).forEach(function (g) {
        var visible = g.querySelectorAll('.det:not([hidden])').length;
        g.hidden = visible === 0;
        var gn = g.querySelector('.gn');
        if (gn) { gn.textContent = visible; }
        var level = g.classList.contains('g-normal') ? 'normal' : 'unknown';
        if (level === 'normal') { autoOpen(g, visible > 0 && (!!text || only === 'normal')); }
      });
      var sh = sec.querySelector('.shown');
      if (sh) {
        sh.textContent = shown === total ? plural(total, 'detector', 'detectors') : shown + ' of ' + total + ' detectors shown';
      }
      all('[data-level-filter]', sec).forEach(function (t) {
        var level = t.getAttribute('data-level-filter');
        t.querySelector('.n').textContent = dets[level] || 0;
        var f = t.querySelector('.f');
        if (f) { f.textContent = plural(finds[level] || 0, 'finding', 'findings'); }
        t.setAttribute('aria-pressed', String(only === level));
      });
      // The view by namespace and object.
      all('.nsgroup', sec).forEach(function (g) {
        var any = 0;
        all('details.obj', g).forEach(function (o) {
          var headHit = !text || has(o.querySelector('summary'), text);
          var r = rows(o, '.ofinding', text, headHit);
          o.hidden = r.shown === 0;
          if (r.shown > 0) { any++; }
          autoOpen(o, !!text && r.shown > 0);
        });
        g.hidden = any === 0;
        var line = sec.querySelector('tr[data-ns="' + g.id + '"]');
        if (line) { line.hidden = any === 0; }
      });
    });
  }

  function showView(v) {
    view = v;
    all('.view').forEach(function (el) { el.hidden = el.getAttribute('data-view') !== view; });
    all('[data-view-btn]').forEach(function (b) {
      b.setAttribute('aria-pressed', String(b.getAttribute('data-view-btn') === view));
    });
  }
  all('[data-view-btn]').forEach(function (b) {
    b.addEventListener('click', function () { showView(b.getAttribute('data-view-btn')); });
  });
  all('[data-level-filter]').forEach(function (t) {
    t.addEventListener('click', function () {
      var level = t.getAttribute('data-level-filter');
      only = only === level ? null : level;
      apply();
    });
  });
  q.addEventListener('input', apply);
  sup.addEventListener('change', apply);
  document.addEventListener('keydown', function (ev) {
    if (ev.key === '/' && document.activeElement !== q) { ev.preventDefault(); q.focus(); }
    if (ev.key === 'Escape' && document.activeElement === q) { q.value = ''; apply(); }
  });
  // An in-page link to something in the other view, or folded, or filtered out: show it.
  document.addEventListener('click', function (ev) {
    var a = ev.target.closest ? ev.target.closest('a[href^="#"]') : null;
    if (!a) { return; }
    var el = document.getElementById(a.getAttribute('href').slice(1));
    if (!el) { return; }
    var v = el.closest('.view');
    if (v && v.hidden) { showView(v.getAttribute('data-view')); }
    if (el.hidden) { q.value = ''; only = null; apply(); }
    for (var d = el.closest('details'); d; d = d.parentElement && d.parentElement.closest('details')) { d.open = true; }
  });

  var tabs = all('[data-show-cluster]');
  function showCluster(which) {
    all('section.cluster').forEach(function (sec) {
      sec.hidden = which !== 'all' && sec.getAttribute('data-cluster') !== which;
    });
    tabs.forEach(function (t) {
      t.setAttribute('aria-pressed', String(t.getAttribute('data-show-cluster') === which));
    });
  }
  if (tabs.length) {
    tabs.forEach(function (t) {
      t.addEventListener('click', function () { showCluster(t.getAttribute('data-show-cluster')); });
    });
    showCluster('0');
  }
  showView('detectors');
  apply();
})();
