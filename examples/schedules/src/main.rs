//! Reminders: an actor per user that schedules calls to itself. A one-time reminder, a
//! heartbeat every second that goes through a queue (so a failing one would be retried),
//! and a daily digest on a cron expression. The actor is put to sleep in between: its
//! alarm wakes it when the next schedule is due. State and schedules live in SQLite under
//! `./data-schedules` (or the directory given as the first argument): stop it and run it
//! again, and the digest is still scheduled, once.
//!
//! ```text
//! cargo run -p schedules-example
//! ```

use std::time::Duration;

use actor::prelude::*;

/// A heartbeat, sent to the `beat` queue by a schedule.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Beat {
    pub note: String,
}

#[actor(max_schedules = 100)]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Reminders {
    delivered: Vec<String>,
    beats: u64,
    heartbeat: Option<ScheduleId>,
    digest: Option<ScheduleId>,
}

#[actor]
impl Reminders {
    /// Delivers `text` in `secs` seconds.
    #[action]
    async fn remind(
        &mut self,
        ctx: &Ctx<Self>,
        text: String,
        secs: u64,
    ) -> Result<ScheduleId, ActorError> {
        ctx.schedule()
            .after(Duration::from_secs(secs))
            .deliver(text)
    }

    /// Starts the heartbeat and the daily digest, unless they are running already.
    #[action]
    async fn start(&mut self, ctx: &Ctx<Self>) -> Result<(), ActorError> {
        if self.heartbeat.is_none() {
            let beat = Beat {
                note: "still here".into(),
            };
            self.heartbeat = Some(ctx.schedule().every(Duration::from_secs(1)).beat(beat)?);
        }
        if self.digest.is_none() {
            // 09:00 UTC on weekdays; a time missed while the process was down fires once.
            self.digest = Some(ctx.schedule().cron("0 9 * * MON-FRI").digest()?);
        }
        Ok(())
    }

    /// Stops the heartbeat.
    #[action]
    async fn stop_heartbeat(&mut self, ctx: &Ctx<Self>) -> Result<bool, ActorError> {
        match self.heartbeat.take() {
            Some(id) => ctx.schedule().cancel(id),
            None => Ok(false),
        }
    }

    /// The scheduled reminder.
    #[action]
    async fn deliver(&mut self, text: String) {
        self.delivered.push(text);
    }

    /// The scheduled digest.
    #[action]
    async fn digest(&mut self) {
        self.delivered
            .push(format!("digest: {} beats so far", self.beats));
    }

    /// Queue `beat`: the heartbeat's message.
    #[queue]
    async fn beat(&mut self, beat: Beat) {
        self.beats += 1;
        let _ = beat.note;
    }

    /// What is scheduled, as `(id, call, next time)`.
    #[action]
    async fn scheduled(&self, ctx: &Ctx<Self>) -> Vec<(ScheduleId, String, String)> {
        ctx.schedule()
            .list()
            .into_iter()
            .map(|s| {
                let next = s
                    .next
                    .duration_since(std::time::SystemTime::now())
                    .map_or("now".into(), |d| format!("in {:.1}s", d.as_secs_f64()));
                (s.id, s.call.name().to_string(), next)
            })
            .collect()
    }

    #[action]
    async fn report(&self) -> (Vec<String>, u64) {
        (self.delivered.clone(), self.beats)
    }
}

#[tokio::main]
async fn main() -> Result<(), ActorError> {
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "data-schedules".into());
    let registry = registry::Registry::builder().sqlite(&dir).build().await?;
    let client = registry.client();

    let ada = Reminders::get_or_create(&client, ["ada"]).await?;
    ada.start().await?;
    ada.remind("stand up and stretch".into(), 2).await?;
    for (id, call, next) in ada.scheduled().await? {
        println!("scheduled {id}: {call}, {next}");
    }

    // Asleep, the actor holds no memory; its alarm wakes it for the next schedule.
    ada.sleep().await?;
    println!("asleep; {} actors awake", registry.awake());
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    println!(
        "{} actor awake again, woken by its schedules",
        registry.awake()
    );

    let (delivered, beats) = ada.report().await?;
    println!("delivered: {delivered:?}; {beats} heartbeats");
    ada.stop_heartbeat().await?;
    registry.shutdown().await;
    Ok(())
}
