//! Go templates with docker's functions (docker/cli `templates/templates.go`):
//! `json`, `split`, `join`, `title`, `lower`, `upper`, `pad`, `truncate`, on
//! top of text/template's own (`printf`, `println`, `index`, `len`, `eq`…),
//! executed by the `gotmpl` crate. Table headers are rendered by running the
//! same template over the header names with docker's header functions, which
//! leave the names as they are (`{{upper .Names}}` still heads "NAMES").

use std::sync::Arc;

use gotmpl::{MissingKey, Template, Value};

use super::{json, tree};

/// Where a row keeps its labels for `{{.Label "key"}}`: a key no template
/// can spell, left out of `{{json .}}` (see `rows::with_labels`).
pub(crate) const LABELS_KEY: &str = "\u{1}labels";

/// The name the template is parsed under a second time, to reach its tree.
const MAIN: &str = "main";

/// docker's own functions (text/template's builtins come with gotmpl).
const DOCKER_FUNCS: &[&str] =
    &["json", "split", "join", "title", "lower", "upper", "pad", "truncate", tree::LABEL_FUNC];

#[derive(Debug, thiserror::Error)]
pub(crate) enum TemplateError {
    #[error("{}", go_words(.0))]
    Go(#[from] gotmpl::TemplateError),
    /// Go's words for a template that does not parse (gotmpl adds a column
    /// Go does not print).
    #[error("template: {template}:{line}: {message}")]
    Syntax { template: String, line: usize, message: String },
    #[error("template: {template}:{line}: function {name:?} not defined")]
    UndefinedFunction { template: String, line: usize, name: String },
}

/// An execution error in Go's words where gotmpl's differ.
fn go_words(e: &gotmpl::TemplateError) -> String {
    match e {
        gotmpl::TemplateError::MissingKey { key } => format!("map has no entry for key {key:?}"),
        gotmpl::TemplateError::Exec(msg) => msg.clone(),
        other => other.to_string(),
    }
}

fn syntax(template: &str, e: gotmpl::TemplateError) -> TemplateError {
    match e {
        gotmpl::TemplateError::Parse { line, message, .. } | gotmpl::TemplateError::Lex { line, message, .. } => {
            TemplateError::Syntax { template: template.to_string(), line, message }
        }
        other => TemplateError::Go(other),
    }
}

/// Where a template runs: the two differ as docker's typed contexts do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A list row (docker's formatter contexts): an unknown field is an
    /// error ("can't evaluate field"), and `{{json .}}` of the row is
    /// HTML-escaped because the context marshals itself with `json.Marshal`.
    List,
    /// An inspected object: an unknown key is an error, as in docker's
    /// fallback over the raw JSON (`missingkey=error`), so inspect items must
    /// carry every field docker's struct has (null where Go's is nil);
    /// `json` never escapes HTML.
    Inspect,
    /// A command's own object (`version`, `info`): complete typed data as
    /// docker's, so an unknown field is an error, and `json` does not escape.
    Object,
    /// A table's header row, rendered over the column names with docker's
    /// header functions.
    Header,
    /// A typed message whose maps are open (`events`' `Actor.Attributes`):
    /// a missing key prints `<no value>` as Go's does for a map, and `json`
    /// keeps the message's field order and does not escape.
    Message,
}

/// A parsed template, ready for rows (and, for tables, the header).
pub(crate) struct Parsed {
    body: Template,
    /// Set when the body lives under `MAIN` (after the `.Label` rewrite).
    named: bool,
    /// For a template that is just `{{json .Some.Path}}` outside list rows:
    /// the path, so the JSON keeps the object's own key order (docker
    /// marshals its typed structs in field order; template maps are sorted).
    json_path: Option<Vec<String>>,
}

/// `{{json .}}` → `[]`, `{{json .A.B}}` → `["A", "B"]`, else `None`.
fn json_only_path(source: &str) -> Option<Vec<String>> {
    let inner = source.trim().strip_prefix("{{")?.strip_suffix("}}")?.trim();
    let path = inner.strip_prefix("json")?.trim_start();
    if path == "." {
        return Some(Vec::new());
    }
    let fields: Vec<String> = path.strip_prefix('.')?.split('.').map(str::to_string).collect();
    let is_ident = |f: &String| !f.is_empty() && f.chars().all(|c| c.is_alphanumeric() || c == '_');
    fields.iter().all(is_ident).then_some(fields)
}

