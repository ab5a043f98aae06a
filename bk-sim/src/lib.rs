//! bk-sim: a BlueKing simulator (JOB v3, CMDB, GSE) behind both front doors, ESB and API gateway.
//!
//! The world (apps, users, businesses, hosts, files, job plans) comes from one TOML file; job steps really
//! run `bash` on each target host inside a bubblewrap sandbox whose `/` is that host's own directory tree.
//! Start it in-process with [`startup::Application::build`] or [`startup::spawn`].

pub mod admin;
pub mod api;
pub mod auth;
pub mod callback;
pub mod config;
pub mod envelope;
pub mod error;
pub mod exec;
pub mod exec_file;
pub mod faults;
pub mod jobs;
pub mod login;
pub mod params;
pub mod pipeline;
pub mod reqlog;
pub mod sandbox;
pub mod startup;
pub mod state;
pub mod status;
pub mod telemetry;
pub mod transfer;
pub mod transport;
pub mod web;
pub mod world;

pub use config::Settings;
pub use error::{Result, SimError};
pub use startup::{Application, RunningSim, spawn};
pub use world::World;
