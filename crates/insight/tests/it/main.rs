//! Integration tests of the insight crate: import, store, analyses and bad input.
//! One test binary (modules below) so the crate links once.

mod analyses;
mod bad_input;
mod common;
mod end_to_end;
mod geography;
mod import_files;
mod parser_props;
mod real_data;
