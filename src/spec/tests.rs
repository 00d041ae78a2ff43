//! Reading config files: only regular files, of bounded size.

use super::*;

#[test]
fn a_config_linked_to_dev_zero_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("config.json")).unwrap();
    let e = load(dir.path()).unwrap_err();
    assert!(matches!(e, SpecError::Read { .. }), "{e}");
    let chain = format!("{e}: {}", std::error::Error::source(&e).unwrap());
    assert!(chain.contains("config.json") && chain.contains("not a regular file"), "{chain}");
}

#[test]
fn an_oversized_config_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = std::fs::File::create(dir.path().join("config.json")).unwrap();
    f.set_len(MAX_CONFIG_BYTES + 1).unwrap();
    let e = read_document(&dir.path().join("config.json")).unwrap_err();
    assert_eq!(e.to_string(), "larger than 16 MiB");
}

#[test]
fn a_directory_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("config.json")).unwrap();
    assert_eq!(read_document(&dir.path().join("config.json")).unwrap_err().to_string(), "a directory");
}

/// oci-spec's check of a CPU list, done without regex in vendor/oci-spec: the
/// same ASCII strings pass and fail as with its `^(\d+(-\d+)?)(,\d+(-\d+)?)*$`.
#[test]
fn exec_cpu_affinity_lists_are_checked_as_oci_spec_did() {
    let config = |list: &str| {
        format!(
            r#"{{"ociVersion": "1.0.2", "process": {{"cwd": "/", "user": {{"uid": 0, "gid": 0}}, "args": ["sh"],
                "execCPUAffinity": {{"final": "{list}"}}}}}}"#
        )
    };
    for good in ["0", "0-3", "0,2,4-7", "10-12,1"] {
        parse(Path::new("config.json"), &config(good)).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    for bad in ["", "a", "0-", "-1", "1,,2", "1-2-3", "0 ,1"] {
        let e = parse(Path::new("config.json"), &config(bad)).unwrap_err().to_string();
        assert!(e.contains("process.execCPUAffinity.final"), "{bad:?}: {e}");
    }
}

#[test]
fn text_that_is_not_utf8_reads_as_runc_reads_it() {
    assert_eq!(as_go_reads_it(b"{\"a\": \"x\xffy\"}".to_vec()), "{\"a\": \"x\u{fffd}y\"}");
    let lone = r#"["\udc80", "\ud800x", "\ud83d\ude00", "\\udc80", "\"", "\u00e9"]"#;
    let read: Vec<String> = serde_json::from_str(&as_go_reads_it(lone.as_bytes().to_vec())).unwrap();
    assert_eq!(read, ["\u{fffd}", "\u{fffd}x", "\u{1f600}", "\\udc80", "\"", "é"]);
}

/// Every leaf of `v` with its path, for the corruption test below.
fn leaves(v: &serde_json::Value, at: &mut Vec<serde_json::Value>, out: &mut Vec<Vec<serde_json::Value>>) {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                at.push(Value::String(k.clone()));
                out.push(at.clone());
                leaves(x, at, out);
                at.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                at.push(Value::from(i));
                out.push(at.clone());
                leaves(x, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn slot<'a>(v: &'a mut serde_json::Value, path: &[serde_json::Value]) -> &'a mut serde_json::Value {
    path.iter().fold(v, |v, p| match p {
        serde_json::Value::String(k) => &mut v[k.as_str()],
        p => &mut v[p.as_u64().unwrap() as usize],
    })
}

/// The field a parse error names is the one the path-tracking deserializer
/// (serde_path_to_error, which berth used before) names, for every member of
/// runc's default config replaced by a value of the wrong type or removed, in
/// pretty and compact text.
#[test]
fn parse_errors_name_the_field_as_the_path_tracking_deserializer_did() {
    use serde_json::{Value, json};
    let mut base = serde_json::to_value(default_spec()).unwrap();
    base["mounts"][0]["options"] = json!(["nosuid"]);
    base["linux"]["resources"] = json!({"memory": {"limit": 1}, "devices": [{"allow": false, "access": "rwm"}]});
    let mut paths = Vec::new();
    leaves(&base, &mut Vec::new(), &mut paths);
    let wrong = [json!("x"), json!(-1), json!(1.5), json!({"a": [1]}), json!([true]), json!(null), json!(true)];
    let (mut checked, mut failed) = (0, Vec::new());
    for p in &paths {
        let mut docs = Vec::new();
        // An unknown capability name is dropped with a warning, as runc does
        // (`without_unknown_capabilities`): not an error any more.
        let cap_name = |w: &Value| p.len() == 4 && p[..2] == [json!("process"), json!("capabilities")] && w.is_string();
        for w in wrong.iter().filter(|w| !cap_name(w)) {
            let mut doc = base.clone();
            *slot(&mut doc, p) = w.clone();
            docs.push(doc);
        }
        let mut doc = base.clone();
        let (last, parent) = p.split_last().unwrap();
        match (slot(&mut doc, parent), last) {
            (Value::Object(m), Value::String(k)) => {
                m.remove(k);
            }
            (Value::Array(a), i) => {
                a.remove(i.as_u64().unwrap() as usize);
            }
            _ => {}
        }
        docs.push(doc);
        for doc in docs {
            for text in [serde_json::to_string_pretty(&doc).unwrap(), serde_json::to_string(&doc).unwrap()] {
                let de = &mut serde_json::Deserializer::from_str(&text);
                let Err(want) = serde_path_to_error::deserialize::<_, Spec>(de) else { continue };
                let want = want.path().to_string();
                let want = if want == "." { "config".to_string() } else { want };
                let got = match parse(Path::new("config.json"), &text) {
                    Err(SpecError::Parse { field, .. }) => field,
                    other => format!("{other:?}"),
                };
                checked += 1;
                if got != want {
                    failed.push(format!("want {want}, got {got}"));
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} failing documents");
    assert!(failed.is_empty(), "{} of {checked} differ: {:#?}", failed.len(), &failed[..failed.len().min(30)]);
}

#[test]
fn unknown_capability_names_are_dropped_as_runc_does_but_bad_types_still_fail() {
    let mut v = serde_json::to_value(default_spec()).unwrap();
    let plain = parse("config.json".as_ref(), &v.to_string()).unwrap();
    let caps = &mut v["process"]["capabilities"];
    caps["bounding"].as_array_mut().unwrap().push("CAP_NO_SUCH".into());
    caps["effective"].as_array_mut().unwrap().insert(0, "CAP_ALSO_NOT".into());
    let spec = parse("config.json".as_ref(), &v.to_string()).unwrap();
    let c = spec.process().as_ref().unwrap().capabilities().as_ref().unwrap();
    let want = plain.process().as_ref().unwrap().capabilities().clone().unwrap();
    assert_eq!((c.bounding(), c.effective()), (want.bounding(), want.effective()));
    v["process"]["capabilities"]["bounding"].as_array_mut().unwrap().push(5.into());
    let e = parse("config.json".as_ref(), &v.to_string()).unwrap_err().to_string();
    assert!(e.contains("process.capabilities.bounding"), "{e}");
}
