//! Schedules name their calls through the kind's typed methods: actions with their
//! arguments and queues with their message, after a delay, at a time, on an interval or
//! on a cron expression.
use std::time::{Duration, SystemTime};

use actor::Missed;
use actor::prelude::*;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub lines: u32,
}

#[actor(max_schedules = 10, min_schedule_interval = "1m")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Planner {
    pub next: Option<ScheduleId>,
}

#[actor]
impl Planner {
    #[on_create]
    async fn start(&mut self, ctx: &Ctx<Self>) -> Result<(), ActorError> {
        self.next = Some(ctx.schedule().every(Duration::from_secs(3600)).tick()?);
        Ok(())
    }

    #[action]
    async fn plan(&mut self, ctx: &Ctx<Self>) -> Result<Vec<ScheduleId>, ActorError> {
        let s = || ctx.schedule();
        Ok(vec![
            s().after(Duration::from_secs(5)).add(1, "five".into())?,
            s().at(SystemTime::now()).add(2, "now".into())?,
            s().on_missed(Missed::Skip).cron("0 8 * * MON-FRI").tick()?,
            s().after(Duration::from_secs(1))
                .report(Report { lines: 3 })?,
            s().after(Duration::from_secs(1)).read()?,
        ])
    }

    #[action]
    async fn add(&mut self, by: u32, why: String) {
        let _ = (by, why);
    }

    #[action]
    async fn tick(&mut self, ctx: &Ctx<Self>) -> Result<usize, ActorError> {
        if let Some(id) = self.next.take() {
            ctx.schedule().cancel(id)?;
        }
        Ok(ctx.schedule().list().len())
    }

    #[action]
    async fn read(&self) -> u32 {
        0
    }

    #[queue]
    async fn report(&mut self, report: Report) {
        let _ = report.lines;
    }
}

fn main() {}
