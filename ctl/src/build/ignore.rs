//! `.dockerignore` as docker reads it (moby `patternmatcher` and its
//! `ignorefile` reader): `#` comments, blank lines skipped, each pattern
//! trimmed and cleaned (`filepath.Clean`, a leading `/` dropped), `!` for
//! exceptions, the last matching pattern wins, `*` and `?` stop at `/`, `**`
//! crosses directories, `[…]` classes, `\` escapes. A path also matches when
//! one of its parent directories does.

/// A pattern that docker would refuse, worded as Go's `filepath.ErrBadPattern`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum IgnoreError {
    #[error("illegal exclusion pattern: \"!\"")]
    BareExclusion,
    #[error("syntax error in pattern")]
    BadPattern,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Char(char),
    /// `*`: anything but `/`.
    Star,
    /// `?`: one character but `/`.
    Any,
    /// `**` (or `**/`) inside a pattern: `(.*/)?`.
    DirStar,
    /// `**` at the end: `.*`.
    Rest,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

#[derive(Debug, Clone)]
struct Pattern {
    exclusion: bool,
    tokens: Vec<Token>,
}

/// The compiled patterns of one `.dockerignore`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Matcher {
    patterns: Vec<Pattern>,
}

/// Read a `.dockerignore` file's lines into patterns (docker's `ReadAll`).
pub(crate) fn read_patterns(text: &str) -> Vec<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let mut p = line.trim();
        if p.is_empty() {
            continue;
        }
        let invert = p.starts_with('!');
        if invert {
            p = p[1..].trim();
        }
        let mut p = if p.is_empty() { String::new() } else { clean(p) };
        if p.len() > 1 && p.starts_with('/') {
            p.remove(0);
        }
        out.push(if invert { format!("!{p}") } else { p });
    }
    out
}

/// Go's `filepath.Clean` on a slash path.
pub(crate) fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

impl Matcher {
    /// Compile patterns as `NewPatternMatcher` does.
    pub(crate) fn new(patterns: &[String]) -> Result<Matcher, IgnoreError> {
        let mut out = Vec::new();
        for p in patterns {
            let p = p.trim();
            if p.is_empty() {
                continue;
            }
            let mut p = clean(p);
            let exclusion = p.starts_with('!');
            if exclusion {
                if p.len() == 1 {
                    return Err(IgnoreError::BareExclusion);
                }
                p = p[1..].to_string();
            }
            out.push(Pattern { exclusion, tokens: compile(&p, true)? });
        }
        Ok(Matcher { patterns: out })
    }

    /// Whether any exception pattern exists (then excluded directories must
    /// still be walked, as docker does).
    pub(crate) fn has_exclusions(&self) -> bool {
        self.patterns.iter().any(|p| p.exclusion)
    }

    /// docker's `MatchesOrParentMatches`: is the context-relative slash path
    /// excluded?
    pub(crate) fn matches(&self, file: &str) -> bool {
        let file = clean(file);
        let parent = match file.rfind('/') {
            Some(i) => &file[..i],
            None => ".",
        };
        let parents: Vec<&str> = parent.split('/').collect();
        let mut matched = false;
        for p in &self.patterns {
            if p.exclusion != matched {
                continue;
            }
            let mut m = full_match(&p.tokens, &file);
            if !m && parent != "." {
                m = (1..=parents.len()).any(|i| full_match(&p.tokens, &parents[..i].join("/")));
            }
            if m {
                matched = !p.exclusion;
            }
        }
        matched
    }
}

/// One Go `filepath.Match` pattern (COPY's wildcards): `*` never crosses `/`,
/// `**` is two of them.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    tokens: Vec<Token>,
}

impl Glob {
    pub(crate) fn new(pattern: &str) -> Result<Glob, IgnoreError> {
        Ok(Glob { tokens: compile(pattern, false)? })
    }

    pub(crate) fn matches(&self, name: &str) -> bool {
        full_match(&self.tokens, name)
    }
}

fn compile(pattern: &str, double_star: bool) -> Result<Vec<Token>, IgnoreError> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' if double_star && chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                tokens.push(if i >= chars.len() { Token::Rest } else { Token::DirStar });
            }
            '*' => tokens.push(Token::Star),
            '?' => tokens.push(Token::Any),
            '\\' => match chars.get(i) {
                Some(&n) => {
                    tokens.push(Token::Char(n));
                    i += 1;
                }
                None => return Err(IgnoreError::BadPattern),
            },
            '[' => {
                let (t, next) = class(&chars, i)?;
                tokens.push(t);
                i = next;
            }
            c => tokens.push(Token::Char(c)),
        }
    }
    Ok(tokens)
}

