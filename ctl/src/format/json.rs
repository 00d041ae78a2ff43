//! JSON written byte for byte as Go's `encoding/json` writes it, because
//! docker's output is Go's: `inspect` escapes `<`, `>` and `&` as `\u003c`…
//! (the daemon encodes with HTML escaping on) and indents by four spaces; the
//! `json` template function and `--format json` do not escape HTML; integral
//! floats print without a fraction; U+2028/U+2029 are always escaped.

use std::fmt::Write as _;

use serde_json::Value;

/// How to write: compact or indented by four spaces, HTML escaped or not.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    pub indent: bool,
    pub escape_html: bool,
}

/// `json.Marshal` with `SetEscapeHTML(false)`: the `json` template function.
pub(crate) const TEMPLATE: Style = Style { indent: false, escape_html: false };
/// `json.MarshalIndent(v, "", "    ")` of daemon JSON: `inspect`'s output.
pub(crate) const INSPECT: Style = Style { indent: true, escape_html: true };
/// `json.Marshal` of daemon JSON: `inspect --format json`.
pub(crate) const INSPECT_COMPACT: Style = Style { indent: false, escape_html: true };

/// Encode `v` as Go would.
pub(crate) fn encode(v: &Value, style: Style) -> String {
    let mut out = String::new();
    write_value(&mut out, v, style, 0);
    out
}

fn write_value(out: &mut String, v: &Value, style: Style, depth: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s, style.escape_html),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, style, depth + 1);
                write_value(out, item, style, depth + 1);
            }
            newline(out, style, depth);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, style, depth + 1);
                write_string(out, k, style.escape_html);
                out.push(':');
                if style.indent {
                    out.push(' ');
                }
                write_value(out, item, style, depth + 1);
            }
            newline(out, style, depth);
            out.push('}');
        }
    }
}

fn newline(out: &mut String, style: Style, depth: usize) {
    if style.indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("    ");
        }
    }
}

/// Go writes float64 in `%f` form between 1e-6 and 1e21 and `%e` form
/// outside it, shortest representation either way; integers as they are.
fn write_number(out: &mut String, n: &serde_json::Number) {
    if n.is_i64() || n.is_u64() {
        let _ = write!(out, "{n}");
        return;
    }
    let f = n.as_f64().unwrap_or(0.0);
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = exp.strip_prefix('-').map_or(('+', exp), |d| ('-', d));
        let _ = write!(out, "{mantissa}e{sign}{digits:0>2}");
    } else if f.fract() == 0.0 {
        let _ = write!(out, "{f:.0}");
    } else {
        let _ = write!(out, "{f}");
    }
}

fn write_string(out: &mut String, s: &str, escape_html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if escape_html => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn inspect_style_indents_four_and_escapes_html() {
        let v = json!([{"Id": "abc", "Cmd": ["sh", "-c", "a > b && c"], "Env": [], "Labels": {}}]);
        let want = "[\n    {\n        \"Id\": \"abc\",\n        \"Cmd\": [\n            \"sh\",\n            \"-c\",\n            \"a \\u003e b \\u0026\\u0026 c\"\n        ],\n        \"Env\": [],\n        \"Labels\": {}\n    }\n]";
        assert_eq!(encode(&v, INSPECT), want);
    }

    #[test]
    fn template_style_is_compact_without_html_escaping() {
        let v = json!({"B": "<x>", "A": 1});
        // Keys keep their order (serde_json's preserve_order): Go maps sort,
        // structs keep field order; callers decide.
        assert_eq!(encode(&v, TEMPLATE), r#"{"B":"<x>","A":1}"#);
    }

    #[test]
    fn numbers_print_as_go_prints_them() {
        assert_eq!(encode(&json!(1.0), TEMPLATE), "1");
        assert_eq!(encode(&json!(0.5), TEMPLATE), "0.5");
        assert_eq!(encode(&json!(1e21), TEMPLATE), "1e+21");
        assert_eq!(encode(&json!(1e-7), TEMPLATE), "1e-07");
        assert_eq!(encode(&json!(-3), TEMPLATE), "-3");
        assert_eq!(encode(&json!(u64::MAX), TEMPLATE), "18446744073709551615");
    }

    #[test]
    fn control_characters_are_escaped_as_go_does() {
        assert_eq!(encode(&json!("a\u{1}\u{2028}\"\\"), TEMPLATE), r#""a\u0001\u2028\"\\""#);
        assert_eq!(encode(&json!(null), TEMPLATE), "null");
    }
}
