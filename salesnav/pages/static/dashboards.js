/* The dashboards' charts, drawn with the vendored Apache ECharts (static/vendor/echarts, no CDN).
   SVG renderer: crisp on phones, and every bar is an element a test can find.
   The pages' Content Security Policy allows no inline script: each page names its view on #figures
   (data-view) and this file draws it. ECharts tooltips are HTML, so every text a user or an admin typed
   (customer names, deal titles, stage names, override reasons) goes through esc() before it reaches one. */
(function () {
  'use strict';
  var STAGE_COLORS = {
    initial_contact: '#91caff', needs_confirmed: '#69b1ff', solution_demo: '#4096ff',
    sample_test: '#1677ff', negotiation: '#0958d9', contract_approval: '#003eb3'
  };
  var RED = { overdue: '#f5222d', checklist: '#cf1322', emotion: '#ff4d4f' };
  var RED_LABEL = { overdue: '超时未动', checklist: '检查清单缺失', emotion: '客户情绪连续走低' };

  function chart(el) {
    var c = echarts.init(el, null, { renderer: 'svg' });
    window.addEventListener('resize', function () { c.resize(); });
    return c;
  }
  var HTML_ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  function esc(text) { return String(text === null || text === undefined ? '' : text).replace(/[&<>"']/g, function (c) { return HTML_ESCAPES[c]; }); }
  var TOOLTIP = { className: 'chart-tooltip', confine: true };
  function tooltip(options) { var o = {}; var k; for (k in TOOLTIP) { o[k] = TOOLTIP[k]; } for (k in options) { o[k] = options[k]; } return o; }

  function pct(v) { return v === null || v === undefined ? null : Math.round(v * 1000) / 10; }
  function t(iso) { return new Date(iso).getTime(); }
  function hm(ms) { var d = new Date(ms); return (d.getMonth() + 1) + '/' + d.getDate() + ' ' + String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0'); }

  function executive(data) {
    var weeks = data.trend.map(function (p) { return p.week_start.slice(5); });
    chart(document.getElementById('trend-chart')).setOption({
      tooltip: tooltip({ trigger: 'axis' }),
      legend: { data: ['健康度指数', '触点质量', '过程合规', '协同穿透'], top: 0 },
      grid: { left: 40, right: 12, top: 36, bottom: 28 },
      xAxis: { type: 'category', data: weeks },
      yAxis: { type: 'value', min: 0, max: 100 },
      series: [
        { name: '健康度指数', type: 'line', data: data.trend.map(function (p) { return p.index === null ? null : Math.round(p.index * 10) / 10; }), lineStyle: { width: 3 }, label: { show: true } },
        { name: '触点质量', type: 'line', data: data.trend.map(function (p) { return pct(p.quality); }) },
        { name: '过程合规', type: 'line', data: data.trend.map(function (p) { return pct(p.compliance); }) },
        { name: '协同穿透', type: 'line', data: data.trend.map(function (p) { return pct(p.penetration); }) }
      ]
    });
    var f = data.funnel;
    chart(document.getElementById('funnel-chart')).setOption({
      tooltip: tooltip({ trigger: 'item' }),
      series: [{ type: 'funnel', left: '10%', width: '80%', sort: 'descending', minSize: '12%',
        label: { position: 'inside', formatter: '{b}: {c}' },
        data: [{ name: '新线索', value: f.leads }, { name: '有商机', value: f.with_opportunity }, { name: '赢单', value: f.won }] }]
    });
  }

  var RED_TOP = 0.17, RED_AREA = 0.31;  // the red blocks' band of a row, below the stage bar (-0.40 .. 0.16)

  /* Greedy interval colouring: each block takes the first sub-lane whose last block ended before it starts. */
  function redLanes(blocks) {
    var order = blocks.map(function (b, j) { return j; }).sort(function (a, b) { return t(blocks[a].start) - t(blocks[b].start); });
    var ends = [], of = [];
    order.forEach(function (j) {
      var lane = 0;
      while (lane < ends.length && ends[lane] > t(blocks[j].start)) { lane++; }
      ends[lane] = t(blocks[j].end);
      of[j] = lane;
    });
    return { of: of, count: Math.max(ends.length, 1) };
  }

  function gantt(el, rep, week) {
    var rows = rep.rows;
    var names = rows.map(function (r) { var n = r.customer_name + '·' + r.title; return n.length > 14 ? n.slice(0, 13) + '…' : n; });
    var bars = [], reds = [];
    rows.forEach(function (r, i) {
      r.periods.forEach(function (p) { bars.push({ value: [i, t(p.start), t(p.end), p.stage_name], itemStyle: { color: STAGE_COLORS[p.stage_code] || '#4096ff' }, opp: r.id }); });
      // Overlapping red blocks (超时未动 and 情绪走低 often are) get their own sub-lanes under the stage bar.
      var lanes = redLanes(r.red_blocks);
      r.red_blocks.forEach(function (b, j) { reds.push({ value: [i, t(b.start), t(b.end), b.label, b.detail, lanes.of[j], lanes.count], itemStyle: { color: RED[b.kind] }, kind: b.kind, opp: r.id }); });
    });
    function draw(heightShare, offset, minPx) {
      return function (params, api) {
        var start = api.coord([api.value(1), api.value(0)]), end = api.coord([api.value(2), api.value(0)]);
        var h = api.size([0, 1])[1] * heightShare;
        var x = start[0], w = Math.max(end[0] - start[0], minPx);
        var shape = echarts.graphic.clipRectByRect({ x: x, y: start[1] - h / 2 + offset * api.size([0, 1])[1], width: w, height: h },
          { x: params.coordSys.x, y: params.coordSys.y, width: params.coordSys.width, height: params.coordSys.height });
        return shape && { type: 'rect', shape: shape, style: api.style(), name: 'bar' };
      };
    }
    function drawRed(params, api) {
      var start = api.coord([api.value(1), api.value(0)]), end = api.coord([api.value(2), api.value(0)]);
      var row = api.size([0, 1])[1], lane = api.value(5), count = api.value(6);
      var h = row * RED_AREA / count;
      var y = start[1] + row * RED_TOP + lane * h;
      var shape = echarts.graphic.clipRectByRect({ x: start[0], y: y + 0.5, width: Math.max(end[0] - start[0], 6), height: Math.max(h - 1, 2) },
        { x: params.coordSys.x, y: params.coordSys.y, width: params.coordSys.width, height: params.coordSys.height });
      return shape && { type: 'rect', shape: shape, style: api.style(), name: 'bar' };
    }
    var c = chart(el);
    c.setOption({
      tooltip: tooltip({ formatter: function (p) { var v = p.value; return esc(v[3]) + '<br>' + hm(v[1]) + ' — ' + hm(v[2]) + (v[4] ? '<br>' + esc(v[4]) : ''); } }),
      grid: { left: 118, right: 12, top: 10, bottom: 40 },
      xAxis: { type: 'time', min: t(week.start), max: t(week.end), axisLabel: { formatter: '{MM}-{dd}', hideOverlap: true }, splitNumber: 7 },
      yAxis: { type: 'category', data: names, inverse: true, axisLabel: { fontSize: 11 } },
      dataZoom: rows.length > 12 ? [{ type: 'inside', yAxisIndex: 0 }] : [],
      series: [
        { name: '阶段', type: 'custom', renderItem: draw(0.56, -0.12, 2), encode: { x: [1, 2], y: 0 }, data: bars },
        { name: '风险', type: 'custom', renderItem: drawRed, encode: { x: [1, 2], y: 0 }, data: reds, z: 3 }
      ]
    });
    c.on('click', function (p) {
      var link = document.querySelector('.opp[data-opportunity="' + p.data.opp + '"] a.opp-link');
      if (link) { window.location.href = link.href; }
    });
  }

  function battleMaps(data) {
    var week = { start: data.week_start, end: data.week_end };
    data.reps.forEach(function (rep, i) {
      var el = document.getElementById('gantt-' + i);
      if (el && rep.rows.length) { gantt(el, rep, week); }
    });
  }

  function leaderboard(data) {
    // The month picker opens the chosen month at once (without script its 查看 button does).
    var picker = document.getElementById('month-picker');
    if (picker) {
      picker.querySelector('button[type=submit]').hidden = true;
      picker.querySelector('select[name=month]').addEventListener('change', function () { picker.submit(); });
    }
    var el = document.getElementById('leaderboard-chart');
    if (!el || !data.rows.length) { return; }  // an empty month has no chart, only its message
    var rows = data.rows.slice(0, 10).reverse();
    chart(el).setOption({
      tooltip: tooltip({ formatter: function (p) { var r = rows[p.dataIndex]; return esc(r.rank + '. ' + r.opportunity_title) + '<br>' + esc(r.customer_name) + ' · ' + esc(r.department_name) + '<br>协同价值 ' + esc(p.value); } }),
      grid: { left: 130, right: 40, top: 10, bottom: 24 },
      xAxis: { type: 'value', name: '价值' },
      yAxis: { type: 'category', data: rows.map(function (r) { var n = r.rank + '. ' + r.opportunity_title; return n.length > 12 ? n.slice(0, 11) + '…' : n; }) },
      series: [{ type: 'bar', data: rows.map(function (r) { return { value: Math.round(r.value * 10) / 10, itemStyle: { color: r.rank <= 3 ? '#fa8c16' : '#69b1ff' } }; }),
        label: { show: true, position: 'right' } }]
    });
  }

  // One annotate dialog per page: a row's 批注 fills it in for that deal (without script the link leads to the
  // deal's page, which has the same form).
  document.addEventListener('click', function (e) {
    var link = e.target.closest && e.target.closest('a.annotate');
    var dialog = document.getElementById('annotate-dialog');
    if (!link || !dialog || typeof dialog.showModal !== 'function') { return; }
    e.preventDefault();
    var row = link.closest('li.opp');
    var rep = link.closest('.rep-map').dataset.repName;
    dialog.querySelector('form').action = dialog.dataset.action.replace('/0/', '/' + row.dataset.opportunity + '/');
    dialog.querySelector('.deal').textContent = '批注：' + row.querySelector('a.opp-link').textContent;
    var text = dialog.querySelector('textarea');
    text.placeholder = '给' + rep + '的批注，例如：今天务必约李主任确认样品测试时间';
    dialog.showModal();
    text.focus();
  });
  document.addEventListener('click', function (e) {
    if (e.target.closest && e.target.closest('#annotate-dialog .cancel')) { document.getElementById('annotate-dialog').close(); }
  });

  // Filters that apply as soon as they change (the team selector and the week picker).
  document.addEventListener('change', function (e) {
    if (e.target.matches && e.target.matches('.auto-submit')) { e.target.form.submit(); }
  });

  var VIEWS = { executive: executive, battleMaps: battleMaps, leaderboard: leaderboard };
  window.SalesNavDash = { executive: executive, battleMaps: battleMaps, leaderboard: leaderboard, esc: esc, RED: RED, RED_LABEL: RED_LABEL };
  var figures = document.getElementById('figures');
  if (figures && VIEWS[figures.dataset.view]) { VIEWS[figures.dataset.view](JSON.parse(figures.textContent)); }
})();
