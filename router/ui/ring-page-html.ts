import { createHash } from 'node:crypto';
import { RING_PAGE_TIMINGS } from './ring-page-source.js';

/**
 * The live ring page: one HTML document with its CSS and script inline, no build step and no
 * dependency. It holds no data: it polls `ui/state` (an operator route) once a second and updates
 * the ring (SVG, slots as arcs colored by owner) and the node table in place. When the router asks
 * for an operator token (401/403) it asks for one, keeps it in this tab's sessionStorage and sends
 * it as `Authorization: Bearer`. Every value from the state is set as text, never as markup.
 *
 * The script is plain ES5-style JavaScript kept in a TypeScript string (tsc does not copy .html
 * files into dist/); test/ui/ring-page-unit.test.ts parses it, the browser test runs it.
 */

const STYLE = String.raw`
:root { --fg: #1d2330; --muted: #667085; --line: #e4e7ec; --bg: #f7f8fa;
  --ok: #12b76a; --warn: #f79009; --bad: #d92d20; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: 6px 20px; align-items: baseline; padding: 12px 20px;
  background: #fff; border-bottom: 1px solid var(--line); }
header h1 { font-size: 16px; margin: 0; }
.fact { color: var(--muted); }
.fact b { color: var(--fg); font-variant-numeric: tabular-nums; }
#live { margin-left: auto; color: var(--muted); }
#live.stale { color: var(--bad); font-weight: 600; }
#changes { padding: 10px 20px 0; }
.change { display: flex; gap: 10px; align-items: center; padding: 6px 10px; margin: 0 0 6px;
  background: #fff; border: 1px solid var(--line); border-left: 4px solid var(--warn); border-radius: 4px; }
.change[data-kind=finished] { border-left-color: var(--ok); }
.idle { color: var(--muted); padding: 6px 0; }
main { display: flex; flex-wrap: wrap; gap: 20px; padding: 10px 20px 20px; align-items: flex-start; }
#ring { flex: 0 0 300px; width: 300px; height: 300px; background: #fff; border: 1px solid var(--line);
  border-radius: 6px; }
#ring text { font-size: 10px; text-anchor: middle; dominant-baseline: middle; pointer-events: none; }
#ring .arc-label { fill: #fff; font-weight: 600; paint-order: stroke; stroke: rgba(0,0,0,.35); stroke-width: 2px; }
#ring .center-epoch { font-size: 24px; font-weight: 700; fill: var(--fg); }
#ring .center-note { font-size: 11px; fill: var(--muted); }
#ring path { stroke: #fff; stroke-width: 2; }
#ring g.dead path { fill-opacity: .35; stroke: var(--bad); stroke-dasharray: 4 3; }
#ring g.moving path { stroke: var(--warn); stroke-width: 3; }
.table-wrap { flex: 1 1 900px; min-width: 0; overflow-x: auto; }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
th, td { padding: 6px 8px; text-align: left; border-bottom: 1px solid var(--line); white-space: nowrap;
  font-variant-numeric: tabular-nums; vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; white-space: normal; vertical-align: bottom; }
td.num { text-align: right; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
.state { display: inline-block; padding: 1px 8px; border-radius: 9px; font-size: 12px; background: #f2f4f7; }
.state.serving { background: #d1fadf; color: #05603a; }
.state.standby { background: #e0eaff; color: #1d4ed8; }
.state.dead { background: #fee4e2; color: #912018; }
.state.draining { background: #fef0c7; color: #93370d; }
.bar { display: inline-block; width: 48px; height: 8px; background: #f2f4f7; border-radius: 4px;
  overflow: hidden; vertical-align: middle; margin-right: 6px; }
.bar > i { display: block; height: 100%; width: 0; background: var(--ok); }
.bar.warn > i { background: var(--warn); }
.bar.bad > i { background: var(--bad); }
.change .bar { width: 120px; flex: 0 0 120px; }
.note { color: var(--muted); font-size: 12px; white-space: normal; }
td .note { white-space: nowrap; font-size: 11px; }
.problem { color: var(--bad); font-size: 12px; white-space: normal; max-width: 240px; }
footer { padding: 0 20px 20px; color: var(--muted); font-size: 12px; }
#token { position: fixed; inset: 0; background: rgba(16,24,40,.45); display: flex;
  align-items: center; justify-content: center; }
#token[hidden] { display: none; }
#token form { background: #fff; padding: 20px; border-radius: 8px; width: 380px; }
#token input { width: 100%; padding: 6px 8px; margin: 8px 0; font: inherit; }
`;

