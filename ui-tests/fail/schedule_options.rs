use actor::prelude::*;

// A schedule limit of zero refuses every schedule; a minimum interval is a duration.
#[actor(max_schedules = 0, min_schedule_interval = "never")]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Planner {}

#[actor]
impl Planner {}

fn main() {}
