/* perfgate's HTML report: draws the charts of the JSON block with uPlot.
 *
 * The page's numbers are in its tables; this only draws. Every text from the data (titles,
 * labels) reaches the page as text (uPlot sets legend labels with textContent), never as
 * markup. Thresholds are drawn as dashed rules with their labels; a rule far above the data
 * is named at the top edge instead of flattening the chart.
 */
(function () {
  "use strict";

  var COLORS = ["#2563eb", "#059669", "#d97706", "#7c3aed", "#db2777", "#0891b2",
                "#65a30d", "#dc2626", "#4b5563", "#9333ea"];
  var RULE_COLORS = { target: "#b45309", critical: "#b91c1c" };
  // A rule is drawn inside the chart when it is at most this many times the data's maximum.
  var RULE_REACH = 4;

  function trim(text) {
    return text.indexOf(".") < 0 ? text : text.replace(/\.?0+$/, "");
  }

  function number(v, digits) {
    var a = Math.abs(v);
    if (a >= 100) { return trim(v.toFixed(0)); }
    if (a >= 10) { return trim(v.toFixed(digits > 1 ? 1 : digits)); }
    return trim(v.toFixed(digits));
  }

  function size(v, suffix) {
    var units = [["GB", 1073741824], ["MB", 1048576], ["KB", 1024]];
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(v) >= units[i][1]) { return number(v / units[i][1], 1) + units[i][0] + suffix; }
    }
    return number(v, 0) + "B" + suffix;
  }

  /* A value in its unit, as the tables write it: 182.4ms, 3.1%, 512MB/s, 540/s. */
  function format(v, unit) {
    if (v === null || v === undefined || isNaN(v)) { return "—"; }
    var perSecond = unit.slice(-2) === "/s";
    var base = perSecond ? unit.slice(0, -2) : unit;
    var suffix = perSecond ? "/s" : "";
    if (base === "ratio") { return number(v * 100, 2) + "%" + suffix; }
    if (base === "%") { return number(v, 1) + "%" + suffix; }
    if (base === "ms") { return Math.abs(v) >= 1000 ? number(v / 1000, 2) + "s" + suffix : number(v, 2) + "ms" + suffix; }
    if (base === "s") { return number(v, 3) + "s" + suffix; }
    if (base === "B") { return size(v, suffix); }
    return number(v, 2) + (base ? " " + base : "") + suffix;
  }

  /* 1 / (1 - p) as the percentile it stands for: 10 is 90%, 1000 is 99.9%. */
  function percentile(x) {
    var digits = Math.max(0, Math.round(Math.log10(x)) - 2);
    return trim((100 - 100 / x).toFixed(digits)) + "%";
  }

  function isPowerOfTen(x) {
    var e = Math.log10(x);
    return Math.abs(e - Math.round(e)) < 1e-6;
  }

  function rulesPlugin(rules) {
    function draw(u) {
      var ctx = u.ctx;
      var dpr = window.devicePixelRatio || 1;
      var left = u.bbox.left, right = u.bbox.left + u.bbox.width, top = u.bbox.top;
      ctx.save();
      ctx.font = Math.round(11 * dpr) + "px system-ui, sans-serif";
      ctx.textAlign = "left";
      ctx.textBaseline = "alphabetic";
      ctx.lineWidth = 1.5 * dpr;
      var above = 0;
      rules.forEach(function (rule) {
        var color = RULE_COLORS[rule.level] || "#b91c1c";
        var text = rule.label;
        ctx.fillStyle = color;
        ctx.strokeStyle = color;
        var y = u.valToPos(rule.value, "y", true);
        if (y < top) {  // beyond the chart: named at its top right corner
          ctx.textAlign = "right";
          ctx.fillText("▲ " + text, right - 4 * dpr, top + (12 + 13 * above) * dpr);
          ctx.textAlign = "left";
          above += 1;
          return;
        }
        ctx.setLineDash(rule.level === "critical" ? [2 * dpr, 3 * dpr] : [6 * dpr, 4 * dpr]);
        ctx.beginPath();
        ctx.moveTo(left, y);
        ctx.lineTo(right, y);
        ctx.stroke();
        ctx.fillText(text, left + 4 * dpr, Math.max(y - 3 * dpr, top + 10 * dpr));
      });
      ctx.restore();
    }
    return { hooks: { draw: [draw] } };
  }

  /* Scenario windows, shaded under the lines and named at their top left. */
  function bandsPlugin(bands) {
    function drawClear(u) {
      var ctx = u.ctx;
      var dpr = window.devicePixelRatio || 1;
      var top = u.bbox.top, height = u.bbox.height;
      var left = u.bbox.left, right = u.bbox.left + u.bbox.width;
      ctx.save();
      ctx.font = Math.round(10 * dpr) + "px system-ui, sans-serif";
      ctx.textAlign = "left";
      ctx.textBaseline = "top";
      bands.forEach(function (band, i) {
        var x0 = Math.max(left, u.valToPos(band.start, "x", true));
        var x1 = Math.min(right, u.valToPos(band.end, "x", true));
        if (!(x1 > x0)) { return; }
        ctx.fillStyle = i % 2 ? "rgba(124, 58, 237, 0.07)" : "rgba(37, 99, 235, 0.07)";
        ctx.fillRect(x0, top, x1 - x0, height);
        ctx.fillStyle = "#6b7280";
        ctx.fillText(band.label, x0 + 3 * dpr, top + 2 * dpr + (i % 2) * 12 * dpr);
      });
      ctx.restore();
    }
    return { hooks: { drawClear: [drawClear] } };
  }

  function yRange(rules) {
    return function (u, min, max) {
      var lo = Math.min(0, min === null ? 0 : min);
      var hi = max === null ? 0 : max;
      rules.forEach(function (rule) {
        if (rule.value >= lo && (hi <= 0 || rule.value <= RULE_REACH * hi)) {
          hi = Math.max(hi, rule.value);
        }
      });
      if (hi <= lo) { hi = lo + 1; }
      return [lo, hi * 1.08];
    };
  }

  function options(chart, width) {
    var unit = chart.unit;
    var percentiles = chart.axis === "percentile";
    var runs = chart.axis === "run";
    var series = [{
      label: percentiles ? "percentile" : (runs ? "run" : "time"),
      value: function (u, v, s, idx) {
        if (v === null || v === undefined) { return "—"; }
        if (runs) { return (chart.labels && chart.labels[idx]) || "run " + number(v, 0); }
        return percentiles ? percentile(v) : number(v, 1) + "s";
      }
    }];
    chart.lines.forEach(function (line, i) {
      series.push({
        label: line.label,
        stroke: COLORS[i % COLORS.length],
        width: 1.5,
        spanGaps: chart.spanGaps,
        points: { show: runs || line.values.length < 3 },
        value: function (u, v) { return format(v, unit); }
      });
    });
    var xAxis = percentiles ? {
      values: function (u, splits) {
        return splits.map(function (x) { return isPowerOfTen(x) ? percentile(x) : ""; });
      }
    } : runs ? {
      values: function (u, splits) {
        return splits.map(function (x) { return Number.isInteger(x) ? "#" + x : ""; });
      }
    } : {
      values: function (u, splits) { return splits.map(function (x) { return number(x, 1) + "s"; }); }
    };
    return {
      width: width,
      height: 220,
      series: series,
      scales: {
        x: percentiles ? { time: false, distr: 3, log: 10 } : { time: false },
        y: { range: yRange(chart.rules) }
      },
      axes: [xAxis, {
        size: 64,
        values: function (u, splits) { return splits.map(function (v) { return format(v, unit); }); }
      }],
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
      plugins: [bandsPlugin(chart.bands), rulesPlugin(chart.rules)]
    };
  }

  function points(chart) {
    var n = 0;
    chart.lines.forEach(function (line) {
      line.values.forEach(function (v) { if (v !== null) { n += 1; } });
    });
    return n;
  }

  var source = document.getElementById("perfgate-data");
  var data = JSON.parse(source.textContent);
  var drawn = [];
  window.perfgateCharts = [];
  data.charts.forEach(function (chart) {
    var figure = document.getElementById(chart.id);
    var holder = figure && figure.querySelector(".plot");
    if (!holder) {
      console.error("perfgate: no place for chart " + chart.id);
      return;
    }
    var width = Math.max(holder.clientWidth, 320);
    var plot = new uPlot(options(chart, width),
                         [chart.x].concat(chart.lines.map(function (l) { return l.values; })),
                         holder);
    drawn.push({ plot: plot, holder: holder });
    window.perfgateCharts.push({ id: chart.id, title: chart.title, lines: chart.lines.length,
                                 rules: chart.rules.length, points: points(chart) });
  });

  var pending = null;
  window.addEventListener("resize", function () {
    if (pending !== null) { window.cancelAnimationFrame(pending); }
    pending = window.requestAnimationFrame(function () {
      pending = null;
      drawn.forEach(function (d) {
        d.plot.setSize({ width: Math.max(d.holder.clientWidth, 320), height: 220 });
      });
    });
  });
  document.documentElement.setAttribute("data-charts", String(drawn.length));
}());
