#[derive(Debug, actor::ActorError)]
#[actor_error(group = "Billing", code = "declined")]
pub enum BillingError {
    #[actor_error(code = "Card Declined")]
    Declined,
    #[actor_error(group = "cards")]
    Expired,
}

impl std::fmt::Display for BillingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("declined")
    }
}

fn main() {}
