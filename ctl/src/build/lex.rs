//! Variable substitution and word splitting as docker's shell lexer
//! (buildkit `frontend/dockerfile/shell/lex.go`): quotes, the escape token,
//! `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`,
//! `${VAR+word}`, `${VAR:?msg}`, `${VAR?msg}`. This is what the builder applies
//! to the arguments of ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER,
//! VOLUME, WORKDIR and ARG; RUN, CMD and ENTRYPOINT in shell form are left to
//! the shell in the container.

/// A substitution that docker refuses, worded as docker's lexer words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct LexError(pub String);

/// Where variable values come from (the step's environment and build args).
pub(crate) trait Vars {
    fn get(&self, name: &str) -> Option<String>;
}

impl Vars for [(String, String)] {
    fn get(&self, name: &str) -> Option<String> {
        // Later definitions win, as in the builder's environment list.
        self.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }
}

impl Vars for Vec<(String, String)> {
    fn get(&self, name: &str) -> Option<String> {
        Vars::get(self.as_slice(), name)
    }
}

/// The words a quoted/expanded string splits into.
#[derive(Default)]
struct Words {
    word: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, ch: char) {
        if ch.is_whitespace() {
            if self.in_word && !self.word.is_empty() {
                self.words.push(std::mem::take(&mut self.word));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(ch);
        }
    }
    fn add_raw_char(&mut self, ch: char) {
        self.word.push(ch);
        self.in_word = true;
    }
    fn add_string(&mut self, s: &str) {
        s.chars().for_each(|c| self.add_char(c));
    }
    fn add_raw_string(&mut self, s: &str) {
        self.word.push_str(s);
        self.in_word = true;
    }
    fn finish(mut self) -> Vec<String> {
        if !self.word.is_empty() {
            self.words.push(self.word);
        }
        self.words
    }
}

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    escape: char,
    vars: &'a dyn Vars,
    /// Leave unset variables as written (heredoc detection does this).
    skip_unset: bool,
    /// Quotes are plain characters (a heredoc's body).
    raw_quotes: bool,
}

/// Expand one word: quotes removed, variables substituted, spaces kept.
pub(crate) fn process_word(s: &str, escape: char, vars: &dyn Vars) -> Result<String, LexError> {
    Lexer::new(s, escape, vars).process(None).map(|(w, _)| w)
}

/// Expand and split into words as docker's `ProcessWords` (EXPOSE, heredoc names).
pub(crate) fn process_words(s: &str, escape: char, vars: &dyn Vars) -> Result<Vec<String>, LexError> {
    Lexer::new(s, escape, vars).process(None).map(|(_, w)| w)
}

/// A heredoc's body: variables expanded, quotes kept, the escape token
/// escaping only `$` and itself.
pub(crate) fn expand_only(s: &str, escape: char, vars: &dyn Vars) -> Result<String, LexError> {
    let mut lx = Lexer::new(s, escape, vars);
    lx.raw_quotes = true;
    lx.process(None).map(|(w, _)| w)
}

/// Split into words with quotes removed and unset variables left as written.
pub(crate) fn split_words_raw(s: &str, escape: char) -> Result<Vec<String>, LexError> {
    let none: Vec<(String, String)> = Vec::new();
    let mut lx = Lexer::new(s, escape, &none);
    lx.skip_unset = true;
    lx.process(None).map(|(_, w)| w)
}

