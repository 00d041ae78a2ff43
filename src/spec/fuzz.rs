//! Property test: config loading and validation never panic, whatever the JSON.
//! Configs are runc's default with random subtrees replaced by random values.

use proptest::prelude::*;
use serde_json::{Value, json};

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        "[a-zA-Z0-9_/.=:-]{0,12}".prop_map(Value::String),
        prop::sample::select(vec!["/", "..", "/proc", "CAP_KILL", "pid", "SCMP_ACT_ERRNO", "RLIMIT_NOFILE", "rbind"])
            .prop_map(|s| json!(s)),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every JSON pointer in `v`.
fn pointers(v: &Value, prefix: String, out: &mut Vec<String>) {
    out.push(prefix.clone());
    match v {
        Value::Object(m) => m.iter().for_each(|(k, c)| pointers(c, format!("{prefix}/{k}"), out)),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| pointers(c, format!("{prefix}/{i}"), out)),
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn load_and_validate_never_panic(edits in prop::collection::vec((any::<prop::sample::Index>(), value()), 1..4)) {
        let mut config = super::default_spec();
        for (index, replacement) in edits {
            let mut ptrs = Vec::new();
            pointers(&config, String::new(), &mut ptrs);
            let ptr = index.get(&ptrs).clone();
            if ptr.is_empty() {
                config = replacement;
            } else if let Some(slot) = config.pointer_mut(&ptr) {
                *slot = replacement;
            }
        }
        let text = config.to_string();
        if let Ok(spec) = super::parse("config.json".as_ref(), &text) {
            let _ = super::validate(&spec);
        }
    }
}
