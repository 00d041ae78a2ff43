//! The registry's JSON documents, parsed only as far as pulling needs:
//! an image manifest (docker v2 schema 2 or OCI) is a config and layers; an
//! index (OCI) or manifest list (docker) is manifests with platforms, of which
//! one is chosen as docker does (os, architecture, and variant when asked).

use serde::Deserialize;

pub(super) const ACCEPT: &[&str] = &[OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST];
pub(super) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(super) const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub(super) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(super) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

#[derive(Debug, Clone, Deserialize)]
pub(super) struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default)]
    pub urls: Option<Vec<String>>,
    #[serde(default)]
    pub platform: Option<Platform>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub(super) struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Document {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
}

/// What a manifest request returned.
#[derive(Debug)]
pub(super) enum Parsed {
    Index(Vec<Descriptor>),
    Image { media_type: String, config: Descriptor, layers: Vec<Descriptor> },
}

pub(super) fn parse(bytes: &[u8]) -> Result<Parsed, String> {
    let doc: Document = serde_json::from_slice(bytes).map_err(|e| format!("manifest is not valid JSON: {e}"))?;
    if doc.schema_version != 2 {
        return Err(format!("manifest schema version {} is not supported (only 2)", doc.schema_version));
    }
    match (doc.manifests, doc.config, doc.layers) {
        (Some(m), _, _) => Ok(Parsed::Index(m)),
        (None, Some(config), Some(layers)) => {
            Ok(Parsed::Image { media_type: doc.media_type.unwrap_or_else(|| OCI_MANIFEST.to_string()), config, layers })
        }
        _ => Err("manifest has neither manifests nor config and layers".to_string()),
    }
}

/// `os/arch[/variant]`, default the host's (`linux/amd64`).
pub(super) fn wanted_platform(flag: Option<&str>) -> Result<Platform, String> {
    let Some(p) = flag else {
        return Ok(Platform { os: "linux".into(), architecture: crate::platform_arch().into(), variant: None });
    };
    let parts: Vec<&str> = p.split('/').collect();
    match parts.as_slice() {
        [os, arch] if !os.is_empty() && !arch.is_empty() => {
            Ok(Platform { os: os.to_string(), architecture: arch.to_string(), variant: None })
        }
        [os, arch, v] if !os.is_empty() && !arch.is_empty() && !v.is_empty() => {
            Ok(Platform { os: os.to_string(), architecture: arch.to_string(), variant: Some(v.to_string()) })
        }
        _ => Err(format!("invalid platform {p:?}: want os/arch[/variant]")),
    }
}

/// The entry for `want`: same os and architecture, and the variant when one
/// is asked for (arm64's absent variant is v8). Err is docker's message.
pub(super) fn choose<'a>(entries: &'a [Descriptor], want: &Platform) -> Result<&'a Descriptor, String> {
    let variant = |p: &Platform| match (p.architecture.as_str(), p.variant.as_deref()) {
        ("arm64", None) => Some("v8".to_string()),
        (_, v) => v.map(str::to_string),
    };
    entries
        .iter()
        .filter(|d| {
            d.platform.as_ref().is_some_and(|p| {
                p.os == want.os
                    && p.architecture == want.architecture
                    && (want.variant.is_none() || variant(p) == variant(want))
            })
        })
        .min_by_key(|d| d.platform.as_ref().and_then(|p| p.variant.clone()))
        .ok_or_else(|| {
            let mut name = format!("{}/{}", want.os, want.architecture);
            if let Some(v) = &want.variant {
                name = format!("{name}/{v}");
            }
            format!("no matching manifest for {name} in the manifest list entries")
        })
}

/// A layer that must be fetched from somewhere other than the registry.
pub(super) fn is_foreign(d: &Descriptor) -> bool {
    d.media_type.contains("foreign") || d.media_type.contains("nondistributable")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(arch: &str, variant: Option<&str>, digest: &str) -> Descriptor {
        Descriptor {
            media_type: OCI_MANIFEST.into(),
            digest: digest.into(),
            size: 1,
            urls: None,
            platform: Some(Platform {
                os: "linux".into(),
                architecture: arch.into(),
                variant: variant.map(Into::into),
            }),
        }
    }

    #[test]
    fn platform_choice_follows_docker() {
        let list = vec![entry("amd64", None, "a"), entry("arm64", Some("v8"), "b"), entry("arm", Some("v7"), "c")];
        let pick = |p: &str| choose(&list, &wanted_platform(Some(p)).unwrap()).map(|d| d.digest.clone());
        assert_eq!(pick("linux/amd64").unwrap(), "a");
        assert_eq!(pick("linux/arm64").unwrap(), "b");
        assert_eq!(pick("linux/arm64/v8").unwrap(), "b");
        assert_eq!(pick("linux/arm/v7").unwrap(), "c");
        assert_eq!(
            pick("linux/s390x").unwrap_err(),
            "no matching manifest for linux/s390x in the manifest list entries"
        );
    }

    #[test]
    fn documents_parse_or_say_why_not() {
        let m = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
            "config":{"mediaType":"x","digest":"sha256:1","size":1},"layers":[]}"#;
        assert!(matches!(parse(m), Ok(Parsed::Image { media_type, .. }) if media_type == DOCKER_MANIFEST));
        assert!(parse(b"{not json").unwrap_err().contains("not valid JSON"));
        assert!(parse(br#"{"schemaVersion":1}"#).unwrap_err().contains("schema version 1"));
    }
}
