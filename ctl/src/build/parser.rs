//! The Dockerfile's lines into instruction nodes, as docker's parser
//! (buildkit `frontend/dockerfile/parser`): a UTF-8 BOM dropped, parser
//! directives (`# syntax=`, `# escape=`) before anything else, comments
//! removed (also inside continuations), the escape token at the end of a line
//! joins it with the next, empty continuation lines skipped with docker's
//! warning, heredocs (`<<EOF`, `<<-EOF`, quoted names) read after the line
//! for RUN, COPY and ADD. Each instruction's arguments are split by its own
//! rule (JSON or shell form, key=value pairs, whitespace). Typing and
//! checking the arguments is `instruction.rs`'s job.

use super::lex;

/// One instruction as the parser sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// The instruction word, lowercased (`run`).
    pub keyword: String,
    /// The logical line, continuations joined (history's created-by text).
    pub original: String,
    /// `--name=value` words before the arguments, quotes removed.
    pub flags: Vec<String>,
    /// The arguments split by the instruction's rule.
    pub args: Vec<String>,
    /// The arguments were a JSON array.
    pub json: bool,
    pub heredocs: Vec<Heredoc>,
    /// ONBUILD's trigger.
    pub trigger: Option<Box<Node>>,
    pub start_line: usize,
    pub end_line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Heredoc {
    pub name: String,
    /// Unquoted name: variables in the content are expanded (COPY/ADD).
    pub expand: bool,
    /// `<<-`: leading tabs are removed.
    pub chomp: bool,
    pub content: String,
}

/// The parsed file: its instructions and the escape token in effect.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub nodes: Vec<Node>,
    pub escape: char,
    pub warnings: Vec<String>,
}

/// A syntax error and the line it is on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub line: usize,
    pub message: String,
}

fn err(line: usize, message: impl Into<String>) -> SyntaxError {
    SyntaxError { line, message: message.into() }
}

struct Directives {
    escape: char,
    done: bool,
    seen: Vec<String>,
}

impl Directives {
    /// docker: `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`, only before any
    /// other line, each once; an unknown one ends the directives.
    fn consider(&mut self, line: &str) -> Result<(), String> {
        if self.done {
            return Ok(());
        }
        let Some((key, value)) = directive(line) else {
            self.done = true;
            return Ok(());
        };
        let key = key.to_ascii_lowercase();
        if key != "escape" && key != "syntax" && key != "check" {
            self.done = true;
            return Ok(());
        }
        if self.seen.contains(&key) {
            return Err(format!("only one {key} parser directive can be used"));
        }
        self.seen.push(key.clone());
        if key == "escape" {
            match value {
                "\\" => self.escape = '\\',
                "`" => self.escape = '`',
                v => return Err(format!("invalid escape token '{v}' does not match ` or \\")),
            }
        }
        Ok(())
    }

    /// The line without a trailing continuation token, and whether it ends
    /// the instruction. docker's rule: the escape token, then only blanks, at
    /// the end — unless the token is itself escaped (`\\`).
    fn continuation<'l>(&self, line: &'l str) -> (&'l str, bool) {
        let trimmed = line.trim_end_matches([' ', '\t']);
        if let Some(body) = trimmed.strip_suffix(self.escape)
            && !body.ends_with(self.escape)
        {
            return (body, false);
        }
        (line, true)
    }
}

