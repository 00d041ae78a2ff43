//! Parser nodes into typed instructions and build stages, with docker's
//! argument checks and messages (buildkit `frontend/dockerfile/instructions`).
//! Nothing is expanded here: `${VAR}` is substituted by the executor with the
//! environment and build args in effect at each step.

use std::time::Duration;

use super::parser::{Heredoc, Node};

/// A command line of RUN, CMD, ENTRYPOINT or HEALTHCHECK: JSON form is taken
/// as is, shell form is one string run by the stage's SHELL.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CmdLine {
    pub args: Vec<String>,
    pub prepend_shell: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Network {
    Default,
    None,
    Host,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Run {
    pub cmd: CmdLine,
    pub network: Network,
    pub heredocs: Vec<Heredoc>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Copy {
    /// ADD (URLs, local tar archives extracted) rather than COPY.
    pub add: bool,
    pub sources: Vec<String>,
    pub dest: String,
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    /// Heredoc sources (`COPY <<EOF /dest`), in the order written.
    pub heredocs: Vec<Heredoc>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Health {
    /// `["NONE"]`, `["CMD", …]` or `["CMD-SHELL", "…"]`.
    pub test: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub start_period: Duration,
    pub retries: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Instruction {
    Run(Run),
    Copy(Copy),
    Env(Vec<(String, String)>),
    Arg(Vec<(String, Option<String>)>),
    Workdir(String),
    User(String),
    Cmd(CmdLine),
    Entrypoint(CmdLine),
    Expose(Vec<String>),
    Volume(Vec<String>),
    Label(Vec<(String, String)>),
    StopSignal(String),
    Shell(Vec<String>),
    Healthcheck(Health),
    Onbuild(String),
    Maintainer(String),
}

/// One instruction with the text and lines it came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Step {
    pub instruction: Instruction,
    /// The logical line as written (`RUN apt-get update`), for the output.
    pub original: String,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stage {
    /// `AS name`, lowercased.
    pub name: Option<String>,
    /// The image (unexpanded), `scratch`, or an earlier stage's name.
    pub base: String,
    pub platform: Option<String>,
    pub original: String,
    pub line: usize,
    pub steps: Vec<Step>,
}

/// A whole Dockerfile: the ARGs before the first FROM and the stages.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Dockerfile {
    pub meta_args: Vec<(String, Option<String>)>,
    pub stages: Vec<Stage>,
    pub escape: char,
    /// The parser's warnings (empty continuation lines), shown first.
    pub warnings: Vec<String>,
}

/// An instruction docker refuses, with its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InstructionError {
    pub line: usize,
    pub message: String,
}

/// Turn parsed nodes into stages.
pub(crate) fn build(nodes: &[Node], escape: char) -> Result<Dockerfile, InstructionError> {
    let mut file = Dockerfile { meta_args: Vec::new(), stages: Vec::new(), escape, warnings: Vec::new() };
    for node in nodes {
        let at = |message: String| InstructionError { line: node.start_line, message };
        if node.keyword == "from" {
            file.stages.push(parse_from(node).map_err(at)?);
            continue;
        }
        let instruction = parse_instruction(node).map_err(at)?;
        match (file.stages.last_mut(), instruction) {
            (None, Instruction::Arg(args)) => file.meta_args.extend(args),
            (None, _) => return Err(at("no build stage in current context".into())),
            (Some(stage), instruction) => stage.steps.push(Step {
                instruction,
                original: node.original.trim().to_string(),
                line: node.start_line,
            }),
        }
    }
    if file.stages.is_empty() {
        let line = nodes.last().map_or(1, |n| n.start_line);
        return Err(InstructionError { line, message: "no build stage in current context".into() });
    }
    Ok(file)
}

/// The flags an instruction accepts, parsed as docker's BFlags.
struct Flags {
    values: Vec<(String, Option<String>)>,
}

impl Flags {
    fn parse(node: &Node, allowed: &[&str], bools: &[&str]) -> Result<Flags, String> {
        let mut values: Vec<(String, Option<String>)> = Vec::new();
        for raw in &node.flags {
            let Some(arg) = raw.strip_prefix("--") else {
                return Err(format!("arg should start with -- : {raw}"));
            };
            let (name, value) = match arg.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (arg, None),
            };
            let is_bool = bools.contains(&name);
            if !allowed.contains(&name) && !is_bool {
                return Err(format!("unknown flag: {name}"));
            }
            if values.iter().any(|(n, _)| n == name) {
                return Err(format!("duplicate flag specified: {name}"));
            }
            let value = match (is_bool, value) {
                (true, Some(v)) if v.is_empty() => return Err(format!("missing a value on flag: {name}")),
                (true, Some(v)) if !["true", "false"].contains(&v.to_ascii_lowercase().as_str()) => {
                    return Err(format!("expecting boolean value for flag {name}, not: {v}"));
                }
                (true, v) => Some(v.map_or("true".into(), |v| v.to_ascii_lowercase())),
                (false, None) => return Err(format!("missing a value on flag: {name}")),
                (false, v) => v,
            };
            values.push((name.to_string(), value));
        }
        Ok(Flags { values })
    }

    fn get(&self, name: &str) -> Option<String> {
        self.values.iter().find(|(n, _)| n == name).and_then(|(_, v)| v.clone())
    }
}

fn parse_from(node: &Node) -> Result<Stage, String> {
    let a = &node.args;
    let name = match a.len() {
        3 if a[1].eq_ignore_ascii_case("as") => {
            let name = a[2].to_ascii_lowercase();
            if !valid_stage_name(&name) {
                return Err(format!(
                    "invalid name for build stage: {:?}, name can't start with a number or contain symbols",
                    a[2]
                ));
            }
            Some(name)
        }
        1 => None,
        _ => return Err("FROM requires either one or three arguments".into()),
    };
    let flags = Flags::parse(node, &["platform"], &[])?;
    Ok(Stage {
        name,
        base: a[0].clone(),
        platform: flags.get("platform"),
        original: node.original.trim().to_string(),
        line: node.start_line,
        steps: Vec::new(),
    })
}

fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

fn cmd_line(node: &Node) -> CmdLine {
    let args = if node.json || node.args.is_empty() { node.args.clone() } else { vec![node.args.join(" ")] };
    CmdLine { args, prepend_shell: !node.json }
}

fn exactly_one(node: &Node, what: &str) -> Result<String, String> {
    match node.args.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(format!("{what} requires exactly one argument")),
    }
}

