//! The scheduler's one source of time. In service it is the system clock; tests use a manual
//! clock they set and advance, so no test sleeps for real minutes. Everything the scheduler
//! decides (which fires are due, how late they are, the next fire) reads this clock and passes
//! the time down to the store as a parameter.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;

/// The scheduler's clock.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    /// The system's wall clock.
    #[default]
    System,
    /// A clock that moves only when told to (tests).
    Manual(ManualClock),
}

impl Clock {
    /// A manual clock reading `start`.
    pub fn manual(start: DateTime<Utc>) -> (Self, ManualClock) {
        let m = ManualClock::new(start);
        (Self::Manual(m.clone()), m)
    }

    /// What time it is.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Self::System => Utc::now(),
            Self::Manual(m) => m.now(),
        }
    }

    /// Waits until the clock reads `at` or later, or `most` of real time passed, whichever is
    /// first (a manual clock wakes as soon as it is moved past `at`).
    pub async fn sleep_until(&self, at: DateTime<Utc>, most: Duration) {
        match self {
            Self::System => {
                let wait = (at - Utc::now()).to_std().unwrap_or_default().min(most);
                tokio::time::sleep(wait).await;
            }
            Self::Manual(m) => {
                let mut rx = m.tx.subscribe();
                let _ = tokio::time::timeout(most, rx.wait_for(|now| *now >= at)).await;
            }
        }
    }
}

/// A clock tests set and advance; clones share the time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    tx: Arc<watch::Sender<DateTime<Utc>>>,
    // Serialises advances so two never lose one another's step.
    step: Arc<Mutex<()>>,
}

impl ManualClock {
    fn new(start: DateTime<Utc>) -> Self {
        Self {
            tx: Arc::new(watch::Sender::new(start)),
            step: Arc::default(),
        }
    }

    /// What time it is.
    pub fn now(&self) -> DateTime<Utc> {
        *self.tx.borrow()
    }

    /// Sets the time (it may go backwards, as a wall clock can).
    pub fn set(&self, t: DateTime<Utc>) {
        let _g = self.step.lock().expect("clock lock");
        self.tx.send_replace(t);
    }

    /// Moves the time forward by `d`; the new time.
    pub fn advance(&self, d: TimeDelta) -> DateTime<Utc> {
        let _g = self.step.lock().expect("clock lock");
        let t = *self.tx.borrow() + d;
        self.tx.send_replace(t);
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_wakes_a_sleeper_as_soon_as_it_passes_the_instant() {
        let t0: DateTime<Utc> = "2026-12-05T04:00:00Z".parse().unwrap();
        let (clock, manual) = Clock::manual(t0);
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move {
                clock
                    .sleep_until(t0 + TimeDelta::seconds(10), Duration::from_secs(600))
                    .await;
                clock.now()
            }
        });
        manual.advance(TimeDelta::seconds(5));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        manual.advance(TimeDelta::seconds(5));
        assert_eq!(sleeper.await.unwrap(), t0 + TimeDelta::seconds(10));
    }
}