fn directive(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('#')?.trim_start();
    let (key, value) = rest.split_once('=')?;
    let key = key.trim_end();
    let mut chars = key.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let value = value.trim();
    (!value.is_empty()).then_some((key, value))
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// Parse a Dockerfile's text.
pub(crate) fn parse(text: &str) -> Result<Parsed, SyntaxError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Lines keep their newline: heredoc contents are taken as written.
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut d = Directives { escape: '\\', done: false, seen: Vec::new() };
    let mut nodes = Vec::new();
    let mut warnings = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let raw = trim_newline(lines[i]);
        let start = i + 1;
        let first = raw.trim_start();
        d.consider(first).map_err(|m| err(start, m))?;
        i += 1;
        if is_comment(first) {
            continue;
        }
        let (mut line, mut end) = d.continuation(first);
        let (mut line_owned, mut empty_continuation) = (line.to_string(), false);
        if end && line.trim().is_empty() {
            continue;
        }
        while !end && i < lines.len() {
            let next = trim_newline(lines[i]);
            d.consider(next).map_err(|m| err(i + 1, m))?;
            i += 1;
            if is_comment(next) {
                continue;
            }
            if next.trim_start().is_empty() {
                empty_continuation = true;
                continue;
            }
            (line, end) = d.continuation(next);
            line_owned.push_str(line);
        }
        if empty_continuation {
            warnings.push(format!("[WARNING]: Empty continuation line found in:\n    {line_owned}"));
        }
        let mut node = node_from_line(&line_owned, d.escape).map_err(|m| err(start, m))?;
        if can_contain_heredoc(&node) {
            for mut doc in heredocs_of(&line_owned, d.escape).map_err(|m| err(start, m))? {
                i = read_heredoc(&lines, i, &mut doc).ok_or_else(|| err(start, "unterminated heredoc"))?;
                attach_heredoc(&mut node, doc);
            }
        }
        node.start_line = start;
        node.end_line = i;
        nodes.push(node);
    }
    if !warnings.is_empty() {
        warnings.push("[WARNING]: Empty continuation lines will become errors in a future release.".into());
    }
    if nodes.is_empty() {
        return Err(err(lines.len(), "file with no instructions"));
    }
    Ok(Parsed { nodes, escape: d.escape, warnings })
}

fn trim_newline(s: &str) -> &str {
    s.trim_end_matches(['\r', '\n'])
}

fn attach_heredoc(node: &mut Node, doc: Heredoc) {
    match &mut node.trigger {
        Some(t) => t.heredocs.push(doc),
        None => node.heredocs.push(doc),
    }
}

/// Read the heredoc's body from `lines[i..]`; the index after its terminator.
fn read_heredoc(lines: &[&str], mut i: usize, doc: &mut Heredoc) -> Option<usize> {
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        let mut candidate = trim_newline(line);
        if doc.chomp {
            candidate = candidate.trim_start_matches('\t');
        }
        if candidate == doc.name {
            return Some(i);
        }
        doc.content.push_str(line);
    }
    None
}

fn can_contain_heredoc(node: &Node) -> bool {
    let n = node.trigger.as_deref().unwrap_or(node);
    matches!(n.keyword.as_str(), "run" | "copy" | "add") && !n.json
}

/// Heredoc words of a line: `[n]<<[-]NAME` with a non-empty name.
fn heredocs_of(line: &str, escape: char) -> Result<Vec<Heredoc>, String> {
    let mut docs = Vec::new();
    for word in parse_words(line, escape) {
        let digits = word.chars().take_while(char::is_ascii_digit).count();
        let Some(rest) = word[digits..].strip_prefix("<<") else { continue };
        let (chomp, rest) = match rest.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        if rest.is_empty() || rest.contains('<') {
            continue;
        }
        let names = lex::split_words_raw(rest, '\\').map_err(|e| e.0)?;
        let [name] = names.as_slice() else { continue };
        let expand = !rest.contains(['\'', '"']);
        docs.push(Heredoc { name: name.clone(), expand, chomp, content: String::new() });
    }
    Ok(docs)
}

