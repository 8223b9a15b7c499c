//! Integration tests of the matching crate: CSV matching end to end, quality on generated data
//! with known truth, property tests of normalisers and scores, and the command line.

mod cli;
mod csv_errors;
mod properties;
mod quality;

use std::path::PathBuf;

/// A fresh, empty folder for one test's files.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pathways-matching-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir is writable");
    dir
}

/// The map for files written by the generator.
pub const GENERATED_MAP: &str = "id=id,first_name=first_name,middle_names=middle_names,surname=surname,dob=dob,approx_birth_year=approx_birth_year,gender=gender,postcode=postcode,address_line=address_line,phone=phone,school=school,email=email";
