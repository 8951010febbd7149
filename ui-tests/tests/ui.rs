//! Every diagnostic the macros emit has a case under `fail/` with its `.stderr`
//! snapshot (the passing cases under `pass/` are test targets of this package: see its
//! `Cargo.toml`). Regenerate snapshots with `TRYBUILD=overwrite cargo test -p ui-tests`,
//! then read each one: every error must sit on the user's token and say what to write.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("fail/*.rs");
}