const BODY = String.raw`
<header>
  <h1>chatring ring</h1>
  <span class="fact">epoch <b id="epoch">–</b></span>
  <span class="fact">backend <b id="backend">–</b></span>
  <span class="fact">lease <b id="lease">–</b></span>
  <span class="fact">slots <b id="slot-count">–</b></span>
  <span class="fact">standbys <b id="standbys">–</b></span>
  <span id="live">connecting…</span>
</header>
<section id="changes" aria-live="polite"><div class="idle">no change in progress</div></section>
<main>
  <svg id="ring" viewBox="-170 -170 340 340" role="img" aria-label="slots around the ring, colored by owner">
    <g id="arcs"></g>
    <text class="center-epoch" id="center-epoch" y="-8">–</text>
    <text class="center-note" id="center-note" y="18"></text>
  </svg>
  <div class="table-wrap">
    <table>
      <thead><tr><th>node</th><th>state</th><th>slots</th><th>lease age</th><th>requests/s</th>
        <th>hit ratio</th><th>cache fill</th><th>users<br>cached</th><th>epoch</th>
        <th>warm<br>out / in</th></tr></thead>
      <tbody id="nodes"></tbody>
    </table>
    <p id="cp-problem" class="problem" hidden></p>
  </div>
</main>
<footer>Updates itself every second without reloading, from <code>GET /ui/state</code> (an operator
  route): node states and lease ages from the control plane; epoch, hit ratio (last 10 s), cache and
  warm handoff from each node's <code>/internal/v1/stats</code>; requests/s and the cache budget
  from its <code>/metrics</code>.</footer>
<div id="token" hidden>
  <form id="token-form" data-token-form>
    <strong>Operator token</strong>
    <p id="token-reason" class="note"></p>
    <input id="token-input" type="password" autocomplete="off" placeholder="operator bearer token" required>
    <button type="submit">Show the ring</button>
    <p class="note">Kept in this tab only (sessionStorage) and sent as <code>Authorization: Bearer</code>.</p>
  </form>
</div>
`;

