//! Selector resolutions shared by the fires of one tick. Fires that resolve the same selector
//! in the same business as the same operator during one tick ask CMDB once: a burst of
//! schedules due at one instant over the same module (one per directory or suffix, say) costs
//! one resolution instead of one each, which also spares BlueKing's rate limit. Each tick
//! starts with none shared and nothing outlives it, so no fire uses an answer older than the
//! tick that made it; a manual trigger always asks CMDB itself.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;

use crate::error::{BackupError, Result};

/// Business, selector (its stored JSON text) and operator.
type Key = (i64, String, String);
/// The hosts, or why the selector could not be resolved (the error's message).
type Answer = std::result::Result<Arc<Vec<i64>>, String>;

/// The resolutions of one tick; clones share them.
#[derive(Clone, Default)]
pub(crate) struct Resolutions {
    cells: Arc<Mutex<HashMap<Key, Arc<OnceCell<Answer>>>>>,
}

impl Resolutions {
    /// The answer for `key`: the one already given this tick (or being asked for now by
    /// another fire, which this waits for), else what `resolve` answers. A refusal comes back
    /// as FAILED_PRECONDITION carrying the first refusal's message unchanged.
    pub(crate) async fn get(
        &self,
        key: Key,
        resolve: impl Future<Output = Result<Vec<i64>>>,
    ) -> Result<Vec<i64>> {
        let cell = {
            let mut cells = self.cells.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(cells.entry(key).or_default())
        };
        let answer = cell
            .get_or_init(|| async { resolve.await.map(Arc::new).map_err(|e| e.to_string()) })
            .await;
        match answer {
            Ok(hosts) => Ok(hosts.as_ref().clone()),
            Err(message) => Err(BackupError::FailedPrecondition(message.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn key(biz: i64, selector: &str, operator: &str) -> Key {
        (biz, selector.to_owned(), operator.to_owned())
    }

    #[tokio::test]
    async fn fires_of_one_tick_with_the_same_selector_business_and_operator_ask_once() {
        let asked = AtomicUsize::new(0);
        let shared = Resolutions::default();
        let ask = |hosts: Vec<i64>| {
            let asked = &asked;
            async move {
                asked.fetch_add(1, Ordering::SeqCst);
                Ok(hosts)
            }
        };
        let same = key(3, r#"{"bk_module_ids":[3001]}"#, "alice");
        let (a, b) = tokio::join!(
            shared.get(same.clone(), ask(vec![1001, 1002])),
            shared.get(same.clone(), ask(vec![9])),
        );
        assert_eq!(
            (a.unwrap(), b.unwrap()),
            (vec![1001, 1002], vec![1001, 1002])
        );
        assert_eq!(asked.load(Ordering::SeqCst), 1);
        for other in [
            key(5, r#"{"bk_module_ids":[3001]}"#, "alice"),
            key(3, r#"{"bk_module_ids":[3002]}"#, "alice"),
            key(3, r#"{"bk_module_ids":[3001]}"#, "bob"),
        ] {
            shared.get(other, ask(vec![7])).await.unwrap();
        }
        assert_eq!(asked.load(Ordering::SeqCst), 4, "any difference asks again");
        let next_tick = Resolutions::default();
        assert_eq!(next_tick.get(same, ask(vec![1003])).await.unwrap(), [1003]);
    }

    #[tokio::test]
    async fn a_refusal_is_shared_with_its_message_unchanged() {
        let shared = Resolutions::default();
        let k = key(3, "{}", "bob");
        let refused = shared
            .get(k.clone(), async {
                Err(BackupError::Upstream(tonic::Status::permission_denied(
                    "no permission on business 3",
                )))
            })
            .await
            .unwrap_err();
        let again = shared.get(k, async { Ok(vec![1]) }).await.unwrap_err();
        assert_eq!(
            refused.to_string(),
            "job-gateway: no permission on business 3"
        );
        assert_eq!(again.to_string(), refused.to_string());
    }
}
