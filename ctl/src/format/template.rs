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
    #[error(transparent)]
    Go(#[from] gotmpl::TemplateError),
    /// Go's words for a template that does not parse (gotmpl adds a column
    /// Go does not print).
    #[error("template: :{line}: {message}")]
    Syntax { line: usize, message: String },
    #[error("template: :{line}: function {name:?} not defined")]
    UndefinedFunction { line: usize, name: String },
}

fn syntax(e: gotmpl::TemplateError) -> TemplateError {
    match e {
        gotmpl::TemplateError::Parse { line, message, .. } | gotmpl::TemplateError::Lex { line, message, .. } => {
            TemplateError::Syntax { line, message }
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
    /// An inspected object: fields docker omits when empty still exist on
    /// its typed structs, so a missing key prints `<no value>` instead of
    /// failing; `json` never escapes HTML.
    Inspect,
    /// A table's header row, rendered over the column names with docker's
    /// header functions.
    Header,
}

/// A parsed template, ready for rows (and, for tables, the header).
pub(crate) struct Parsed {
    body: Template,
    /// Set when the body lives under `MAIN` (after the `.Label` rewrite).
    named: bool,
}

impl Parsed {
    /// Parse `source` with docker's functions, failing as Go does on a
    /// syntax error or an undefined function.
    pub(crate) fn new(source: &str, mode: Mode) -> Result<Parsed, TemplateError> {
        let base = |name: &str| {
            let t = Template::new(name);
            with_functions(if mode == Mode::List { t.missing_key(MissingKey::Error) } else { t }, mode)
        };
        // Parsed unnamed first so that syntax errors read as Go's
        // ("template: :1: unclosed action").
        let unnamed = base("").parse(source).map_err(syntax)?;
        let named = base(MAIN).parse(source).map_err(syntax)?;
        let Some(main) = named.lookup(MAIN).cloned() else {
            return Ok(Parsed { body: unnamed, named: false });
        };
        let mut trees = vec![(MAIN.to_string(), main)];
        for name in named.templates().into_iter().filter(|n| *n != MAIN) {
            if let Some(t) = named.lookup(name) {
                trees.push((name.to_string(), t.clone()));
            }
        }
        for (_, t) in &trees {
            if let Some((line, name)) = tree::undefined_function(t, DOCKER_FUNCS) {
                return Err(TemplateError::UndefinedFunction { line, name });
            }
        }
        let mut body = named;
        for (name, mut t) in trees {
            tree::rewrite_label_calls(&mut t);
            body = body.add_parse_tree(&name, t);
        }
        Ok(Parsed { body, named: true })
    }

    /// Render one item (a JSON value turned into template data).
    pub(crate) fn render(&self, item: &serde_json::Value) -> Result<String, TemplateError> {
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
        .func("pad", |args| {
            let (s, prefix, suffix) = (arg_str("pad", args, 0)?, arg_int("pad", args, 1)?, arg_int("pad", args, 2)?);
            if s.is_empty() {
                return Ok(Value::String(Arc::from("")));
            }
            let out = format!("{}{s}{}", " ".repeat(prefix), " ".repeat(suffix));
            Ok(Value::String(out.into()))
        })
        .func(tree::LABEL_FUNC, move |args| {
            let key = arg_str(tree::LABEL_FUNC, args, 1)?;
            if mode == Mode::Header {
                return Ok(Value::String(header_label(&key).into()));
            }
            let label = match args.first() {
                Some(Value::Map(row)) => row.get(LABELS_KEY).and_then(|labels| labels.field(&key)).cloned(),
                _ => None,
            };
            Ok(label.unwrap_or_else(|| Value::String(Arc::from(""))))
        });
    if mode == Mode::Header {
        // Headers stay as they are: docker's HeaderFunctions return their
        // first argument (a string) untouched.
        return ["json", "title", "lower", "upper", "split", "join", "truncate"]
            .into_iter()
            .fold(t, |t, name| t.func(name, move |args| Ok(args.first().cloned().unwrap_or(Value::Nil))));
    }
    t.func("json", move |args| {
        let v = args.first().cloned().unwrap_or(Value::Nil);
        let style =
            if mode == Mode::List && matches!(v, Value::Map(_)) { json::INSPECT_COMPACT } else { json::TEMPLATE };
        Ok(Value::String(json::encode(&to_json(&v), style).into()))
    })
    .func("split", |args| {
        let (s, sep) = (arg_str("split", args, 0)?, arg_str("split", args, 1)?);
        let parts: Vec<Value> = if sep.is_empty() {
            s.chars().map(|c| Value::String(c.to_string().into())).collect()
        } else {
            s.split(sep.as_ref()).map(|p| Value::String(p.into())).collect()
        };
        Ok(Value::List(parts.into()))
    })
    .func("join", |args| {
        let sep = arg_str("join", args, 1)?;
        match args.first() {
            Some(Value::List(items)) => {
                let parts: Vec<String> = items.iter().map(ToString::to_string).collect();
                Ok(Value::String(parts.join(&sep).into()))
            }
            Some(Value::Nil) | None => Ok(Value::String(Arc::from(""))),
            Some(other) => Err(wrong_type("join", "[]string", other)),
        }
    })
    .func("title", |args| Ok(Value::String(go_title(&arg_str("title", args, 0)?).into())))
    .func("lower", |args| Ok(Value::String(arg_str("lower", args, 0)?.to_lowercase().into())))
    .func("upper", |args| Ok(Value::String(arg_str("upper", args, 0)?.to_uppercase().into())))
    .func("truncate", |args| {
        let (s, n) = (arg_str("truncate", args, 0)?, arg_int("truncate", args, 1)?);
        // docker slices bytes; cut at a character boundary instead so that
        // the result stays valid text.
        let cut = s.char_indices().nth(n).map_or(s.len(), |(i, _)| i);
        Ok(Value::String(s[..cut].into()))
    })
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
        assert_eq!(render("{{json .L}}", data), r#"{"a":"<b>","z":"1"}"#);
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
    fn list_rows_refuse_unknown_fields_inspect_prints_no_value() {
        assert!(Parsed::new("{{.Nope}}", Mode::List).unwrap().render(&json!({"A": 1})).is_err());
        assert_eq!(Parsed::new("{{.Nope}}", Mode::Inspect).unwrap().render(&json!({"A": 1})).unwrap(), "<no value>");
    }

    #[test]
    fn json_of_a_list_row_escapes_html_as_docker_context_marshalling() {
        let row = json!({"Digest": "<none>"});
        let t = Parsed::new("{{json .}} {{json .Digest}}", Mode::List).unwrap();
        assert_eq!(t.render(&row).unwrap(), r#"{"Digest":"\u003cnone\u003e"} "<none>""#);
    }

    #[test]
    fn go_title_capitalizes_words() {
        assert_eq!(go_title("hello wORLD-foo_bar"), "Hello WORLD-Foo_bar");
    }
}
