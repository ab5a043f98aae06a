//! search_business's legacy Mongo-style `condition` after CMDB rewrites it (docs/blueking.md).
//!
//! Decision: CMDB hands the rewritten object to Mongo, so operators follow Mongo (`$eq`, `$ne`, `$in`,
//! `$nin`, `$gt`, `$gte`, `$lt`, `$lte`, `$exists`, `$regex` with `$options`). `$where`, `$expr`,
//! `$accumulator` and `$function` are refused as CMDB refuses them (`1199006` `condition`); any other
//! operator fails as a failed query (`1199017`) rather than silently matching nothing. `$regex` matches
//! literally apart from `^`/`$` anchors and `\`-escapes, like the QueryBuilder regex operators here.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::params_invalid;
use crate::api::ApiError;

const FORBIDDEN: &[&str] = &["$where", "$expr", "$accumulator", "$function"];

/// User fields: a string names users who must all appear in the stored comma list.
const USER_FIELDS: &[&str] = &[
    "bk_biz_maintainer",
    "bk_biz_productor",
    "bk_biz_developer",
    "bk_biz_tester",
    "operator",
];

/// Whether `biz` satisfies every key of `cond`; errors for refused or unknown operators.
pub(super) fn matches(
    cond: &Map<String, Value>,
    biz: &Map<String, Value>,
) -> Result<bool, ApiError> {
    if has_forbidden(&Value::Object(cond.clone())) {
        return Err(params_invalid("condition"));
    }
    for (field, want) in cond {
        let have = biz.get(field);
        let ok = match (field.as_str(), want) {
            ("bk_biz_id", w) => biz_id(w, have)?,
            (f, _) if f.starts_with('$') => return Err(unsupported(f)),
            (f, Value::String(s)) if USER_FIELDS.contains(&f) => {
                let stored: Vec<&str> = have
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .split(',')
                    .collect();
                s.split(',').all(|u| stored.contains(&u))
            }
            (_, Value::String(s)) => have
                .and_then(Value::as_str)
                .is_some_and(|h| h.to_lowercase().contains(&s.to_lowercase())),
            (_, Value::Object(ops)) if ops.keys().any(|k| k.starts_with('$')) => {
                operators(ops, have)?
            }
            (_, w) => have == Some(w),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn has_forbidden(v: &Value) -> bool {
    match v {
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| FORBIDDEN.contains(&k.as_str()) || has_forbidden(v)),
        Value::Array(a) => a.iter().any(has_forbidden),
        _ => false,
    }
}

fn unsupported(op: &str) -> ApiError {
    ApiError::new(
        1_199_017,
        format!("Failed to query data: unknown operator {op}"),
    )
}

/// `bk_biz_id` accepts only a number, `{"$eq": n}` or `{"$in": [...]}`.
fn biz_id(want: &Value, have: Option<&Value>) -> Result<bool, ApiError> {
    let id = have.and_then(Value::as_i64);
    if let Some(n) = want.as_i64() {
        Ok(id == Some(n))
    } else if let Some(n) = want.get("$eq").and_then(Value::as_i64) {
        Ok(id == Some(n))
    } else if let Some(a) = want.get("$in").and_then(Value::as_array) {
        Ok(a.iter().any(|x| x.as_i64() == id))
    } else {
        Err(params_invalid("bk_biz_id"))
    }
}

/// An operator object: every operator must hold.
fn operators(ops: &Map<String, Value>, have: Option<&Value>) -> Result<bool, ApiError> {
    let null = Value::Null;
    let value = have.unwrap_or(&null);
    for (op, arg) in ops {
        let ok = match op.as_str() {
            "$eq" => value == arg,
            "$ne" => value != arg,
            "$in" => list(op, arg)?.contains(value),
            "$nin" => !list(op, arg)?.contains(value),
            "$gt" => compare(value, arg) == Some(Ordering::Greater),
            "$gte" => matches!(
                compare(value, arg),
                Some(Ordering::Greater | Ordering::Equal)
            ),
            "$lt" => compare(value, arg) == Some(Ordering::Less),
            "$lte" => matches!(compare(value, arg), Some(Ordering::Less | Ordering::Equal)),
            "$exists" => have.is_some() == arg.as_bool().unwrap_or(true),
            "$regex" => {
                let options = ops.get("$options").and_then(Value::as_str).unwrap_or("");
                let Some(pattern) = arg.as_str() else {
                    return Err(unsupported(op));
                };
                value
                    .as_str()
                    .is_some_and(|s| regex_match(pattern, s, options.contains('i')))
            }
            "$options" if ops.contains_key("$regex") => true,
            other => return Err(unsupported(other)),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn list<'a>(op: &str, arg: &'a Value) -> Result<&'a Vec<Value>, ApiError> {
    arg.as_array().ok_or_else(|| unsupported(op))
}

/// Mongo orders numbers with numbers and strings with strings; mixed types never match.
fn compare(have: &Value, want: &Value) -> Option<Ordering> {
    match (have, want) {
        (Value::Number(h), Value::Number(w)) => h.as_f64()?.partial_cmp(&w.as_f64()?),
        (Value::String(h), Value::String(w)) => Some(h.cmp(w)),
        _ => None,
    }
}

/// Literal match with optional `^` / `$` anchors; `\x` stands for `x`.
fn regex_match(pattern: &str, s: &str, ignore_case: bool) -> bool {
    let (start, rest) = match pattern.strip_prefix('^') {
        Some(r) => (true, r),
        None => (false, pattern),
    };
    let (end, body) = match rest.strip_suffix('$') {
        Some(b) if !b.ends_with('\\') => (true, b),
        _ => (false, rest),
    };
    let mut literal = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        literal.push(if c == '\\' {
            chars.next().unwrap_or(c)
        } else {
            c
        });
    }
    let (s, literal) = if ignore_case {
        (s.to_lowercase(), literal.to_lowercase())
    } else {
        (s.to_owned(), literal)
    };
    match (start, end) {
        (true, true) => s == literal,
        (true, false) => s.starts_with(&literal),
        (false, true) => s.ends_with(&literal),
        (false, false) => s.contains(&literal),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn biz() -> Map<String, Value> {
        json!({"bk_biz_id": 3, "bk_biz_name": "Game", "bk_data_status": "enable",
               "bk_biz_maintainer": "admin,alice", "default": 0})
        .as_object()
        .cloned()
        .unwrap()
    }

    fn check(cond: Value) -> Result<bool, i64> {
        matches(cond.as_object().unwrap(), &biz()).map_err(|e| e.code)
    }

    #[test]
    fn membership_operators_compare_values_not_objects() {
        assert_eq!(
            check(json!({"bk_data_status": {"$in": ["enable", "disabled"]}})),
            Ok(true)
        );
        assert_eq!(
            check(json!({"bk_data_status": {"$in": ["disabled"]}})),
            Ok(false)
        );
        assert_eq!(
            check(json!({"bk_data_status": {"$nin": ["disabled"]}})),
            Ok(true)
        );
        assert_eq!(
            check(json!({"bk_data_status": {"$nin": ["enable"]}})),
            Ok(false)
        );
    }

    #[test]
    fn eq_and_ne_are_exact_while_a_plain_string_is_a_case_insensitive_substring() {
        assert_eq!(check(json!({"bk_biz_name": {"$eq": "Game"}})), Ok(true));
        assert_eq!(check(json!({"bk_biz_name": {"$eq": "game"}})), Ok(false));
        assert_eq!(check(json!({"bk_biz_name": {"$ne": "Game"}})), Ok(false));
        assert_eq!(check(json!({"bk_biz_name": {"$ne": "Pay"}})), Ok(true));
        assert_eq!(check(json!({"bk_biz_name": "AM"})), Ok(true));
        assert_eq!(check(json!({"default": 0})), Ok(true));
        assert_eq!(check(json!({"default": 1})), Ok(false));
        assert_eq!(
            check(json!({"default": {"$ne": 1}, "bk_biz_maintainer": "alice"})),
            Ok(true)
        );
    }

    #[test]
    fn regex_honours_anchors_escapes_and_the_case_option() {
        assert_eq!(check(json!({"bk_biz_name": {"$regex": "^Ga"}})), Ok(true));
        assert_eq!(check(json!({"bk_biz_name": {"$regex": "^ga"}})), Ok(false));
        assert_eq!(
            check(json!({"bk_biz_name": {"$regex": "^ga", "$options": "i"}})),
            Ok(true)
        );
        assert_eq!(check(json!({"bk_biz_name": {"$regex": "me$"}})), Ok(true));
        assert_eq!(
            check(json!({"bk_biz_name": {"$regex": "^Gam$"}})),
            Ok(false)
        );
        assert_eq!(check(json!({"bk_biz_name": {"$regex": "a\\m"}})), Ok(true));
    }

    #[test]
    fn comparisons_and_exists_follow_mongo() {
        assert_eq!(check(json!({"default": {"$gte": 0, "$lt": 1}})), Ok(true));
        assert_eq!(check(json!({"default": {"$gt": 0}})), Ok(false));
        assert_eq!(check(json!({"default": {"$lte": "0"}})), Ok(false));
        assert_eq!(check(json!({"life_cycle": {"$exists": false}})), Ok(true));
        assert_eq!(check(json!({"default": {"$exists": true}})), Ok(true));
    }

    #[test]
    fn forbidden_operators_are_refused_anywhere_and_unknown_ones_fail_the_query() {
        assert_eq!(check(json!({"$where": "1"})), Err(1_199_006));
        assert_eq!(
            check(json!({"bk_biz_name": {"$in": [{"$function": {}}]}})),
            Err(1_199_006)
        );
        assert_eq!(check(json!({"bk_biz_name": {"$size": 1}})), Err(1_199_017));
        assert_eq!(check(json!({"$or": []})), Err(1_199_017));
        assert_eq!(check(json!({"bk_biz_id": {"$ne": 3}})), Err(1_199_006));
    }
}