impl Parsed {
    /// Parse `source` with docker's functions, failing as Go does on a
    /// syntax error or an undefined function.
    pub(crate) fn new(source: &str, mode: Mode) -> Result<Parsed, TemplateError> {
        Parsed::named("", source, mode)
    }

    /// `new`, with the template's name as Go's errors show it
    /// ("template: version:1: …").
    pub(crate) fn named(name: &str, source: &str, mode: Mode) -> Result<Parsed, TemplateError> {
        let base = |name: &str| {
            let t = Template::new(name);
            // Headers run over a map of column names, where Go's missing
            // key prints "<no value>"; everything else fails on one.
            let strict = !matches!(mode, Mode::Header | Mode::Message);
            with_functions(if strict { t.missing_key(MissingKey::Error) } else { t }, mode)
        };
        // Parsed unnamed first so that syntax errors read as Go's
        // ("template: :1: unclosed action").
        let unnamed = base("").parse(source).map_err(|e| syntax(name, e))?;
        let named = base(MAIN).parse(source).map_err(|e| syntax(name, e))?;
        let json_path =
            if matches!(mode, Mode::Inspect | Mode::Object | Mode::Message) { json_only_path(source) } else { None };
        let Some(main) = named.lookup(MAIN).cloned() else {
            return Ok(Parsed { body: unnamed, named: false, json_path });
        };
        let mut trees = vec![(MAIN.to_string(), main)];
        for name in named.templates().into_iter().filter(|n| *n != MAIN) {
            if let Some(t) = named.lookup(name) {
                trees.push((name.to_string(), t.clone()));
            }
        }
        for (_, t) in &trees {
            if let Some((line, func)) = tree::undefined_function(t, DOCKER_FUNCS) {
                return Err(TemplateError::UndefinedFunction { template: name.to_string(), line, name: func });
            }
        }
        let mut body = named;
        for (name, mut t) in trees {
            tree::rewrite_label_calls(&mut t);
            body = body.add_parse_tree(&name, t);
        }
        Ok(Parsed { body, named: true, json_path })
    }

    /// Render one item (a JSON value turned into template data).
    pub(crate) fn render(&self, item: &serde_json::Value) -> Result<String, TemplateError> {
        if let Some(path) = &self.json_path
            && let Some(v) = path.iter().try_fold(item, |v, field| v.get(field))
        {
            return Ok(json::encode(v, json::TEMPLATE));
        }
        let data = to_template_value(item)?;
        let out = if self.named {
            self.body.execute_template_to_string(MAIN, &data)?
        } else {
            self.body.execute_to_string(&data)?
        };
        Ok(out)
    }
}

/// Render the header row of `source` over `headers` (field → column name).
pub(crate) fn render_header(source: &str, headers: &[(&str, &str)]) -> Result<String, TemplateError> {
    let map: serde_json::Map<String, serde_json::Value> =
        headers.iter().map(|(k, v)| ((*k).to_string(), serde_json::Value::String((*v).to_string()))).collect();
    Parsed::new(source, Mode::Header)?.render(&serde_json::Value::Object(map))
}

/// JSON data as template data: objects become maps (`.Field`), arrays lists.
pub(crate) fn to_template_value(item: &serde_json::Value) -> Result<Value, gotmpl::TemplateError> {
    gotmpl::to_value(item)
}

