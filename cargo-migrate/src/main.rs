//! cargo migrate.
fn main() {}
