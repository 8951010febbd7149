//! trybuild cases live under `pass/` and `fail/`; see `tests/ui.rs`. The list of
//! diagnostics and their cases is in `docs/macros.md`.