/// docker's functions for `mode` (its header functions for headers).
fn with_functions(t: Template, mode: Mode) -> Template {
    let t = t
        .func(
            "pad",
            arity("pad", 3, |args| {
                let (s, prefix, suffix) =
                    (arg_str("pad", args, 0)?, arg_int("pad", args, 1)?, arg_int("pad", args, 2)?);
                if s.is_empty() {
                    return Ok(Value::String(Arc::from("")));
                }
                let out = format!("{}{s}{}", " ".repeat(prefix), " ".repeat(suffix));
                Ok(Value::String(out.into()))
            }),
        )
        .func(
            tree::LABEL_FUNC,
            arity(tree::LABEL_FUNC, 2, move |args| {
                let key = arg_str(tree::LABEL_FUNC, args, 1)?;
                if mode == Mode::Header {
                    return Ok(Value::String(header_label(&key).into()));
                }
                let label = match args.first() {
                    Some(Value::Map(row)) => row.get(LABELS_KEY).and_then(|labels| labels.field(&key)).cloned(),
                    _ => None,
                };
                Ok(label.unwrap_or_else(|| Value::String(Arc::from(""))))
            }),
        );
    if mode == Mode::Header {
        // Headers stay as they are: docker's HeaderFunctions return their
        // first argument (a string) untouched.
        return ["json", "title", "lower", "upper", "split", "join", "truncate"]
            .into_iter()
            .fold(t, |t, name| t.func(name, move |args| Ok(args.first().cloned().unwrap_or(Value::Nil))));
    }
    t.func(
        "json",
        arity("json", 1, move |args| {
            let v = args.first().cloned().unwrap_or(Value::Nil);
            let style =
                if mode == Mode::List && matches!(v, Value::Map(_)) { json::INSPECT_COMPACT } else { json::TEMPLATE };
            Ok(Value::String(json::encode(&to_json(&v), style).into()))
        }),
    )
    .func(
        "split",
        arity("split", 2, |args| {
            let (s, sep) = (arg_str("split", args, 0)?, arg_str("split", args, 1)?);
            let parts: Vec<Value> = if sep.is_empty() {
                s.chars().map(|c| Value::String(c.to_string().into())).collect()
            } else {
                s.split(sep.as_ref()).map(|p| Value::String(p.into())).collect()
            };
            Ok(Value::List(parts.into()))
        }),
    )
    .func(
        "join",
        arity("join", 2, |args| {
            let sep = arg_str("join", args, 1)?;
            match args.first() {
                Some(Value::List(items)) => {
                    let parts: Vec<String> = items.iter().map(ToString::to_string).collect();
                    Ok(Value::String(parts.join(&sep).into()))
                }
                Some(Value::Nil) | None => Ok(Value::String(Arc::from(""))),
                Some(other) => Err(wrong_type("join", "[]string", other)),
            }
        }),
    )
    .func("title", arity("title", 1, |args| Ok(Value::String(go_title(&arg_str("title", args, 0)?).into()))))
    .func("lower", arity("lower", 1, |args| Ok(Value::String(arg_str("lower", args, 0)?.to_lowercase().into()))))
    .func("upper", arity("upper", 1, |args| Ok(Value::String(arg_str("upper", args, 0)?.to_uppercase().into()))))
    .func(
        "truncate",
        arity("truncate", 2, |args| {
            let (s, n) = (arg_str("truncate", args, 0)?, arg_int("truncate", args, 1)?);
            // docker slices bytes; cut at a character boundary instead so that
            // the result stays valid text.
            let cut = s.char_indices().nth(n).map_or(s.len(), |(i, _)| i);
            Ok(Value::String(s[..cut].into()))
        }),
    )
}

/// `f`, refusing a call with other than `want` arguments as Go does.
fn arity(
    name: &'static str,
    want: usize,
    f: impl Fn(&[Value]) -> gotmpl::Result<Value> + Send + Sync + 'static,
) -> impl Fn(&[Value]) -> gotmpl::Result<Value> + Send + Sync + 'static {
    move |args| {
        if args.len() != want {
            return Err(gotmpl::TemplateError::Exec(format!(
                "wrong number of args for {name}: want {want} got {}",
                args.len()
            )));
        }
        f(args)
    }
}

fn arg_str(func: &str, args: &[Value], i: usize) -> Result<Arc<str>, gotmpl::TemplateError> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(wrong_type(func, "string", other)),
        None => Err(gotmpl::TemplateError::Exec(format!(
            "wrong number of args for {func}: want {}, got {}",
            i + 1,
            args.len()
        ))),
    }
}