/// docker's `splitCommand` and the instruction's argument rule.
fn node_from_line(line: &str, escape: char) -> Result<Node, String> {
    let trimmed = line.trim();
    let (word, rest) = match trimmed.split_once(|c: char| c.is_whitespace()) {
        Some((w, r)) => (w, r),
        None => (trimmed, ""),
    };
    let (rest, flags) = extract_flags(rest);
    let rest = rest.trim();
    let keyword = word.to_ascii_lowercase();
    let mut node = Node {
        keyword: keyword.clone(),
        original: line.to_string(),
        flags,
        args: Vec::new(),
        json: false,
        heredocs: Vec::new(),
        trigger: None,
        start_line: 0,
        end_line: 0,
    };
    match keyword.as_str() {
        "add" | "copy" | "volume" => (node.args, node.json) = maybe_json_list(rest)?,
        "cmd" | "entrypoint" | "run" | "shell" => (node.args, node.json) = maybe_json(rest)?,
        "arg" => node.args = parse_words(rest, escape),
        "env" => node.args = name_vals(rest, "ENV", escape)?,
        "label" => node.args = name_vals(rest, "LABEL", escape)?,
        "expose" | "from" => node.args = whitespace_split(rest),
        "healthcheck" => (node.args, node.json) = health(rest)?,
        "maintainer" | "stopsignal" | "user" | "workdir" => {
            node.args = if rest.is_empty() { vec![] } else { vec![rest.to_string()] }
        }
        "onbuild" if !rest.is_empty() => {
            let trigger = node_from_line(rest, escape)?;
            node.args = std::iter::once(trigger.keyword.clone()).chain(trigger.args.iter().cloned()).collect();
            node.trigger = Some(Box::new(trigger));
        }
        _ => {}
    }
    Ok(node)
}

