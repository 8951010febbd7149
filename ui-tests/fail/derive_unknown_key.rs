#[derive(Debug, actor::ActorError)]
#[actor_error(grup = "billing")]
pub enum BillingError {
    Declined,
}

impl std::fmt::Display for BillingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("declined")
    }
}

fn main() {}