impl<'a> Lexer<'a> {
    fn new(s: &str, escape: char, vars: &'a dyn Vars) -> Lexer<'a> {
        Lexer { chars: s.chars().collect(), pos: 0, escape, vars, skip_unset: false, raw_quotes: false }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn process(&mut self, stop: Option<char>) -> Result<(String, Vec<String>), LexError> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.next();
                return Ok((result, words.finish()));
            }
            match ch {
                '\'' | '"' if self.raw_quotes => {
                    self.next();
                    result.push(ch);
                }
                _ if self.raw_quotes && ch == self.escape => {
                    self.next();
                    match self.peek() {
                        Some(c) if c == '$' || c == self.escape => {
                            self.next();
                            result.push(c);
                        }
                        _ => result.push(ch),
                    }
                }
                '\'' => {
                    let s = self.single_quote()?;
                    result.push_str(&s);
                    words.add_raw_string(&s);
                }
                '"' => {
                    let s = self.double_quote()?;
                    result.push_str(&s);
                    words.add_raw_string(&s);
                }
                '$' => {
                    let s = self.dollar()?;
                    result.push_str(&s);
                    words.add_string(&s);
                }
                _ => {
                    self.next();
                    if ch == self.escape {
                        let Some(escaped) = self.next() else { break };
                        words.add_raw_char(escaped);
                        result.push(escaped);
                    } else {
                        words.add_char(ch);
                        result.push(ch);
                    }
                }
            }
        }
        if let Some(stop) = stop {
            return Err(LexError(format!("unexpected end of statement while looking for matching {stop}")));
        }
        Ok((result, words.finish()))
    }

    fn single_quote(&mut self) -> Result<String, LexError> {
        self.next();
        let mut s = String::new();
        loop {
            match self.next() {
                None => {
                    return Err(LexError("unexpected end of statement while looking for matching single-quote".into()));
                }
                Some('\'') => return Ok(s),
                Some(c) => s.push(c),
            }
        }
    }

    fn double_quote(&mut self) -> Result<String, LexError> {
        self.next();
        let mut s = String::new();
        loop {
            let Some(ch) = self.peek() else {
                return Err(LexError("unexpected end of statement while looking for matching double-quote".into()));
            };
            if ch == '"' {
                self.next();
                return Ok(s);
            }
            if ch == '$' {
                s.push_str(&self.dollar()?);
                continue;
            }
            self.next();
            if ch == self.escape {
                match self.peek() {
                    None => continue,
                    Some(c) if c == '"' || c == '$' || c == self.escape => {
                        self.next();
                        s.push(c);
                        continue;
                    }
                    Some(_) => {}
                }
            }
            s.push(ch);
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_ascii_digit() {
                while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    name.push(d);
                    self.next();
                }
                return name;
            }
            if name.is_empty() && "@*#?-$!0".contains(ch) {
                self.next();
                return ch.to_string();
            }
            if !(ch.is_alphanumeric() || ch == '_') {
                break;
            }
            name.push(ch);
            self.next();
        }
        name
    }

    fn dollar(&mut self) -> Result<String, LexError> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return Ok(match self.vars.get(&name) {
                Some(v) => v,
                None if self.skip_unset => format!("${name}"),
                None => String::new(),
            });
        }
        self.next();
        match self.peek() {
            None => return Err(LexError("syntax error: missing '}'".into())),
            Some('{' | '}' | ':') => return Err(LexError("syntax error: bad substitution".into())),
            _ => {}
        }
        let name = self.name();
        let value = self.vars.get(&name);
        match self.next() {
            Some('}') => Ok(match value {
                Some(v) => v,
                None if self.skip_unset => format!("${{{name}}}"),
                None => String::new(),
            }),
            Some(':') => {
                let modifier = self.next();
                let word = self.modifier_word()?;
                apply_modifier(&name, modifier, word, value, true)
            }
            Some(m @ ('-' | '+' | '?')) => {
                let word = self.modifier_word()?;
                apply_modifier(&name, Some(m), word, value, false)
            }
            _ => Err(LexError("missing ':' in substitution".into())),
        }
    }

    fn modifier_word(&mut self) -> Result<String, LexError> {
        match self.process(Some('}')) {
            Ok((w, _)) => Ok(w),
            Err(_) if self.peek().is_none() => Err(LexError("syntax error: missing '}'".into())),
            Err(e) => Err(e),
        }
    }
}

