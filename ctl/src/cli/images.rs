//! `berthctl images` / `image ls`: docker's columns (REPOSITORY TAG [DIGEST]
//! IMAGE ID CREATED SIZE), one row per tag, `<none>` for untagged images,
//! `-q`, `-a`, `--digests`, `--no-trunc` and `--filter`
//! dangling=|reference=|label=|before=|since=.

use crate::config::Config;
use crate::format::{self, rows, rows::images::ImageSummary, rows::images::ListOptions};
use crate::image::{self, Store, Summary};
use crate::reference::Reference;

#[derive(Debug, clap::Args)]
pub(crate) struct ImagesArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter")]
    pub filter: Vec<String>,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Format output using a custom template
    #[arg(long)]
    pub format: Option<String>,
    /// Only images of this repository (and tag)
    pub repository: Option<String>,
}

pub(crate) fn run(config: &Config, args: &ImagesArgs) -> anyhow::Result<i32> {
    let store = Store::open(&config.data_root)?;
    let filters = Filters::parse(&args.filter, args.repository.as_deref())?;
    let mut images = image::list(&store.db)?;
    if !args.all {
        let hidden = crate::build::cache::intermediate(&store)?;
        images.retain(|i| !hidden.contains(i.id.as_str()));
    }
    images.retain(|i| filters.keep_image(&store, i));
    let summaries: Vec<ImageSummary> = images.iter().filter_map(|i| summary(i, &filters)).collect();
    let opts = ListOptions {
        no_trunc: args.no_trunc,
        digests: args.digests,
        quiet: args.quiet,
        format: args.format.as_deref(),
    };
    // `-q` prints an id once per row, so once per tag: the docker client
    // does the same (20.10 and 28, recorded in format/rows/testdata).
    let rows = rows::images::rows(&summaries, &opts, chrono::Utc::now());
    let fmt = rows::images::resolve_format(&opts);
    format::print_list(
        &mut std::io::stdout().lock(),
        Some(&fmt),
        rows::images::DEFAULT_TABLE,
        rows::images::HEADERS,
        &rows,
    )?;
    Ok(0)
}

/// The summary `format` renders, with the tags the filters keep; None when a
/// reference filter keeps none of an image's names.
fn summary(i: &Summary, f: &Filters) -> Option<ImageSummary> {
    let repo_tags: Vec<String> =
        i.tags.iter().filter(|(r, t)| f.keep_tag(r, t)).map(|(r, t)| format!("{r}:{t}")).collect();
    let repo_digests: Vec<String> = i
        .digests
        .iter()
        .filter(|(r, _)| f.reference.is_empty() || f.keep_tag(r, "<none>"))
        .map(|(r, d)| format!("{r}@{d}"))
        .collect();
    if !f.reference.is_empty() && repo_tags.is_empty() && repo_digests.is_empty() {
        return None;
    }
    Some(ImageSummary {
        id: i.id.to_string(),
        repo_tags,
        repo_digests,
        created: i.created.as_deref().and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok()).map(|t| t.to_utc()),
        size: i.size,
        containers: Some(i.holders),
        shared_size: None,
    })
}

/// `--filter` as docker reads it for images.
#[derive(Debug, Default)]
struct Filters {
    dangling: Option<bool>,
    reference: Vec<String>,
    labels: Vec<(String, Option<String>)>,
}

impl Filters {
    fn parse(raw: &[String], repository: Option<&str>) -> anyhow::Result<Filters> {
        let mut f = Filters::default();
        if let Some(r) = repository {
            f.reference.push(r.to_string());
        }
        for item in raw {
            let (k, v) =
                item.split_once('=').ok_or_else(|| anyhow::anyhow!("bad format of filter (expected name=value)"))?;
            match k {
                "dangling" => match v {
                    "true" | "1" => f.dangling = Some(true),
                    "false" | "0" => f.dangling = Some(false),
                    _ => anyhow::bail!("invalid filter 'dangling={v}'"),
                },
                "reference" => f.reference.push(v.to_string()),
                "label" => f.labels.push(match v.split_once('=') {
                    Some((a, b)) => (a.to_string(), Some(b.to_string())),
                    None => (v.to_string(), None),
                }),
                _ => anyhow::bail!("invalid filter '{k}'"),
            }
        }
        Ok(f)
    }

    fn keep_image(&self, store: &Store, i: &Summary) -> bool {
        if let Some(d) = self.dangling
            && d != i.tags.is_empty()
        {
            return false;
        }
        if !self.labels.is_empty() {
            let Ok(img) = image::load(store, &i.id) else { return false };
            let labels = img.config.config().as_ref().and_then(|c| c.labels().clone()).unwrap_or_default();
            let ok = self.labels.iter().all(|(k, v)| match v {
                Some(v) => labels.get(k) == Some(v),
                None => labels.contains_key(k),
            });
            if !ok {
                return false;
            }
        }
        true
    }

    /// A reference pattern matches `repo` or `repo:tag` (glob, as path.Match),
    /// in docker's short form or fully qualified.
    fn keep_tag(&self, repo: &str, tag: &str) -> bool {
        if self.reference.is_empty() {
            return true;
        }
        let full_repo = Reference::parse_name_only(repo).map(|r| r.repository()).unwrap_or_else(|_| repo.to_string());
        self.reference.iter().any(|p| {
            let pattern_has_tag = p.rfind(':').is_some_and(|i| !p[i..].contains('/'));
            let (short, full) = if pattern_has_tag {
                (format!("{repo}:{tag}"), format!("{full_repo}:{tag}"))
            } else {
                (repo.to_string(), full_repo.clone())
            };
            glob(p, &short) || glob(p, &full)
        })
    }
}

/// `*` (any run without `/`) and `?` (one character), as Go's path.Match.
fn glob(pattern: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), s.chars().collect());
    fn m(p: &[char], s: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some('*') => (0..=s.len()).take_while(|&i| i == 0 || s[i - 1] != '/').any(|i| m(&p[1..], &s[i..])),
            Some('?') => !s.is_empty() && s[0] != '/' && m(&p[1..], &s[1..]),
            Some(c) => s.first() == Some(c) && m(&p[1..], &s[1..]),
        }
    }
    m(&p, &s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_is_path_match() {
        assert!(glob("busy*", "busybox"));
        assert!(glob("*/app", "user/app"));
        assert!(!glob("*", "user/app"));
        assert!(glob("b?sybox:*", "busybox:latest"));
    }

    #[test]
    fn reference_filter_matches_short_and_full_names() {
        let f = Filters::parse(&["reference=busybox:1*".to_string()], None).unwrap();
        assert!(f.keep_tag("busybox", "1.36"));
        assert!(!f.keep_tag("busybox", "latest"));
        let f = Filters::parse(&[], Some("docker.io/library/busybox")).unwrap();
        assert!(f.keep_tag("busybox", "latest"));
        assert!(!f.keep_tag("alpine", "latest"));
    }
}
