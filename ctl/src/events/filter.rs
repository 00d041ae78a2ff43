//! docker's event filter (moby `daemon/events/filter.go` over `filters.Args`):
//! values of one key are alternatives, different keys must all match;
//! `container=`, `network=`, `volume=` match the actor's id or its `name`
//! attribute by prefix; `image=` matches the image id or name, with or
//! without its tag; `label=` needs every given label; `event=` is exact,
//! except that `exec_create`, `exec_start` match `exec_start: sh …`.

use std::collections::BTreeMap;

use super::Event;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum FilterError {
    #[error("bad format of filter (expected name=value)")]
    Format,
}

/// `--filter key=value`, grouped by key.
#[derive(Debug, Default, Clone)]
pub(crate) struct Filter {
    fields: BTreeMap<String, Vec<String>>,
}

impl Filter {
    /// Parse docker's `--filter` values (`key=value`).
    pub(crate) fn parse(args: &[String]) -> Result<Filter, FilterError> {
        let mut f = Filter::default();
        for a in args {
            let (k, v) = a.split_once('=').ok_or(FilterError::Format)?;
            f.fields.entry(k.trim().to_lowercase()).or_default().push(v.to_string());
        }
        Ok(f)
    }

    fn values(&self, key: &str) -> &[String] {
        self.fields.get(key).map_or(&[], Vec::as_slice)
    }

    /// Go's `ExactMatch`: true when `key` is not filtered on.
    fn exact(&self, key: &str, source: &str) -> bool {
        !self.fields.contains_key(key) || self.values(key).iter().any(|v| v == source)
    }

    /// Go's `FuzzyMatch`: exact, or `source` starts with a value.
    fn fuzzy(&self, key: &str, source: &str) -> bool {
        self.exact(key, source) || self.values(key).iter().any(|v| source.starts_with(v.as_str()))
    }

    /// Go's `MatchKVList`: every `k` or `k=v` given is among `attributes`.
    fn labels(&self, attributes: &BTreeMap<String, String>) -> bool {
        let wanted = self.values("label");
        if wanted.is_empty() {
            return true;
        }
        wanted.iter().all(|w| match w.split_once('=') {
            Some((k, v)) => attributes.get(k).is_some_and(|x| x == v),
            None => attributes.contains_key(w.as_str()),
        })
    }

    fn event(&self, action: &str) -> bool {
        let fuzzy =
            self.values("event").iter().any(|v| matches!(v.as_str(), "health_status" | "exec_create" | "exec_start"));
        if fuzzy { self.fuzzy("event", action) } else { self.exact("event", action) }
    }

    fn name(&self, key: &str, e: &Event) -> bool {
        let name = e.attributes.get("name").map_or("", String::as_str);
        self.fuzzy(key, &e.actor) || self.fuzzy(key, name)
    }

    fn image(&self, e: &Event) -> bool {
        let attr = if e.kind == "image" { "name" } else { "image" };
        let name = e.attributes.get(attr).map_or("", String::as_str);
        self.exact("image", &e.actor)
            || self.exact("image", name)
            || self.exact("image", &strip_tag(&e.actor))
            || self.exact("image", &strip_tag(name))
    }

    /// Whether `e` passes every filter.
    pub(crate) fn include(&self, e: &Event) -> bool {
        self.event(&e.action)
            && self.exact("type", &e.kind)
            && self.exact("scope", "local")
            && ["daemon", "container", "plugin", "volume", "network", "service", "node", "secret", "config"]
                .iter()
                .all(|k| self.name(k, e))
            && self.image(e)
            && self.labels(&e.attributes)
    }
}

/// docker's `reference.FamiliarName`: the short repository without its tag.
fn strip_tag(image: &str) -> String {
    match crate::reference::Reference::parse_name_only(image) {
        Ok(r) => crate::reference::familiar(&r.repository()),
        Err(_) => image.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(args: &[&str]) -> Filter {
        Filter::parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn start() -> Event {
        Event::new("container", "start", "abc123")
            .attr("name", "web")
            .attr("image", "busybox:latest")
            .attr("tier", "front")
    }

    #[test]
    fn keys_and_alternatives() {
        assert!(f(&[]).include(&start()));
        assert!(f(&["type=container", "event=start"]).include(&start()));
        assert!(!f(&["type=image"]).include(&start()));
        assert!(f(&["event=stop", "event=start"]).include(&start()));
        assert!(f(&["container=web"]).include(&start()));
        assert!(f(&["container=abc"]).include(&start()), "id prefix");
        assert!(!f(&["container=other"]).include(&start()));
        assert!(f(&["image=busybox"]).include(&start()), "tag stripped");
        assert!(f(&["label=tier=front", "label=tier"]).include(&start()));
        assert!(!f(&["label=tier=back"]).include(&start()));
        assert_eq!(Filter::parse(&["nokey".to_string()]).unwrap_err(), FilterError::Format);
    }

    #[test]
    fn exec_events_match_without_their_command() {
        let e = Event::new("container", "exec_start: sh -c true", "abc");
        assert!(f(&["event=exec_start"]).include(&e));
        assert!(!f(&["event=exec_die"]).include(&e));
    }
}
