//! Fuzz target: `migrate_core::fuzzing::parse_one` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| migrate_core::fuzzing::parse_one(data));
