//! The SQL side, pure and always compiled: dialects and quoting, the statement splitter, the
//! history and log tables, and the generator that turns a plan into the exact statements a run
//! executes (also printed as offline SQL by [`script`]).

mod bookkeeping;
mod dialect;
mod lock;
mod options;
mod program;
mod split;

pub use bookkeeping::{Action, StateDigest, TOOL_VERSION, Tables, Timing, hex};
pub use dialect::Dialect;
pub use options::{DEFAULT_LEASE, Event, EventHook, LockMode, Options};
pub use program::{
    Generator, Origin, Program, StepKind, StepProgram, Stmt, all_or_nothing_refusal, script, stamp_script,
};
pub use split::{Statement, split};
