//! gRPC adapters of `backup.v1.BackupService`: one file per group of RPCs. Requests are
//! validated (in `convert`) before anything is stored or run.

mod backup;
mod files;
mod hosts;
mod lifecycle;
mod read;
mod search;

pub use backup::{BackupApi, Limits};
