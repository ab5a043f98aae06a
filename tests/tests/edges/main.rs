//! backup-service at its edges, end to end, in one test binary: honest answers (deadlines, an
//! unreachable database, oversized and compressed requests, error details in reflection) and
//! the bounds on what one caller or connection can hold, with the metrics an operator reads.

mod bounds;
mod honest_errors;

type Pool = sqlx::pool::PoolOptions<sqlx::Postgres>;
