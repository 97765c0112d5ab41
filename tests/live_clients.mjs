// The npm clients `graphql-ws` and `graphql-sse` (from explorer/node_modules), driven by the tests:
//   node --experimental-websocket tests/live_clients.mjs <ws|sse> <base url> <results> <json>
// where <json> is {"query", "variables", "token"}. Prints one JSON line per event received:
// {"next": result}, {"error": message} or {"complete": true}; exits after <results> results or on
// completion or error.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(fileURLToPath(new URL("../explorer/package.json", import.meta.url)));
const [mode, base, wanted, spec] = process.argv.slice(2);
const { query, variables, token } = JSON.parse(spec);
const auth = token ? { Authorization: `Bearer ${token}` } : {};
const say = (line) => process.stdout.write(JSON.stringify(line) + "\n");

let client;
if (mode === "ws") {
  const { createClient } = require("graphql-ws");
  client = createClient({
    url: base.replace("http", "ws") + "/graphql",
    connectionParams: auth,
    retryAttempts: 0,
    on: { closed: (event) => event.code !== 1000 && say({ closed: event.code, reason: event.reason }) },
  });
} else {
  const { createClient } = require("graphql-sse");
  client = createClient({ url: base + "/graphql", headers: auth, retryAttempts: 0 });
}

let count = 0;
const stop = () => { client.dispose(); process.exit(0); };
client.subscribe({ query, variables }, {
  next: (result) => { say({ next: result }); if (++count >= Number(wanted)) stop(); },
  error: (error) => {
    say({ error: error instanceof Error ? error.message : JSON.stringify(error) });
    stop();
  },
  complete: () => { say({ complete: true }); stop(); },
});