fn at_least_one(node: &Node, what: &str) -> Result<(), String> {
    if node.args.is_empty() {
        return Err(format!("{what} requires at least one argument"));
    }
    Ok(())
}

fn no_flags(node: &Node) -> Result<(), String> {
    Flags::parse(node, &[], &[]).map(|_| ())
}

fn parse_instruction(node: &Node) -> Result<Instruction, String> {
    Ok(match node.keyword.as_str() {
        "run" => parse_run(node)?,
        "copy" | "add" => parse_copy(node)?,
        "env" | "label" => {
            no_flags(node)?;
            let what = node.keyword.to_ascii_uppercase();
            let pairs = pairs(node, &what)?;
            if node.keyword == "env" { Instruction::Env(pairs) } else { Instruction::Label(pairs) }
        }
        "arg" => {
            no_flags(node)?;
            at_least_one(node, "ARG")?;
            let mut args = Vec::new();
            for a in &node.args {
                match a.split_once('=') {
                    Some(("", _)) => return Err("ARG names can not be blank".into()),
                    Some((k, v)) => args.push((k.to_string(), Some(v.to_string()))),
                    None => args.push((a.clone(), None)),
                }
            }
            Instruction::Arg(args)
        }
        "workdir" => Instruction::Workdir(no_flags(node).and_then(|_| exactly_one(node, "WORKDIR"))?),
        "user" => Instruction::User(no_flags(node).and_then(|_| exactly_one(node, "USER"))?),
        "maintainer" => Instruction::Maintainer(no_flags(node).and_then(|_| exactly_one(node, "MAINTAINER"))?),
        "stopsignal" => Instruction::StopSignal(no_flags(node).and_then(|_| exactly_one(node, "STOPSIGNAL"))?),
        "cmd" => Instruction::Cmd(no_flags(node).map(|_| cmd_line(node))?),
        "entrypoint" => Instruction::Entrypoint(no_flags(node).map(|_| cmd_line(node))?),
        "expose" => {
            no_flags(node)?;
            at_least_one(node, "EXPOSE")?;
            Instruction::Expose(node.args.clone())
        }
        "volume" => {
            no_flags(node)?;
            at_least_one(node, "VOLUME")?;
            let mut v = Vec::new();
            for a in &node.args {
                if a.trim().is_empty() {
                    return Err("VOLUME specified can not be an empty string".into());
                }
                v.push(a.trim().to_string());
            }
            Instruction::Volume(v)
        }
        "shell" => {
            no_flags(node)?;
            if node.args.is_empty() {
                return Err("SHELL requires at least one argument".into());
            }
            if !node.json {
                return Err("SHELL requires the arguments to be in JSON form".into());
            }
            Instruction::Shell(node.args.clone())
        }
        "healthcheck" => Instruction::Healthcheck(parse_health(node)?),
        "onbuild" => parse_onbuild(node)?,
        other => return Err(format!("unknown instruction: {}", other.to_ascii_uppercase())),
    })
}

