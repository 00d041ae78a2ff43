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
