#[derive(Debug, actor::ActorError)]
pub enum BillingError {
    Declined,
}

fn main() {}