fn pairs(node: &Node, what: &str) -> Result<Vec<(String, String)>, String> {
    if node.args.is_empty() {
        return Err(format!("{what} requires at least one argument"));
    }
    let mut out = Vec::new();
    for kv in node.args.chunks(2) {
        let [k, v] = kv else { return Err(format!("Bad input to {what}, too many arguments")) };
        if k.is_empty() {
            return Err(format!("{what} names can not be blank"));
        }
        out.push((k.clone(), v.clone()));
    }
    Ok(out)
}

fn parse_run(node: &Node) -> Result<Instruction, String> {
    let flags = Flags::parse(node, &["network", "mount", "security"], &[])?;
    if flags.get("mount").is_some() {
        return Err("RUN --mount is not supported by berthctl build".into());
    }
    if flags.get("security").is_some_and(|s| s != "sandbox") {
        return Err("RUN --security=insecure is not supported by berthctl build".into());
    }
    let network = match flags.get("network").as_deref() {
        None | Some("default") => Network::Default,
        Some("none") => Network::None,
        Some("host") => Network::Host,
        Some(other) => return Err(format!("unsupported network mode {other:?}")),
    };
    Ok(Instruction::Run(Run { cmd: cmd_line(node), network, heredocs: node.heredocs.clone() }))
}

fn parse_copy(node: &Node) -> Result<Instruction, String> {
    let add = node.keyword == "add";
    let what = if add { "ADD" } else { "COPY" };
    let flags = if add {
        Flags::parse(node, &["chown", "chmod", "checksum"], &["link", "keep-git-dir"])?
    } else {
        Flags::parse(node, &["from", "chown", "chmod", "exclude"], &["link", "parents"])?
    };
    if flags.get("exclude").is_some() || flags.get("parents").is_some_and(|p| p == "true") {
        return Err(format!("{what} --exclude and --parents are not supported by berthctl build"));
    }
    let heredocs = node.heredocs.clone();
    if node.args.len() < 2 && heredocs.is_empty() {
        return Err(format!(
            "{what} requires at least two arguments, but only one was provided. Destination could not be determined."
        ));
    }
    if node.args.len() < 2 {
        return Err(format!("{what} requires at least two arguments"));
    }
    let (dest, sources) = node.args.split_last().expect("len >= 2 checked above");
    Ok(Instruction::Copy(Copy {
        add,
        sources: sources.to_vec(),
        dest: dest.clone(),
        from: flags.get("from"),
        chown: flags.get("chown"),
        chmod: flags.get("chmod"),
        heredocs,
    }))
}

