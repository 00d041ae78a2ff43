//! `berthctl image inspect IMAGE...` and `berthctl inspect IMAGE...`: docker's
//! JSON for images (Id, RepoTags, RepoDigests, Parent, Comment, Created,
//! Config, Architecture, Os, Size, GraphDriver, RootFS, Metadata).

use serde_json::{Value, json};

use crate::config::Config;
use crate::image::{self, Image, Store};

#[derive(Debug, clap::Args)]
pub(crate) struct InspectArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long)]
    pub format: Option<String>,
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

/// `image inspect` says "No such image", plain `inspect` "No such object".
pub(crate) fn run(config: &Config, args: &InspectArgs, any_object: bool) -> anyhow::Result<i32> {
    if let Some(f) = &args.format {
        anyhow::bail!("--format {f:?}: templates are not supported yet");
    }
    let store = Store::open(&config.data_root)?;
    let mut out = Vec::new();
    let mut status = 0;
    for name in &args.images {
        match image::resolve(&store, name) {
            Ok(img) => out.push(to_json(&img)),
            Err(image::ImageError::NotFound(_)) if any_object => {
                eprintln!("Error: No such object: {name}");
                status = 1;
            }
            Err(e) => {
                eprintln!("Error: {e}");
                status = 1;
            }
        }
    }
    println!("{}", serde_json::to_string_pretty(&Value::Array(out))?);
    Ok(status)
}

/// docker's container-config keys, in its order, with its defaults.
fn docker_config(raw: &Value) -> Value {
    let c = raw.get("config").cloned().unwrap_or(json!({}));
    let get = |k: &str, d: Value| c.get(k).cloned().unwrap_or(d);
    let mut v = json!({
        "Hostname": "", "Domainname": "", "User": get("User", json!("")),
        "AttachStdin": false, "AttachStdout": false, "AttachStderr": false,
        "Tty": false, "OpenStdin": false, "StdinOnce": false,
        "Env": get("Env", Value::Null), "Cmd": get("Cmd", Value::Null), "Image": "",
        "Volumes": get("Volumes", Value::Null), "WorkingDir": get("WorkingDir", json!("")),
        "Entrypoint": get("Entrypoint", Value::Null), "OnBuild": get("OnBuild", Value::Null),
        "Labels": get("Labels", Value::Null),
    });
    for k in ["ExposedPorts", "StopSignal", "Healthcheck", "Shell"] {
        if let Some(x) = c.get(k) {
            v[k] = x.clone();
        }
    }
    v
}

pub(crate) fn to_json(img: &Image) -> Value {
    let raw: Value = serde_json::from_slice(&img.config_raw).unwrap_or(json!({}));
    let s = |k: &str| raw.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let diff_ids: Vec<&str> = img.layers.iter().map(|l| l.diff_id.as_str()).collect();
    let lower: Vec<String> = img.lower_dirs.iter().map(|d| d.display().to_string()).collect();
    let mut v = json!({
        "Id": img.id.as_str(),
        "RepoTags": img.repo_tags,
        "RepoDigests": img.repo_digests,
        "Parent": "",
        "Comment": s("comment"),
        "Created": s("created"),
        "DockerVersion": s("docker_version"),
        "Author": s("author"),
        "Config": docker_config(&raw),
        "Architecture": s("architecture"),
        "Os": s("os"),
        "Size": img.size,
        "GraphDriver": {"Name": "overlay", "Data": {"LowerDir": lower.join(":")}},
        "RootFS": {"Type": "layers", "Layers": diff_ids},
        "Metadata": {"LastTagTime": chrono::DateTime::from_timestamp(img.added, 0).map(|t| t.to_rfc3339()).unwrap_or_default()},
    });
    if let Some(variant) = raw.get("variant") {
        v["Variant"] = variant.clone();
    }
    v
}
