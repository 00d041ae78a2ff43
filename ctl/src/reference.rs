//! Image references as docker parses them (distribution/reference): a name made
//! of an optional registry domain and a path, then a `:tag` and/or an
//! `@sha256:…` digest. `busybox` is `docker.io/library/busybox:latest`;
//! docker's short ("familiar") form is given back for display. Also the
//! `Digest` newtype every other module uses for content addresses.

use std::fmt;
use std::str::FromStr;

/// Docker Hub's canonical domain, and the namespace of its official images.
pub(crate) const DOCKER_HUB: &str = "docker.io";
const OFFICIAL_NAMESPACE: &str = "library/";
pub(crate) const DEFAULT_TAG: &str = "latest";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ReferenceError {
    #[error("invalid reference format: {0:?}")]
    Invalid(String),
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    Uppercase(String),
    #[error("invalid digest {0:?}: want sha256: and 64 lowercase hex digits")]
    Digest(String),
}

/// A content address, `sha256:<64 hex>`, validated once.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Digest(String);

impl Digest {
    /// The digest of sha256 output bytes.
    pub(crate) fn from_sha256(bytes: &[u8]) -> Digest {
        let mut s = String::with_capacity(71);
        s.push_str("sha256:");
        for b in bytes {
            s.push_str(&format!("{b:02x}"));
        }
        Digest(s)
    }

    /// The sha256 of `data`.
    pub(crate) fn of(data: &[u8]) -> Digest {
        use sha2::Digest as _;
        Digest::from_sha256(&sha2::Sha256::digest(data))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex digits without the algorithm.
    pub(crate) fn hex(&self) -> &str {
        &self.0[7..]
    }

    /// docker's short id: the first 12 hex digits.
    pub(crate) fn short(&self) -> &str {
        &self.0[7..19]
    }
}

impl FromStr for Digest {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex = s.strip_prefix("sha256:").ok_or_else(|| ReferenceError::Digest(s.to_string()))?;
        if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(Digest(s.to_string()))
        } else {
            Err(ReferenceError::Digest(s.to_string()))
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A parsed, normalized reference. At least one of `tag` and `digest` is set
/// after [`Reference::parse`] (a bare name gets `latest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reference {
    pub domain: String,
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl Reference {
    /// Parse as `docker pull` does, adding `docker.io`, `library/` and
    /// `:latest` where they are implied.
    pub(crate) fn parse(s: &str) -> Result<Reference, ReferenceError> {
        let mut r = Reference::parse_name_only(s)?;
        if r.tag.is_none() && r.digest.is_none() {
            r.tag = Some(DEFAULT_TAG.to_string());
        }
        Ok(r)
    }

    /// Parse without adding `:latest` (a filter or `images busybox` matches
    /// every tag of the repository).
    pub(crate) fn parse_name_only(s: &str) -> Result<Reference, ReferenceError> {
        let invalid = || ReferenceError::Invalid(s.to_string());
        let (rest, digest) = match s.split_once('@') {
            Some((n, d)) => (n, Some(d.parse::<Digest>()?)),
            None => (s, None),
        };
        let (name, tag) = match rest.rfind(':') {
            Some(i) if !rest[i + 1..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
            _ => (rest, None),
        };
        if let Some(t) = tag
            && !valid_tag(t)
        {
            return Err(invalid());
        }
        let (domain, path) = split_domain(name);
        if path.is_empty() || domain.is_empty() {
            return Err(invalid());
        }
        if path.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(ReferenceError::Uppercase(name.to_string()));
        }
        if !path.split('/').all(valid_path_component) || !valid_domain(&domain) {
            return Err(invalid());
        }
        Ok(Reference { domain, path, tag: tag.map(str::to_string), digest })
    }

    /// `domain/path`, the repository as stored.
    pub(crate) fn repository(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    #[cfg_attr(not(test), allow(dead_code))] // pull asks the registry for it
    /// What the registry is asked for: the digest when given, else the tag.
    pub(crate) fn tag_or_digest(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => DEFAULT_TAG.to_string(),
        }
    }
}

impl fmt::Display for Reference {
    /// The fully qualified form, `docker.io/library/busybox:latest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.domain, self.path)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// docker's short form of a fully qualified repository (or `repo:tag`,
/// `repo@digest`): drop `docker.io/` and then `library/`.
pub(crate) fn familiar(full: &str) -> String {
    match full.strip_prefix("docker.io/") {
        Some(rest) => rest.strip_prefix(OFFICIAL_NAMESPACE).unwrap_or(rest).to_string(),
        None => full.to_string(),
    }
}

/// The first component is a registry when it has a `.` or a `:` or is
/// `localhost` (docker's splitDockerDomain); `index.docker.io` is docker.io.
fn split_domain(name: &str) -> (String, String) {
    let (domain, path) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => (first, rest.to_string()),
        _ => (DOCKER_HUB, name.to_string()),
    };
    let domain = if domain == "index.docker.io" { DOCKER_HUB } else { domain };
    let path = if domain == DOCKER_HUB && !path.contains('/') { format!("{OFFICIAL_NAMESPACE}{path}") } else { path };
    (domain.to_string(), path)
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-')) {
            return false;
        }
    }
    true
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `[\w][\w.-]{0,127}`
fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-')
}

