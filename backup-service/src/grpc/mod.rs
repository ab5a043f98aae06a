//! gRPC adapters of `backup.v1.BackupService` (one file per group of RPCs), of
//! `backup.v1.ScheduleService` (`schedule/`) and of `backup.v1.HostService` (`host_browse.rs`). Requests are
//! validated (in `convert`), and the business and hosts of a search or backup checked in CMDB
//! (`hosts.rs`), or its host selector resolved there (`crate::selector`), before anything is
//! stored or run.

mod audit;
mod audited;
mod backup;
mod files;
mod guard;
mod host_browse;
mod hosts;
mod lifecycle;
mod read;
mod schedule;
mod search;

pub use audit::AuditApi;
pub use backup::{BackupApi, Limits};
pub use guard::Guard;
pub use host_browse::HostApi;
pub use schedule::ScheduleApi;
