// 数据大屏: reads the analytics API with the viewer's token; the token decides the scope.
// The big screen opens /dashboard#token=<JWT>[&unit=<unit id>][&days=30]. The fragment never leaves the browser
// (not sent to servers, not in access logs); the page keeps the token in sessionStorage and removes it from the
// address bar.
// Token refresh (a wall screen has no user to log in again): the page that frames the dashboard (its own origin or
// one of ANALYTICS_DASHBOARD_EMBED_ORIGINS) hands it fresh tokens with
//   frame.contentWindow.postMessage({type: "fq-dashboard-token", token: "<JWT>"}, "<dashboard origin>")
// and is asked for one with {type: "fq-dashboard-token-request", reason: "expiring" | "expired"} two minutes before
// the token's exp and whenever the API refuses the token. Messages from any other origin are ignored.
// Everything the page shows is Chinese: API errors are shown by their stable problem `code`, never their English
// `detail`.
(function () {
  "use strict";

  const TOKEN_KEY = "fq_dashboard_token";
  const TOKEN_MESSAGE = "fq-dashboard-token";
  const TOKEN_REQUEST = "fq-dashboard-token-request";
  const RENEW_BEFORE_MS = 120 * 1000;
  const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

  const TILES = [
    ["received", "受理量", "count"], ["completion_rate", "办结率", "rate"], ["resolution_rate", "化解率", "rate"],
    ["accepted_on_time_rate", "按时签收率", "rate"], ["on_time_completion_rate", "按时办结率", "rate"],
    ["local_resolution_rate", "就地化解率", "rate"], ["satisfaction_rate", "满意率", "rate"],
    ["escalation_rate", "提级率", "rate"],
  ];
  const HOTLINE = [["accepted_on_time_rate", "按时签收率"], ["on_time_completion_rate", "按时办结率"],
    ["satisfaction_rate", "满意率"]];
  const GRID_FIELDS = [["received", "受理量", "count"], ["open", "在办", "count"], ["resolved", "已化解", "count"],
    ["resolution_rate", "化解率", "rate"], ["satisfaction_rate", "满意率", "rate"], ["overdue", "超期", "count"],
    ["red", "红色风险", "count"], ["yellow", "黄色风险", "count"], ["blue", "蓝色风险", "count"]];

  // problem `code` → what the screen says (the API's `detail` is English and meant for developers)
  const PROBLEMS = {
    token_expired: "访问令牌已过期",
    invalid_token: "访问令牌无效",
    missing_token: "缺少访问令牌",
    no_unit: "访问令牌未绑定单位，无权查看大屏",
    forbidden_role: "当前账号无权查看大屏",
    unit_not_found: "所选单位不在您的权限范围内，或尚未同步到统计库",
    validation_failed: "大屏地址中的参数有误",
    identity_provider_unreachable: "暂时无法校验访问令牌（身份认证服务不可达）",
  };
  const TOKEN_PROBLEMS = new Set(["token_expired", "invalid_token", "missing_token"]);

  class ApiError extends Error {
    constructor(status, code) {
      super(code || String(status));
      this.status = status;
      this.code = code;
    }
  }

  function readParams() {
    const hash = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    if (hash.get("token")) {
      sessionStorage.setItem(TOKEN_KEY, hash.get("token"));
      hash.delete("token");
      const rest = hash.toString();
      history.replaceState(null, "", window.location.pathname + window.location.search + (rest ? "#" + rest : ""));
    }
    return {
      token: sessionStorage.getItem(TOKEN_KEY),
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
      let code = null;
      try { code = (await r.json()).code || null; } catch (e) { /* not a problem document */ }
      throw new ApiError(r.status, code);
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
    const [kpis, trend, cats, units, funnel, hot, hotline, grids] = await Promise.all([
      get("/api/v1/kpis", windowQuery()),
      get("/api/v1/trend", windowQuery({ metric: "received", interval: "day" })),
      get("/api/v1/breakdown", windowQuery({ dimension: "category" })),
      get("/api/v1/breakdown", windowQuery({ dimension: "unit" })),
      get("/api/v1/funnel", windowQuery()),
      get("/api/v1/hotspots", windowQuery({ limit: "8" })),
      get("/api/v1/kpis/hotline", windowQuery()),
      get("/api/v1/map", windowQuery()),
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
    drawMap(grids);
    document.getElementById("notice").hidden = true;
    shownAt = new Date();
    document.body.dataset.loaded = String(Date.now());
  }

  // --- 网格地图 -------------------------------------------------------------------------------------

  let gridsById = {};
  let selectedGrid = null;

  function gridTip(g) {
    const esc = echarts.format.encodeHTML;
    return "<b>" + esc(g.name) + "</b><br>受理量：" + g.received + " 件<br>在办：" + g.open + " 件　已化解："
      + g.resolved + " 件<br>红色风险：" + g.red + "　黄色风险：" + g.yellow + "　蓝色风险：" + g.blue
      + "<br>超期：" + g.overdue + " 件";
  }

  function showGrid(id) {
    const g = gridsById[id];
    const box = document.getElementById("grid-detail");
    if (!g) {
      const p = document.createElement("p");
      p.className = "hint";
      p.textContent = "点击地图上的网格查看该网格的数据";
      box.replaceChildren(p);
      return;
    }
    selectedGrid = id;
    box.dataset.grid = id;
    const h = document.createElement("h3");
    h.textContent = g.name;
    const dl = document.createElement("dl");
    for (const [key, label, kind] of GRID_FIELDS) {
      const dt = document.createElement("dt");
      dt.textContent = label;
      const dd = document.createElement("dd");
      dd.dataset.field = key;
      if (key === "red" || key === "yellow" || key === "blue") dd.className = key;
      dd.textContent = kind === "rate" ? fmt(g[key], "rate") : g[key] + " 件";
      dl.append(dt, dd);
    }
    box.replaceChildren(h, dl);
  }

  function drawMap(geo) {
    gridsById = Object.fromEntries(geo.features.map((f) => [f.properties.unit_id, f.properties]));
    document.getElementById("map-empty").hidden = geo.features.length > 0;
    const map = chart("map");
    if (!geo.features.length) {
      map.clear();
      showGrid(null);
      return;
    }
    echarts.registerMap("fq-grids", { type: "FeatureCollection", features: geo.features });
    const max = Math.max(1, ...geo.features.map((f) => f.properties.received));
    map.setOption({
      tooltip: { trigger: "item", formatter: (p) => (p.data ? gridTip(p.data.props) : "") },
      visualMap: { type: "continuous", min: 0, max, left: 10, bottom: 10, text: ["多", "少"], calculable: false,
        textStyle: { color: "#dbe7ff" }, inRange: { color: ["#12335f", "#1e88e5", "#ffb300", "#e53935"] } },
      series: [{ type: "map", map: "fq-grids", nameProperty: "unit_id", roam: false, selectedMode: false,
        label: { show: true, color: "#ffffff", fontSize: 14,
          formatter: (p) => (p.data ? p.data.props.name + "\n" + p.data.value + " 件" : "") },
        itemStyle: { borderColor: "#7fd3ff", borderWidth: 1 },
        emphasis: { label: { color: "#ffffff" }, itemStyle: { areaColor: "#26c6da" } },
        data: geo.features.map((f) => ({ name: f.properties.unit_id, value: f.properties.received, props: f.properties })) }],
    }, true);
    if (!gridsById[selectedGrid]) {  // first load (or the grid left the scope): the busiest grid
      selectedGrid = geo.features.reduce((a, f) => (f.properties.received > a.properties.received ? f : a)).properties.unit_id;
    }
    showGrid(selectedGrid);
  }

  // --- errors, in Chinese -------------------------------------------------------------------------

  let shownAt = null;
  const embedded = window.parent !== window;

  function say(parts) {  // parts: strings, or [text] for an id/code shown as code
    const n = document.getElementById("notice");
    n.replaceChildren(...parts.map((p) => {
      if (typeof p === "string") return document.createTextNode(p);
      const c = document.createElement("code");
      c.textContent = p[0];
      return c;
    }));
    n.hidden = false;
  }

  function fail(err) {
    const since = shownAt ? "（当前显示的是 " + shownAt.toLocaleTimeString("zh-CN") + " 的数据）" : "";
    if (!(err instanceof ApiError)) {
      say(["无法连接统计服务，稍后自动重试" + since]);
      return;
    }
    if (TOKEN_PROBLEMS.has(err.code)) {
      const asked = requestToken("expired");
      say([PROBLEMS[err.code] + (asked ? "，正在等待续期，续期后自动恢复" : "，请使用新的访问令牌重新打开大屏") + since]);
    } else if (PROBLEMS[err.code]) {
      say(["数据加载失败：" + PROBLEMS[err.code] + since]);
    } else if (err.status >= 500) {
      say(["统计服务暂时不可用，稍后自动重试" + since]);
    } else {
      say(["数据加载失败（错误代码 ", [err.code || String(err.status)], "），稍后自动重试" + since]);
    }
  }

  // --- token refresh --------------------------------------------------------------------------------

  const TRUSTED = new Set([window.location.origin, ...JSON.parse(document.body.dataset.embedOrigins || "[]")]);
  let lastRequest = 0;
  let renewTimer = null;

  function parentOrigins() {
    // Chromium tells the framing page's origin; elsewhere post to each trusted origin (only the match receives it)
    const ancestors = window.location.ancestorOrigins;
    if (ancestors && ancestors.length) return TRUSTED.has(ancestors[0]) ? [ancestors[0]] : [];
    return [...TRUSTED];
  }

  function requestToken(reason) {
    if (!embedded) return false;
    const origins = parentOrigins();
    if (!origins.length) return false;
    if (Date.now() - lastRequest > 10000) {
      lastRequest = Date.now();
      for (const origin of origins) window.parent.postMessage({ type: TOKEN_REQUEST, reason }, origin);
    }
    return true;
  }

  function expiresAt(token) {  // the JWT's exp, read only to ask for a new token in time (the server checks it)
    try {
      const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      return typeof claims.exp === "number" ? claims.exp * 1000 : null;
    } catch (e) {
      return null;
    }
  }

  function scheduleRenewal() {
    clearTimeout(renewTimer);
    const exp = params.token && expiresAt(params.token);
    if (!exp || !embedded) return;
    renewTimer = setTimeout(() => requestToken(Date.now() >= exp ? "expired" : "expiring"),
      Math.max(0, exp - RENEW_BEFORE_MS - Date.now()));
  }

  function tick() {
    return load().catch(fail);
  }

  window.addEventListener("message", (e) => {
    if (!TRUSTED.has(e.origin) || !e.data || e.data.type !== TOKEN_MESSAGE) return;
    const token = e.data.token;
    if (typeof token !== "string" || token.length > 8192 || !JWT.test(token)) return;
    params.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    lastRequest = 0;
    scheduleRenewal();
    tick();
  });

  chart("map").on("click", (p) => { if (p.data) showGrid(p.data.name); });

  const refresh = Math.max(10, parseInt(document.body.dataset.refreshSeconds, 10) || 60);
  if (!params.token) {
    if (!requestToken("expired")) {
      say(["请使用带访问令牌的地址打开大屏：", ["/dashboard#token=<令牌>"], "（可选 ", ["&unit=<单位编号>&days=<天数>"], "）"]);
      return;
    }
    say(["正在等待访问令牌"]);
  } else {
    scheduleRenewal();
    tick();
  }
  setInterval(() => { if (params.token) tick(); }, refresh * 1000);
})();