const SCRIPT = String.raw`
(function () {
  'use strict';
  var POLL_MS = __POLL_MS__;
  var TOKEN_KEY = 'chatring.operatorToken';
  var SVG = 'http://www.w3.org/2000/svg';
  var PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1',
    '#ff9da7', '#9c755f', '#bab0ac'];
  var COLUMNS = ['node', 'state', 'slots', 'lease', 'rate', 'hit', 'fill', 'users', 'epoch', 'warm'];
  var NUMERIC = { rate: true, hit: true, users: true, epoch: true, warm: true };
  var colors = new Map();
  var rows = new Map();
  var arcs = new Map();
  var slotKey = null;
  var lastOkAt = 0;
  var lastError = '';
  var updates = 0;
  var timer = null;

  function byId(id) { return document.getElementById(id); }
  function element(tag, className) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    return node;
  }
  function setText(node, value) {
    value = String(value);
    if (node.textContent !== value) node.textContent = value;
  }
  function colorOf(nodeId) {
    if (!colors.has(nodeId)) colors.set(nodeId, PALETTE[colors.size % PALETTE.length]);
    return colors.get(nodeId);
  }
  function ms(value) {
    if (value === null || value === undefined) return '–';
    return value < 1000 ? Math.round(value) + ' ms' : (value / 1000).toFixed(1) + ' s';
  }
  function bytes(value) {
    if (value === null || value === undefined) return '–';
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return (unit === 0 || value >= 100 ? Math.round(value) : value.toFixed(1)) + ' ' + units[unit];
  }
  function rate(value) {
    if (value === null) return '–';
    return (value >= 100 ? Math.round(value) : value.toFixed(1)) + '/s';
  }
  function percent(value) { return value === null ? '–' : (value * 100).toFixed(1) + '%'; }
  function integer(value) { return value === null ? '–' : value.toLocaleString('en-US'); }
  function bar() {
    var outer = element('span', 'bar');
    outer.appendChild(element('i'));
    return outer;
  }
  function setBar(outer, share, level) {
    outer.className = 'bar' + (level ? ' ' + level : '');
    outer.style.visibility = share === null ? 'hidden' : 'visible';
    outer.firstChild.style.width = share === null ? '0' : Math.min(100, share * 100).toFixed(1) + '%';
  }

  function schedule(delayMs) {
    clearTimeout(timer);
    timer = setTimeout(poll, delayMs);
  }
  function poll() {
    var token = sessionStorage.getItem(TOKEN_KEY);
    var headers = token ? { authorization: 'Bearer ' + token } : {};
    fetch('ui/state', { headers: headers, cache: 'no-store' }).then(function (response) {
      if (response.status === 401 || response.status === 403) {
        if (token) sessionStorage.removeItem(TOKEN_KEY);
        askToken(response.status === 403 && token
          ? 'That token was refused: it is not an operator token of this cluster.'
          : 'This cluster asks for an operator token.');
        return undefined;
      }
      if (!response.ok) throw new Error('the router answered HTTP ' + response.status);
      return response.json().then(function (state) {
        render(state);
        lastOkAt = Date.now();
        lastError = '';
        showLive();
        schedule(POLL_MS);
      });
    }).catch(function (error) {
      lastError = String((error && error.message) || error);
      showLive();
      schedule(POLL_MS);
    });
  }
  function showLive() {
    var live = byId('live');
    var age = Date.now() - lastOkAt;
    if (lastOkAt === 0 || age > 3 * POLL_MS) {
      live.className = 'stale';
      setText(live, (lastOkAt === 0 ? 'no answer yet' : 'stale: no update for ' + Math.round(age / 1000) + ' s') +
        (lastError ? ' (' + lastError + ')' : ''));
    } else {
      live.className = '';
      setText(live, 'live · updated ' + new Date(lastOkAt).toLocaleTimeString());
    }
  }
  function askToken(reason) {
    setText(byId('token-reason'), reason);
    byId('token').hidden = false;
    byId('token-input').focus();
  }
  byId('token-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var token = byId('token-input').value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    byId('token-input').value = '';
    byId('token').hidden = true;
    poll();
  });

  function render(state) {
    var nodes = {};
    state.nodes.forEach(function (node) { nodes[node.nodeId] = node; colorOf(node.nodeId); });
    var epoch = byId('epoch');
    setText(epoch, state.epoch);
    epoch.setAttribute('data-epoch', String(state.epoch));
    setText(byId('backend'), state.backend || 'unknown');
    setText(byId('lease'), state.leaseMs === null ? 'unknown'
      : ms(state.leaseMs) + ', heartbeat ' + ms(state.heartbeatIntervalMs));
    setText(byId('slot-count'), state.slots.length);
    setText(byId('standbys'), state.standbys.length ? state.standbys.join(', ') : 'none');
    var problem = byId('cp-problem');
    problem.hidden = !state.controlPlaneProblem;
    setText(problem, state.controlPlaneProblem ? 'The control plane did not answer (' +
      state.controlPlaneProblem + '): the ring is the router\'s own, node states are unknown.' : '');
    renderChanges(state.changes);
    renderRing(state, nodes);
    renderNodes(state);
    updates += 1;
    document.documentElement.setAttribute('data-updates', String(updates));
  }

  function renderChanges(changes) {
    var box = byId('changes');
    box.textContent = '';
    if (changes.length === 0) {
      var idle = element('div', 'idle');
      setText(idle, 'no change in progress');
      box.appendChild(idle);
      return;
    }
    changes.forEach(function (change) {
      var line = element('div', 'change');
      line.setAttribute('data-change-kind', change.kind);
      line.setAttribute('data-kind', change.kind);
      var progress = bar();
      setBar(progress, change.progress, change.kind === 'finished' ? '' : 'warn');
      line.appendChild(progress);
      var summary = element('span');
      setText(summary, change.summary);
      line.appendChild(summary);
      box.appendChild(line);
    });
  }

  function arcPath(from, to, outer, inner) {
    if (to - from > 2 * Math.PI - 0.001) to = from + 2 * Math.PI - 0.001;
    var large = to - from > Math.PI ? 1 : 0;
    function point(radius, angle) {
      return (Math.cos(angle) * radius).toFixed(2) + ' ' + (Math.sin(angle) * radius).toFixed(2);
    }
    return 'M' + point(outer, from) + ' A' + outer + ' ' + outer + ' 0 ' + large + ' 1 ' + point(outer, to) +
      ' L' + point(inner, to) + ' A' + inner + ' ' + inner + ' 0 ' + large + ' 0 ' + point(inner, from) + ' Z';
  }
  function svgText(x, y, className) {
    var label = document.createElementNS(SVG, 'text');
    label.setAttribute('x', x.toFixed(1));
    label.setAttribute('y', y.toFixed(1));
    label.setAttribute('class', className);
    return label;
  }
  function renderRing(state, nodes) {
    var key = state.slots.map(function (a) { return a.slot + ':' + a.weight; }).join(',');
    if (key !== slotKey) buildArcs(state.slots, key);
    state.slots.forEach(function (assignment) {
      var arc = arcs.get(assignment.slot);
      var node = nodes[assignment.nodeId];
      arc.group.setAttribute('data-owner', assignment.nodeId);
      // A dead owner, or one the router cannot reach: its users are not being served.
      var down = node && (node.state === 'dead' || node.reachable === false);
      arc.group.setAttribute('class', down ? 'dead' : node && node.draining ? 'moving' : '');
      arc.path.setAttribute('fill', colorOf(assignment.nodeId));
      if (arc.owner) setText(arc.owner, assignment.nodeId);
      setText(arc.title, assignment.slot + ' → ' + assignment.nodeId +
        (node ? ' (' + node.state + ')' : '') + ', weight ' + assignment.weight);
    });
    setText(byId('center-epoch'), 'epoch ' + state.epoch);
    setText(byId('center-note'), state.slots.length + ' slots · ' + state.standbys.length +
      (state.standbys.length === 1 ? ' standby' : ' standbys'));
  }
  function buildArcs(slots, key) {
    slotKey = key;
    var group = byId('arcs');
    group.textContent = '';
    arcs.clear();
    var total = slots.reduce(function (sum, a) { return sum + a.weight; }, 0) || 1;
    var labelled = slots.length <= 24;
    var angle = -Math.PI / 2;
    slots.forEach(function (assignment) {
      var sweep = 2 * Math.PI * assignment.weight / total;
      var arc = { group: document.createElementNS(SVG, 'g'), path: document.createElementNS(SVG, 'path'),
        title: document.createElementNS(SVG, 'title'), owner: null };
      arc.group.setAttribute('data-slot', assignment.slot);
      arc.path.setAttribute('d', arcPath(angle, angle + sweep, 150, 96));
      arc.group.appendChild(arc.path);
      arc.group.appendChild(arc.title);
      if (labelled) {
        var middle = angle + sweep / 2;
        var x = Math.cos(middle) * 123;
        var y = Math.sin(middle) * 123;
        var name = svgText(x, y - 7, 'arc-label');
        setText(name, assignment.slot);
        arc.owner = svgText(x, y + 7, 'arc-label');
        arc.group.appendChild(name);
        arc.group.appendChild(arc.owner);
      }
      group.appendChild(arc.group);
      arcs.set(assignment.slot, arc);
      angle += sweep;
    });
  }

  function makeRow(nodeId) {
    var row = { tr: element('tr'), cells: {} };
    row.tr.setAttribute('data-node-id', nodeId);
    COLUMNS.forEach(function (column) {
      var cell = element('td', NUMERIC[column] ? 'num' : '');
      cell.setAttribute('data-field', column);
      row.tr.appendChild(cell);
      row.cells[column] = cell;
    });
    var swatch = element('span', 'swatch');
    swatch.style.background = colorOf(nodeId);
    row.cells.node.appendChild(swatch);
    row.cells.node.appendChild(document.createTextNode(nodeId));
    row.address = element('div', 'note');
    row.cells.node.appendChild(row.address);
    row.problem = element('div', 'problem');
    row.cells.node.appendChild(row.problem);
    row.state = element('span', 'state');
    row.cells.state.appendChild(row.state);
    row.leaseBar = bar();
    row.leaseText = element('span');
    row.cells.lease.appendChild(row.leaseBar);
    row.cells.lease.appendChild(row.leaseText);
    row.fillBar = bar();
    row.fillText = element('span');
    row.cells.fill.appendChild(row.fillBar);
    row.cells.fill.appendChild(row.fillText);
    return row;
  }
  function renderNodes(state) {
    var body = byId('nodes');
    var seen = new Set();
    state.nodes.forEach(function (node, index) {
      seen.add(node.nodeId);
      var row = rows.get(node.nodeId);
      if (!row) { row = makeRow(node.nodeId); rows.set(node.nodeId, row); }
      if (body.children[index] !== row.tr) body.insertBefore(row.tr, body.children[index] || null);
      fillRow(row, node, state);
    });
    rows.forEach(function (row, nodeId) {
      if (!seen.has(nodeId)) { row.tr.remove(); rows.delete(nodeId); }
    });
  }
  function fillRow(row, node, state) {
    row.tr.setAttribute('data-state', node.state);
    var label = node.state + (node.draining ? ', draining' : '') +
      (node.reachable === false && node.state !== 'dead' ? ', unreachable' : '');
    setText(row.state, label);
    row.state.className = 'state ' + (node.draining ? 'draining' : node.state);
    // A dead node not answering is expected: its reason goes in the tooltip only.
    setText(row.problem, node.reachable === false && node.state !== 'dead' ? node.problem : '');
    row.tr.title = node.problem;
    setText(row.address, (node.url || 'no URL yet') + (node.pid === null ? '' : ' · pid ' + node.pid));
    setText(row.cells.slots, node.slots.length ? node.slots.join(', ') : '–');
    var lease = state.leaseMs;
    var age = node.leaseAgeMs;
    setBar(row.leaseBar, age === null || !lease ? null : age / lease,
      age === null || !lease ? '' : age > lease ? 'bad' : age > 2 * state.heartbeatIntervalMs ? 'warn' : '');
    setText(row.leaseText, ms(age));
    row.cells.lease.title = 'since its last heartbeat reached the control plane' +
      (node.leaseRemainingMs === null ? '' : '; by its own clock it may serve ' + ms(node.leaseRemainingMs) + ' more');
    setText(row.cells.rate, rate(node.requestsPerSecond));
    setText(row.cells.hit, percent(node.hitRatio) + (node.hitRatioScope === 'since start' ? '*' : ''));
    row.cells.hit.title = node.hitRatioScope === 'since start'
      ? 'no look-ups in the last 10 s: since the node started' : 'over the last 10 s';
    setBar(row.fillBar, node.cacheFill, node.cacheFill !== null && node.cacheFill > 0.9 ? 'warn' : '');
    setText(row.fillText, node.cachedBytes === null ? '–'
      : bytes(node.cachedBytes) + (node.cacheBytesBudget === null ? '' : ' / ' + bytes(node.cacheBytesBudget)));
    setText(row.cells.users, integer(node.cachedUsers));
    setText(row.cells.epoch, node.epoch === null ? '–' : node.epoch);
    row.cells.epoch.className = 'num' + (node.epoch !== null && node.epoch < state.epoch ? ' problem' : '');
    setText(row.cells.warm, node.handoff === null ? '–'
      : integer(node.handoff.warmUsersSent) + ' / ' + integer(node.handoff.warmUsersReceived));
  }

  setInterval(function () { if (lastOkAt !== 0) showLive(); }, 1000);
  poll();
})();
`;

/** The page's script as it is served (for the test that parses it). */
export const RING_PAGE_SCRIPT = SCRIPT.replace('__POLL_MS__', String(RING_PAGE_TIMINGS.pagePollMs));

/** The page's Content-Security-Policy: only its own inline script runs, it talks to its origin only. */
export const RING_PAGE_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src 'sha256-${createHash('sha256').update(RING_PAGE_SCRIPT).digest('base64')}'`,
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const RING_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>chatring ring</title>
<style>${STYLE}</style>
</head>
<body>${BODY}<script>${RING_PAGE_SCRIPT}</script>
</body>
</html>
`;
