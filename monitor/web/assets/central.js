// The central station's overview, the part the browser does (monitor/web/central/overview.py).
//
// values: the server sends each bed's live texts (flow, delta P rise, frame age) and its
// place in the worst-first order in one small store; this writes them into the tiles,
// which stay in the page and are redrawn by the server only when their alerts change.
//
// sparks: the server sends a bed's whole hour of sparkline points once, then its newest
// point each minute of its frames; this keeps the points and draws each tile's two as
// small SVG pictures. The delta P rise sparkline shows the rule's limits as lines, as the
// server gives them (from rules/).
(function () {
  const MINUTES = 60;
  const held = { beds: {}, limits: {} };
  window.ecmoSparks = held;

  function noUpdate() {
    return window.dash_clientside.no_update;
  }

  function values(data) {
    const ctx = window.dash_clientside.callback_context;
    const rows = (data && data.v) || {};
    return ctx.outputs_list.map((outputs, k) =>
      outputs.map((output) => {
        const row = rows[output.id.bed];
        if (!row) return noUpdate();
        return k < 3 ? row[k] : { order: row[3] };
      })
    );
  }

  function take(message) {
    if (!message) return;
    held.limits = message.limits || held.limits;
    // a bed's whole hour: [minute, flow points, rise points]
    Object.entries(message.beds || {}).forEach(([bed, entry]) => {
      held.beds[bed] = { m: entry[0], series: [entry[1].slice(), entry[2].slice()] };
    });
    // a bed's newest point, for a page that holds the minute before: [minute, flow, rise]
    Object.entries(message.add || {}).forEach(([bed, entry]) => {
      const had = held.beds[bed];
      if (!had || had.m !== entry[0] - 1) return; // taken already (the store is read again)
      had.m = entry[0];
      had.series.forEach((points, i) => {
        points.push(entry[i + 1]);
        while (points.length > MINUTES) points.shift();
      });
    });
  }

  function picture(points, lines, digits) {
    const W = 120, H = 28, pad = 2;
    const known = points.filter((v) => v !== null && v !== undefined);
    const all = known.concat(lines);
    const lo = Math.min(0, ...all), hi = Math.max(...all.map((v) => v * 1.2), lo + 1);
    const x = (i) => ((i * (W - 2 * pad)) / (MINUTES - 1) + pad).toFixed(1);
    const y = (v) => (H - pad - ((v - lo) * (H - 2 * pad)) / (hi - lo)).toFixed(1);
    let path = "", pen = false;
    points.forEach((v, i) => {
      if (v === null || v === undefined) { pen = false; return; }
      path += (pen ? "L" : "M") + x(i) + " " + y(v);
      pen = true;
    });
    const marks = lines.map((v, i) =>
      `<line x1="0" x2="${W}" y1="${y(v)}" y2="${y(v)}" stroke="${i ? "#ff1744" : "#ffd600"}" stroke-dasharray="3 2" stroke-width="1"/>`
    ).join("");
    const newest = known.length ? known[known.length - 1].toFixed(digits) : "--";
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">` +
      `<rect width="${W}" height="${H}" fill="#111"/>${marks}` +
      `<path d="${path}" fill="none" stroke="#e0e0e0" stroke-width="1.5"/>` +
      `<desc>newest ${newest}</desc></svg>`;
    return "data:image/svg+xml;utf8," + encodeURIComponent(svg);
  }

  function sparks(message) {
    take(message);
    const ctx = window.dash_clientside.callback_context;
    return ctx.outputs_list.map((output) => {
      const had = held.beds[output.id.bed];
      if (!had) return noUpdate();
      const series = had.series;
      const flow = output.id.series === "flow";
      const lines = flow ? [] : held.limits.rise || [];
      return picture(series[flow ? 0 : 1], lines, flow ? 2 : 0);
    });
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    ecmoCentral: { values: values, sparks: sparks },
  });
})();
