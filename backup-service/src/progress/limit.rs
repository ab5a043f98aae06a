//! The cap on WatchBackup streams one caller may hold open on a replica. Without it one
//! connection opened thousands of streams, each holding memory and a task, with no refusal.
//!
//! "One caller" is the authenticated caller identity when authentication is on (which
//! configured token's name, `service_kit::auth::Caller::token`: every user a delegator
//! names shares its token's cap), else the remote IP address.
//! A stream over the cap is refused with RESOURCE_EXHAUSTED naming the cap; a slot frees when
//! its stream ends or its caller goes away.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use service_kit::auth::Caller;
use tokio_stream::Stream;
use tonic::{Request, Status};

/// Open streams per caller, shared by the watch handlers of one replica.
#[derive(Debug, Clone)]
pub struct WatchLimit {
    max_per_caller: usize,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

impl WatchLimit {
    /// A cap of `max_per_caller` streams per caller.
    pub fn new(max_per_caller: usize) -> Self {
        Self {
            max_per_caller,
            open: Arc::default(),
        }
    }

    /// Takes a slot for the caller of `request`, or refuses when it already holds the cap.
    pub fn admit<T>(&self, request: &Request<T>) -> Result<WatchSlot, Status> {
        let caller = match request.extensions().get::<Caller>() {
            Some(caller) => caller.token.clone(),
            None => request
                .remote_addr()
                .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string()),
        };
        self.take(caller)
    }

    fn take(&self, caller: String) -> Result<WatchSlot, Status> {
        let mut open = self.open.lock().expect("watch limit lock");
        let n = open.entry(caller.clone()).or_insert(0);
        if *n >= self.max_per_caller {
            return Err(Status::resource_exhausted(format!(
                "too many WatchBackup streams: this caller already holds {n}, the limit is {} \
                 (watch.max_streams_per_caller)",
                self.max_per_caller
            )));
        }
        *n += 1;
        Ok(WatchSlot {
            caller,
            open: Arc::clone(&self.open),
        })
    }

    /// Streams `caller` holds now.
    pub fn held(&self, caller: &str) -> usize {
        let open = self.open.lock().expect("watch limit lock");
        open.get(caller).copied().unwrap_or(0)
    }
}

/// One open stream's slot; dropping it frees the slot.
#[derive(Debug)]
pub struct WatchSlot {
    caller: String,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

impl WatchSlot {
    /// `stream`, holding this slot until it is dropped.
    pub fn hold<S>(self, stream: S) -> Held<S> {
        Held {
            stream,
            _slot: self,
        }
    }
}

impl Drop for WatchSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().expect("watch limit lock");
        if let Some(n) = open.get_mut(&self.caller) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.caller);
            }
        }
    }
}

/// A stream holding a [`WatchSlot`].
#[derive(Debug)]
pub struct Held<S> {
    stream: S,
    _slot: WatchSlot,
}

impl<S: Stream + Unpin> Stream for Held<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        Pin::new(&mut self.stream).poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authed(who: &str) -> Request<()> {
        let mut r = Request::new(());
        r.extensions_mut().insert(Caller {
            token: who.to_owned(),
            user: None,
        });
        r
    }

    #[test]
    fn a_caller_past_the_cap_is_refused_and_others_are_not() {
        let limit = WatchLimit::new(2);
        let a1 = limit.admit(&authed("token#1")).unwrap();
        let _a2 = limit.admit(&authed("token#1")).unwrap();
        let err = limit.admit(&authed("token#1")).unwrap_err();
        assert_eq!(err.code(), tonic::Code::ResourceExhausted);
        assert!(
            err.message().contains("the limit is 2"),
            "{}",
            err.message()
        );
        let _b = limit.admit(&authed("token#2")).unwrap();
        drop(a1);
        let _a3 = limit.admit(&authed("token#1")).unwrap();
        assert_eq!(limit.held("token#1"), 2);
    }

    #[test]
    fn the_users_a_delegator_names_share_its_tokens_cap() {
        let limit = WatchLimit::new(1);
        let as_user = |user: &str| {
            let mut r = Request::new(());
            r.extensions_mut().insert(Caller {
                token: "saas".to_owned(),
                user: Some(user.to_owned()),
            });
            r
        };
        let _alice = limit.admit(&as_user("alice")).unwrap();
        let err = limit.admit(&as_user("bob")).unwrap_err();
        assert_eq!(err.code(), tonic::Code::ResourceExhausted);
        assert_eq!(limit.held("saas"), 1);
    }

    #[test]
    fn a_dropped_stream_frees_its_slot() {
        let limit = WatchLimit::new(1);
        let held = limit
            .admit(&authed("token#1"))
            .unwrap()
            .hold(tokio_stream::empty::<()>());
        assert_eq!(limit.held("token#1"), 1);
        drop(held);
        assert_eq!(limit.held("token#1"), 0);
    }
}