fn parse_onbuild(node: &Node) -> Result<Instruction, String> {
    no_flags(node)?;
    let Some(trigger) = &node.trigger else {
        return Err("ONBUILD requires at least one argument".into());
    };
    match trigger.keyword.to_ascii_uppercase().as_str() {
        "ONBUILD" => return Err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".into()),
        t @ ("MAINTAINER" | "FROM") => return Err(format!("{t} isn't allowed as an ONBUILD trigger")),
        _ => {}
    }
    // The trigger is checked now, as docker does when the image is built from.
    parse_instruction(trigger)?;
    let text = node.original.trim_start();
    let expr = text.get(7..).unwrap_or_default().trim_start();
    Ok(Instruction::Onbuild(expr.to_string()))
}

pub(crate) fn parse_health(node: &Node) -> Result<Health, String> {
    at_least_one(node, "HEALTHCHECK")?;
    let typ = node.args[0].to_ascii_uppercase();
    let args = &node.args[1..];
    let mut h = Health {
        test: Vec::new(),
        interval: Duration::ZERO,
        timeout: Duration::ZERO,
        start_period: Duration::ZERO,
        retries: 0,
    };
    if typ == "NONE" {
        if !args.is_empty() {
            return Err("HEALTHCHECK NONE takes no arguments".into());
        }
        h.test = vec!["NONE".into()];
        return Ok(h);
    }
    let flags = Flags::parse(node, &["interval", "timeout", "start-period", "start-interval", "retries"], &[])?;
    if typ != "CMD" {
        return Err(format!("Unknown type {typ:?} in HEALTHCHECK (try CMD)"));
    }
    if args.is_empty() {
        return Err("Missing command after HEALTHCHECK CMD".into());
    }
    h.test = if node.json {
        std::iter::once("CMD".to_string()).chain(args.iter().cloned()).collect()
    } else {
        vec!["CMD-SHELL".into(), args.join(" ")]
    };
    h.interval = interval(&flags, "interval")?;
    h.timeout = interval(&flags, "timeout")?;
    h.start_period = interval(&flags, "start-period")?;
    if let Some(r) = flags.get("retries") {
        let n: i64 = r.parse().map_err(|_| format!("strconv.ParseInt: parsing {r:?}: invalid syntax"))?;
        if n < 1 {
            return Err(format!("--retries must be at least 1 (not {n})"));
        }
        h.retries = n as u32;
    }
    Ok(h)
}

fn interval(flags: &Flags, name: &str) -> Result<Duration, String> {
    let Some(v) = flags.get(name) else { return Ok(Duration::ZERO) };
    let d = parse_go_duration(&v).ok_or_else(|| format!("time: invalid duration {v:?}"))?;
    if d < Duration::from_millis(1) {
        return Err(format!("Interval {name:?} cannot be less than 1ms"));
    }
    Ok(d)
}

