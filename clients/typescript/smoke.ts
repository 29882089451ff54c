// Smoke test of the typed client against a running stack: register a case, see it routed to the G01 grid,
// accept it (If-Match from the assignment's ETag), and read the grid worker's inbox.
//   FQ_INTAKE_URL FQ_ROUTING_URL FQ_NOTIFY_URL FQ_OPERATOR_TOKEN FQ_WORKER_TOKEN node dist/smoke.js
import { clients } from "./src/index.js";

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

async function eventually<T>(what: string, check: () => Promise<T | undefined>, seconds = 60): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    const got = await check();
    if (got !== undefined) return got;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const operator = (url: string) => ({ baseUrl: url, token: () => env("FQ_OPERATOR_TOKEN") });
const worker = (url: string) => ({ baseUrl: url, token: () => env("FQ_WORKER_TOKEN") });
const asOperator = clients(operator(env("FQ_INTAKE_URL")));
const asWorker = clients(worker(env("FQ_INTAKE_URL")), worker(env("FQ_ROUTING_URL")), worker(env("FQ_NOTIFY_URL")));

const unique = Date.now() % 100000000;
const created = await asOperator.intake.POST("/api/v1/cases", {
  body: {
    channel: "walk_in",
    request_type: "dispute",
    title: "楼上漏水",
    description: "楼上卫生间漏水到我家天花板，协商无果，请求调解。",
    urgent: false,
    location: { grid_id: "G01", address: `松涛花园${unique % 90 + 10}号楼${unique % 9000 + 100}室` },
    parties: [{ role: "applicant", kind: "person", name: "王小明", phone: `139${String(unique).padStart(8, "0")}` }],
  },
});
if (!created.data) throw new Error(`register: ${created.response.status} ${JSON.stringify(created.error)}`);
const caseId = created.data.id;
console.log(`registered ${created.data.code}`);

const assignment = await eventually("the case routed to G01", async () => {
  const { data } = await asWorker.routing.GET("/api/v1/cases/{case_id}/routing", { params: { path: { case_id: caseId } } });
  return data?.current?.status === "assigned" ? data.current : undefined;
});
if (assignment.unit_id !== "G01") throw new Error(`routed to ${assignment.unit_id}, not G01`);
console.log(`routed to ${assignment.unit_id}`);

const read = await asWorker.routing.GET("/api/v1/assignments/{assignment_id}", {
  params: { path: { assignment_id: assignment.id } },
});
const etag = read.response.headers.get("etag");
if (!read.data || !etag) throw new Error(`assignment: ${read.response.status}, ETag ${etag}`);
const accepted = await asWorker.routing.POST("/api/v1/assignments/{assignment_id}/accept", {
  params: { path: { assignment_id: assignment.id }, header: { "if-match": etag } },
});
if (accepted.data?.status !== "accepted") {
  throw new Error(`accept: ${accepted.response.status} ${JSON.stringify(accepted.error)}`);
}
console.log(`accepted with If-Match ${etag}`);

const item = await eventually("the inbox item", async () => {
  const { data } = await asWorker.notify.GET("/api/v1/inbox", {});
  return data?.items.find((i) => i.case_id === caseId);
});
console.log(`inbox: ${item.title}`);
console.log("smoke: ok");
