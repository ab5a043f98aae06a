//! SQL of the audit trail (migration `20261205000061_audit_events`): one row per mutating call,
//! read per business newest first with keyset pages on `(at, id)`.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::StoreError;

/// One event to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// When the call decided.
    pub at: DateTime<Utc>,
    /// The service token's name; empty for a person's login.
    pub token_name: String,
    /// The BlueKing user the call acted as.
    pub bk_username: String,
    /// The business acted on, when known.
    pub bk_biz_id: Option<i64>,
    /// The RPC.
    pub action: &'static str,
    /// A backup or schedule id; empty for none.
    pub target: String,
    /// The gRPC code's name.
    pub code: &'static str,
    /// The error message or a summary.
    pub message: String,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EventRow {
    /// Id.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Token name.
    pub token_name: String,
    /// User.
    pub bk_username: String,
    /// Business.
    pub bk_biz_id: Option<i64>,
    /// RPC.
    pub action: String,
    /// Target.
    pub target: String,
    /// Result code.
    pub code: String,
    /// Message.
    pub message: String,
}

/// Filters of ListAuditEvents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct EventFilter {
    /// Business (required by the RPC).
    pub bk_biz_id: i64,
    /// Any of these actions; empty for all.
    pub actions: Vec<String>,
    /// User.
    pub bk_username: Option<String>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub before: Option<DateTime<Utc>>,
}

/// Stores `event`.
pub async fn insert(pool: &PgPool, e: &NewEvent) -> Result<(), StoreError> {
    sqlx::query(
        "insert into audit_events (at, token_name, bk_username, bk_biz_id, action, target, \
           code, message) values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(e.at)
    .bind(&e.token_name)
    .bind(&e.bk_username)
    .bind(e.bk_biz_id)
    .bind(e.action)
    .bind(&e.target)
    .bind(e.code)
    .bind(&e.message)
    .execute(pool)
    .await?;
    Ok(())
}

/// One page of `filter`'s events newest first, after `(at, id)` when given; one row more than
/// `page_size` tells the caller another page exists.
pub async fn list(
    pool: &PgPool,
    filter: &EventFilter,
    after: Option<(DateTime<Utc>, i64)>,
    page_size: u32,
) -> Result<(Vec<EventRow>, bool), StoreError> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
        "select id, at, token_name, bk_username, bk_biz_id, action, target, code, message \
         from audit_events where bk_biz_id = ",
    );
    q.push_bind(filter.bk_biz_id);
    if !filter.actions.is_empty() {
        q.push(" and action = any(")
            .push_bind(filter.actions.clone())
            .push(")");
    }
    if let Some(user) = &filter.bk_username {
        q.push(" and bk_username = ").push_bind(user.clone());
    }
    if let Some(t) = filter.from {
        q.push(" and at >= ").push_bind(t);
    }
    if let Some(t) = filter.before {
        q.push(" and at < ").push_bind(t);
    }
    if let Some((at, id)) = after {
        q.push(" and (at, id) < (")
            .push_bind(at)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    q.push(" order by at desc, id desc limit ")
        .push_bind(i64::from(page_size) + 1);
    let mut rows: Vec<EventRow> = q.build_query_as().fetch_all(pool).await?;
    let more = rows.len() > page_size as usize;
    rows.truncate(page_size as usize);
    Ok((rows, more))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at: &str, biz: i64, action: &'static str, user: &str) -> NewEvent {
        NewEvent {
            at: at.parse().unwrap(),
            token_name: "saas".into(),
            bk_username: user.into(),
            bk_biz_id: Some(biz),
            action,
            target: String::new(),
            code: "OK",
            message: String::new(),
        }
    }

    #[sqlx::test(migrations = "../migrations")]
    async fn events_are_read_per_business_newest_first_filtered_and_paged_without_gaps(
        pool: PgPool,
    ) {
        for (i, action) in ["StartBackup", "CancelBackup", "StartBackup"]
            .iter()
            .enumerate()
        {
            let at = format!("2026-12-05T04:0{i}:00Z");
            insert(&pool, &event(&at, 3, action, "alice"))
                .await
                .unwrap();
            insert(&pool, &event(&at, 5, action, "bob")).await.unwrap();
        }
        let filter = EventFilter {
            bk_biz_id: 3,
            ..Default::default()
        };
        let (first, more) = list(&pool, &filter, None, 2).await.unwrap();
        assert!(more);
        assert_eq!(
            first.iter().map(|e| e.at.to_rfc3339()).collect::<Vec<_>>(),
            ["2026-12-05T04:02:00+00:00", "2026-12-05T04:01:00+00:00"]
        );
        let last = first.last().unwrap();
        let (rest, more) = list(&pool, &filter, Some((last.at, last.id)), 2)
            .await
            .unwrap();
        assert!(!more);
        assert_eq!(rest.len(), 1);
        assert!(first.iter().chain(&rest).all(|e| e.bk_biz_id == Some(3)));
        let starts = EventFilter {
            actions: vec!["StartBackup".into()],
            bk_username: Some("alice".into()),
            ..filter
        };
        let (rows, _) = list(&pool, &starts, None, 10).await.unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|e| e.action == "StartBackup"));
    }
}
