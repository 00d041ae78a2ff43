//! `images` rows, as docker's `imageContext` (cli/command/formatter/image.go):
//! one row per repository and tag (and per digest with `--digests`),
//! `<none>` for dangling images.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use super::truncate_id;
use crate::format::time::{go_time_string, since};
use crate::format::units::{human_size, human_size4};

pub(crate) const DEFAULT_TABLE: &str =
    "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}";
pub(crate) const DEFAULT_TABLE_DIGEST: &str = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}";

pub(crate) const HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE ID"),
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("Digest", "DIGEST"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Size", "SIZE"),
    ("Containers", "CONTAINERS"),
    ("VirtualSize", "SIZE"),
    ("SharedSize", "SHARED SIZE"),
    ("UniqueSize", "UNIQUE SIZE"),
];

/// What `images` knows about one image (docker's `image.Summary`).
#[derive(Debug, Clone, Default)]
pub(crate) struct ImageSummary {
    /// `sha256:<hex>` of the config.
    pub id: String,
    /// `name:tag` references, full (`docker.io/library/busybox:latest`) or
    /// familiar (`busybox:latest`).
    pub repo_tags: Vec<String>,
    /// `name@sha256:<hex>` references.
    pub repo_digests: Vec<String>,
    /// Creation time from the image config, when it has one.
    pub created: Option<DateTime<Utc>>,
    pub size: u64,
    /// Containers using the image, when counted (`-1`/"N/A" otherwise).
    pub containers: Option<u64>,
    pub shared_size: Option<u64>,
}

/// The flags of `images` that change the rows.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ListOptions<'a> {
    /// `--no-trunc`
    pub no_trunc: bool,
    /// `--digests`
    pub digests: bool,
    /// `-q`
    pub quiet: bool,
    /// `--format`
    pub format: Option<&'a str>,
}

/// docker's `NewImageFormat`: the format `images` renders with.
pub(crate) fn resolve_format(opts: &ListOptions<'_>) -> String {
    match opts.format {
        None | Some("") | Some("table") if opts.quiet => "{{.ID}}".to_string(),
        None | Some("") | Some("table") if opts.digests => DEFAULT_TABLE_DIGEST.to_string(),
        None | Some("") | Some("table") => DEFAULT_TABLE.to_string(),
        Some(f) if f.starts_with("table") && opts.digests && !f.contains("{{.Digest}}") => {
            format!("{f}\t{{{{.Digest}}}}")
        }
        Some(f) => f.to_string(),
    }
}

/// The rows of `images`, in the order of `images` and of their references.
pub(crate) fn rows(images: &[ImageSummary], opts: &ListOptions<'_>, now: DateTime<Utc>) -> Vec<Value> {
    let need_digest = opts.digests || opts.format.is_some_and(|f| f.contains("{{.Digest}}"));
    let mut out = Vec::new();
    for img in images {
        if img.repo_tags.is_empty() && img.repo_digests.is_empty() {
            out.push(row(img, opts, "<none>", "<none>", "<none>", now));
            continue;
        }
        for (repo, tag, digest) in references(img, need_digest, opts.digests) {
            out.push(row(img, opts, &repo, &tag, &digest, now));
        }
    }
    out
}

/// docker's `imageFormatTaggedAndDigest`: (repository, tag, digest) triples.
fn references(img: &ImageSummary, need_digest: bool, show_digests: bool) -> Vec<(String, String, String)> {
    let mut tags: Vec<(String, Vec<String>)> = Vec::new();
    for r in &img.repo_tags {
        if let Some((name, tag)) = split_tag(r) {
            push_grouped(&mut tags, familiar(name), tag.to_string());
        }
    }
    let mut digests: Vec<(String, Vec<String>)> = Vec::new();
    for r in &img.repo_digests {
        if let Some((name, digest)) = r.split_once('@') {
            push_grouped(&mut digests, familiar(name), digest.to_string());
        }
    }
    let mut out = Vec::new();
    for (repo, repo_tags) in &tags {
        let pos = digests.iter().position(|(r, _)| r == repo);
        let repo_digests = pos.map(|i| digests.remove(i).1).filter(|_| need_digest).unwrap_or_default();
        for tag in repo_tags {
            if repo_digests.is_empty() {
                out.push((repo.clone(), tag.clone(), "<none>".to_string()));
            }
            for d in &repo_digests {
                out.push((repo.clone(), tag.clone(), d.clone()));
            }
        }
    }
    for (repo, repo_digests) in digests {
        if show_digests {
            out.extend(repo_digests.into_iter().map(|d| (repo.clone(), "<none>".to_string(), d)));
        } else {
            out.push((repo, "<none>".to_string(), String::new()));
        }
    }
    out
}

fn push_grouped(groups: &mut Vec<(String, Vec<String>)>, key: String, value: String) {
    match groups.iter_mut().find(|(k, _)| *k == key) {
        Some((_, values)) => values.push(value),
        None => groups.push((key, vec![value])),
    }
}

/// `name:tag` → (name, tag); the colon must follow the last slash (a
/// registry port is not a tag).
fn split_tag(reference: &str) -> Option<(&str, &str)> {
    let (name, tag) = reference.rsplit_once(':')?;
    if tag.contains('/') { None } else { Some((name, tag)) }
}