fn arg_int(func: &str, args: &[Value], i: usize) -> Result<usize, gotmpl::TemplateError> {
    match args.get(i) {
        Some(v) => v.as_int().and_then(|n| usize::try_from(n).ok()).ok_or_else(|| wrong_type(func, "int", v)),
        None => Err(gotmpl::TemplateError::Exec(format!(
            "wrong number of args for {func}: want {}, got {}",
            i + 1,
            args.len()
        ))),
    }
}

/// docker's `SubHeaderContext.Label`: the header of a `.Label "a.b-c"`
/// column is the key's last dotted part with `-` and `_` as spaces ("b c").
fn header_label(key: &str) -> String {
    key.rsplit('.').next().unwrap_or(key).replace(['-', '_'], " ")
}

/// Go's message for an argument of the wrong type.
fn wrong_type(func: &str, expected: &str, got: &Value) -> gotmpl::TemplateError {
    gotmpl::TemplateError::Exec(format!(
        "error calling {func}: wrong type for value; expected {expected}; got {}",
        got.type_name()
    ))
}

/// Go's deprecated `strings.Title`: upper-case the first letter of each word,
/// a word starting after anything but a letter, digit, underscore or mark.
fn go_title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_separator = true;
    for c in s.chars() {
        if prev_separator {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_separator = !(c.is_alphanumeric() || c == '_');
    }
    out
}

