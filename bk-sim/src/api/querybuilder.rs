//! CMDB QueryBuilder filters (`host_property_filter`, `set_property_filter`, `module_property_filter`,
//! `biz_property_filter`): validation with CMDB's limits and evaluation against one JSON object.
//!
//! Decision: regex operators (`begins_with`, `contains`, `ends_with`) match the value literally; CMDB uses
//! it unescaped as a regex, which differs only for values containing metacharacters.

use serde_json::{Map, Value};

use super::ApiError;

const OPERATORS: &[&str] = &[
    "equal",
    "not_equal",
    "in",
    "not_in",
    "less",
    "less_or_equal",
    "greater",
    "greater_or_equal",
    "datetime_less",
    "datetime_less_or_equal",
    "datetime_greater",
    "datetime_greater_or_equal",
    "begins_with",
    "not_begins_with",
    "contains",
    "not_contains",
    "ends_with",
    "not_ends_with",
    "is_empty",
    "is_not_empty",
    "is_null",
    "is_not_null",
    "exist",
    "not_exist",
];

/// Host fields stored as arrays and returned comma-joined: a rule matches if any element does.
const MULTI_VALUED: &[&str] = &[
    "bk_host_innerip",
    "bk_host_outerip",
    "bk_host_innerip_v6",
    "bk_host_outerip_v6",
    "operator",
    "bk_bak_operator",
];

fn invalid(key: &str, why: &str) -> ApiError {
    ApiError::new(
        1_199_006,
        format!("'{key}' data parameter verification does not pass, {why}"),
    )
}

/// Checks a filter: combined at the top, depth ≤ 3, known operators, well-typed values.
pub fn validate(filter: &Value, key: &str) -> Result<(), ApiError> {
    if filter.get("condition").is_none() {
        return Err(invalid(key, "query filter must be combined rules"));
    }
    if depth(filter, key)? > 3 {
        return Err(invalid(key, "rules exceed max query condition deepth: 3"));
    }
    Ok(())
}

fn depth(node: &Value, key: &str) -> Result<usize, ApiError> {
    if let Some(cond) = node.get("condition") {
        if cond != "AND" && cond != "OR" {
            return Err(invalid(key, "condition must be AND or OR"));
        }
        let rules = node
            .get("rules")
            .and_then(Value::as_array)
            .filter(|r| !r.is_empty());
        let Some(rules) = rules else {
            return Err(invalid(key, "rules must not be empty"));
        };
        let mut max = 0;
        for r in rules {
            max = max.max(depth(r, key)?);
        }
        return Ok(max + 1);
    }
    let Some(op) = node.get("operator").and_then(Value::as_str) else {
        return Err(invalid(key, "no query filter found"));
    };
    if !OPERATORS.contains(&op) {
        return Err(invalid(key, &format!("unsupported operator {op}")));
    }
    let field = node
        .get("field")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let field_ok = field
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !field_ok {
        return Err(invalid(key, &format!("invalid field {field}")));
    }
    let value = node.get("value");
    let ok = match op {
        "in" | "not_in" => value
            .and_then(Value::as_array)
            .is_some_and(|a| homogeneous(a)),
        "less" | "less_or_equal" | "greater" | "greater_or_equal" => {
            value.is_some_and(Value::is_number)
        }
        "begins_with" | "not_begins_with" | "contains" | "not_contains" | "ends_with"
        | "not_ends_with" => value.and_then(Value::as_str).is_some_and(|s| !s.is_empty()),
        "equal" | "not_equal" => {
            value.is_some_and(|v| v.is_number() || v.is_string() || v.is_boolean())
        }
        _ => true,
    };
    if !ok {
        return Err(invalid(key, &format!("invalid value for operator {op}")));
    }
    Ok(1)
}

fn homogeneous(a: &[Value]) -> bool {
    let kind = |v: &Value| match v {
        Value::Number(_) => 1,
        Value::String(_) => 2,
        Value::Bool(_) => 3,
        _ => 0,
    };
    a.first()
        .is_none_or(|f| kind(f) != 0 && a.iter().all(|v| kind(v) == kind(f)))
}