/// docker's `extractBuilderFlags`: leading `--words` (quotes removed), up to
/// the first word without `--` or a bare `--`.
fn extract_flags(line: &str) -> (&str, Vec<String>) {
    let mut flags = Vec::new();
    let bytes: Vec<(usize, char)> = line.char_indices().collect();
    let mut k = 0;
    loop {
        while k < bytes.len() && bytes[k].1.is_whitespace() {
            k += 1;
        }
        if k >= bytes.len() {
            return ("", flags);
        }
        let start = bytes[k].0;
        if !line[start..].starts_with("--") {
            return (&line[start..], flags);
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while k < bytes.len() {
            let c = bytes[k].1;
            k += 1;
            match quote {
                None if c.is_whitespace() => break,
                None if c == '\'' || c == '"' => quote = Some(c),
                Some(q) if c == q => quote = None,
                _ if c == '\\' => {
                    if k < bytes.len() {
                        word.push(bytes[k].1);
                        k += 1;
                    }
                }
                _ => word.push(c),
            }
        }
        if word == "--" {
            let at = bytes.get(k).map_or(line.len(), |b| b.0);
            return (&line[at..], flags);
        }
        flags.push(word);
    }
}

/// docker's `parseWords`: whitespace-separated words, quotes kept.
pub(crate) fn parse_words(rest: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut blank_ok = false;
    let mut chars = rest.chars().peekable();
    while let Some(ch) = chars.next() {
        match quote {
            None if ch.is_whitespace() => {
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                blank_ok = false;
            }
            None => {
                if ch == '\'' || ch == '"' {
                    quote = Some(ch);
                    blank_ok = true;
                }
                if ch == escape {
                    let Some(next) = chars.next() else { continue };
                    word.push(ch);
                    word.push(next);
                    continue;
                }
                word.push(ch);
            }
            Some(q) => {
                if ch == q {
                    quote = None;
                }
                if ch == escape && q != '\'' {
                    let Some(next) = chars.next() else {
                        quote = None;
                        continue;
                    };
                    word.push(ch);
                    word.push(next);
                    continue;
                }
                word.push(ch);
            }
        }
    }
    if blank_ok || !word.is_empty() {
        words.push(word);
    }
    words
}

/// ENV/LABEL: `key=value …` pairs, or the old `KEY value with spaces`.
fn name_vals(rest: &str, what: &str, escape: char) -> Result<Vec<String>, String> {
    let words = parse_words(rest, escape);
    let Some(first) = words.first() else { return Ok(vec![]) };
    if !first.contains('=') {
        let mut parts = rest.splitn(2, |c: char| " \t\x0b\x0c\r".contains(c));
        let key = parts.next().unwrap_or_default();
        let value = parts.next().map(|v| v.trim_start_matches([' ', '\t', '\x0b', '\x0c', '\r']));
        return match value {
            Some(v) => Ok(vec![key.to_string(), v.to_string()]),
            None => Err(format!("{what} must have two arguments")),
        };
    }
    let mut out = Vec::new();
    for word in words {
        let Some((k, v)) = word.split_once('=') else {
            return Err(format!("Syntax error - can't find = in {word:?}. Must be of the form: name=value"));
        };
        out.push(k.to_string());
        out.push(v.to_string());
    }
    Ok(out)
}

fn whitespace_split(rest: &str) -> Vec<String> {
    if rest.is_empty() {
        return vec![];
    }
    rest.split(|c: char| " \t\x0b\x0c\r".contains(c)).filter(|w| !w.is_empty()).map(str::to_string).collect()
}

const NOT_STRINGS: &str = "when using JSON array syntax, arrays must be comprised of strings only";

/// A JSON array of strings, if the text is one.
fn json_array(rest: &str) -> Result<Option<Vec<String>>, String> {
    let rest = rest.trim_start();
    if !rest.starts_with('[') {
        return Ok(None);
    }
    let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Vec<serde_json::Value>>();
    let Some(Ok(values)) = stream.next() else { return Ok(None) };
    let strings: Option<Vec<String>> = values.into_iter().map(|v| v.as_str().map(str::to_string)).collect();
    strings.map(Some).ok_or_else(|| NOT_STRINGS.to_string())
}

fn maybe_json(rest: &str) -> Result<(Vec<String>, bool), String> {
    if rest.is_empty() {
        return Ok((vec![], false));
    }
    Ok(match json_array(rest)? {
        Some(v) => (v, true),
        None => (vec![rest.to_string()], false),
    })
}

fn maybe_json_list(rest: &str) -> Result<(Vec<String>, bool), String> {
    Ok(match json_array(rest)? {
        Some(v) => (v, true),
        None => (whitespace_split(rest), false),
    })
}

/// HEALTHCHECK: a type word, then a command as CMD's.
fn health(rest: &str) -> Result<(Vec<String>, bool), String> {
    let (typ, cmd) = match rest.split_once(char::is_whitespace) {
        Some((t, c)) => (t, c.trim_start()),
        None => (rest, ""),
    };
    if typ.is_empty() {
        return Ok((vec![], false));
    }
    let (args, json) = maybe_json(cmd)?;
    Ok((std::iter::once(typ.to_string()).chain(args).collect(), json))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let p = parse(text).unwrap();
        assert_eq!(p.nodes.len(), 1, "{:?}", p.nodes);
        p.nodes.into_iter().next().unwrap()
    }

    #[test]
    fn continuation_comments_and_lines() {
        let p = parse("FROM busybox\n# c\nRUN echo a \\\n  # inner comment\n  b \\\n\n  c\nCMD x\n").unwrap();
        assert_eq!(p.nodes.len(), 3);
        assert_eq!(p.nodes[1].args, vec!["echo a   b   c"]);
        assert_eq!((p.nodes[1].start_line, p.nodes[1].end_line), (3, 7));
        assert_eq!(p.nodes[2].start_line, 8);
        assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
    }

    #[test]
    fn escaped_escape_is_not_a_continuation() {
        let p = parse("RUN echo a\\\\\nRUN b\n").unwrap();
        assert_eq!(p.nodes.len(), 2);
    }

    #[test]
    fn escape_directive_switches_the_token() {
        let p = parse("# escape=`\nFROM x\nRUN dir c:\\ `\n  /w\n").unwrap();
        assert_eq!(p.escape, '`');
        assert_eq!(p.nodes[1].args, vec!["dir c:\\   /w"]);
    }

    #[test]
    fn directives_only_at_the_top_and_once() {
        let p = parse("FROM x\n# escape=`\nRUN a \\\n b\n").unwrap();
        assert_eq!(p.escape, '\\');
        assert_eq!(p.nodes.len(), 2);
        let e = parse("# escape=\\\n# escape=`\nFROM x\n").unwrap_err();
        assert_eq!(e, err(2, "only one escape parser directive can be used"));
        let e = parse("# escape=x\nFROM x\n").unwrap_err();
        assert_eq!(e.message, "invalid escape token 'x' does not match ` or \\");
        // An unknown directive ends them: the escape after it is a comment.
        let p = parse("# syntax=docker/dockerfile:1\n# foo=bar\n# escape=`\nRUN a \\\n b\n").unwrap();
        assert_eq!(p.escape, '\\');
        assert_eq!(p.nodes.len(), 1);
    }

    #[test]
    fn bom_and_crlf() {
        let p = parse("\u{feff}FROM x\r\nRUN a \\\r\n b\r\n").unwrap();
        assert_eq!(p.nodes[1].args, vec!["a  b"]);
    }

    #[test]
    fn json_and_shell_forms() {
        let n = one(r#"CMD ["echo", "a b"]"#);
        assert!(n.json);
        assert_eq!(n.args, vec!["echo", "a b"]);
        let n = one("CMD [echo");
        assert!(!n.json);
        assert_eq!(n.args, vec!["[echo"]);
        let e = parse("CMD [1, 2]").unwrap_err();
        assert_eq!(e.message, NOT_STRINGS);
        let n = one("COPY a b  c/");
        assert_eq!(n.args, vec!["a", "b", "c/"]);
    }

    #[test]
    fn flags_are_split_off_with_quotes_removed() {
        let n = one(r#"COPY --from=build --chown="1:2" a /b"#);
        assert_eq!(n.flags, vec!["--from=build", "--chown=1:2"]);
        assert_eq!(n.args, vec!["a", "/b"]);
        let n = one("RUN -- --not-a-flag");
        assert!(n.flags.is_empty());
        assert_eq!(n.args, vec!["--not-a-flag"]);
    }

    #[test]
    fn env_and_label_forms() {
        assert_eq!(one(r#"ENV A=1 B="x y" C"#.replace(" C", "").as_str()).args, vec!["A", "1", "B", "\"x y\""]);
        assert_eq!(one("ENV A hello  world").args, vec!["A", "hello  world"]);
        assert_eq!(parse("ENV A").unwrap_err().message, "ENV must have two arguments");
        let e = parse("LABEL a=1 b").unwrap_err();
        assert!(e.message.starts_with("Syntax error - can't find = in \"b\""), "{}", e.message);
    }

    #[test]
    fn arg_words_and_from_split() {
        assert_eq!(one("ARG V=1").args, vec!["V=1"]);
        assert_eq!(one("FROM --platform=linux/amd64 busybox AS b").args, vec!["busybox", "AS", "b"]);
        assert_eq!(one("FROM --platform=linux/amd64 busybox AS b").flags, vec!["--platform=linux/amd64"]);
    }

    #[test]
    fn healthcheck_and_onbuild() {
        let n = one("HEALTHCHECK --interval=5s CMD curl -f x");
        assert_eq!(n.flags, vec!["--interval=5s"]);
        assert_eq!(n.args, vec!["CMD", "curl -f x"]);
        let n = one("ONBUILD RUN echo hi");
        assert_eq!(n.trigger.as_ref().unwrap().keyword, "run");
        assert_eq!(n.args, vec!["run", "echo hi"]);
    }

    #[test]
    fn heredocs() {
        let p = parse("FROM x\nRUN <<EOF\necho a\necho b\nEOF\nCOPY <<-\"A\" <<B /d/\n\t$X\n\tA\nb\nB\n").unwrap();
        assert_eq!(p.nodes.len(), 3);
        let run = &p.nodes[1];
        assert_eq!(run.heredocs[0].content, "echo a\necho b\n");
        assert_eq!((run.start_line, run.end_line), (2, 5));
        let copy = &p.nodes[2];
        assert_eq!(copy.heredocs.len(), 2);
        assert_eq!(copy.heredocs[0].name, "A");
        assert!(!copy.heredocs[0].expand && copy.heredocs[0].chomp);
        assert_eq!(copy.heredocs[0].content, "\t$X\n");
        assert_eq!(copy.heredocs[1].content, "b\n");
        assert!(copy.heredocs[1].expand);
        let e = parse("RUN <<EOF\necho\n").unwrap_err();
        assert_eq!(e, err(1, "unterminated heredoc"));
        // JSON form and other instructions take no heredoc.
        assert_eq!(parse("RUN [\"<<EOF\"]\nEOF\n").unwrap().nodes.len(), 2);
    }

    #[test]
    fn empty_file_has_no_instructions() {
        assert_eq!(parse("# only\n\n").unwrap_err().message, "file with no instructions");
    }
}
