// The Node rows of the benchmark's "network" section (benches/benches/actors/network.rs
// starts the servers and runs this script): the official RivetKit client (`rivetkit` on
// npm, installed in conformance/node_modules) calling `increment(1)` on the bench's
// `benchCounter` actors over HTTP and over one `connect()`, beside an axum echo spoken
// to with Node's own `fetch` and with the `ws` package the client itself uses on Node,
// both one request after another and with many in flight. Progress goes to stderr; the
// last line on stdout is JSON: {"rows": [{"row", "requests", "seconds"}, …]}.
//
//   node http-bench.mjs <conformance dir> <endpoint> <echo host:port> <requests> <in flight> <row>…
//
// A row is `<what>/<shape>/<over>`: what is `echo`, `bare` or `json` (the client's
// encoding); shape is `seq` (one request at a time), `actors` (<in flight> loops, each
// calling its own actor; for the echo, each posting or sending) or `one` (<in flight>
// loops on one actor); over is `http` (a request per call) or `ws` (one socket that
// every loop of the row shares: `connect()`, or the echo's `/ws`).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [conformance, endpoint, echoAddress, requestsArg, inFlightArg, ...rows] = process.argv.slice(2);
const requests = Number(requestsArg);
const inFlight = Number(inFlightArg);
if (!conformance || !endpoint || !echoAddress || !(requests > 0) || !(inFlight > 0)) {
	console.error("usage: node http-bench.mjs <conformance dir> <endpoint> <echo host:port> <requests> <in flight> <row>…");
	process.exit(2);
}

// The client's ES module, as `import "rivetkit/client"` would find it from conformance/
// (this script lives elsewhere, and ES modules ignore NODE_PATH).
const packageDir = join(conformance, "node_modules", "rivetkit");
const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"));
const entry = manifest.exports["./client"].import.default;
const { createClient } = await import(pathToFileURL(join(packageDir, entry)).href);
// The WebSocket library the client uses on Node (Node 20 has no global WebSocket).
const WebSocket = createRequire(join(conformance, "package.json"))("ws");

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
	const response = await fetch(`http://${echoAddress}/echo`, { method: "POST", body: ECHO_BODY });
	if (!response.ok) throw new Error(`the echo answered ${response.status}`);
	const body = await response.arrayBuffer();
	if (body.byteLength !== ECHO_BODY.length) throw new Error("the echo answered another body");
}

// One socket to the echo's `/ws`; the call it returns sends the body and resolves on its
// answer (the echo answers in order, so each answer is the oldest waiting call's).
async function echoSocket() {
	const socket = new WebSocket(`ws://${echoAddress}/ws`);
	await new Promise((resolve, reject) => {
		socket.once("open", resolve);
		socket.once("error", reject);
	});
	const waiting = [];
	socket.on("message", (data) => {
		const call = waiting.shift();
		if (data.length === ECHO_BODY.length) call.resolve();
		else call.reject(new Error("the echo answered another body"));
	});
	sockets.push(socket);
	return () =>
		new Promise((resolve, reject) => {
			waiting.push({ resolve, reject });
			socket.send(ECHO_BODY, { binary: true });
		});
}
const sockets = [];

const clients = new Map();
function client(encoding) {
	if (!clients.has(encoding)) {
		clients.set(encoding, createClient({ endpoint, encoding, devtools: false }));
	}
	return clients.get(encoding);
}

// Every row's calls, then every row's warm-up, then the timed runs: the first row timed
// does not pay for the JIT's warming up more than the others.
const planned = [];
for (const row of rows) {
	const [what, shape, over] = row.split("/");
	if (over !== "http" && over !== "ws") throw new Error(`unknown row ${row}`);
	const count = shape === "seq" ? 1 : inFlight;
	const each = Math.max(Math.floor(requests / count), 1);
	let calls;
	if (what === "echo") {
		const call = over === "ws" ? await echoSocket() : echo;
		calls = Array.from({ length: count }, () => call);
	} else if (what === "bare" || what === "json" || what === "cbor") {
		const counters = client(what).benchCounter;
		// A fresh key per row: the rows do not share actors. Over a socket, every loop
		// shares one connection, so one actor.
		const actors = shape === "one" || over === "ws" ? 1 : count;
		const handles = Array.from({ length: actors }, (_, i) => {
			const handle = counters.getOrCreate(["network-node", row, `${i}`]);
			return over === "ws" ? handle.connect() : handle;
		});
		calls = Array.from({ length: count }, (_, i) => {
			const counter = handles[i % handles.length];
			return () => counter.increment(1);
		});
	} else {
		throw new Error(`unknown row ${row}`);
	}
	planned.push({ row, calls, each });
}
for (const { calls, each } of planned) await loops(calls, warmup(each));
const results = [];
for (const { row, calls, each } of planned) {
	const seconds = await loops(calls, each);
	const done = each * calls.length;
	console.error(`[http-bench.mjs] ${row}: ${done} requests in ${seconds.toFixed(3)} s, ${Math.round(done / seconds)}/s`);
	results.push({ row, requests: done, seconds });
}

for (const socket of sockets) socket.close();
for (const c of clients.values()) await c.dispose();
console.log(JSON.stringify({ rows: results }));
process.exit(0);