/// Host labels of letters, digits and `-`, separated by dots, an optional
/// `:port`; or a bracketed IPv6 address.
fn valid_domain(d: &str) -> bool {
    let (host, port) = match d.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') => (h, Some(p)),
        _ => (d, None),
    };
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    if host.starts_with('[') {
        return host.ends_with(']') && host[1..host.len() - 1].parse::<std::net::Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && host.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

    fn full(s: &str) -> String {
        Reference::parse(s).unwrap().to_string()
    }

    #[test]
    fn bare_name_gets_hub_library_and_latest() {
        assert_eq!(full("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(full("user/app:1.0"), "docker.io/user/app:1.0");
        assert_eq!(full("index.docker.io/library/busybox"), "docker.io/library/busybox:latest");
    }

    #[test]
    fn registry_with_port_and_namespaces() {
        let r = Reference::parse("127.0.0.1:5000/ns/sub/name:v2").unwrap();
        assert_eq!(
            (r.domain.as_str(), r.path.as_str(), r.tag.as_deref()),
            ("127.0.0.1:5000", "ns/sub/name", Some("v2"))
        );
        assert_eq!(full("localhost/x"), "localhost/x:latest");
        assert_eq!(full("localhost:5000/x"), "localhost:5000/x:latest");
    }

    #[test]
    fn digest_reference_has_no_implied_tag() {
        let r = Reference::parse(&format!("busybox@{D}")).unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(r.tag_or_digest(), D);
        let both = Reference::parse(&format!("busybox:1@{D}")).unwrap();
        assert_eq!(both.tag.as_deref(), Some("1"));
    }

    #[test]
    fn invalid_references_are_refused() {
        for bad in ["", ":tag", "a//b", "-a", "a-", "busybox:", "busybox:-x", "a@sha256:12", "ho st/x", "a..b"] {
            assert!(Reference::parse(bad).is_err(), "{bad:?} parsed");
        }
        assert!(matches!(Reference::parse("BusyBox"), Err(ReferenceError::Uppercase(_))));
    }

    #[test]
    fn familiar_drops_hub_and_library() {
        assert_eq!(familiar("docker.io/library/busybox"), "busybox");
        assert_eq!(familiar("docker.io/user/app"), "user/app");
        assert_eq!(familiar("quay.io/x/y"), "quay.io/x/y");
    }

    #[test]
    fn path_components_follow_docker_grammar() {
        for ok in ["a", "a.b", "a_b", "a__b", "a---b", "a0"] {
            assert!(valid_path_component(ok), "{ok}");
        }
        for bad in ["a___b", "a._b", ".a", "A"] {
            assert!(!valid_path_component(bad), "{bad}");
        }
    }

    #[test]
    fn digest_is_validated() {
        assert!(D.parse::<Digest>().is_ok());
        assert!("sha256:FFFF".parse::<Digest>().is_err());
        assert!("md5:00".parse::<Digest>().is_err());
        let d = Digest::of(b"");
        assert_eq!(d.hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(d.short(), "e3b0c44298fc");
    }
}
