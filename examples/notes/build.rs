//! A new migration file recompiles the crate (`sqlx::migrate!` embeds the folder).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
