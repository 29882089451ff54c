// 数据大屏: reads the analytics API with the viewer's token; the token decides the scope.
// The big screen opens /dashboard#token=<JWT>[&unit=<unit id>][&days=30]. The fragment never leaves the browser
// (not sent to servers, not in access logs); the page keeps the token in sessionStorage and removes it from the
// address bar.
(function () {
  "use strict";

  const TILES = [
    ["received", "受理量", "count"], ["completion_rate", "办结率", "rate"], ["resolution_rate", "化解率", "rate"],
    ["accepted_on_time_rate", "按时签收率", "rate"], ["on_time_completion_rate", "按时办结率", "rate"],
    ["local_resolution_rate", "就地化解率", "rate"], ["satisfaction_rate", "满意率", "rate"],
    ["escalation_rate", "提级率", "rate"],
  ];
  const HOTLINE = [["accepted_on_time_rate", "按时签收率"], ["on_time_completion_rate", "按时办结率"],
    ["satisfaction_rate", "满意率"]];

  function readParams() {
    const hash = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    if (hash.get("token")) {
      sessionStorage.setItem("fq_dashboard_token", hash.get("token"));
      hash.delete("token");
      const rest = hash.toString();
      history.replaceState(null, "", window.location.pathname + window.location.search + (rest ? "#" + rest : ""));
    }
    return {
      token: sessionStorage.getItem("fq_dashboard_token"),
      unit: hash.get("unit"),
      days: Math.max(1, Math.min(366, parseInt(hash.get("days") || "30", 10) || 30)),
    };
  }

  const params = readParams();
  const charts = {};
  function chart(id) {
    if (!charts[id]) charts[id] = echarts.init(document.getElementById(id), null, { renderer: "canvas" });
    return charts[id];
  }
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));

  function query(extra) {
    const q = new URLSearchParams(extra || {});
    if (params.unit) q.set("unit_id", params.unit);
    return q;
  }

  function windowQuery(extra) {
    // the last `days` days up to now, computed by the server's clock: from = now - days
    const q = query(extra);
    q.set("days", String(params.days));
    return q;
  }

  async function get(path, q) {
    const r = await fetch(path + "?" + q.toString(), { headers: { Authorization: "Bearer " + params.token } });
    if (!r.ok) {
      let detail = r.status + "";
      try { detail = (await r.json()).detail || detail; } catch (e) { /* not JSON */ }
      throw new Error(detail);
    }
    return r.json();
  }

  function day(when) {  // a date in Asia/Shanghai, whatever the screen's time zone
    return when.toLocaleDateString("zh-CN", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" });
  }

  function fmt(value, kind) {
    if (value === null || value === undefined) return "—";
    return kind === "rate" ? (value * 100).toFixed(1) + "%" : String(value);
  }

  function compare(now, before, kind) {
    if (now === null || before === null || now === undefined || before === undefined) return "—";
    const diff = kind === "rate" ? (now - before) * 100 : now - before;
    const cls = diff > 0 ? "up" : diff < 0 ? "down" : "";
    const text = (diff > 0 ? "▲" : diff < 0 ? "▼" : "") + Math.abs(diff).toFixed(kind === "rate" ? 1 : 0)
      + (kind === "rate" ? "百分点" : "");
    return '<span class="' + cls + '">' + text + "</span>";
  }

  function tile(key, name, kind, data) {
    const el = document.createElement("div");
    el.className = "tile";
    el.dataset.kpi = key;
    el.innerHTML = '<div class="name"></div><div class="value"></div><div class="cmp"></div>';
    el.querySelector(".name").textContent = name;
    el.querySelector(".value").textContent = fmt(data[key], kind);
    el.querySelector(".cmp").innerHTML = "环比 " + compare(data[key], data.previous && data.previous[key], kind)
      + "　同比 " + compare(data[key], data.year_ago && data.year_ago[key], kind);
    return el;
  }

  function list(id, items, render) {
    const ol = document.getElementById(id);
    ol.replaceChildren();
    if (!items.length) {
      const li = document.createElement("li");
      li.textContent = "暂无";
      ol.appendChild(li);
    }
    for (const item of items) {
      const li = document.createElement("li");
      const [label, count] = render(item);
      li.textContent = label;
      const span = document.createElement("span");
      span.className = "count";
      span.textContent = count;
      li.appendChild(span);
      ol.appendChild(li);
    }
  }

  const AXIS = { axisLabel: { color: "#9fb6d9" }, axisLine: { lineStyle: { color: "#1d4a8a" } } };

  async function load() {
    const [kpis, trend, cats, units, funnel, hot, hotline] = await Promise.all([
      get("/api/v1/kpis", windowQuery()),
      get("/api/v1/trend", windowQuery({ metric: "received", interval: "day" })),
      get("/api/v1/breakdown", windowQuery({ dimension: "category" })),
      get("/api/v1/breakdown", windowQuery({ dimension: "unit" })),
      get("/api/v1/funnel", windowQuery()),
      get("/api/v1/hotspots", windowQuery({ limit: "8" })),
      get("/api/v1/kpis/hotline", windowQuery()),
    ]);
    document.getElementById("scope").textContent = "范围：" + (kpis.unit_name || kpis.unit_id || "全部");
    document.getElementById("window").textContent = "统计期：" + day(new Date(kpis.from)) + " 至 "
      + day(new Date(new Date(kpis.to).getTime() - 1));
    document.getElementById("updated").textContent = "更新于：" + new Date().toLocaleTimeString("zh-CN");
    document.querySelectorAll(".days").forEach((e) => { e.textContent = String(params.days); });

    const tiles = document.getElementById("tiles");
    tiles.replaceChildren(...TILES.map(([k, n, kind]) => tile(k, n, kind, kpis)));
    const hl = document.getElementById("hotline");
    hl.replaceChildren(...HOTLINE.map(([k, n]) => tile(k, n, "rate", hotline)));

    chart("trend").setOption({
      tooltip: { trigger: "axis" }, legend: { data: ["本期", "去年同期"], textStyle: { color: "#dbe7ff" } },
      grid: { left: 40, right: 20, top: 30, bottom: 30 },
      xAxis: { type: "category", data: trend.points.map((p) => p.bucket.slice(5)), ...AXIS },
      yAxis: { type: "value", minInterval: 1, ...AXIS, splitLine: { lineStyle: { color: "#123060" } } },
      series: [
        { name: "本期", type: "line", smooth: true, data: trend.points.map((p) => p.value), areaStyle: { opacity: 0.15 } },
        { name: "去年同期", type: "line", smooth: true, data: trend.points.map((p) => p.year_ago), lineStyle: { type: "dashed" } },
      ],
    }, true);

    const topCats = cats.items.slice(0, 10);
    chart("categories").setOption({
      tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: ["35%", "68%"], label: { color: "#dbe7ff" },
        data: topCats.map((i) => ({ name: i.label, value: i.kpis.received })) }],
    }, true);

    const unitItems = units.items.filter((i) => i.key);
    chart("units").setOption({
      tooltip: { trigger: "axis" }, legend: { data: ["受理量", "化解率"], textStyle: { color: "#dbe7ff" } },
      grid: { left: 40, right: 40, top: 30, bottom: 40 },
      xAxis: { type: "category", data: unitItems.map((i) => i.label), ...AXIS },
      yAxis: [{ type: "value", minInterval: 1, ...AXIS, splitLine: { lineStyle: { color: "#123060" } } },
        { type: "value", max: 100, ...AXIS, splitLine: { show: false } }],
      series: [
        { name: "受理量", type: "bar", data: unitItems.map((i) => i.kpis.received) },
        { name: "化解率", type: "line", yAxisIndex: 1,
          data: unitItems.map((i) => (i.kpis.resolution_rate === null ? null : +(i.kpis.resolution_rate * 100).toFixed(1))) },
      ],
    }, true);

    chart("funnel").setOption({
      tooltip: { trigger: "item" },
      series: [{ type: "funnel", sort: "none", left: "10%", width: "80%", minSize: "8%", label: { color: "#dbe7ff", formatter: "{b}：{c}" },
        data: funnel.stages.map((s) => ({ name: s.label, value: s.count })) }],
    }, true);

    list("hot-grids", hot.grids, (g) => [g.label, g.count + " 件"]);
    list("hot-buildings", hot.buildings || [], (b) => [b.label, b.count + " 件"]);
    list("spikes", hot.spikes, (s) => [s.day + " " + s.label + " · " + s.category_label, s.count + " 件（基线 " + s.baseline + "）"]);
    document.getElementById("notice").hidden = true;
    document.body.dataset.loaded = String(Date.now());
  }

  function fail(err) {
    const n = document.getElementById("notice");
    n.hidden = false;
    n.textContent = "数据加载失败：" + err.message;
  }

  if (!params.token) {
    const n = document.getElementById("notice");
    n.hidden = false;
    n.textContent = "请使用带访问令牌的地址打开大屏：/dashboard#token=<令牌>（可选 &unit=<单位编号>&days=<天数>）";
    return;
  }
  const refresh = Math.max(10, parseInt(document.body.dataset.refreshSeconds, 10) || 60);
  load().catch(fail);
  setInterval(() => load().catch(fail), refresh * 1000);
})();
