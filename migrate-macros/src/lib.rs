//! The migrate!() macro.
