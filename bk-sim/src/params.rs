//! Uniform access to request parameters, whether they came from a JSON body or a query string.
//!
//! Query strings carry only strings, JSON carries typed values; getters accept both spellings of a number
//! or a boolean so one handler serves GET (gateway) and POST (ESB) alike.

use serde_json::{Map, Value};

/// Request parameters as one JSON object.
#[derive(Debug, Clone, Default)]
pub struct Params(pub Map<String, Value>);

/// A parameter that is present but has the wrong type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadType(pub String);

impl Params {
    /// Builds parameters from a query string map (all values strings).
    pub fn from_query(pairs: Vec<(String, String)>) -> Self {
        let mut map = Map::new();
        for (k, v) in pairs {
            map.insert(k, Value::String(v));
        }
        Self(map)
    }

    /// Raw value, `None` when absent or JSON `null`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// Whether the key is present and not null.
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Integer parameter; numeric strings are accepted.
    pub fn i64(&self, key: &str) -> Result<Option<i64>, BadType> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => as_i64(v).map(Some).ok_or_else(|| BadType(key.to_string())),
        }
    }

    /// String parameter; numbers are rendered as strings.
    pub fn str(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// Boolean parameter; `"true"`/`"false"` and 1/0 are accepted.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, BadType> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" => Ok(Some(true)),
            Some(Value::String(s)) if s == "false" => Ok(Some(false)),
            Some(v) => match as_i64(v) {
                Some(0) => Ok(Some(false)),
                Some(1) => Ok(Some(true)),
                _ => Err(BadType(key.to_string())),
            },
        }
    }

    /// Array parameter.
    pub fn array(&self, key: &str) -> Option<&Vec<Value>> {
        self.get(key)?.as_array()
    }

    /// Object parameter.
    pub fn object(&self, key: &str) -> Option<&Map<String, Value>> {
        self.get(key)?.as_object()
    }

    /// Sets a parameter, replacing any body copy (gateway path ids win over the body).
    pub fn set(&mut self, key: &str, value: Value) {
        self.0.insert(key.to_string(), value);
    }

    /// The parameters with credentials removed, for the request log.
    pub fn without_credentials(&self) -> Value {
        let mut m = self.0.clone();
        for k in CREDENTIAL_KEYS {
            m.remove(*k);
        }
        Value::Object(m)
    }
}

/// Keys that carry credentials and never reach the request log or the handlers' view.
pub const CREDENTIAL_KEYS: &[&str] = &[
    "bk_app_code",
    "bk_app_secret",
    "app_code",
    "app_secret",
    "bk_token",
    "bk_username",
    "username",
    "access_token",
];

/// Integer value of a JSON number or numeric string.
pub fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_read_as_typed_values() {
        let p = Params::from_query(vec![
            ("job_instance_id".into(), "42".into()),
            ("return_ip_result".into(), "true".into()),
        ]);
        assert_eq!(p.i64("job_instance_id"), Ok(Some(42)));
        assert_eq!(p.bool("return_ip_result"), Ok(Some(true)));
        assert_eq!(p.i64("missing"), Ok(None));
    }

    #[test]
    fn a_non_numeric_id_is_a_bad_type() {
        let p = Params::from_query(vec![("job_instance_id".into(), "x".into())]);
        assert_eq!(
            p.i64("job_instance_id"),
            Err(BadType("job_instance_id".into()))
        );
    }
}
