/* Network map of review (MIT licence): a small canvas renderer with pan, zoom, hover labels,
   search and a cluster filter. No dependencies, no network access. Every text from the data is
   shown with textContent or drawn on the canvas, never parsed as HTML. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("network-data").textContent);
  var nodes = data.nodes, links = data.links, clusters = data.clusters;
  var canvas = document.getElementById("map"), ctx = canvas.getContext("2d");
  var tip = document.getElementById("tip"), details = document.getElementById("details");
  var legend = document.getElementById("legend"), search = document.getElementById("search");
  var colorOf = {}, neighbours = [], i;
  clusters.forEach(function (c) { colorOf[c.cluster] = c.color; });
  for (i = 0; i < nodes.length; i++) neighbours.push([]);
  links.forEach(function (l) { neighbours[l[0]].push(l[1]); neighbours[l[1]].push(l[0]); });
  var maxW = 0, maxSize = 0;
  links.forEach(function (l) { maxW = Math.max(maxW, l[2]); });
  nodes.forEach(function (n) { maxSize = Math.max(maxSize, n.size); });
  maxW = maxW || 1; maxSize = maxSize || 1;
  nodes.forEach(function (n) { n.r = 3 + 11 * Math.sqrt(n.size / maxSize); n.lower = String(n.label || n.tip || "").toLowerCase(); });
  var bySizeDesc = nodes.map(function (n, k) { return k; }).sort(function (a, b) { return nodes[b].size - nodes[a].size; });
  var view = { scale: 1, x: 0, y: 0 }, dpr = window.devicePixelRatio || 1;
  var hover = -1, selected = -1, onlyCluster = 0, query = "";

  function fit() {
    var w = canvas.clientWidth, h = canvas.clientHeight;
    view.scale = Math.max(Math.min(w, h) / 2 * 0.9, 1); view.x = w / 2; view.y = h / 2;
  }
  function resize() {
    canvas.width = Math.max(canvas.clientWidth * dpr, 1); canvas.height = Math.max(canvas.clientHeight * dpr, 1);
  }
  function sx(n) { return n.x * view.scale + view.x; }
  function sy(n) { return -n.y * view.scale + view.y; }
  function shown(k) { return !onlyCluster || nodes[k].cluster === onlyCluster; }
  function rgba(hex, a) {
    var v = parseInt(hex.slice(1), 16);
    return "rgba(" + (v >> 16 & 255) + "," + (v >> 8 & 255) + "," + (v & 255) + "," + a + ")";
  }

  function draw() {
    var w = canvas.clientWidth, h = canvas.clientHeight, focus = selected >= 0 ? selected : hover, near = {};
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    if (focus >= 0) { near[focus] = true; neighbours[focus].forEach(function (k) { near[k] = true; }); }
    links.forEach(function (l) {
      if (!shown(l[0]) || !shown(l[1])) return;
      var a = nodes[l[0]], b = nodes[l[1]], on = focus >= 0 && (l[0] === focus || l[1] === focus);
      var alpha = focus >= 0 && !on ? 0.03 : 0.06 + 0.5 * l[2] / maxW;
      ctx.strokeStyle = on ? rgba(colorOf[nodes[focus].cluster] || "#888888", 0.7) : rgba(colorOf[a.cluster] || "#888888", alpha);
      ctx.lineWidth = on ? 1.5 : 0.7 + 1.5 * l[2] / maxW;
      ctx.beginPath(); ctx.moveTo(sx(a), sy(a)); ctx.lineTo(sx(b), sy(b)); ctx.stroke();
    });
    var drawn = 0;
    for (var q = bySizeDesc.length - 1; q >= 0; q--) {  // small first, large on top
      var k = bySizeDesc[q], n = nodes[k];
      if (!shown(k)) continue;
      var dim = (focus >= 0 && !near[k]) || (query && n.lower.indexOf(query) < 0);
      ctx.fillStyle = rgba(colorOf[n.cluster] || "#999999", dim ? 0.15 : 0.85);
      ctx.beginPath(); ctx.arc(sx(n), sy(n), n.r * Math.sqrt(view.scale / 300), 0, 2 * Math.PI); ctx.fill();
      if (k === selected) { ctx.strokeStyle = "#000"; ctx.lineWidth = 2; ctx.stroke(); }
      drawn++;
    }
    var boxes = [];
    bySizeDesc.forEach(function (k) {
      var n = nodes[k];
      if (!n.label || !shown(k) || (focus >= 0 && !near[k]) || (query && n.lower.indexOf(query) < 0)) return;
      var size = Math.round(9 + 7 * Math.sqrt(n.size / maxSize));
      ctx.font = size + "px system-ui, sans-serif";
      var tw = ctx.measureText(n.label).width, x = sx(n) - tw / 2, y = sy(n) + n.r * Math.sqrt(view.scale / 300) + size;
      if (x + tw < 0 || x > w || y < 0 || y - size > h) return;
      for (var b = 0; b < boxes.length; b++) {
        var o = boxes[b];
        if (x < o[2] && x + tw > o[0] && y - size < o[3] && y > o[1]) return;
      }
      boxes.push([x, y - size, x + tw, y]);
      ctx.fillStyle = "rgba(20,20,20,0.9)";
      ctx.fillText(n.label, x, y);
    });
    document.body.setAttribute("data-rendered", String(drawn));
  }

  function nodeAt(px, py) {
    var best = -1, bestD = Infinity;
    for (var k = 0; k < nodes.length; k++) {
      if (!shown(k)) continue;
      var n = nodes[k], dx = sx(n) - px, dy = sy(n) - py, d = dx * dx + dy * dy, r = n.r * Math.sqrt(view.scale / 300) + 4;
      if (d <= r * r && d < bestD) { best = k; bestD = d; }
    }
    return best;
  }

  function cell(tr, text) { var td = document.createElement("td"); td.textContent = text; tr.appendChild(td); }
  function showDetails(k) {
    details.textContent = "";
    if (k < 0) return;
    var n = nodes[k], h = document.createElement("h2"), table = document.createElement("table");
    h.textContent = n.label || n.tip || n.id;
    details.appendChild(h);
    var rows = [["Id", n.id], ["Cluster", n.cluster + ": " + ((clusters[n.cluster - 1] || {}).label || "")]].concat(n.info);
    rows.forEach(function (r) { var tr = document.createElement("tr"); cell(tr, r[0]); cell(tr, String(r[1])); table.appendChild(tr); });
    details.appendChild(table);
    if (n.doi && /^10\.\S+$/.test(n.doi)) {
      var p = document.createElement("p"), a = document.createElement("a");
      a.href = "https://doi.org/" + encodeURI(n.doi); a.rel = "noopener noreferrer"; a.target = "_blank";
      a.textContent = "doi:" + n.doi;
      p.appendChild(a); details.appendChild(p);
    }
  }

  clusters.forEach(function (c) {
    var row = document.createElement("div"), sw = document.createElement("span"), label = document.createElement("span"),
      size = document.createElement("span");
    sw.className = "swatch"; sw.style.background = c.color;
    label.textContent = c.cluster + ". " + c.label;
    size.className = "size"; size.textContent = String(c.size);
    row.appendChild(sw); row.appendChild(label); row.appendChild(size);
    row.addEventListener("click", function () {
      onlyCluster = onlyCluster === c.cluster ? 0 : c.cluster;
      Array.prototype.forEach.call(legend.children, function (el) { el.classList.remove("on"); });
      if (onlyCluster) row.classList.add("on");
      draw();
    });
    legend.appendChild(row);
  });

  var drag = null;
  canvas.addEventListener("mousedown", function (e) { drag = { x: e.clientX, y: e.clientY, moved: false }; });
  window.addEventListener("mouseup", function (e) {
    if (drag && !drag.moved) {
      var r = canvas.getBoundingClientRect();
      selected = nodeAt(e.clientX - r.left, e.clientY - r.top);
      showDetails(selected); draw();
    }
    drag = null; canvas.classList.remove("dragging");
  });
  canvas.addEventListener("mousemove", function (e) {
    var r = canvas.getBoundingClientRect(), px = e.clientX - r.left, py = e.clientY - r.top;
    if (drag) {
      var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 2) { drag.moved = true; canvas.classList.add("dragging"); }
      view.x += dx; view.y += dy; drag.x = e.clientX; drag.y = e.clientY;
      draw(); return;
    }
    var k = nodeAt(px, py);
    if (k !== hover) { hover = k; draw(); }
    if (k >= 0) {
      tip.textContent = nodes[k].label || nodes[k].tip || nodes[k].id; tip.hidden = false;
      tip.style.left = (px + 12) + "px"; tip.style.top = (py + 12) + "px";
    } else { tip.hidden = true; }
  });
  canvas.addEventListener("mouseleave", function () { tip.hidden = true; if (hover >= 0) { hover = -1; draw(); } });
  canvas.addEventListener("wheel", function (e) {
    e.preventDefault();
    var r = canvas.getBoundingClientRect(), px = e.clientX - r.left, py = e.clientY - r.top;
    var f = Math.exp(-e.deltaY * 0.0015);
    view.x = px - (px - view.x) * f; view.y = py - (py - view.y) * f; view.scale *= f;
    draw();
  }, { passive: false });
  search.addEventListener("input", function () { query = search.value.trim().toLowerCase(); draw(); });
  window.addEventListener("keydown", function (e) {
    if (e.key === "Escape") {
      selected = -1; onlyCluster = 0; query = ""; search.value = ""; showDetails(-1); fit();
      Array.prototype.forEach.call(legend.children, function (el) { el.classList.remove("on"); });
      draw();
    }
  });
  window.addEventListener("resize", function () { resize(); fit(); draw(); });
  resize(); fit(); draw();
})();
