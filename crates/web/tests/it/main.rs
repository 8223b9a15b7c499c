//! End-to-end tests of the web layer: the real router on a loopback port over a fresh SQLite
//! database per test, driven by an HTTP client with a cookie store, as a browser would.

mod admin;
mod api;
mod cases;
mod directory;
mod foundation;
mod fuzz;
mod hardening;
mod idempotency;
mod instruments;
mod login;
mod logs;
mod matrix;
mod matrix_modules;
mod openapi;
mod panels;
mod referrals;
mod restriction;
mod support;
