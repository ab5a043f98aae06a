//! The simulated estate: the parsed world file indexed for O(1) lookups, shared read-only by every request.
//!
//! Decision: the world is immutable once loaded. Things that change at run time (agent up/down, faults,
//! jobs) live in `state::AppState`, so a 5,000-host world is never copied or locked by a request.

mod attrs;
mod index;
pub mod model;
mod plans;
pub mod seed;
mod types;

pub use index::World;
pub use model::WorldFile;
pub use types::{Business, Host, Module, Plan, PlanStep, PlanVar, SetNode};

/// Id offset for the idle-pool set generated for each business (`idle_set_id = OFFSET + biz * 10`).
pub const IDLE_OFFSET: i64 = 900_000_000;
