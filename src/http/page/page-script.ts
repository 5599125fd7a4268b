/**
 * The page's script (GET /page.js), plain browser JavaScript kept as a string so that tsc is the
 * only build step. It reads the REST API with the token the user gives (sessionStorage: this tab
 * only) and writes every value with textContent, never as HTML: pod names, comm and exe come from
 * the kernel's records and the node, and must not become markup.
 */
export const PAGE_SCRIPT = String.raw`'use strict';
(function () {
  var token = sessionStorage.getItem('sa-token') || '';
  var $ = function (id) { return document.getElementById(id); };

  function api(path, init) {
    init = init || {};
    var headers = Object.assign({ accept: 'application/json' }, init.headers || {});
    if (token) headers.authorization = 'Bearer ' + token;
    return fetch(path, Object.assign({}, init, { headers: headers })).then(function (res) {
      if (res.status === 401) {
        showLogin(token ? 'The token was refused.' : '');
        throw new Error('401');
      }
      return res;
    });
  }
  function json(path) {
    return api(path).then(function (res) {
      return res.json().then(function (body) {
        if (!res.ok) throw new Error(path + ': ' + (body.message || res.status));
        return body;
      });
    });
  }
  function fail(err) {
    if (err && err.message === '401') return;
    $('error').textContent = String(err && err.message || err);
  }
  function showLogin(message) {
    $('login').hidden = false; $('overview').hidden = true; $('pod').hidden = true;
    $('error').textContent = message;
  }
  $('login-form').addEventListener('submit', function (e) {
    e.preventDefault();
    token = $('token').value.trim();
    sessionStorage.setItem('sa-token', token);
    $('login').hidden = true; $('error').textContent = '';
    route();
  });

  function ago(iso) {
    if (!iso) return '';
    var s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (s < 90) return Math.round(s) + ' s ago';
    if (s < 5400) return Math.round(s / 60) + ' min ago';
    if (s < 172800) return Math.round(s / 3600) + ' h ago';
    return Math.round(s / 86400) + ' d ago';
  }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  /** A table from columns {key, label, num, render}; sortable by a click on a header when sortable. */
  function table(t, columns, rows, sortable) {
    var state = { key: null, dir: 1 };
    function draw() {
      t.textContent = '';
      var head = t.insertRow();
      columns.forEach(function (c) {
        var th = el('th', c.label + (state.key === c.key ? (state.dir > 0 ? ' \u25b2' : ' \u25bc') : ''), c.num ? 'num' : '');
        if (sortable) {
          th.dataset.key = c.key;
          th.addEventListener('click', function () {
            state.dir = state.key === c.key ? -state.dir : 1;
            state.key = c.key;
            draw();
          });
        }
        head.appendChild(th);
      });
      var sorted = rows.slice();
      if (state.key !== null) {
        var k = state.key;
        sorted.sort(function (a, b) {
          var x = a[k], y = b[k];
          return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y))) * state.dir;
        });
      }
      if (sorted.length === 0) {
        var empty = t.insertRow().insertCell();
        empty.colSpan = columns.length; empty.textContent = 'none'; empty.className = 'muted';
      }
      sorted.forEach(function (r) {
        var tr = t.insertRow();
        columns.forEach(function (c) {
          var td = tr.insertCell();
          if (c.num) td.className = 'num';
          var v = c.render ? c.render(r, td) : r[c.key];
          if (v instanceof Node) td.appendChild(v); else if (v !== undefined && v !== null) td.textContent = String(v);
        });
      });
    }
    draw();
  }

  function overview() {
    $('overview').hidden = false; $('pod').hidden = true;
    Promise.all([json('/api/v1/status'), json('/api/v1/pods?limit=500'), json('/api/v1/violations'), json('/api/v1/unattributed')]).then(function (r) {
      var status = r[0], pods = r[1], violations = r[2], unattributed = r[3];
      $('node').textContent = status.ready ? 'ready' : 'NOT READY';
      $('node').className = status.ready ? 'ok' : 'bad';
      table($('sources'), [
        { key: 'name', label: 'source' },
        { key: 'ok', label: 'health', render: function (s) { return el('span', s.ok ? 'ok' : 'failing', s.ok ? 'ok' : 'bad'); } },
        { key: 'state', label: 'state' },
        { key: 'records', label: 'records', num: true },
        { key: 'lagSeconds', label: 'lag (s)', num: true },
        { key: 'error', label: 'error' },
      ], status.sources, false);
      $('lost').textContent = (status.lost || []).length === 0 ? 'No records lost.' : 'Lost: ' + status.lost.map(function (l) { return JSON.stringify(l); }).join('; ');
      var rows = [];
      pods.items.forEach(function (p) {
        p.containers.forEach(function (c) {
          rows.push({ namespace: p.namespace, pod: p.pod, container: c.name, records: c.records, syscalls: c.syscalls, violations: c.violations,
            lastNew: c.lastNewSyscallAt || '', since: c.recordsSinceNewSyscall, lastSeen: c.lastSeen || '' });
        });
      });
      table($('pods'), [
        { key: 'pod', label: 'pod', render: function (r) {
          var a = el('a', r.namespace + '/' + r.pod, 'pod');
          a.href = '#/pods/' + encodeURIComponent(r.namespace) + '/' + encodeURIComponent(r.pod);
          return a;
        } },
        { key: 'container', label: 'container' },
        { key: 'records', label: 'records', num: true },
        { key: 'syscalls', label: 'distinct syscalls', num: true },
        { key: 'violations', label: 'violations', num: true },
        { key: 'lastNew', label: 'last new syscall', render: function (r) { return ago(r.lastNew); } },
        { key: 'since', label: 'records since', num: true },
        { key: 'lastSeen', label: 'last record', render: function (r) { return ago(r.lastSeen); } },
      ], rows, true);
      table($('violations'), [
        { key: 'pod', label: 'pod', render: function (v) { return v.namespace ? v.namespace + '/' + v.pod : v.workload; } },
        { key: 'container', label: 'container' },
        { key: 'syscall', label: 'syscall' },
        { key: 'action', label: 'action' },
        { key: 'count', label: 'count', num: true },
        { key: 'lastSeen', label: 'last seen', render: function (v) { return ago(v.lastSeen); } },
      ], violations.items, true);
      table($('unattributed'), [
        { key: 'comm', label: 'comm' }, { key: 'exe', label: 'exe' }, { key: 'reason', label: 'reason' },
        { key: 'count', label: 'count', num: true },
        { key: 'lastSeen', label: 'last seen', render: function (u) { return ago(u.lastSeen); } },
      ], unattributed.items, true);
    }).catch(fail);
  }

  function podPath(ns, pod) { return '/api/v1/namespaces/' + encodeURIComponent(ns) + '/pods/' + encodeURIComponent(pod); }

  function podView(ns, pod) {
    $('overview').hidden = true; $('pod').hidden = false;
    $('pod-title').textContent = 'Pod ' + ns + '/' + pod;
    $('check-result').textContent = '';
    $('containers').textContent = '';
    var base = podPath(ns, pod);
    // the learning status as the profile route judges it (X-Learned-*), incomplete included
    api(base + '/profile?allowIncomplete=true').then(function (res) {
      var h = function (n) { return res.headers.get('x-learned-' + n); };
      var p = $('learning'); p.textContent = '';
      if (!res.ok) { p.textContent = 'No profile: ' + res.status; return; }
      var complete = h('complete') === 'true';
      p.appendChild(el('span', complete ? 'complete' : 'INCOMPLETE (lost: ' + h('lost') + ')', complete ? 'ok' : 'bad'));
      p.appendChild(el('span', h('young') === 'true' ? ' \u00b7 young (short window or few records: keep exercising it)' : ' \u00b7 settled', h('young') === 'true' ? 'warn' : 'ok'));
      p.appendChild(el('span', ' \u00b7 ' + h('records') + ' records from ' + (h('from') || '?') + ' to ' + (h('to') || '?'), 'muted'));
    }).catch(fail);
    json(base + '/syscalls').then(function (body) {
      body.containers.forEach(function (c) {
        var s = el('section');
        s.appendChild(el('h2', 'Container ' + c.name));
        var t = el('table'); t.className = 'syscalls'; t.dataset.container = c.name;
        s.appendChild(t);
        $('containers').appendChild(s);
        table(t, [
          { key: 'name', label: 'syscall' }, { key: 'arch', label: 'arch' },
          { key: 'action', label: 'action', render: function (r) { return el('span', r.action, r.action === 'log' ? '' : 'bad'); } },
          { key: 'count', label: 'count', num: true },
          { key: 'firstSeen', label: 'first seen' }, { key: 'lastSeen', label: 'last seen' },
        ], c.syscalls.map(function (r) { return Object.assign({}, r, { name: r.name || ('#' + r.nr) }); }), true);
      });
    }).catch(fail);
    $('download-oci').onclick = function () { download(base + '/profile', pod + '.json'); };
    $('download-spo').onclick = function () { download(base + '/profile?format=spo', pod + '.yaml'); };
    $('check-file').onchange = function (e) {
      var file = e.target.files[0];
      if (!file) return;
      file.text().then(function (text) {
        return api(base + '/profile/diff', { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
      }).then(function (res) {
        return res.json().then(function (d) {
          var out = $('check-result'); out.textContent = '';
          if (!res.ok) { out.appendChild(el('p', file.name + ': ' + (d.message || res.status), 'bad')); return; }
          out.appendChild(el('p', file.name + ': ' + (d.wouldBlock.length === 0 ? 'blocks nothing this pod was seen doing' : 'would block ' + d.wouldBlock.length + ' call(s) this pod made'), d.wouldBlock.length === 0 ? 'ok' : 'bad'));
          var t = el('table'); t.id = 'would-block'; out.appendChild(t);
          table(t, [{ key: 'name', label: 'would block' }, { key: 'count', label: 'count', num: true }, { key: 'lastSeen', label: 'last seen' }], d.wouldBlock, true);
          out.appendChild(el('p', 'Allowed but never seen: ' + d.neverObserved.count + (d.conditional.length ? '; conditional rules: ' + d.conditional.join(', ') : ''), 'muted'));
        });
      }).catch(fail);
      e.target.value = '';
    };
  }

  function download(path, name) {
    api(path).then(function (res) {
      return res.blob().then(function (blob) {
        if (!res.ok) return blob.text().then(function (t) { throw new Error(name + ': ' + t); });
        var a = el('a'); a.href = URL.createObjectURL(blob); a.download = name;
        document.body.appendChild(a); a.click(); a.remove();
        setTimeout(function () { URL.revokeObjectURL(a.href); }, 10000);
      });
    }).catch(fail);
  }

  function route() {
    $('error').textContent = '';
    var m = /^#\/pods\/([^/]+)\/([^/]+)$/.exec(location.hash);
    if (m) podView(decodeURIComponent(m[1]), decodeURIComponent(m[2])); else overview();
  }
  $('home').addEventListener('click', function (e) { e.preventDefault(); location.hash = ''; route(); });
  window.addEventListener('hashchange', route);
  route();
})();
`;