/// docker's familiar name: Docker Hub's `docker.io/library/` and
/// `docker.io/` prefixes dropped.
pub(crate) fn familiar(name: &str) -> String {
    match name.strip_prefix("docker.io/") {
        Some(rest) => rest.strip_prefix("library/").filter(|r| !r.contains('/')).unwrap_or(rest).to_string(),
        None => name.to_string(),
    }
}

/// One image on one row under its first tag, as `system df -v` lists it.
pub(crate) fn first_tag_row(img: &ImageSummary, opts: &ListOptions<'_>, now: DateTime<Utc>) -> Value {
    let first = img.repo_tags.first().and_then(|r| split_tag(r));
    let (repo, tag) = first.map_or(("<none>".to_string(), "<none>"), |(name, tag)| (familiar(name), tag));
    row(img, opts, &repo, tag, "", now)
}

fn row(img: &ImageSummary, opts: &ListOptions<'_>, repo: &str, tag: &str, digest: &str, now: DateTime<Utc>) -> Value {
    let created = img.created.unwrap_or_else(|| Utc.timestamp_opt(0, 0).single().unwrap_or_default());
    let na = |v: Option<String>| v.unwrap_or_else(|| "N/A".to_string());
    json!({
        "Containers": na(img.containers.map(|c| c.to_string())),
        "CreatedAt": go_time_string(created.timestamp()),
        "CreatedSince": img.created.map(|t| since(t, now)).unwrap_or_default(),
        "Digest": digest,
        "ID": if opts.no_trunc { img.id.clone() } else { truncate_id(&img.id) },
        "Repository": repo,
        "SharedSize": na(img.shared_size.map(human_size4)),
        "Size": human_size(img.size),
        "Tag": tag,
        "UniqueSize": na(img.shared_size.map(|s| human_size4(img.size.saturating_sub(s)))),
        "VirtualSize": human_size4(img.size),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::print_list;

    fn busybox() -> ImageSummary {
        ImageSummary {
            id: "sha256:4c01db0b339c2f1d7c4c1a2e5d1f0b3a4c01db0b339c2f1d7c4c1a2e5d1f0b3a".into(),
            repo_tags: vec!["docker.io/library/busybox:latest".into(), "localhost:5000/bb:1".into()],
            repo_digests: vec!["docker.io/library/busybox@sha256:aaaa".into()],
            created: Some(Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()),
            size: 4_263_345,
            ..Default::default()
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 22, 12, 0, 0).unwrap()
    }

    fn table(opts: &ListOptions<'_>, images: &[ImageSummary]) -> String {
        let mut out = Vec::new();
        let fmt = resolve_format(opts);
        print_list(&mut out, Some(&fmt), DEFAULT_TABLE, HEADERS, &rows(images, opts, now())).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn default_table_is_dockers() {
        let dangling = ImageSummary { id: "sha256:0123456789abcdef".into(), size: 0, ..Default::default() };
        let got = table(&ListOptions::default(), &[busybox(), dangling]);
        let want = "\
REPOSITORY          TAG       IMAGE ID       CREATED       SIZE
busybox             latest    4c01db0b339c   3 weeks ago   4.26MB
localhost:5000/bb   1         4c01db0b339c   3 weeks ago   4.26MB
<none>              <none>    0123456789ab   N/A           0B
";
        assert_eq!(got, want);
    }

    #[test]
    fn digests_add_a_column_and_rows() {
        let opts = ListOptions { digests: true, ..Default::default() };
        let got = table(&opts, &[busybox()]);
        assert!(got.starts_with("REPOSITORY          TAG       DIGEST        IMAGE ID"), "{got}");
        assert!(got.contains("busybox             latest    sha256:aaaa   4c01db0b339c"), "{got}");
        assert!(got.contains("localhost:5000/bb   1         <none>"), "{got}");
    }

    #[test]
    fn quiet_prints_ids_only() {
        let opts = ListOptions { quiet: true, ..Default::default() };
        assert_eq!(table(&opts, &[busybox()]), "4c01db0b339c\n4c01db0b339c\n");
    }

    #[test]
    fn json_rows_have_dockers_fields() {
        let r = &rows(&[busybox()], &ListOptions::default(), now())[0];
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "Containers",
                "CreatedAt",
                "CreatedSince",
                "Digest",
                "ID",
                "Repository",
                "SharedSize",
                "Size",
                "Tag",
                "UniqueSize",
                "VirtualSize"
            ]
        );
        assert_eq!(r["Containers"], "N/A");
        assert_eq!(r["VirtualSize"], "4.263MB");
    }

    #[test]
    fn familiar_names_drop_docker_hub_prefixes() {
        assert_eq!(familiar("docker.io/library/busybox"), "busybox");
        assert_eq!(familiar("docker.io/bitnami/redis"), "bitnami/redis");
        assert_eq!(familiar("localhost:5000/library/x"), "localhost:5000/library/x");
        assert_eq!(split_tag("localhost:5000/x"), None);
    }
}
