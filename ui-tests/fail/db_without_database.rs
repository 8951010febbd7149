use actor::prelude::*;

#[actor]
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Plain {}

#[actor]
impl Plain {
    #[action]
    async fn count(&self, ctx: &Ctx<Self>) -> Result<i64, ActorError> {
        let mut db = ctx.db().await?;
        let (n,): (i64,) = sqlx::query_as("SELECT 1").fetch_one(&mut *db).await?;
        Ok(n)
    }
}

fn main() {}