/// Template data back to JSON for `{{json …}}`. Maps come out with sorted
/// keys, as Go's `json.Marshal` writes a map.
pub(crate) fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Nil | Value::Function(_) => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(n) => serde_json::Value::from(*n),
        Value::Uint(n) => serde_json::Value::from(*n),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::String(s) => serde_json::Value::String(s.to_string()),
        Value::List(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Value::Map(m) => serde_json::Value::Object(
            m.iter().filter(|(k, _)| k.as_ref() != LABELS_KEY).map(|(k, v)| (k.to_string(), to_json(v))).collect(),
        ),
        #[allow(unreachable_patterns)]
        _ => serde_json::Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn render(src: &str, data: serde_json::Value) -> String {
        Parsed::new(src, Mode::Inspect).unwrap().render(&data).unwrap()
    }

    #[test]
    fn fields_and_builtins() {
        let data = json!({"Name": "web", "Ports": ["80/tcp", "443/tcp"], "State": {"Pid": 42, "Running": true}});
        assert_eq!(render("{{.Name}}", data.clone()), "web");
        assert_eq!(render("{{.State.Pid}} {{.State.Running}}", data.clone()), "42 true");
        assert_eq!(render("{{len .Ports}} {{index .Ports 1}}", data.clone()), "2 443/tcp");
        assert_eq!(render(r#"{{printf "%-5s|" .Name}}"#, data.clone()), "web  |");
        assert_eq!(render("{{range .Ports}}[{{.}}]{{end}}", data), "[80/tcp][443/tcp]");
    }

    #[test]
    fn docker_functions() {
        let data = json!({"Name": "my web", "Cmd": ["sh", "-c", "x"], "Csv": "a,b,c", "Empty": ""});
        assert_eq!(render("{{upper .Name}} {{lower \"ABC\"}} {{title .Name}}", data.clone()), "MY WEB abc My Web");
        assert_eq!(render(r#"{{join .Cmd " "}}"#, data.clone()), "sh -c x");
        assert_eq!(render(r#"{{index (split .Csv ",") 1}}"#, data.clone()), "b");
        assert_eq!(render("{{truncate .Name 2}}|{{truncate .Name 20}}", data.clone()), "my|my web");
        assert_eq!(render("[{{pad .Name 1 2}}][{{pad .Empty 1 2}}]", data.clone()), "[ my web  ][]");
        assert_eq!(render("{{json .Cmd}}", data.clone()), r#"["sh","-c","x"]"#);
        assert_eq!(render("{{println .Name}}", data), "my web\n");
    }

    #[test]
    fn json_of_a_map_sorts_its_keys_and_keeps_html() {
        let data = json!({"L": {"z": "1", "a": "<b>"}});
        assert_eq!(render("{{json .L}}.", data), r#"{"a":"<b>","z":"1"}."#);
    }

    #[test]
    fn header_functions_leave_names_alone() {
        let headers = [("Names", "NAMES"), ("Command", "COMMAND")];
        let got = render_header(r#"{{upper .Names}}\t{{json .Command}}\t{{truncate .Names 2}}"#, &headers).unwrap();
        assert_eq!(got, r"NAMES\tCOMMAND\tNAMES");
    }

    #[test]
    fn unknown_function_fails_to_parse_as_go() {
        let err = Parsed::new("{{.A}}\n{{nosuch .X}}", Mode::List).err().expect("parse error");
        assert_eq!(err.to_string(), r#"template: :2: function "nosuch" not defined"#);
    }

    #[test]
    fn syntax_errors_name_no_template() {
        let err = Parsed::new("{{.A", Mode::List).err().expect("parse error");
        assert_eq!(err.to_string(), "template: :1: unclosed action");
    }

    #[test]
    fn label_reads_the_rows_labels_and_heads_its_column() {
        let row = json!({"Names": "web", LABELS_KEY: {"com.example.tier-name": "front"}});
        let t = Parsed::new(r#"{{.Label "com.example.tier-name"}}|{{.Label "nope"}}|{{json .}}"#, Mode::List).unwrap();
        assert_eq!(t.render(&row).unwrap(), r#"front||{"Names":"web"}"#);
        let header = render_header(r#"{{.Names}} {{.Label "com.example.tier-name"}}"#, &[("Names", "NAMES")]).unwrap();
        assert_eq!(header, "NAMES tier name");
    }

    #[test]
    fn wrong_argument_type_is_an_error() {
        let err = Parsed::new("{{upper .N}}", Mode::List).unwrap().render(&json!({"N": 3})).unwrap_err();
        assert!(err.to_string().contains("expected string"), "{err}");
    }

    #[test]
    fn unknown_fields_are_errors_except_in_headers() {
        assert!(Parsed::new("{{.Nope}}", Mode::List).unwrap().render(&json!({"A": 1})).is_err());
        assert!(Parsed::new("{{.Nope}}", Mode::Inspect).unwrap().render(&json!({"A": 1})).is_err());
        assert_eq!(render_header("{{.Nope}}", &[]).unwrap(), "<no value>");
    }

    #[test]
    fn json_of_a_list_row_escapes_html_as_docker_context_marshalling() {
        let row = json!({"Digest": "<none>"});
        let t = Parsed::new("{{json .}} {{json .Digest}}", Mode::List).unwrap();
        assert_eq!(t.render(&row).unwrap(), r#"{"Digest":"\u003cnone\u003e"} "<none>""#);
    }

    #[test]
    fn json_of_inspect_data_keeps_the_objects_key_order() {
        let data = json!({"Id": "x", "Config": {"Image": "busybox", "Cmd": ["sh"], "Env": null}});
        let t = |src| Parsed::new(src, Mode::Inspect).unwrap().render(&data).unwrap();
        assert_eq!(t("{{json .Config}}"), r#"{"Image":"busybox","Cmd":["sh"],"Env":null}"#);
        assert_eq!(t(" {{ json . }} "), r#"{"Id":"x","Config":{"Image":"busybox","Cmd":["sh"],"Env":null}}"#);
        // Anything more than a path goes through the template engine.
        assert_eq!(t("{{json .Config.Cmd}}!"), r#"["sh"]!"#);
        assert_eq!(json_only_path("{{json .A.B}}"), Some(vec!["A".to_string(), "B".to_string()]));
        assert_eq!(json_only_path("{{json (index .A 0)}}"), None);
    }

    #[test]
    fn wrong_argument_counts_and_missing_keys_read_as_go() {
        let err = Parsed::new("{{upper .A 1}}", Mode::List).unwrap().render(&json!({"A": "x"})).unwrap_err();
        assert_eq!(err.to_string(), "wrong number of args for upper: want 1 got 2");
        let err = Parsed::new("{{.B}}", Mode::List).unwrap().render(&json!({"A": "x"})).unwrap_err();
        assert_eq!(err.to_string(), r#"map has no entry for key "B""#);
    }

    #[test]
    fn go_title_capitalizes_words() {
        assert_eq!(go_title("hello wORLD-foo_bar"), "Hello WORLD-Foo_bar");
    }
}
