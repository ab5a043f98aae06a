//! This worker's own view of a claim's lease, on the monotonic clock: when the claim was made
//! or last renewed, so that right before an irreversible send (a launch) the worker can tell
//! whether the lease may already have run out — after the process was stopped and resumed,
//! say, when no database write has told it yet.
//!
//! Decision: the instant recorded is taken *before* the claim or renewal is sent, so the
//! local view never believes the lease lasts longer than the database does.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A claim's lease as this worker knows it.
#[derive(Debug)]
pub(super) struct Lease {
    length: Duration,
    renewed: Mutex<Instant>,
}

impl Lease {
    /// A lease of `length` claimed (or renewed) by a statement sent at `asked`.
    pub(super) fn new(length: Duration, asked: Instant) -> Self {
        Self {
            length,
            renewed: Mutex::new(asked),
        }
    }

    /// The lease's length.
    pub(super) fn length(&self) -> Duration {
        self.length
    }

    /// Notes a renewal sent at `asked` (an older one than already noted changes nothing).
    pub(super) fn renewed(&self, asked: Instant) {
        let mut at = self.renewed.lock().unwrap_or_else(|p| p.into_inner());
        *at = (*at).max(asked);
    }

    /// Whether at least [`Lease::margin`] of the lease is left now.
    pub(super) fn fresh(&self) -> bool {
        self.remaining_at(Instant::now()) > self.margin()
    }

    /// How much of the lease must be left to start a launch: a third, the heartbeat's
    /// period, so a healthy worker always has it and a resumed one never does.
    pub(super) fn margin(&self) -> Duration {
        self.length / 3
    }

    fn remaining_at(&self, now: Instant) -> Duration {
        let at = *self.renewed.lock().unwrap_or_else(|p| p.into_inner());
        (at + self.length).saturating_duration_since(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_fresh_until_less_than_a_third_of_it_is_left() {
        let start = Instant::now();
        let lease = Lease::new(Duration::from_secs(3), start);
        assert_eq!(
            lease.remaining_at(start + Duration::from_secs(1)),
            Duration::from_secs(2)
        );
        assert!(lease.remaining_at(start + Duration::from_millis(1999)) > lease.margin());
        assert!(lease.remaining_at(start + Duration::from_millis(2001)) < lease.margin());
        assert_eq!(
            lease.remaining_at(start + Duration::from_secs(10)),
            Duration::ZERO
        );
    }

    #[test]
    fn a_renewal_extends_the_lease_and_an_older_one_does_not_shorten_it() {
        let start = Instant::now();
        let lease = Lease::new(Duration::from_secs(3), start);
        lease.renewed(start + Duration::from_secs(2));
        lease.renewed(start + Duration::from_secs(1));
        assert_eq!(
            lease.remaining_at(start + Duration::from_secs(4)),
            Duration::from_secs(1)
        );
    }
}