/// Go's `time.ParseDuration` for the units a healthcheck uses.
pub(crate) fn parse_go_duration(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += n * scale;
        rest = &rest[unit_len..];
    }
    Some(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::parser::parse;

    fn file(text: &str) -> Result<Dockerfile, InstructionError> {
        let p = parse(text).unwrap();
        build(&p.nodes, p.escape)
    }

    fn message(text: &str) -> (usize, String) {
        let e = file(text).unwrap_err();
        (e.line, e.message)
    }

    #[test]
    fn stages_and_meta_args() {
        let f =
            file("ARG V=1\nARG B\nFROM busybox:${V} AS Build\nRUN x\nFROM scratch\nCOPY --from=build /a /b\n").unwrap();
        assert_eq!(f.meta_args, vec![("V".into(), Some("1".into())), ("B".into(), None)]);
        assert_eq!(f.stages.len(), 2);
        assert_eq!(f.stages[0].name.as_deref(), Some("build"));
        assert_eq!(f.stages[0].base, "busybox:${V}");
        let Instruction::Copy(c) = &f.stages[1].steps[0].instruction else { panic!() };
        assert_eq!(c.from.as_deref(), Some("build"));
        assert_eq!((c.sources.clone(), c.dest.clone()), (vec!["/a".to_string()], "/b".to_string()));
    }

    #[test]
    fn docker_messages() {
        assert_eq!(message("FROM x\nFOO bar\n"), (2, "unknown instruction: FOO".into()));
        assert_eq!(message("RUN x\n"), (1, "no build stage in current context".into()));
        assert_eq!(message("FROM a b\n").1, "FROM requires either one or three arguments");
        assert!(message("FROM a AS 1x\n").1.starts_with("invalid name for build stage: \"1x\""));
        assert_eq!(
            message("FROM x\nCOPY a\n").1,
            "COPY requires at least two arguments, but only one was provided. Destination could not be determined."
        );
        assert_eq!(message("FROM x\nWORKDIR\n").1, "WORKDIR requires exactly one argument");
        assert_eq!(message("FROM x\nEXPOSE\n").1, "EXPOSE requires at least one argument");
        assert_eq!(message("FROM x\nCOPY --bogus=1 a b\n").1, "unknown flag: bogus");
        assert_eq!(message("FROM x\nCOPY --from a b\n").1, "missing a value on flag: from");
        assert_eq!(
            message("FROM x\nONBUILD ONBUILD RUN x\n").1,
            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
        );
        assert_eq!(message("FROM x\nONBUILD FROM y\n").1, "FROM isn't allowed as an ONBUILD trigger");
        assert_eq!(message("FROM x\nSHELL /bin/sh -c\n").1, "SHELL requires the arguments to be in JSON form");
        assert_eq!(message("FROM x\nHEALTHCHECK FOO x\n").1, "Unknown type \"FOO\" in HEALTHCHECK (try CMD)");
        assert_eq!(message("FROM x\nHEALTHCHECK --retries=0 CMD x\n").1, "--retries must be at least 1 (not 0)");
    }

    #[test]
    fn shell_and_json_command_lines() {
        let f = file("FROM x\nRUN echo  a\nCMD [\"a\",\"b\"]\nENTRYPOINT []\n").unwrap();
        let s = &f.stages[0].steps;
        assert_eq!(
            s[0].instruction,
            Instruction::Run(Run {
                cmd: CmdLine { args: vec!["echo  a".into()], prepend_shell: true },
                network: Network::Default,
                heredocs: vec![],
            })
        );
        assert_eq!(
            s[1].instruction,
            Instruction::Cmd(CmdLine { args: vec!["a".into(), "b".into()], prepend_shell: false })
        );
        assert_eq!(s[2].instruction, Instruction::Entrypoint(CmdLine { args: vec![], prepend_shell: false }));
        assert_eq!(s[0].original, "RUN echo  a");
    }

    #[test]
    fn run_network_flag() {
        let f = file("FROM x\nRUN --network=none true\n").unwrap();
        let Instruction::Run(r) = &f.stages[0].steps[0].instruction else { panic!() };
        assert_eq!(r.network, Network::None);
        assert!(message("FROM x\nRUN --network=bogus true\n").1.contains("bogus"));
    }

    #[test]
    fn healthcheck_fields() {
        let f = file("FROM x\nHEALTHCHECK --interval=5s --timeout=1m30s --retries=3 CMD wget -q x\n").unwrap();
        let Instruction::Healthcheck(h) = &f.stages[0].steps[0].instruction else { panic!() };
        assert_eq!(h.test, vec!["CMD-SHELL", "wget -q x"]);
        assert_eq!(h.interval, Duration::from_secs(5));
        assert_eq!(h.timeout, Duration::from_secs(90));
        assert_eq!(h.retries, 3);
    }

    #[test]
    fn onbuild_keeps_the_trigger_text() {
        let f = file("FROM x\nONBUILD   RUN echo hi\n").unwrap();
        assert_eq!(f.stages[0].steps[0].instruction, Instruction::Onbuild("RUN echo hi".into()));
    }

    #[test]
    fn env_label_arg_pairs() {
        let f = file("FROM x\nENV A=1 B=\"2 3\"\nLABEL k v w\nARG X Y=\n").unwrap();
        let s = &f.stages[0].steps;
        assert_eq!(s[0].instruction, Instruction::Env(vec![("A".into(), "1".into()), ("B".into(), "\"2 3\"".into())]));
        assert_eq!(s[1].instruction, Instruction::Label(vec![("k".into(), "v w".into())]));
        assert_eq!(s[2].instruction, Instruction::Arg(vec![("X".into(), None), ("Y".into(), Some(String::new()))]));
    }
}
