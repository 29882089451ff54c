// Validates an AsyncAPI document with the reference parser (@asyncapi/parser), resolving its relative $refs
// (the event schemas beside it). Prints the diagnostics; exits 1 on any error.
import { resolve } from "node:path";
import { Parser, fromFile } from "@asyncapi/parser";

const path = resolve(process.argv[2]);
const parser = new Parser();
const { document, diagnostics } = await fromFile(parser, path).parse();
const errors = diagnostics.filter((d) => d.severity === 0);
for (const d of diagnostics) console.log(`${["error", "warning", "info", "hint"][d.severity]} ${d.code} ${d.path.join(".")}: ${d.message}`);
if (!document || errors.length) {
  console.log(`asyncapi: ${errors.length} errors`);
  process.exit(1);
}
const ops = document.operations().all();
console.log(`asyncapi: valid; ${document.channels().all().length} channels, ${ops.filter((o) => o.isSend()).length} send and ${ops.filter((o) => o.isReceive()).length} receive operations, ${document.messages().all().length} messages`);