/// `${name:-word}` and friends; `colon` makes an empty value count as unset.
fn apply_modifier(
    name: &str,
    modifier: Option<char>,
    word: String,
    value: Option<String>,
    colon: bool,
) -> Result<String, LexError> {
    let set = match &value {
        Some(v) => !colon || !v.is_empty(),
        None => false,
    };
    match modifier {
        Some('-') => Ok(if set { value.unwrap_or_default() } else { word }),
        Some('+') => Ok(if set { word } else { String::new() }),
        Some('?') => {
            if set {
                return Ok(value.unwrap_or_default());
            }
            let word = match (word.is_empty(), value.is_some()) {
                (false, _) => word,
                (true, false) => "is not allowed to be unset".into(),
                (true, true) => "is not allowed to be empty".into(),
            };
            Err(LexError(format!("{name}: {word}")))
        }
        Some(m) => Err(LexError(format!("unsupported modifier ({m}) in substitution"))),
        None => Err(LexError("syntax error: missing '}'".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Vec<(String, String)> {
        vec![("A".into(), "a".into()), ("E".into(), String::new()), ("S".into(), "x y".into())]
    }

    fn word(s: &str) -> Result<String, LexError> {
        process_word(s, '\\', &env())
    }

    #[test]
    fn plain_and_braced_variables() {
        assert_eq!(word("$A/${A}/$NOPE/${NOPE}x").unwrap(), "a/a//x");
        assert_eq!(word("$").unwrap(), "$");
        assert_eq!(word("a$").unwrap(), "a$");
    }

    #[test]
    fn modifiers_with_and_without_colon() {
        assert_eq!(word("${A:-d} ${E:-d} ${N:-d}").unwrap(), "a d d");
        assert_eq!(word("${A-d} ${E-d} ${N-d}").unwrap(), "a  d");
        assert_eq!(word("${A:+alt} ${E:+alt} ${N:+alt}").unwrap(), "alt  ");
        assert_eq!(word("${A+alt} ${E+alt} ${N+alt}").unwrap(), "alt alt ");
        assert_eq!(word("${N:-$A}").unwrap(), "a");
    }

    #[test]
    fn required_variables_name_themselves() {
        assert_eq!(word("${N:?}").unwrap_err().0, "N: is not allowed to be unset");
        assert_eq!(word("${E:?}").unwrap_err().0, "E: is not allowed to be empty");
        assert_eq!(word("${N?must be set}").unwrap_err().0, "N: must be set");
        assert_eq!(word("${A:?x}").unwrap(), "a");
    }

    #[test]
    fn syntax_errors_as_docker() {
        assert_eq!(word("${}").unwrap_err().0, "syntax error: bad substitution");
        assert_eq!(word("${").unwrap_err().0, "syntax error: missing '}'");
        assert_eq!(word("${A:-x").unwrap_err().0, "syntax error: missing '}'");
        assert_eq!(word("${A%x}").unwrap_err().0, "missing ':' in substitution");
        assert_eq!(word("${A:%x}").unwrap_err().0, "unsupported modifier (%) in substitution");
        assert!(word("'abc").unwrap_err().0.contains("single-quote"));
        assert!(word("\"abc").unwrap_err().0.contains("double-quote"));
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(word(r#"'$A' "$A" \$A"#).unwrap(), "$A a $A");
        assert_eq!(word(r#""a\"b\$c\\d\e""#).unwrap(), r#"a"b$c\d\e"#);
        assert_eq!(process_word("`$A", '`', &env()).unwrap(), "$A");
        assert_eq!(process_word(r"C:\dir", '`', &env()).unwrap(), r"C:\dir");
    }

    #[test]
    fn words_split_unquoted_expansions_only() {
        let w = process_words(r#"80 "a b" $S '' 443/udp"#, '\\', &env()).unwrap();
        assert_eq!(w, vec!["80", "a b", "x", "y", "443/udp"]);
        let w = process_words(r#""$S""#, '\\', &env()).unwrap();
        assert_eq!(w, vec!["x y"]);
    }

    #[test]
    fn heredoc_bodies_keep_quotes() {
        assert_eq!(expand_only("echo '$A' \"x\" \\$A \\n\n", '\\', &env()).unwrap(), "echo 'a' \"x\" $A \\n\n");
    }

    #[test]
    fn raw_split_keeps_unset_variables() {
        assert_eq!(split_words_raw("cat <<EOF $X ${Y}", '\\').unwrap(), vec!["cat", "<<EOF", "$X", "${Y}"]);
    }
}
