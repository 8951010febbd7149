// Runs the official RivetKit client against a server and prints one JSON line per
// scenario: {"name": …, "value": …} or {"name": …, "error": {group, code, message, metadata}}.
// The expectations live in registry/tests/npm_client.rs, which starts the server and
// runs this script: `node client.mjs <endpoint> <encoding> [token]`.
import { createClient } from "rivetkit/client";

const [endpoint, encoding, token] = process.argv.slice(2);
const client = createClient({ endpoint, encoding, token, devtools: false });

const plain = (value) =>
	JSON.parse(JSON.stringify(value ?? null, (_, v) => (typeof v === "bigint" ? `${v}n` : v)));

async function scenario(name, run) {
	try {
		console.log(JSON.stringify({ name, value: plain(await run()) }));
	} catch (e) {
		const error = { group: e.group, code: e.code, message: e.message, metadata: plain(e.metadata) };
		console.log(JSON.stringify({ name, error }));
	}
}

// A fresh key per encoding, so the three runs do not share actors.
const k = (...parts) => [`${encoding}`, ...parts];

await scenario("getOrCreate", async () => {
	const counter = client.counter.getOrCreate(k("a"));
	return [await counter.increment(1), await counter.increment(2), await counter.get()];
});
await scenario("get existing", () => client.counter.get(k("a")).get());
await scenario("get missing", () => client.counter.get(k("missing")).get());
await scenario("create", async () => (await client.counter.create(k("created"))).increment(5));
await scenario("create again", async () => (await client.counter.create(k("created"))).increment(5));
await scenario("getForId", async () => {
	const id = await client.counter.getOrCreate(k("a")).resolve();
	return client.counter.getForId(id).get();
});
await scenario("getForId missing", () => client.counter.getForId("0123456789abcdef0123456789abcdef").get());
// Parts with commas, slashes, %, unicode and an empty part: create them through the
// manager API, find the same actor by key, and call it by id.
const awkward = k("org,1", "user/2", "", "50% off", "ünïcode, too");
await scenario("awkward key create", async () => {
	const handle = await client.counter.create(awkward);
	await handle.increment(7);
	return handle.keyParts();
});
await scenario("awkward key resolve", async () => {
	const byGet = await client.counter.get(awkward).resolve();
	const byGetOrCreate = await client.counter.getOrCreate(awkward).resolve();
	return [byGet === byGetOrCreate, await client.counter.getForId(byGet).get()];
});
await scenario("big numbers", () => client.counter.getOrCreate(k("a")).echo(2 ** 40, 12.5, "text"));
await scenario("user error", () => client.counter.getOrCreate(k("a")).fail("out of stock"));
await scenario("wrong arguments", () => client.counter.getOrCreate(k("a")).increment("one"));
await scenario("unknown action", () => client.counter.getOrCreate(k("a")).nosuch());
await scenario("queue send", async () => {
	const counter = client.counter.getOrCreate(k("q"));
	await counter.send("addLater", { by: 4 });
	return "sent";
});
await scenario("queue send and wait", () =>
	client.counter.getOrCreate(k("q")).send("addLater", { by: 10 }, { wait: true, timeout: 10_000 }),
);
await scenario("queue timed out", () =>
	client.counter.getOrCreate(k("q")).send("slow", { ms: 1_500 }, { wait: true, timeout: 100 }),
);
await scenario("queue unknown", () => client.counter.getOrCreate(k("q")).send("nosuchQueue", {}));
await scenario("queue total", () => client.counter.getOrCreate(k("q")).get());

// One WebSocket: actions over it, an error naming its action, and a subscription to an
// event the actor does not declare, refused without closing the socket.
await scenario("connect", async () => {
	const conn = client.counter.getOrCreate(k("ws")).connect();
	const errors = [];
	conn.onError((e) => errors.push(`${e.group}/${e.code}`));
	const first = await conn.increment(2);
	let failed;
	try {
		await conn.fail("gone");
	} catch (e) {
		failed = `${e.group}/${e.code}: ${e.message}`;
	}
	conn.on("nosuchEvent", () => {});
	// The refusal arrives before the answer to a call sent after it.
	await new Promise((resolve) => setTimeout(resolve, 200));
	const after = await conn.increment(3);
	await conn.dispose();
	return { first, failed, errors, after };
});

// Connections with params: `on_before_connect` checks them on the socket and on every
// HTTP call; events reach the connections subscribed to them.
const member = (name, token = "let-me-in") => ({ params: { name, token } });
const waitFor = async (check) => {
	for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
};
await scenario("events", async () => {
	const ann = client.room.getOrCreate(k("r"), member("ann")).connect();
	const seen = [];
	ann.on("posted", (who, text) => seen.push(`${who}: ${text}`));
	ann.on("joined", (who) => seen.push(`joined ${who}`));
	// One round trip: the subscriptions went first, on the same socket.
	await ann.whoami();
	const bob = client.room.getOrCreate(k("r"), member("bob")).connect();
	await bob.post("hello from bob");
	const mine = await ann.post("hello from ann");
	await waitFor(() => seen.length >= 3);
	const who = await ann.whoami();
	await bob.dispose();
	await ann.dispose();
	return { seen, mine, who };
});
await scenario("http params", () => client.room.getOrCreate(k("r"), member("cy")).whoami());
await scenario("http bad params", () =>
	client.room.getOrCreate(k("r"), member("eve", "guess")).whoami(),
);
await scenario("http no params", () => client.room.getOrCreate(k("r")).whoami());
await scenario("queue bad params", () =>
	client.room.getOrCreate(k("r"), member("eve", "guess")).send("note", "hi"),
);
await scenario("connect bad params", async () => {
	const conn = client.room.getOrCreate(k("r"), member("eve", "guess")).connect();
	const errors = [];
	conn.onError((e) => errors.push(`${e.group}/${e.code}`));
	let call;
	try {
		call = await Promise.race([
			conn.whoami(),
			new Promise((_, fail) => setTimeout(() => fail(new Error("no answer in 3 s")), 3_000)),
		]);
	} catch (e) {
		call = e.group ? `${e.group}/${e.code}` : e.message;
	}
	await waitFor(() => errors.length > 0);
	await conn.dispose();
	return { errors: [...new Set(errors)], call };
});

await client.dispose();
process.exit(0);
