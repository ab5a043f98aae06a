//! Runs the real host scripts with bash on temp trees the way JOB does (the param split by a
//! shell, stdout and stderr in one log) and checks what the parser makes of their output.
//! Permission tests drop to `nobody` with setpriv or runuser, as root alone reads everything.

mod support;

/// Named `hostscript::…` so `cargo test hostscript` runs these with the unit tests.
mod hostscript {
    mod backup;
    mod manifest;
    mod protocol;
    mod prune;
    mod search;
    mod unsafe_names;
}
