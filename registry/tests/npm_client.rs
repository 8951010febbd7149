//! The official RivetKit TypeScript client (`rivetkit` on npm, pinned in
//! `conformance/package.json`) against this crate's server: every call the client
//! makes in the JSON, CBOR and BARE encodings, with the answers and error codes it
//! must get. The script is `conformance/client.mjs`; it prints what the client saw.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use actor::prelude::*;
use registry::{Registry, ServerOptions};
use serde_json::{Value, json};

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    count: i64,
}

#[derive(Serialize, Deserialize)]
pub struct AddLater {
    by: i64,
}

#[derive(Serialize, Deserialize)]
pub struct Slow {
    ms: u64,
}

#[actor]
impl Counter {
    #[action]
    async fn increment(&mut self, by: i64) -> i64 {
        self.count += by;
        self.count
    }

    #[action]
    async fn get(&self) -> i64 {
        self.count
    }

    #[action(name = "keyParts")]
    async fn key_parts(&self, ctx: &Ctx<Self>) -> Vec<String> {
        ctx.key().parts().to_vec()
    }

    #[action]
    async fn echo(&self, big: i64, fraction: f64, text: String) -> (i64, f64, String) {
        (big, fraction, text)
    }

    #[action]
    async fn fail(&self, why: String) -> Result<(), ActorError> {
        Err(ActorError::new("shop", "out_of_stock", why.clone())
            .with_metadata(json!({ "item": why })))
    }

    #[queue]
    async fn add_later(&mut self, message: AddLater) -> i64 {
        self.count += message.by;
        self.count
    }

    #[queue]
    async fn slow(&mut self, message: Slow) {
        tokio::time::sleep(Duration::from_millis(message.ms)).await;
    }
}

/// A room: connections say who they are (`on_before_connect` checks a token), posts are
/// broadcast to the connections subscribed to them.
#[actor(events = RoomEvent)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Room {
    posts: u32,
    hooks: Vec<String>,
}

#[derive(Events)]
pub enum RoomEvent {
    Posted(String, String),
    Joined(String),
}

#[derive(Deserialize)]
pub struct Join {
    name: String,
    token: String,
}

pub struct Member {
    name: String,
}

#[actor]
impl Room {
    #[on_before_connect]
    async fn check(&self, params: Option<Join>) -> Result<Member, ActorError> {
        match params {
            Some(join) if join.token == "let-me-in" => Ok(Member { name: join.name }),
            Some(_) => Err(ActorError::new("room", "bad_token", "the token is wrong")),
            None => Err(ActorError::new("room", "no_params", "say who you are")),
        }
    }

    #[on_connect]
    async fn joined(&mut self, ctx: &Ctx<Self>, conn: &Conn<Self>) -> Result<(), ActorError> {
        self.hooks.push(format!("connect {}", conn.state().name));
        ctx.broadcast(RoomEvent::Joined(conn.state().name.clone()))
    }

    #[on_disconnect]
    async fn left(&mut self, conn: &Conn<Self>) {
        self.hooks.push(format!("disconnect {}", conn.state().name));
    }

    #[action]
    async fn post(&mut self, ctx: &Ctx<Self>, text: String) -> Result<u32, ActorError> {
        let who = ctx
            .conn()
            .map_or("nobody".into(), |c| c.state().name.clone());
        self.posts += 1;
        ctx.broadcast(RoomEvent::Posted(who, text))?;
        Ok(self.posts)
    }

    #[action]
    async fn whoami(&self, ctx: &Ctx<Self>) -> Option<String> {
        ctx.conn().map(|c| c.state().name.clone())
    }

    #[action]
    async fn hooks(&self) -> Vec<String> {
        self.hooks.clone()
    }

    #[queue]
    async fn note(&mut self, _text: String) {}
}

/// `conformance/`, with the npm client installed (on first use, from the committed lock;
/// `.ci/run` does it beforehand, so its time shows there).
fn conformance_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance");
    if !dir.join("node_modules/rivetkit/package.json").exists() {
        let status = Command::new("npm")
            .args(["install", "--omit=optional", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("npm runs (Node.js and npm must be installed)");
        assert!(status.success(), "npm install in {} failed", dir.display());
    }
    dir
}

/// Runs the client script with `encoding` against `endpoint`; what each scenario saw.
fn run_client(dir: &Path, endpoint: &str, encoding: &str) -> Vec<(String, Value)> {
    let output = Command::new("node")
        .arg("client.mjs")
        .args([endpoint, encoding])
        .current_dir(dir)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the {encoding} client failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|line| {
            let mut v: Value = serde_json::from_str(line).expect("a JSON line");
            let name = v["name"].as_str().expect("a scenario name").to_string();
            let seen = match v.get_mut("value") {
                Some(value) => value.take(),
                None => json!({ "error": v["error"].take() }),
            };
            (name, seen)
        })
        .collect()
}

