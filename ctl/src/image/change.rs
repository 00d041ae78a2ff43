//! `--change` for `import` (and later `commit`): the Dockerfile instructions
//! docker accepts there (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER,
//! VOLUME, WORKDIR, STOPSIGNAL, HEALTHCHECK), applied to the image config's `config`
//! section in OCI's key spelling.

use serde_json::{Map, Value, json};

use super::ImageError;

pub(crate) fn apply_changes(config: &mut Map<String, Value>, changes: &[String]) -> Result<(), ImageError> {
    for c in changes {
        apply_one(config, c.trim())?;
    }
    Ok(())
}

fn apply_one(config: &mut Map<String, Value>, change: &str) -> Result<(), ImageError> {
    let (instr, args) = change.split_once(char::is_whitespace).unwrap_or((change, ""));
    let args = args.trim();
    // moby checks the word lowercased and names it as written.
    let invalid = || ImageError::Invalid(format!("{instr} is not a valid change command"));
    match instr.to_uppercase().as_str() {
        "CMD" => {
            config.insert("Cmd".into(), json!(exec_or_shell(args)));
        }
        "ENTRYPOINT" => {
            config.insert("Entrypoint".into(), json!(exec_or_shell(args)));
        }
        "USER" => {
            config.insert("User".into(), json!(args));
        }
        "WORKDIR" => {
            config.insert("WorkingDir".into(), json!(args));
        }
        "STOPSIGNAL" => {
            config.insert("StopSignal".into(), json!(args));
        }
        "HEALTHCHECK" => {
            let health = crate::build::step::healthcheck_config(change).map_err(ImageError::Invalid)?;
            config.insert("Healthcheck".into(), health);
        }
        "ENV" => {
            let env = config.entry("Env").or_insert_with(|| json!([])).as_array_mut().ok_or_else(invalid)?;
            for (k, v) in
                key_values(args).ok_or_else(|| ImageError::Invalid(format!("ENV {args:?}: want KEY=VALUE")))?
            {
                env.retain(|e| e.as_str().and_then(|s| s.split_once('=')).map(|(ek, _)| ek) != Some(k.as_str()));
                env.push(json!(format!("{k}={v}")));
            }
        }
        "LABEL" => {
            let labels = config.entry("Labels").or_insert_with(|| json!({})).as_object_mut().ok_or_else(invalid)?;
            for (k, v) in
                key_values(args).ok_or_else(|| ImageError::Invalid(format!("LABEL {args:?}: want KEY=VALUE")))?
            {
                labels.insert(k, json!(v));
            }
        }
        "EXPOSE" => {
            let ports =
                config.entry("ExposedPorts").or_insert_with(|| json!({})).as_object_mut().ok_or_else(invalid)?;
            for p in args.split_whitespace() {
                let p = if p.contains('/') { p.to_string() } else { format!("{p}/tcp") };
                ports.insert(p, json!({}));
            }
        }
        "VOLUME" => {
            let vols = config.entry("Volumes").or_insert_with(|| json!({})).as_object_mut().ok_or_else(invalid)?;
            let list: Vec<String> =
                serde_json::from_str(args).unwrap_or_else(|_| args.split_whitespace().map(String::from).collect());
            for v in list {
                vols.insert(v, json!({}));
            }
        }
        "ONBUILD" => {
            let ob = config.entry("OnBuild").or_insert_with(|| json!([])).as_array_mut().ok_or_else(invalid)?;
            ob.push(json!(args));
        }
        _ => return Err(invalid()),
    }
    Ok(())
}

/// `["a","b"]` (exec form) or `a b` (shell form, run by /bin/sh -c).
fn exec_or_shell(args: &str) -> Vec<String> {
    match serde_json::from_str::<Vec<String>>(args) {
        Ok(v) => v,
        Err(_) => vec!["/bin/sh".into(), "-c".into(), args.into()],
    }
}

/// `K=V K2="V 2"` or the legacy `K V` form.
fn key_values(args: &str) -> Option<Vec<(String, String)>> {
    if !args.contains('=') {
        let (k, v) = args.split_once(char::is_whitespace)?;
        return Some(vec![(k.to_string(), v.trim().to_string())]);
    }
    let mut out = Vec::new();
    let mut rest = args.trim();
    while !rest.is_empty() {
        let (k, after) = rest.split_once('=')?;
        let (v, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"')?;
            (q[..end].to_string(), &q[end + 1..])
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (after[..end].to_string(), &after[end..])
        };
        out.push((k.trim().to_string(), v));
        rest = next.trim_start();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_fill_the_config_section() {
        let mut c = Map::new();
        let changes = [
            "CMD [\"/bin/sh\"]",
            "ENV A=1 B=\"two words\"",
            "ENV A=3",
            "EXPOSE 80 53/udp",
            "LABEL x=y",
            "WORKDIR /srv",
            "ENTRYPOINT echo hi",
        ]
        .map(String::from);
        apply_changes(&mut c, &changes).unwrap();
        let v = Value::Object(c);
        assert_eq!(v["Cmd"], json!(["/bin/sh"]));
        assert_eq!(v["Env"], json!(["B=two words", "A=3"]));
        assert_eq!(v["ExposedPorts"], json!({"80/tcp": {}, "53/udp": {}}));
        assert_eq!(v["Labels"], json!({"x": "y"}));
        assert_eq!(v["WorkingDir"], json!("/srv"));
        assert_eq!(v["Entrypoint"], json!(["/bin/sh", "-c", "echo hi"]));
    }

    #[test]
    fn unknown_instruction_is_refused_as_docker_says() {
        let err = apply_changes(&mut Map::new(), &["ADD x /".to_string()]).unwrap_err();
        assert_eq!(err.to_string(), "ADD is not a valid change command");
        let err = apply_changes(&mut Map::new(), &["shell [\"sh\"]".to_string()]).unwrap_err();
        assert_eq!(err.to_string(), "shell is not a valid change command");
    }

    #[test]
    fn healthcheck_is_a_valid_change_as_docker_says() {
        let mut c = Map::new();
        apply_changes(&mut c, &["HEALTHCHECK --interval=3s --retries=2 CMD true".to_string()]).unwrap();
        assert_eq!(
            c["Healthcheck"],
            json!({"Test": ["CMD-SHELL", "true"], "Interval": 3_000_000_000u64, "Retries": 2})
        );
        apply_changes(&mut c, &["healthcheck NONE".to_string()]).unwrap();
        assert_eq!(c["Healthcheck"], json!({"Test": ["NONE"]}));
        let err = apply_changes(&mut c, &["HEALTHCHECK --retries=0 CMD true".to_string()]).unwrap_err();
        assert_eq!(err.to_string(), "--retries must be at least 1 (not 0)");
    }
}
