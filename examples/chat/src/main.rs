//! A chat room. Each connection says who it is in its params; `#[on_before_connect]`
//! turns them into the connection's state (or refuses them), `#[on_connect]` and
//! `#[on_disconnect]` announce arrivals and departures, and posts are broadcast as typed
//! events to every connection subscribed to them. One member connects in-process, the
//! other over the network with the remote client (the same typed handles); the history
//! lives in SQLite under `./data-chat` (or the directory given as the first argument),
//! so a second run goes on from the first.
//!
//! ```text
//! cargo run -p chat-example
//! ```

use std::time::Duration;

use actor::connection::EventStream;
use actor::prelude::*;

/// One room; its history survives sleeps and restarts.
#[actor(events = ChatEvent)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct ChatRoom {
    history: Vec<(String, String)>,
}

/// What the room tells its connections.
#[derive(Debug, Events)]
pub enum ChatEvent {
    /// `who` said `text`.
    Posted(String, String),
    Joined(String),
    Left(String),
}

/// What a client gives when it connects.
#[derive(Serialize, Deserialize)]
pub struct Hello {
    pub name: String,
}

/// What the room keeps for each connection.
pub struct Member {
    name: String,
}

#[actor]
impl ChatRoom {
    #[on_before_connect]
    async fn check(&self, hello: Option<Hello>) -> Result<Member, ActorError> {
        match hello {
            Some(Hello { name }) if !name.trim().is_empty() => Ok(Member { name }),
            _ => Err(ActorError::new(
                "chat",
                "no_name",
                "connect with params {\"name\": \"…\"}",
            )),
        }
    }

    #[on_connect]
    async fn joined(&mut self, ctx: &Ctx<Self>, conn: &Conn<Self>) -> Result<(), ActorError> {
        ctx.broadcast(ChatEvent::Joined(conn.state().name.clone()))
    }

    #[on_disconnect]
    async fn left(&mut self, ctx: &Ctx<Self>, conn: &Conn<Self>) -> Result<(), ActorError> {
        ctx.broadcast(ChatEvent::Left(conn.state().name.clone()))
    }

    /// Posts as the calling connection; the event goes out once the post is durable.
    #[action]
    async fn post(&mut self, ctx: &Ctx<Self>, text: String) -> Result<usize, ActorError> {
        let Some(conn) = ctx.conn() else {
            return Err(ActorError::new("chat", "not_connected", "connect to post"));
        };
        let who = conn.state().name.clone();
        self.history.push((who.clone(), text.clone()));
        ctx.broadcast(ChatEvent::Posted(who, text))?;
        Ok(self.history.len())
    }

    #[action]
    async fn history(&self) -> Vec<(String, String)> {
        self.history.clone()
    }
}

/// Prints what `member` hears until `count` events came.
async fn listen(
    member: &'static str,
    mut events: EventStream<ChatEvent>,
    count: usize,
) -> Result<(), ActorError> {
    for _ in 0..count {
        match tokio::time::timeout(Duration::from_secs(5), events.next()).await {
            Ok(Some(event)) => println!("{member} hears {:?}", event?),
            _ => break,
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "data-chat".into());
    let registry = registry::Registry::builder().sqlite(&dir).build().await?;
    let server = registry
        .serve(registry::ServerOptions::default().address(([127, 0, 0, 1], 0)))
        .await?;

    // Ann is in this process; Bob reaches the room over HTTP and a WebSocket.
    let local = ChatRoom::get_or_create(&registry.client(), ["lobby"]).await?;
    let remote = actor::Client::remote(server.endpoint());
    let far = ChatRoom::get_or_create(&remote, ["lobby"]).await?;

    let refused = far.connect().await.unwrap_err();
    println!("without a name: {}/{}", refused.group(), refused.code());

    let ann = ChatRoomHandle::from(local.connect_with(&Hello { name: "ann".into() }).await?);
    let ann_hears = tokio::spawn(listen("ann", ann.events().await?, 4));
    let bob = ChatRoomHandle::from(far.connect_with(&Hello { name: "bob".into() }).await?);
    let bob_events = bob.events().await?;
    // Over the network a subscription is in once the server read it: a call over the
    // same socket after it is read after it.
    bob.history().await?;
    let bob_hears = tokio::spawn(listen("bob", bob_events, 2));
    bob.post("hi ann, from another process".into()).await?;
    ann.post("hi bob".into()).await?;
    bob_hears.await??;
    drop(bob);
    ann_hears.await??;

    let history = local.history().await?;
    println!(
        "the lobby holds {} posts (run again: it keeps them)",
        history.len()
    );
    server.shutdown().await;
    registry.shutdown().await;
    Ok(())
}
