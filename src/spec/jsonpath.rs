//! The JSON path of a position in a document (`process.user.uid`,
//! `mounts[2].options`), in serde_path_to_error's notation: what a parse error
//! of serde_json (which has a line and column, not a path) names as the field.
//!
//! config.json is parsed with plain serde_json: a path-tracking deserializer
//! wraps every visitor of oci-spec's types, and was the largest code in the
//! binary (280 KB) and in the pages every `create` touches. Only a failed parse
//! comes here, to scan the text up to the error.

/// One open container on the way to the position.
enum Level {
    /// In an object: the last key read (None before the first).
    Object(Option<String>),
    /// In an array: the index of the current element.
    Array(usize),
}

/// The path of the field a serde_json error `e` of parsing `text` is about;
/// "." for the document itself.
pub(crate) fn field_of(text: &str, e: &serde_json::Error) -> String {
    let mut end = offset_of(text, e.line(), e.column()).min(text.len());
    // Where serde_json puts the error depends on what refused the value:
    // - a value of the wrong kind of container is reported where it starts (the
    //   value is the field, not its first element);
    // - a missing field, or a sequence of the wrong length, once the object or
    //   array is closed (the container is the field);
    // - anything else once the value is read, often with the position of what
    //   follows it (whitespace, a separator, a closing bracket or brace, even
    //   the next element), which must not move the path on.
    let msg = e.to_string();
    let at_start = msg.starts_with("invalid type: map") || msg.starts_with("invalid type: sequence");
    let at_close = msg.starts_with("missing field") || msg.starts_with("invalid length");
    if !at_start && !at_close {
        let bytes = text.as_bytes();
        while end > 0 && bytes[end - 1].is_ascii_whitespace() {
            end -= 1;
        }
        if end > 0 && matches!(bytes[end - 1], b',' | b']' | b'}' | b'[' | b'{') {
            end -= 1;
        }
    }
    path_before(text, end)
}

/// The path of the value being read at byte offset `end` of `text`.
fn path_before(text: &str, end: usize) -> String {
    let mut stack: Vec<Level> = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    // A string just read, waiting to be known as a key (a ':' follows) or a value.
    let mut pending: Option<String> = None;
    while i < end {
        match bytes[i] {
            b'"' => {
                let (s, next) = read_string(text, i);
                pending = Some(s);
                i = next;
                continue;
            }
            b':' => {
                if let (Some(Level::Object(key)), Some(k)) = (stack.last_mut(), pending.take()) {
                    *key = Some(k);
                }
            }
            b',' => {
                pending = None;
                if let Some(Level::Array(n)) = stack.last_mut() {
                    *n += 1;
                }
            }
            b'{' => stack.push(Level::Object(None)),
            b'[' => stack.push(Level::Array(0)),
            b'}' | b']' => {
                stack.pop();
            }
            _ => {}
        }
        i += 1;
    }
    render(&stack)
}

/// The byte offset of serde_json's `line`:`column`: the column counts the
/// bytes of that line up to and including the one the error is at.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum();
    start + column
}

/// The string starting at the quote at `at` (escapes kept as written: keys in
/// the spec need none), and the offset after its closing quote.
fn read_string(text: &str, at: usize) -> (String, usize) {
    let bytes = text.as_bytes();
    let mut i = at + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return (text[at + 1..i].to_string(), i + 1),
            _ => i += 1,
        }
    }
    (text.get(at + 1..).unwrap_or_default().to_string(), bytes.len())
}

fn render(stack: &[Level]) -> String {
    let mut out = String::new();
    for level in stack {
        match level {
            Level::Object(Some(key)) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Level::Object(None) => {}
            Level::Array(n) => out.push_str(&format!("[{n}]")),
        }
    }
    if out.is_empty() { ".".into() } else { out }
}
