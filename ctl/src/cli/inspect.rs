//! `berthctl image inspect IMAGE...`: docker's JSON for images (Id, RepoTags,
//! RepoDigests, Parent, Comment, Created, Config, Architecture, Os, Size,
//! GraphDriver, RootFS, Metadata); and `berthctl inspect NAME|ID...`,
//! docker's inspect of any object: each name is looked up as docker's CLI
//! does (cli/command/system/inspect.go), as a container, an image, a network,
//! then a volume, the first found wins, or only as the kind `--type` names.

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

/// Whether `--format` is a template (not the JSON output).
pub(crate) fn templated(format: Option<&str>) -> bool {
    !matches!(format, None | Some("") | Some("json"))
}

/// What a template sees: docker's CLI runs it on its typed structs first,
/// where `Config`'s omitted fields still exist (`{{json .Config.Healthcheck}}`
/// and `{{json .State.Health}}` are `null`, `.Config.StopSignal` ""), so they are filled in here; the JSON
/// output leaves them out as docker's does.
pub(crate) fn typed_view(mut v: Value, templated: bool) -> Value {
    // A container's `State.Health` is a nil pointer when no check runs.
    if let Some(s) = v.get_mut("State").and_then(Value::as_object_mut).filter(|_| templated) {
        s.entry("Health").or_insert(Value::Null);
    }
    if let Some(c) = v.get_mut("Config").and_then(Value::as_object_mut).filter(|_| templated) {
        for (k, d) in [
            ("ExposedPorts", Value::Null),
            ("StopSignal", json!("")),
            ("Healthcheck", Value::Null),
            ("Shell", Value::Null),
        ] {
            let v = c.entry(k).or_insert(Value::Null);
            if v.is_null() {
                *v = d;
            }
        }
    }
    v
}

/// `image inspect`: "No such image" for a name that is not one.
pub(crate) fn run(config: &Config, args: &InspectArgs) -> anyhow::Result<i32> {
    let store = Store::open(&config.data_root)?;
    let templated = templated(args.format.as_deref());
    let lookup = |name: &String| match image::resolve(&store, name) {
        Ok(img) => Ok(typed_view(to_json(&img), templated)),
        Err(image::ImageError::NotFound(_)) => Err(format!("Error: No such image: {name}")),
        Err(e) => Err(format!("Error: {}", super::error_chain(&e.into()))),
    };
    format::inspect(&mut std::io::stdout().lock(), args.format.as_deref(), &args.images, lookup)?;
    Ok(0)
}

#[derive(Debug, clap::Args)]
pub(crate) struct ObjectInspectArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long)]
    pub format: Option<String>,
    /// Only inspect objects of the given type
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// Display total file sizes if the type is container
    #[arg(short = 's', long)]
    pub size: bool,
    #[arg(required = true, value_name = "NAME|ID")]
    pub names: Vec<String>,
}

/// docker's object types (`--type`), in its order.
const DOCKER_TYPES: &[&str] =
    &["config", "container", "image", "network", "node", "plugin", "secret", "service", "task", "volume"];

/// The kinds berthctl looks a name up as, in docker's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Container,
    Image,
    Network,
    Volume,
}

