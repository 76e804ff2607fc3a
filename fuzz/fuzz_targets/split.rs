//! Fuzz target: `migrate_core::fuzzing::split_one` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| migrate_core::fuzzing::split_one(data));
