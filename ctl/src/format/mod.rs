//! berthctl's output layer: everything a command prints about its objects
//! goes through here, so that tables, `--format` templates, `--format json`
//! and `inspect` look exactly as docker's (docker/cli
//! `cli/command/formatter/formatter.go` and `cli/command/inspect/inspector.go`).
//!
//! A list command builds one JSON object per row with docker's field names
//! (see [`rows`] for images, containers, volumes and networks) and calls
//! [`print_list`]; an inspect command hands its objects (docker's inspect
//! JSON) to [`print_inspect`] or [`inspect`]. Units, times, status lines and
//! `--since`/`--until` parsing live in [`units`] and [`time`].

// The list and inspect API is called by the image, container, volume and
// network commands, which land on top of it; until each has, parts of it are
// only reached from tests.
#![cfg_attr(not(test), allow(dead_code))]

mod json;
pub(crate) mod rows;
pub(crate) mod tabwriter;
mod template;
pub(crate) mod time;
mod tree;
pub(crate) mod units;

use std::io::Write;

pub(crate) use template::{LABELS_KEY, Mode, Parsed, TemplateError};

/// docker's exit status when an inspect, version or info template does not
/// parse.
pub(crate) const EXIT_TEMPLATE_SYNTAX: i32 = 64;

/// How output failed, worded and numbered as docker 28's CLI does.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FormatError {
    /// A list's `--format` that does not parse (exit 1).
    #[error("failed to parse template")]
    ListParse(#[source] TemplateError),
    /// A list's `--format` that fails on a row (exit 1).
    #[error("failed to execute template")]
    ListExecute(#[source] TemplateError),
    /// A template of `inspect -f`, `version -f` or `info -f` that does not
    /// parse (docker exits 64 for these).
    #[error("template parsing error")]
    TemplateSyntax(#[source] TemplateError),
    /// A `version -f`/`info -f` template that fails on the data: docker
    /// prints the template error alone (exit 1).
    #[error(transparent)]
    ObjectExecute(TemplateError),
    /// Some objects of an inspect could not be shown: one line each, in
    /// argument order, after the output of the others (docker exits 1).
    #[error("{}", .0.join("\n"))]
    Inspect(Vec<String>),
    #[error("write output")]
    Write(#[source] std::io::Error),
}

impl FormatError {
    /// The exit status docker gives this failure.
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            FormatError::TemplateSyntax(_) => EXIT_TEMPLATE_SYNTAX,
            _ => 1,
        }
    }
}

/// What `--format` asked for, with docker's keywords resolved.
fn resolve<'a>(format: Option<&'a str>, default_table: &'a str) -> &'a str {
    match format {
        None | Some("") | Some("table") => default_table,
        Some("json") => "{{json .}}",
        Some(f) => f,
    }
}

/// Print a list as docker's `Context.Write` does.
///
/// `format` is the `--format` value (`None`, `table`, `json`, `table …`,
/// or a template); `default_table` the command's default (`table
/// {{.ID}}\t…`); `headers` maps each field to its column name (`("ID",
/// "CONTAINER ID")`); `rows` are JSON objects with docker's field names.
/// A table gets a header row and aligned columns; any other format prints
/// one rendered line per row. `-q` is the caller's `Some("{{.ID}}")`.
pub(crate) fn print_list(
    out: &mut dyn Write,
    format: Option<&str>,
    default_table: &str,
    headers: &[(&str, &str)],
    rows: &[serde_json::Value],
) -> Result<(), FormatError> {
    let text = render_list(resolve(format, default_table), headers, rows)?;
    out.write_all(text.as_bytes()).map_err(FormatError::Write)
}

fn render_list(format: &str, headers: &[(&str, &str)], rows: &[serde_json::Value]) -> Result<String, FormatError> {
    let table = format.strip_prefix("table");
    // docker trims spaces and turns the two-character `\t` and `\n` typed on
    // a shell command line into a tab and a newline.
    let body = table.unwrap_or(format).trim_matches(' ').replace(r"\t", "\t").replace(r"\n", "\n");
    let parsed = Parsed::new(&body, Mode::List).map_err(FormatError::ListParse)?;
    let mut text = String::new();
    for row in rows {
        text.push_str(&parsed.render(row).map_err(FormatError::ListExecute)?);
        text.push('\n');
    }
    if table.is_none() {
        return Ok(text);
    }
    let header = template::render_header(&body, headers).map_err(FormatError::ListExecute)?;
    Ok(tabwriter::align(&format!("{header}\n{text}")))
}

/// Print `inspect` output for objects that were all found: a JSON array
/// indented by four spaces (as the daemon's JSON, HTML-escaped), the array
/// on one line for `--format json`, or the template once per object.
pub(crate) fn print_inspect(
    out: &mut dyn Write,
    format: Option<&str>,
    items: &[serde_json::Value],
) -> Result<(), FormatError> {
    inspect(out, format, items, |item| Ok::<_, std::convert::Infallible>(item.clone()))
}

/// docker's `inspect.Inspect`: look each reference up, print what was
/// found, then fail with one line per reference that was not found or whose
/// template failed (the lookup error's text as docker words it, e.g. "Error:
/// No such object: web"). The template is parsed before any lookup.
pub(crate) fn inspect<R, E: std::fmt::Display>(
    out: &mut dyn Write,
    format: Option<&str>,
    refs: &[R],
    mut lookup: impl FnMut(&R) -> Result<serde_json::Value, E>,
) -> Result<(), FormatError> {
    let template = match format {
        None | Some("") | Some("json") => None,
        Some(src) => Some(Parsed::new(src, Mode::Inspect).map_err(FormatError::TemplateSyntax)?),
    };
    let mut found = Vec::new();
    let mut rendered = String::new();
    let mut errors = Vec::new();
    for r in refs {
        let item = match lookup(r) {
            Ok(item) => item,
            Err(e) => {
                errors.push(e.to_string());
                continue;
            }
        };
        match &template {
            None => found.push(item),
            Some(t) => match t.render(&item) {
                Ok(line) => {
                    rendered.push_str(&line);
                    rendered.push('\n');
                }
                Err(e) => errors.push(format!("template parsing error: {e}")),
            },
        }
    }
    let text = match (&template, format) {
        (Some(_), _) if rendered.is_empty() => "\n".to_string(),
        (Some(_), _) => rendered,
        (None, Some("json")) => json::encode(&serde_json::Value::Array(found), json::INSPECT_COMPACT) + "\n",
        (None, _) => json::encode(&serde_json::Value::Array(found), json::INSPECT) + "\n",
    };
    out.write_all(text.as_bytes()).map_err(FormatError::Write)?;
    if errors.is_empty() { Ok(()) } else { Err(FormatError::Inspect(errors)) }
}

/// `v` as the `json` template function writes it (Go's `json.Marshal`
/// without HTML escaping), keeping the object's key order.
pub(crate) fn json_text(v: &serde_json::Value) -> String {
    json::encode(v, json::TEMPLATE)
}

/// One object as `version -f` and `info -f` print it: the template (or
/// `json`) over `data`, then a newline. `name` is the template's name in
/// error messages (docker names `version`'s, not `info`'s).
pub(crate) fn print_object(
    out: &mut dyn Write,
    name: &str,
    format: &str,
    data: &serde_json::Value,
) -> Result<(), FormatError> {
    let source = if format == "json" { "{{json .}}" } else { format };
    let parsed = Parsed::named(name, source, Mode::Object).map_err(FormatError::TemplateSyntax)?;
    let text = parsed.render(data).map_err(FormatError::ObjectExecute)? + "\n";
    out.write_all(text.as_bytes()).map_err(FormatError::Write)
}

/// A command's own layout template over `data`, aligned on its tabs (docker
/// renders `version` this way, through a tabwriter of its own settings).
pub(crate) fn print_aligned(
    out: &mut dyn Write,
    template: &str,
    data: &serde_json::Value,
    settings: tabwriter::Settings,
) -> Result<(), FormatError> {
    let parsed = Parsed::new(template, Mode::Object).map_err(FormatError::TemplateSyntax)?;
    let text = tabwriter::align_with(&parsed.render(data).map_err(FormatError::ObjectExecute)?, settings);
    out.write_all(text.as_bytes()).map_err(FormatError::Write)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const PS_TABLE: &str = "table {{.ID}}\t{{.Image}}\t{{.Status}}\t{{.Names}}";
    const PS_HEADERS: &[(&str, &str)] =
        &[("ID", "CONTAINER ID"), ("Image", "IMAGE"), ("Status", "STATUS"), ("Names", "NAMES")];

    fn rows() -> Vec<serde_json::Value> {
        vec![
            json!({"ID": "4c01db0b339c", "Image": "busybox", "Status": "Up 5 minutes", "Names": "web"}),
            json!({"ID": "d8a9e1b2c3f4", "Image": "docker.io/library/nginx:latest", "Status": "Exited (0) 2 hours ago", "Names": "proxy"}),
        ]
    }

    fn list(format: Option<&str>, rows: &[serde_json::Value]) -> Result<String, FormatError> {
        let mut out = Vec::new();
        print_list(&mut out, format, PS_TABLE, PS_HEADERS, rows)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn default_table_has_docker_headers_and_alignment() {
        let got = list(None, &rows()).unwrap();
        let want = "\
CONTAINER ID   IMAGE                            STATUS                   NAMES
4c01db0b339c   busybox                          Up 5 minutes             web
d8a9e1b2c3f4   docker.io/library/nginx:latest   Exited (0) 2 hours ago   proxy
";
        assert_eq!(got, want);
    }

    #[test]
    fn empty_table_still_prints_its_header() {
        assert_eq!(list(Some("table"), &[]).unwrap(), "CONTAINER ID   IMAGE     STATUS    NAMES\n");
    }

    #[test]
    fn custom_table_derives_the_header_from_placeholders() {
        let got = list(Some(r"table {{.Names}}\t{{upper .Image}}"), &rows()).unwrap();
        assert_eq!(got, "NAMES     IMAGE\nweb       BUSYBOX\nproxy     DOCKER.IO/LIBRARY/NGINX:LATEST\n");
    }

    #[test]
    fn plain_template_prints_one_line_per_row_without_header() {
        let got = list(Some("{{.Names}}: {{.Status}}"), &rows()).unwrap();
        assert_eq!(got, "web: Up 5 minutes\nproxy: Exited (0) 2 hours ago\n");
        assert_eq!(list(Some("{{.ID}}"), &[]).unwrap(), "");
    }

    #[test]
    fn json_format_prints_one_object_per_line_with_sorted_keys() {
        let got = list(Some("json"), &rows()[..1]).unwrap();
        assert_eq!(
            got,
            "{\"ID\":\"4c01db0b339c\",\"Image\":\"busybox\",\"Names\":\"web\",\"Status\":\"Up 5 minutes\"}\n"
        );
    }

    #[test]
    fn list_template_errors_are_worded_as_docker_28_and_exit_1() {
        let err = list(Some("{{.Names"), &rows()).unwrap_err();
        assert!(matches!(err, FormatError::ListParse(_)));
        assert_eq!(err.to_string(), "failed to parse template");
        assert_eq!(err.exit_code(), 1);
        let err = list(Some("{{.Nope}}"), &rows()).unwrap_err();
        assert!(matches!(err, FormatError::ListExecute(_)));
        assert_eq!(err.exit_code(), 1);
    }

    fn inspect_str(format: Option<&str>, items: &[serde_json::Value]) -> Result<String, (String, FormatError)> {
        let mut out = Vec::new();
        match print_inspect(&mut out, format, items) {
            Ok(()) => Ok(String::from_utf8(out).unwrap()),
            Err(e) => Err((String::from_utf8(out).unwrap(), e)),
        }
    }

    #[test]
    fn inspect_prints_an_indented_array() {
        let items = [json!({"Id": "abc", "State": {"Running": true}})];
        let want = "[\n    {\n        \"Id\": \"abc\",\n        \"State\": {\n            \"Running\": true\n        }\n    }\n]\n";
        assert_eq!(inspect_str(None, &items).unwrap(), want);
        assert_eq!(inspect_str(None, &[]).unwrap(), "[]\n");
        assert_eq!(inspect_str(Some("json"), &items).unwrap(), "[{\"Id\":\"abc\",\"State\":{\"Running\":true}}]\n");
    }

    #[test]
    fn inspect_template_runs_per_item() {
        let items = [json!({"Name": "/a", "State": {"Pid": 7}}), json!({"Name": "/b", "State": {"Pid": 9}})];
        assert_eq!(inspect_str(Some("{{.Name}} {{.State.Pid}}"), &items).unwrap(), "/a 7\n/b 9\n");
    }

    #[test]
    fn inspect_template_parse_error_exits_64_before_output() {
        let (out, err) = inspect_str(Some("{{.Name"), &[json!({})]).unwrap_err();
        assert_eq!(out, "");
        assert_eq!(err.exit_code(), 64);
    }

    #[test]
    fn inspect_reports_missing_objects_after_printing_the_others() {
        let mut out = Vec::new();
        let refs = ["a", "nosuch", "b"];
        let err = inspect(&mut out, Some("{{.Name}}"), &refs, |r| {
            if *r == "nosuch" { Err(format!("Error: No such object: {r}")) } else { Ok(json!({"Name": r})) }
        })
        .unwrap_err();
        assert_eq!(String::from_utf8(out).unwrap(), "a\nb\n");
        assert_eq!(err.to_string(), "Error: No such object: nosuch");
        assert_eq!(err.exit_code(), 1);
    }

    #[test]
    fn single_objects_print_template_or_json_with_a_newline() {
        let data = json!({"Client": {"Version": "0.1.0", "Os": "linux"}});
        let mut out = Vec::new();
        print_object(&mut out, "version", "{{.Client.Version}}", &data).unwrap();
        print_object(&mut out, "version", "json", &data).unwrap();
        let want = "0.1.0\n{\"Client\":{\"Version\":\"0.1.0\",\"Os\":\"linux\"}}\n";
        assert_eq!(String::from_utf8(out).unwrap(), want);
        let err = print_object(&mut Vec::new(), "version", "{{.Client", &data).unwrap_err();
        assert_eq!(err.exit_code(), 64);
        let chain = format!("{}: {}", err, std::error::Error::source(&err).unwrap());
        assert_eq!(chain, "template parsing error: template: version:1: unclosed action");
        let err = print_object(&mut Vec::new(), "", "{{.Nope}}", &data).unwrap_err();
        assert_eq!(err.exit_code(), 1);
    }

    #[test]
    fn inspect_with_nothing_found_prints_an_empty_line_for_templates() {
        let mut out = Vec::new();
        let err =
            inspect(&mut out, Some("{{.Name}}"), &["x"], |_| Err::<serde_json::Value, _>("Error: No such object: x"));
        assert!(err.is_err());
        assert_eq!(String::from_utf8(out).unwrap(), "\n");
    }
}