/// A `[…]` class starting after the `[` at `i`; the token and the index after `]`.
fn class(chars: &[char], mut i: usize) -> Result<(Token, usize), IgnoreError> {
    let negated = matches!(chars.get(i), Some('^') | Some('!'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let Some(&c) = chars.get(i) else { return Err(IgnoreError::BadPattern) };
        i += 1;
        if c == ']' && !first {
            return Ok((Token::Class { negated, ranges }, i));
        }
        first = false;
        let lo = if c == '\\' {
            let Some(&e) = chars.get(i) else { return Err(IgnoreError::BadPattern) };
            i += 1;
            e
        } else {
            c
        };
        let mut hi = lo;
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|c| *c != ']') {
            hi = chars[i + 1];
            i += 2;
        }
        ranges.push((lo, hi));
    }
}

/// Whole-string match of the tokens (backtracking; patterns are short).
fn full_match(tokens: &[Token], s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    match_at(tokens, &chars)
}

fn match_at(tokens: &[Token], s: &[char]) -> bool {
    let Some((t, rest)) = tokens.split_first() else { return s.is_empty() };
    match t {
        Token::Char(c) => s.first() == Some(c) && match_at(rest, &s[1..]),
        Token::Any => s.first().is_some_and(|c| *c != '/') && match_at(rest, &s[1..]),
        Token::Class { negated, ranges } => {
            s.first().is_some_and(|c| ranges.iter().any(|(lo, hi)| lo <= c && c <= hi) != *negated)
                && match_at(rest, &s[1..])
        }
        Token::Star => {
            let mut k = 0;
            loop {
                if match_at(rest, &s[k..]) {
                    return true;
                }
                if k >= s.len() || s[k] == '/' {
                    return false;
                }
                k += 1;
            }
        }
        Token::Rest => true,
        // `(.*/)?`: nothing, or anything up to and including a `/`.
        Token::DirStar => match_at(rest, s) || (0..s.len()).any(|k| s[k] == '/' && match_at(rest, &s[k + 1..])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(patterns: &[&str]) -> Matcher {
        let p: Vec<String> = patterns.iter().map(|s| s.to_string()).collect();
        Matcher::new(&p).unwrap()
    }

    #[test]
    fn reads_comments_blank_lines_and_cleans() {
        let p = read_patterns("# c\n\n  /a/../b/ \n! /c\n#x\n*.md\n");
        assert_eq!(p, vec!["b", "!c", "*.md"]);
    }

    #[test]
    fn star_stops_at_slash_and_parents_match() {
        let mx = m(&["*.md", "docs"]);
        assert!(mx.matches("README.md"));
        assert!(!mx.matches("sub/README.md"));
        assert!(mx.matches("docs"));
        assert!(mx.matches("docs/a/b.txt"));
        assert!(!mx.matches("docsx"));
    }

    #[test]
    fn double_star() {
        let mx = m(&["**/*.go"]);
        assert!(mx.matches("a.go"));
        assert!(mx.matches("x/y/a.go"));
        assert!(!mx.matches("a.goo"));
        let mx = m(&["a/**"]);
        assert!(mx.matches("a/b/c"));
        assert!(!mx.matches("a"), "docker: a prefix match on \"a/\"");
        let mx = m(&["a/**/b"]);
        assert!(mx.matches("a/b"));
        assert!(mx.matches("a/x/y/b"));
        assert!(!mx.matches("a/xb"));
        let mx = m(&["**"]);
        assert!(mx.matches("anything/at/all"));
    }

    #[test]
    fn exceptions_last_match_wins() {
        let mx = m(&["*.txt", "!keep.txt"]);
        assert!(mx.matches("a.txt"));
        assert!(!mx.matches("keep.txt"));
        let mx = m(&["!keep.txt", "*.txt"]);
        assert!(mx.matches("keep.txt"));
        let mx = m(&["dir", "!dir/keep"]);
        assert!(mx.matches("dir/other"));
        assert!(!mx.matches("dir/keep"));
        assert!(mx.has_exclusions());
    }

    #[test]
    fn question_mark_classes_and_escapes() {
        let mx = m(&["a?c", "[0-9]x", "[^a]y", "q\\*"]);
        assert!(mx.matches("abc"));
        assert!(!mx.matches("a/c"));
        assert!(mx.matches("5x"));
        assert!(!mx.matches("ax"));
        assert!(mx.matches("by"));
        assert!(!mx.matches("ay"));
        assert!(mx.matches("q*"));
        assert!(!mx.matches("qq"));
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert_eq!(Matcher::new(&["!".into()]).unwrap_err(), IgnoreError::BareExclusion);
        assert_eq!(Matcher::new(&["[a".into()]).unwrap_err(), IgnoreError::BadPattern);
    }

    #[test]
    fn glob_star_never_crosses_slash() {
        let g = Glob::new("**.txt").unwrap();
        assert!(g.matches("a.txt"));
        assert!(!g.matches("d/a.txt"));
        assert!(Glob::new("d/*").unwrap().matches("d/a"));
    }

    #[test]
    fn go_clean() {
        assert_eq!(clean("./a//b/./c/.."), "a/b");
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(clean("../a"), "../a");
        assert_eq!(clean(""), ".");
    }
}
