// The Node rows of the benchmark's "network" section (benches/benches/actors/network.rs
// starts the servers and runs this script): the official RivetKit client (`rivetkit` on
// npm, installed in conformance/node_modules) calling `increment(1)` on the bench's
// `benchCounter` actors, and Node's own `fetch` posting to an axum echo, both one request
// after another and with many in flight. Progress goes to stderr; the last line on
// stdout is JSON: {"rows": [{"row", "requests", "seconds"}, …]}.
//
//   node http-bench.mjs <conformance dir> <endpoint> <echo url> <requests> <in flight> <row>…
//
// A row is `<what>/<shape>`: what is `echo`, `bare` or `json` (the client's encoding),
// shape is `seq` (one request at a time), `actors` (<in flight> loops, each calling its
// own actor; for the echo, each posting) or `one` (<in flight> loops on one actor).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [conformance, endpoint, echoUrl, requestsArg, inFlightArg, ...rows] = process.argv.slice(2);
const requests = Number(requestsArg);
const inFlight = Number(inFlightArg);
if (!conformance || !endpoint || !echoUrl || !(requests > 0) || !(inFlight > 0)) {
	console.error("usage: node http-bench.mjs <conformance dir> <endpoint> <echo url> <requests> <in flight> <row>…");
	process.exit(2);
}

// The client's ES module, as `import "rivetkit/client"` would find it from conformance/
// (this script lives elsewhere, and ES modules ignore NODE_PATH).
const packageDir = join(conformance, "node_modules", "rivetkit");
const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"));
const entry = manifest.exports["./client"].import.default;
const { createClient } = await import(pathToFileURL(join(packageDir, entry)).href);

// The body the echo rows post: the JSON action request of `increment(1)`, as the Rust
// echo rows post it.
const ECHO_BODY = '{"args":[1]}';

// Requests made before the clock starts, per loop (as the Rust rows warm up).
const warmup = (each) => Math.min(Math.max(Math.floor(each / 10), 10), 2_000);

// Runs every loop of `calls` `count` times, all at once; the seconds it took.
async function loops(calls, count) {
	const started = process.hrtime.bigint();
	await Promise.all(
		calls.map(async (call) => {
			for (let i = 0; i < count; i++) await call();
		}),
	);
	return Number(process.hrtime.bigint() - started) / 1e9;
}

async function echo() {
	const response = await fetch(echoUrl, { method: "POST", body: ECHO_BODY });
	if (!response.ok) throw new Error(`the echo answered ${response.status}`);
	const body = await response.arrayBuffer();
	if (body.byteLength !== ECHO_BODY.length) throw new Error("the echo answered another body");
}

const clients = new Map();
function client(encoding) {
	if (!clients.has(encoding)) {
		clients.set(encoding, createClient({ endpoint, encoding, devtools: false }));
	}
	return clients.get(encoding);
}

// Every row's calls, then every row's warm-up, then the timed runs: the first row timed
// does not pay for the JIT's warming up more than the others.
const planned = rows.map((row) => {
	const [what, shape] = row.split("/");
	const count = shape === "seq" ? 1 : inFlight;
	const each = Math.max(Math.floor(requests / count), 1);
	let calls;
	if (what === "echo") {
		calls = Array.from({ length: count }, () => echo);
	} else if (what === "bare" || what === "json" || what === "cbor") {
		const counters = client(what).benchCounter;
		// A fresh key per row: the rows do not share actors.
		const handles = Array.from({ length: shape === "one" ? 1 : count }, (_, i) =>
			counters.getOrCreate(["network-node", row, `${i}`]),
		);
		calls = Array.from({ length: count }, (_, i) => {
			const counter = handles[i % handles.length];
			return () => counter.increment(1);
		});
	} else {
		throw new Error(`unknown row ${row}`);
	}
	return { row, calls, each };
});
for (const { calls, each } of planned) await loops(calls, warmup(each));
const results = [];
for (const { row, calls, each } of planned) {
	const seconds = await loops(calls, each);
	const done = each * calls.length;
	console.error(`[http-bench.mjs] ${row}: ${done} requests in ${seconds.toFixed(3)} s, ${Math.round(done / seconds)}/s`);
	results.push({ row, requests: done, seconds });
}

for (const c of clients.values()) await c.dispose();
console.log(JSON.stringify({ rows: results }));
process.exit(0);
