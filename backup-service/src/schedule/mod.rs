//! Scheduled backups (issue 11), the parts that stand below the scheduler: [`spec`], when a
//! schedule fires. The tables and the exactly-once fire are in `store::schedules`.

pub mod spec;

pub use spec::{Spec, SpecError, SpecInput};