/// `berthctl inspect`: the first object of the allowed kinds with that name.
pub(crate) fn run_any(config: &Config, args: &ObjectInspectArgs) -> anyhow::Result<i32> {
    let kinds: &[Kind] = match args.kind.as_deref() {
        None => &[Kind::Container, Kind::Image, Kind::Network, Kind::Volume],
        Some("container") => &[Kind::Container],
        Some("image") => &[Kind::Image],
        Some("network") => &[Kind::Network],
        Some("volume") => &[Kind::Volume],
        // docker's other kinds: berthctl holds none of them.
        Some(t) if DOCKER_TYPES.contains(&t) => &[],
        // docker prints these bare and exits 1.
        Some(t) => {
            let all = DOCKER_TYPES.join(r#"", ""#);
            match t {
                "" => eprintln!(r#"type is empty: must be one of "{all}""#),
                _ => eprintln!(r#"unknown type: "{t}": must be one of "{all}""#),
            }
            return Ok(1);
        }
    };
    let images = Store::open(&config.data_root)?;
    let mut net_db = super::network::open_db(config)?;
    super::network::all_networks(&mut net_db)?;
    let volumes = crate::volume::Store::open(&config.data_root)?;
    let mut containers = crate::container::store::Store::open(&config.data_root)?;
    let templated = templated(args.format.as_deref());
    let lookup = |name: &String| {
        for kind in kinds {
            let found = match kind {
                Kind::Container => match crate::container::lifecycle::lookup(config, &mut containers, name) {
                    Ok(c) => Some(typed_view(super::container::inspect::to_json(config, &c, args.size), templated)),
                    Err(e) if matches!(e.downcast_ref(), Some(crate::container::store::StoreError::NotFound(_))) => {
                        None
                    }
                    Err(e) => return Err(format!("Error: {}", super::error_chain(&e))),
                },
                Kind::Image => match image::resolve(&images, name) {
                    Ok(img) => Some(typed_view(to_json(&img), templated)),
                    Err(image::ImageError::NotFound(_)) => None,
                    Err(e) => return Err(format!("Error: {}", super::error_chain(&e.into()))),
                },
                Kind::Network => match super::network::inspect_json(net_db.conn(), name) {
                    Ok(v) => Some(v),
                    Err(crate::network::NetworkError::NotFound(_)) => None,
                    Err(e) => return Err(format!("Error: {}", super::error_chain(&e.into()))),
                },
                Kind::Volume => match volumes.get(name) {
                    Ok(v) => Some(v.inspect(&volumes.layout)),
                    Err(crate::volume::VolumeError::NotFound(_)) => None,
                    Err(e) => return Err(format!("Error: {}", super::error_chain(&e.into()))),
                },
            };
            if let Some(v) = found {
                // Only containers have sizes to show.
                if args.size && *kind != Kind::Container {
                    eprintln!("WARNING: --size ignored for {}", kind_name(*kind));
                }
                return Ok(v);
            }
        }
        Err(format!("Error: No such object: {name}"))
    };
    format::inspect(&mut std::io::stdout().lock(), args.format.as_deref(), &args.names, lookup)?;
    Ok(0)
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Container => "container",
        Kind::Image => "image",
        Kind::Network => "network",
        Kind::Volume => "volume",
    }
}

/// docker's container-config keys, in its order, with its defaults, from
/// an image config's `config` or `container_config` section (a committed
/// image's carry the container's Hostname, Image, Attach…).
fn docker_config(c: &Value) -> Value {
    let get = |k: &str, d: Value| c.get(k).cloned().unwrap_or(d);
    let mut v = json!({
        "Hostname": get("Hostname", json!("")), "Domainname": get("Domainname", json!("")),
        "User": get("User", json!("")),
        "AttachStdin": get("AttachStdin", json!(false)), "AttachStdout": get("AttachStdout", json!(false)),
        "AttachStderr": get("AttachStderr", json!(false)),
        "Tty": get("Tty", json!(false)), "OpenStdin": get("OpenStdin", json!(false)),
        "StdinOnce": get("StdinOnce", json!(false)),
        "Env": get("Env", Value::Null), "Cmd": get("Cmd", Value::Null), "Image": get("Image", json!("")),
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
        // A committed image's container and its config (docker's commit).
        "Container": s("container"),
        "ContainerConfig": docker_config(raw.get("container_config").unwrap_or(&Value::Null)),
        "DockerVersion": s("docker_version"),
        "Author": s("author"),
        "Config": docker_config(raw.get("config").unwrap_or(&Value::Null)),
        "Architecture": s("architecture"),
        "Os": s("os"),
        "Size": img.size,
        "VirtualSize": img.size,
        "GraphDriver": {"Name": "overlay2", "Data": {"LowerDir": lower.join(":")}},
        "RootFS": {"Type": "layers", "Layers": diff_ids},
        "Metadata": {"LastTagTime": chrono::DateTime::from_timestamp(img.added, 0).map(|t| t.to_rfc3339()).unwrap_or_default()},
    });
    if let Some(variant) = raw.get("variant") {
        v["Variant"] = variant.clone();
    }
    v
}
