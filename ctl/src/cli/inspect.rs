//! `berthctl image inspect IMAGE...` and `berthctl inspect IMAGE...`: docker's
//! JSON for images (Id, RepoTags, RepoDigests, Parent, Comment, Created,
//! Config, Architecture, Os, Size, GraphDriver, RootFS, Metadata).

use serde_json::{Value, json};

use crate::config::Config;
use crate::format;
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
    let store = Store::open(&config.data_root)?;
    let lookup = |name: &String| match image::resolve(&store, name) {
        Ok(img) => Ok(to_json(&img)),
        Err(image::ImageError::NotFound(_)) if any_object => Err(format!("Error: No such object: {name}")),
        Err(image::ImageError::NotFound(_)) => Err(format!("Error: No such image: {name}")),
        Err(e) => Err(format!("Error: {}", super::error_chain(&e.into()))),
    };
    format::inspect(&mut std::io::stdout().lock(), args.format.as_deref(), &args.images, lookup)?;
    Ok(0)
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
