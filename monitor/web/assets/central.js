// The central station's overview, the part the browser does (monitor/web/central/overview.py).
//
// The server sends each bed's live texts (flow, delta P rise, frame age) and its place in
// the worst-first order in one small store, and sparkline points in another: a bed's
// whole hour once, then its newest point each minute of its frames. This keeps them and
// writes them straight into the tiles (text, CSS order, two small SVG pictures), which
// stay in the page and are redrawn by the server only when their alerts change. Writing
// the page directly, not through a callback output per tile, keeps a refresh of a
// hundred beds to a few milliseconds of the browser's time; a tile the server redraws or
// adds is written at once (a MutationObserver on the overview). The delta P rise picture
// shows the rule's limits as dashed lines, as the server gives them (from rules/).
(function () {
  const MINUTES = 60;
  const held = { beds: {}, limits: {} };
  window.ecmoSparks = held;

  function take(message) {
    if (!message) return;
    held.limits = message.limits || held.limits;
    // a bed's whole hour: [minute, flow points, rise points]
    Object.entries(message.beds || {}).forEach(([bed, entry]) => {
      held.beds[bed] = { m: entry[0], series: [entry[1].slice(), entry[2].slice()] };
      forget(bed);
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

  const live = { values: {}, pictures: {}, observer: null, pending: false };
  window.ecmoCentralLive = live;

  function setText(element, text) {
    if (!element || text === undefined) return;
    const node = element.firstChild;
    // the text node React made, changed in place, so React's own later changes still land
    if (node && node.nodeType === Node.TEXT_NODE && !node.nextSibling) {
      if (node.nodeValue !== text) node.nodeValue = text;
    } else if (element.textContent !== text) {
      element.textContent = text;
    }
  }

  function forget(bed) {
    Object.keys(live.pictures).forEach((key) => { if (key.startsWith(bed + "|")) delete live.pictures[key]; });
  }

  function pictureOf(bed, series) {
    const had = held.beds[bed];
    if (!had) return null;
    const key = bed + "|" + series + "|" + had.m;
    if (!live.pictures[key]) {
      const flow = series === "flow";
      const lines = flow ? [] : held.limits.rise || [];
      Object.keys(live.pictures).forEach((k) => { if (k.startsWith(bed + "|" + series + "|")) delete live.pictures[k]; });
      live.pictures[key] = picture(had.series[flow ? 0 : 1], lines, flow ? 2 : 0);
    }
    return live.pictures[key];
  }

  const SPARKS = [
    ["flow", "Flow (L/min), last hour, a point a minute", "flow, 1 h"],
    ["rise", "Delta P rise (mmHg), last hour, a point a minute; the limits dashed", "delta P rise, 1 h"],
  ];

  function element(tag, className, attributes) {
    const made = document.createElement(tag);
    if (className) made.className = className;
    Object.entries(attributes || {}).forEach(([name, value]) => made.setAttribute(name, value));
    return made;
  }

  // The tile's live box is the browser's alone (the server draws it empty): built once.
  function build(box) {
    ["flow", "dp"].forEach((kind) => {
      box.appendChild(element("div", "bed-" + kind)).appendChild(element("span", "live", { "data-live": kind }));
    });
    const sparks = box.appendChild(element("div", "bed-sparks"));
    SPARKS.forEach(([series, title, caption]) => {
      const holder = sparks.appendChild(element("div"));
      holder.appendChild(element("img", "spark spark-" + series, { "data-series": series, alt: title, title: title }));
      holder.appendChild(element("span", "spark-caption")).textContent = caption;
    });
    box.appendChild(element("div", "bed-age")).appendChild(element("span", "live", { "data-live": "age" }));
    box.dataset.built = "1";
  }

  function paintNow() {
    live.pending = false;
    const overview = document.getElementById("overview");
    if (!overview) return;
    overview.querySelectorAll(".bed-tile").forEach((tile) => {
      const bed = tile.dataset.bed;
      const box = tile.querySelector(".bed-live");
      if (!box) return;
      if (!box.dataset.built) build(box);
      const row = live.values[bed];
      if (row) {
        ["flow", "dp", "age"].forEach((kind, k) => setText(box.querySelector(`[data-live="${kind}"]`), row[k]));
        if (tile.style.order !== String(row[3])) tile.style.order = String(row[3]);
      }
      box.querySelectorAll("img.spark").forEach((img) => {
        const src = pictureOf(bed, img.dataset.series);
        if (src && img.getAttribute("src") !== src) img.setAttribute("src", src);
      });
    });
  }

  function schedule() {
    if (live.pending) return;
    live.pending = true;
    setTimeout(paintNow, 0); // after the page has drawn what this response brought
  }

  function paint(values, spark) {
    take(spark);
    live.values = (values && values.v) || {};
    const overview = document.getElementById("overview");
    if (overview && !live.observer) {
      live.observer = new MutationObserver(schedule); // a tile redrawn or added
      live.observer.observe(overview, { childList: true, subtree: true });
    }
    schedule();
    return Object.keys(live.values).length;
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    ecmoCentral: { paint: paint },
  });
})();
