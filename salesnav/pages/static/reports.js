/* The team report's charts (vendored ECharts, SVG). The page's Content Security Policy allows no inline script:
   the figures come from #report-figures. Rep names and stage names are typed by people, so they go through
   esc() before any tooltip (HTML) shows them. */
(function () {
  'use strict';
  var HTML_ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  function esc(text) { return String(text === null || text === undefined ? '' : text).replace(/[&<>"']/g, function (c) { return HTML_ESCAPES[c]; }); }
  var TOOLTIP = { className: 'chart-tooltip', confine: true };
  function chart(el) {
    var c = echarts.init(el, null, { renderer: 'svg' });
    window.addEventListener('resize', function () { c.resize(); });
    return c;
  }
  function reps(data) {
    var el = document.getElementById('reps-chart');
    if (!el || !data.reps.length) { return; }
    chart(el).setOption({
      tooltip: { className: TOOLTIP.className, confine: true, trigger: 'axis', axisPointer: { type: 'shadow' },
        formatter: function (items) {
          return esc(data.reps[items[0].dataIndex]) + items.map(function (p) { return '<br>' + esc(p.seriesName) + '：' + esc(p.value); }).join('');
        } },
      legend: { data: ['触点', '有效触点', '待补录', '超时未跟进'], top: 0 },
      grid: { left: 70, right: 16, top: 32, bottom: 20 },
      xAxis: { type: 'value', minInterval: 1 },
      yAxis: { type: 'category', data: data.reps.map(function (n) { return n.length > 5 ? n.slice(0, 4) + '…' : n; }), inverse: true },
      series: [
        { name: '触点', type: 'bar', data: data.touchpoints, itemStyle: { color: '#91caff' } },
        { name: '有效触点', type: 'bar', data: data.effective, itemStyle: { color: '#1677ff' } },
        { name: '待补录', type: 'bar', data: data.incomplete, itemStyle: { color: '#fa8c16' } },
        { name: '超时未跟进', type: 'bar', data: data.silent, itemStyle: { color: '#f5222d' } }
      ]
    });
  }
  function stages(data) {
    var el = document.getElementById('stages-chart');
    if (!el) { return; }
    if (!data.stages.length) { el.textContent = '没有在途商机'; el.className += ' muted'; return; }
    chart(el).setOption({
      tooltip: { className: TOOLTIP.className, confine: true, trigger: 'item',
        formatter: function (p) { return esc(p.name) + '<br>¥' + esc(p.value.toLocaleString()) + '（' + esc(p.percent) + '%）'; } },
      series: [{ type: 'pie', radius: ['35%', '65%'], data: data.stages,
        label: { formatter: function (p) { return p.name.length > 6 ? p.name.slice(0, 5) + '…' : p.name; } } }]
    });
  }
  var node = document.getElementById('report-figures');
  if (node) {
    var data = JSON.parse(node.textContent);
    reps(data);
    stages(data);
  }
  window.SalesNavReports = { esc: esc };
})();
