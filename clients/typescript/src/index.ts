// Typed clients of the four services: one openapi-fetch client per service, typed by the paths openapi-typescript
// generated from docs/openapi/<service>.json (`npm run generate`).
import createClient, { type Middleware } from "openapi-fetch";
import type { paths as IntakePaths } from "./generated/intake.js";
import type { paths as RoutingPaths } from "./generated/routing.js";
import type { paths as NotifyPaths } from "./generated/notify.js";
import type { paths as AnalyticsPaths } from "./generated/analytics.js";

export type { IntakePaths, RoutingPaths, NotifyPaths, AnalyticsPaths };

export interface ClientOptions {
  baseUrl: string; // one origin behind the gateway, or a service's own address
  token: () => string | Promise<string>; // the caller's bearer token (JWT)
}

function bearer(token: ClientOptions["token"]): Middleware {
  return {
    async onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${await token()}`);
      return request;
    },
  };
}

export function clients(intake: ClientOptions, routing: ClientOptions = intake, notify: ClientOptions = intake,
                        analytics: ClientOptions = intake) {
  const make = <P extends {}>(o: ClientOptions) => {
    const c = createClient<P>({ baseUrl: o.baseUrl });
    c.use(bearer(o.token));
    return c;
  };
  return {
    intake: make<IntakePaths>(intake),
    routing: make<RoutingPaths>(routing),
    notify: make<NotifyPaths>(notify),
    analytics: make<AnalyticsPaths>(analytics),
  };
}
