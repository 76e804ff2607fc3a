//! Fuzz target: `migrate_core::fuzzing::graph_plan_script` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| migrate_core::fuzzing::graph_plan_script(data));
