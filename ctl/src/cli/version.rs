//! `berthctl version`: docker's layout and data (`{{.Client.Version}}`,
//! `{{.Server.Version}}`, `{{range .Server.Components}}`…). berthctl has no
//! daemon: the "server" is berthctl itself as the engine plus the OCI runtime
//! it drives, reported as a component the way docker reports runc.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::config::Config;
use crate::format::{self, tabwriter};
use crate::host;

#[derive(Debug, clap::Args)]
pub(crate) struct VersionArgs {
    /// Format output using a custom template:
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template.
    #[arg(short = 'f', long)]
    format: Option<String>,
}

/// docker's default layout (cli/command/system/version.go), rendered
/// through a tabwriter of width 20, padding 1.
const TEMPLATE: &str = r#"Client:{{if ne .Client.Platform.Name ""}} {{.Client.Platform.Name}}{{end}}
 Version:	{{.Client.Version}}
 OS/Arch:	{{.Client.Os}}/{{.Client.Arch}}

Server:{{if ne .Server.Platform.Name ""}} {{.Server.Platform.Name}}{{end}}
{{- range .Server.Components}}
 {{.Name}}:
  {{- if eq .Name "Engine"}}
  Version:	{{.Version}}
  OS/Arch:	{{index .Details "Os"}}/{{index .Details "Arch"}}
  Kernel version:	{{index .Details "KernelVersion"}}
  {{- else}}
  Version:	{{.Version}}
  {{- range $key, $value := .Details}}
  {{$key}}:	{{$value}}
  {{- end}}
  {{- end}}
{{- end}}
"#;

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Platform {
    name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ClientVersion {
    platform: Platform,
    version: String,
    os: String,
    arch: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Component {
    name: String,
    version: String,
    details: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ServerVersion {
    platform: Platform,
    components: Vec<Component>,
    version: String,
    os: String,
    arch: String,
    kernel_version: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct VersionInfo {
    client: ClientVersion,
    server: ServerVersion,
}

pub(crate) fn run(config: &Config, args: &VersionArgs) -> anyhow::Result<i32> {
    let info = serde_json::to_value(collect(config)?)?;
    let mut out = std::io::stdout().lock();
    match args.format.as_deref() {
        Some(f) if !f.is_empty() => format::print_object(&mut out, "version", f, &info)?,
        _ => format::print_aligned(&mut out, TEMPLATE, &info, tabwriter::VERSION)?,
    }
    Ok(0)
}

fn collect(config: &Config) -> anyhow::Result<VersionInfo> {
    let version = env!("CARGO_PKG_VERSION").to_string();
    let arch = crate::platform_arch().to_string();
    let kernel = host::kernel_version(Path::new("/proc"))?;
    let runtime = host::runtime_version(&config.runtime)?;
    let engine = Component {
        name: "Engine".to_string(),
        version: version.clone(),
        details: BTreeMap::from([
            ("Os".to_string(), "linux".to_string()),
            ("Arch".to_string(), arch.clone()),
            ("KernelVersion".to_string(), kernel.clone()),
            ("Experimental".to_string(), "false".to_string()),
        ]),
    };
    Ok(VersionInfo {
        client: ClientVersion {
            platform: Platform { name: "berthctl".to_string() },
            version: version.clone(),
            os: "linux".to_string(),
            arch: arch.clone(),
        },
        server: ServerVersion {
            platform: Platform { name: "berthctl (daemonless)".to_string() },
            components: [engine, runtime_component(&config.runtime_name, &config.runtime, runtime)]
                .into_iter()
                .chain(init_component())
                .collect(),
            version,
            os: "linux".to_string(),
            arch,
            kernel_version: kernel,
        },
    })
}

/// The runtime as docker shows runc: its name, version, and what its
/// `--version` adds (`commit` becomes docker's `GitCommit`).
fn runtime_component(name: &str, path: &Path, v: host::RuntimeVersion) -> Component {
    let mut details: BTreeMap<String, String> = v
        .details
        .into_iter()
        .map(|(k, val)| {
            let key = if k == "commit" { "GitCommit".to_string() } else { capitalize(&k) };
            (key, val)
        })
        .collect();
    details.insert("Path".to_string(), path.display().to_string());
    let name = Path::new(name).file_name().map_or(name.to_string(), |n| n.to_string_lossy().into_owned());
    Component { name, version: v.version, details }
}

/// What `--init` runs, as docker shows its docker-init (tini): berthctl
/// bind-mounts tini-static or catatonit at /sbin/docker-init.
fn init_component() -> Option<Component> {
    let path = crate::container::bundle::find_init()?;
    let out = std::process::Command::new(&path).arg("--version").output().ok()?;
    let version = String::from_utf8_lossy(&out.stdout).split_whitespace().last()?.to_string();
    let details = BTreeMap::from([("GitCommit".to_string(), String::new())]);
    Some(Component { name: "docker-init".to_string(), version, details })
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> serde_json::Value {
        let runtime = host::RuntimeVersion {
            version: "1.1.5+ds1".into(),
            details: vec![("commit".into(), "1.1.5+ds1-1+deb12u1".into()), ("spec".into(), "1.0.2-dev".into())],
        };
        let engine = Component {
            name: "Engine".into(),
            version: "0.1.0".into(),
            details: BTreeMap::from([
                ("Os".into(), "linux".into()),
                ("Arch".into(), "amd64".into()),
                ("KernelVersion".into(), "6.1.0".into()),
            ]),
        };
        let v = VersionInfo {
            client: ClientVersion {
                platform: Platform { name: "berthctl".into() },
                version: "0.1.0".into(),
                os: "linux".into(),
                arch: "amd64".into(),
            },
            server: ServerVersion {
                platform: Platform { name: "berthctl (daemonless)".into() },
                components: vec![engine, runtime_component("runc", Path::new("/usr/sbin/runc"), runtime)],
                version: "0.1.0".into(),
                os: "linux".into(),
                arch: "amd64".into(),
                kernel_version: "6.1.0".into(),
            },
        };
        serde_json::to_value(v).unwrap()
    }

    #[test]
    fn default_layout_is_dockers() {
        let mut out = Vec::new();
        format::print_aligned(&mut out, TEMPLATE, &sample(), tabwriter::VERSION).unwrap();
        let want = "\
Client: berthctl
 Version:           0.1.0
 OS/Arch:           linux/amd64

Server: berthctl (daemonless)
 Engine:
  Version:          0.1.0
  OS/Arch:          linux/amd64
  Kernel version:   6.1.0
 runc:
  Version:          1.1.5+ds1
  GitCommit:        1.1.5+ds1-1+deb12u1
  Path:             /usr/sbin/runc
  Spec:             1.0.2-dev
";
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    #[test]
    fn format_reaches_client_and_server_fields() {
        let mut out = Vec::new();
        let tpl = "{{.Client.Version}} {{.Server.KernelVersion}} {{range .Server.Components}}{{.Name}},{{end}}";
        format::print_object(&mut out, "version", tpl, &sample()).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "0.1.0 6.1.0 Engine,runc,\n");
    }
}
