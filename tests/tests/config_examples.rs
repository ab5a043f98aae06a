//! The example settings files (`job-gateway/config.example.toml`,
//! `backup-service/config.example.toml`) load with each service's real settings loader and
//! name every setting the service has, so neither can rot: a renamed key fails to load
//! (`deny_unknown_fields`), a new setting missing from an example fails the key comparison.
//!
//! The service's keys come from its settings types themselves: [`setting_keys`] runs serde's
//! derived `Deserialize` of `Settings` against a deserializer that records every struct field
//! it is asked for, so no list is kept by hand.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::rc::Rc;

use serde::Deserialize;
use serde::de::value::{Error, StrDeserializer};
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};

fn example(crate_dir: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(crate_dir)
        .join("config.example.toml")
}

type Seen = Rc<RefCell<BTreeSet<String>>>;

/// Answers every request of a derived `Deserialize` with a plausible value and records the
/// dotted path of every struct field asked for.
struct Recorder {
    path: String,
    seen: Seen,
}

struct Fields {
    path: String,
    fields: std::slice::Iter<'static, &'static str>,
    current: Option<String>,
    seen: Seen,
}

impl<'de> MapAccess<'de> for Fields {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(field) = self.fields.next() else {
            return Ok(None);
        };
        let path = if self.path.is_empty() {
            (*field).to_owned()
        } else {
            format!("{}.{field}", self.path)
        };
        self.seen.borrow_mut().insert(path.clone());
        self.current = Some(path);
        let key: StrDeserializer<'_, Error> = field.into_deserializer();
        seed.deserialize(key).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        seed.deserialize(Recorder {
            path: self.current.take().unwrap_or_default(),
            seen: self.seen.clone(),
        })
    }
}

/// Integer requests answered with 1.
macro_rules! ints {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
            v.visit_u64(1)
        })*
    };
}

impl<'de> de::Deserializer<'de> for Recorder {
    type Error = Error;
    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_str("127.0.0.1:1")
    }
    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_bool(false)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_f64(1.0)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_f64(1.0)
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_some(self)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, Error> {
        v.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_seq(de::value::SeqDeserializer::new(std::iter::empty::<u8>()))
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        let first: StrDeserializer<'_, Error> = variants[0].into_deserializer();
        v.visit_enum(first)
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        v.visit_map(Fields {
            path: self.path,
            fields: fields.iter(),
            current: None,
            seen: self.seen,
        })
    }
    fn deserialize_u64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_u64(1)
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        // A map-valued setting (say, per-business limits) names no keys of its own.
        v.visit_map(de::value::MapDeserializer::new(std::iter::empty::<(
            String,
            u8,
        )>()))
    }
    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_unit()
    }
    serde::forward_to_deserialize_any! {
        char str string bytes byte_buf unit_struct tuple tuple_struct identifier ignored_any
    }
    ints! { deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_u8
    deserialize_u16 deserialize_u32 }
}

/// Every setting of `T` as a dotted key (`bk.app_secret`), sections left out.
fn setting_keys<T: for<'de> Deserialize<'de>>() -> BTreeSet<String> {
    let seen = Seen::default();
    let recorder = Recorder {
        path: String::new(),
        seen: seen.clone(),
    };
    if let Err(e) = T::deserialize(recorder) {
        panic!("cannot walk the settings types: {e}");
    }
    let all = seen.borrow().clone();
    all.iter()
        .filter(|k| !all.iter().any(|other| other.starts_with(&format!("{k}."))))
        .cloned()
        .collect()
}

/// Every key an example names, set (`key = 1`) or shown unset (`#key = 1`), under its section.
fn example_keys(text: &str) -> BTreeSet<String> {
    let mut section = String::new();
    let mut keys = BTreeSet::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            continue;
        }
        let setting = line.strip_prefix('#').unwrap_or(line);
        let Some((key, _)) = setting.split_once(" = ") else {
            continue;
        };
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            continue;
        }
        keys.insert(if section.is_empty() {
            key.to_owned()
        } else {
            format!("{section}.{key}")
        });
    }
    keys
}

/// Settings the example lacks, and keys it names that the service does not have.
fn differences(text: &str, settings: &BTreeSet<String>) -> (Vec<String>, Vec<String>) {
    let named = example_keys(text);
    (
        settings.difference(&named).cloned().collect(),
        named.difference(settings).cloned().collect(),
    )
}

fn assert_same_keys(example: &str, settings: BTreeSet<String>) {
    let text = std::fs::read_to_string(example).unwrap();
    let (missing, unknown) = differences(&text, &settings);
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "{example}: settings missing from the example {missing:?}; keys the service does not have {unknown:?}"
    );
}

#[test]
fn the_job_gateway_example_loads_with_the_real_loader_and_names_every_setting() {
    let path = example("job-gateway");
    let settings = job_gateway::config::Settings::load(Some(&path))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let defaults = job_gateway::config::Settings::default();
    assert_eq!(
        (
            settings.listen_addr,
            settings.bk.timeout_ms,
            settings.watch.max_interval_ms
        ),
        (
            defaults.listen_addr,
            defaults.bk.timeout_ms,
            defaults.watch.max_interval_ms
        )
    );
    let keys = setting_keys::<job_gateway::config::Settings>();
    assert!(keys.contains("bk.app_secret") && keys.contains("watch.max_lifetime_ms"));
    assert_same_keys(path.to_str().unwrap(), keys);
}

#[test]
fn the_backup_service_example_loads_with_the_real_loader_and_names_every_setting() {
    let path = example("backup-service");
    let settings = backup_service::config::Settings::load(Some(&path))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let defaults = backup_service::config::Settings::default();
    assert_eq!(
        (
            settings.listen_addr,
            settings.worker.lease_ms,
            settings.plan.args_variable
        ),
        (
            defaults.listen_addr,
            defaults.worker.lease_ms,
            defaults.plan.args_variable
        )
    );
    let keys = setting_keys::<backup_service::config::Settings>();
    assert!(keys.contains("database.url") && keys.contains("plan.hosts_variable"));
    assert_same_keys(path.to_str().unwrap(), keys);
}

#[test]
fn a_setting_missing_from_an_example_or_unknown_to_the_service_is_noticed() {
    let keys = setting_keys::<job_gateway::config::Settings>();
    assert!(keys.len() > 30, "only {} settings: {keys:?}", keys.len());
    let path = example("job-gateway");
    let full = std::fs::read_to_string(&path).unwrap();
    // A set key, a key shown unset (`#key = ...`) and a comment that only looks like a key.
    let edited = full
        .replace("\nrate_burst = 50\n", "\n")
        .replace("#key_file = ", "#kee_file = ")
        .replace("# human | json", "# format = human | json");
    assert_eq!(
        differences(&edited, &keys),
        (
            vec!["bk.rate_burst".to_owned(), "tls.key_file".to_owned()],
            vec!["tls.kee_file".to_owned()]
        )
    );
    assert_eq!(differences(&full, &keys), (vec![], vec![]));
}
