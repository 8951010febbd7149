//! trybuild cases live under `pass/` and `fail/`; see `tests/ui.rs`.