fn error_code(seen: &Value) -> String {
    format!(
        "{}/{}",
        seen["error"]["group"].as_str().unwrap_or("?"),
        seen["error"]["code"].as_str().unwrap_or("?")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_client_calls_rust_actors_in_every_encoding() {
    let dir = conformance_dir();
    let registry = Registry::builder().memory().build().await.unwrap();
    let server = registry
        .serve(ServerOptions::default().address(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let endpoint = server.endpoint();
    let runs: Vec<_> = ["json", "cbor", "bare"]
        .into_iter()
        .map(|encoding| {
            let (dir, endpoint) = (dir.clone(), endpoint.clone());
            (
                encoding,
                tokio::task::spawn_blocking(move || run_client(&dir, &endpoint, encoding)),
            )
        })
        .collect();
    for (encoding, run) in runs {
        let seen = run.await.unwrap();
        let get = |name: &str| -> &Value {
            &seen
                .iter()
                .find(|(n, _)| n == name)
                .unwrap_or_else(|| panic!("{encoding}: no scenario `{name}` in {seen:?}"))
                .1
        };
        let code = |name: &str| error_code(get(name));
        assert_eq!(get("getOrCreate"), &json!([1, 3, 3]), "{encoding}");
        assert_eq!(get("get existing"), &json!(3), "{encoding}");
        assert_eq!(
            code("get missing"),
            "actor/not_found",
            "{encoding}: {:?}",
            get("get missing")
        );
        assert_eq!(get("create"), &json!(5), "{encoding}");
        assert_eq!(code("create again"), "actor/already_exists", "{encoding}");
        assert_eq!(get("getForId"), &json!(3), "{encoding}");
        assert_eq!(code("getForId missing"), "actor/not_found", "{encoding}");
        let awkward = [encoding, "org,1", "user/2", "", "50% off", "ünïcode, too"];
        assert_eq!(get("awkward key create"), &json!(awkward), "{encoding}");
        assert_eq!(get("awkward key resolve"), &json!([true, 7]), "{encoding}");
        // The same actor, in-process, under exactly those parts.
        let counter = registry.client().get::<Counter>(awkward).await.unwrap();
        assert_eq!(counter.get().await.unwrap(), 7, "{encoding}");
        assert_eq!(
            get("big numbers"),
            &json!([1_099_511_627_776_i64, 12.5, "text"]),
            "{encoding}"
        );
        let failed = get("user error");
        assert_eq!(
            error_code(failed),
            "shop/out_of_stock",
            "{encoding}: {failed:?}"
        );
        assert_eq!(failed["error"]["message"], "out of stock", "{encoding}");
        assert_eq!(
            failed["error"]["metadata"],
            json!({ "item": "out of stock" }),
            "{encoding}"
        );
        assert_eq!(
            code("wrong arguments"),
            "actor/invalid_arguments",
            "{encoding}"
        );
        assert_eq!(
            code("unknown action"),
            "actor/action_not_found",
            "{encoding}"
        );
        assert_eq!(get("queue send"), &json!("sent"), "{encoding}");
        assert_eq!(
            get("queue send and wait"),
            &json!({ "status": "completed", "response": 14 }),
            "{encoding}"
        );
        // The third message to that actor, still stored and still to be handled.
        assert_eq!(
            get("queue timed out"),
            &json!({ "status": "timedOut", "response": 3 }),
            "{encoding}"
        );
        assert_eq!(code("queue unknown"), "queue/not_found", "{encoding}");
        assert_eq!(
            get("connect"),
            &json!({
                "first": 2,
                "failed": "shop/out_of_stock: gone",
                "errors": ["connection/event_not_found"],
                "after": 5,
            }),
            "{encoding}"
        );
        assert_eq!(get("queue total"), &json!(14), "{encoding}");
        assert_eq!(
            get("events"),
            &json!({
                "seen": ["joined bob", "bob: hello from bob", "ann: hello from ann"],
                "mine": 2,
                "who": "ann",
            }),
            "{encoding}"
        );
        assert_eq!(get("http params"), &json!("cy"), "{encoding}");
        assert_eq!(code("http bad params"), "room/bad_token", "{encoding}");
        assert_eq!(code("http no params"), "room/no_params", "{encoding}");
        assert_eq!(code("queue bad params"), "room/bad_token", "{encoding}");
        assert_eq!(
            get("connect bad params"),
            &json!({ "errors": ["room/bad_token"], "call": "room/bad_token" }),
            "{encoding}"
        );
        // Each socket's close ran `on_disconnect`, once; HTTP calls ran no hooks.
        let room = registry
            .client()
            .get::<Room>([encoding, "r"])
            .await
            .unwrap();
        let mut hooks = Vec::new();
        for _ in 0..100 {
            hooks = room.hooks().await.unwrap();
            if hooks.len() >= 4 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        hooks[2..].sort();
        assert_eq!(
            hooks,
            [
                "connect ann",
                "connect bob",
                "disconnect ann",
                "disconnect bob"
            ],
            "{encoding}"
        );
    }
    server.shutdown().await;
    registry.shutdown().await;
}