/// Whether `obj` satisfies an already validated filter.
pub fn matches(filter: &Value, obj: &Map<String, Value>) -> bool {
    if let Some(cond) = filter.get("condition") {
        let rules = filter
            .get("rules")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        return if cond == "OR" {
            rules.iter().any(|r| matches(r, obj))
        } else {
            rules.iter().all(|r| matches(r, obj))
        };
    }
    let field = filter
        .get("field")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let op = filter
        .get("operator")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let want = filter.get("value").cloned().unwrap_or(Value::Null);
    let have = obj.get(field);
    match op {
        "exist" => have.is_some(),
        "not_exist" => have.is_none(),
        "is_null" => have.is_none_or(Value::is_null),
        "is_not_null" => have.is_some_and(|v| !v.is_null()),
        "is_empty" => have.is_some_and(|v| v.as_array().is_some_and(Vec::is_empty)),
        "is_not_empty" => !have.is_some_and(|v| v.as_array().is_some_and(Vec::is_empty)),
        _ => {
            let candidates = elements(field, have);
            let negated = op.starts_with("not_");
            let positive = if negated { &op[4..] } else { op };
            let hit = candidates.iter().any(|v| atom(positive, v, &want));
            if negated { !hit } else { hit }
        }
    }
}

fn elements(field: &str, have: Option<&Value>) -> Vec<Value> {
    match have {
        None => vec![],
        Some(Value::String(s)) if MULTI_VALUED.contains(&field) => {
            s.split(',').map(|p| Value::String(p.to_string())).collect()
        }
        Some(v) => vec![v.clone()],
    }
}

fn atom(op: &str, have: &Value, want: &Value) -> bool {
    let num = |v: &Value| v.as_f64();
    let s = |v: &Value| v.as_str().map(str::to_string);
    match op {
        "equal" => have == want || (num(have).is_some() && num(have) == num(want)),
        "in" => want
            .as_array()
            .is_some_and(|a| a.iter().any(|w| atom("equal", have, w))),
        "less" => matches!((num(have), num(want)), (Some(a), Some(b)) if a < b),
        "less_or_equal" => matches!((num(have), num(want)), (Some(a), Some(b)) if a <= b),
        "greater" => matches!((num(have), num(want)), (Some(a), Some(b)) if a > b),
        "greater_or_equal" => matches!((num(have), num(want)), (Some(a), Some(b)) if a >= b),
        "datetime_less" => matches!((s(have), s(want)), (Some(a), Some(b)) if a < b),
        "datetime_less_or_equal" => matches!((s(have), s(want)), (Some(a), Some(b)) if a <= b),
        "datetime_greater" => matches!((s(have), s(want)), (Some(a), Some(b)) if a > b),
        "datetime_greater_or_equal" => matches!((s(have), s(want)), (Some(a), Some(b)) if a >= b),
        "begins_with" => matches!((s(have), s(want)), (Some(a), Some(b)) if a.starts_with(&b)),
        "ends_with" => matches!((s(have), s(want)), (Some(a), Some(b)) if a.ends_with(&b)),
        "contains" => {
            matches!((s(have), s(want)), (Some(a), Some(b)) if a.to_lowercase().contains(&b.to_lowercase()))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn host() -> Map<String, Value> {
        json!({"bk_host_id": 7, "bk_host_innerip": "10.0.0.1,10.0.0.2", "bk_os_type": "1", "bk_host_name": "Game-GS-01"})
            .as_object()
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn a_rule_matches_any_element_of_a_multi_valued_ip_field() {
        let f = json!({"condition": "AND", "rules": [{"field": "bk_host_innerip", "operator": "equal", "value": "10.0.0.2"}]});
        assert!(matches(&f, &host()));
    }

    #[test]
    fn contains_ignores_case_and_not_in_negates() {
        let f = json!({"condition": "AND", "rules": [
            {"field": "bk_host_name", "operator": "contains", "value": "game-gs"},
            {"field": "bk_os_type", "operator": "not_in", "value": ["2"]}
        ]});
        assert!(matches(&f, &host()));
    }

    #[test]
    fn an_atom_at_the_top_level_is_rejected() {
        let f = json!({"field": "bk_host_id", "operator": "equal", "value": 1});
        assert_eq!(
            validate(&f, "host_property_filter").map_err(|e| e.code),
            Err(1_199_006)
        );
    }

    #[test]
    fn between_is_rejected_as_unsupported() {
        let f = json!({"condition": "AND", "rules": [{"field": "bk_cpu", "operator": "between", "value": [1, 2]}]});
        assert_eq!(
            validate(&f, "host_property_filter").map_err(|e| e.code),
            Err(1_199_006)
        );
    }

    #[test]
    fn four_levels_exceed_the_maximum_depth() {
        let atom = json!({"field": "bk_host_id", "operator": "equal", "value": 1});
        let l2 = json!({"condition": "AND", "rules": [atom]});
        let l3 = json!({"condition": "OR", "rules": [l2]});
        let l4 = json!({"condition": "AND", "rules": [l3.clone()]});
        assert_eq!(validate(&l3, "f").map_err(|e| e.code), Ok(()));
        assert_eq!(validate(&l4, "f").map_err(|e| e.code), Err(1_199_006));
    }
}
