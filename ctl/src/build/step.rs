//! One instruction of a stage: its `${VAR}` expansion, its change to the
//! image config, its history line worded as docker's classic builder words
//! it (`/bin/sh -c #(nop)  ENV A=1`, `|1 V=x /bin/sh -c make`, `COPY
//! file:<sha256> in /dst `), its cache key, and — for RUN, COPY, ADD and
//! WORKDIR — the work on a mounted rootfs that becomes the step's layer.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::exec::{Builder, StageState, lex_err};
use super::instruction::{CmdLine, Copy, Health, Instruction, Network, Run, Step};
use super::{BuildError, cache, lex, mount};

/// The proxy args docker passes to RUN without an ARG declaring them.
const BUILTIN_ARGS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

pub(crate) fn is_builtin_arg(k: &str) -> bool {
    BUILTIN_ARGS.contains(&k)
}

/// Only the host's platform can be built (no emulation here).
pub(crate) fn check_platform(p: &str) -> Result<(), BuildError> {
    let host = format!("linux/{}", crate::platform_arch());
    if p.is_empty() || p == host || p == "linux" || p.starts_with(&format!("{host}/")) {
        return Ok(());
    }
    Err(BuildError::Step(format!("platform {p:?} is not supported: berthctl builds for {host} only")))
}

/// A new 64-hex id for a step's container.
pub(crate) fn random_id() -> String {
    crate::network::random_id()
}

pub(crate) fn shell_of(config: &Map<String, Value>) -> Vec<String> {
    match config.get("Shell").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => vec!["/bin/sh".into(), "-c".into()],
    }
}

/// Go's `%q` of a string slice: `["a" "b"]`.
fn go_quoted(v: &[String]) -> String {
    let parts: Vec<String> = v.iter().map(|s| serde_json::to_string(s).unwrap_or_default()).collect();
    format!("[{}]", parts.join(" "))
}

/// Go's `%v` of a string slice: `[a b]`.
fn go_list(v: &[String]) -> String {
    format!("[{}]", v.join(" "))
}

/// A JSON object with its keys in Go's order (encoding/json sorts map keys).
fn sorted(m: Map<String, Value>) -> Value {
    let mut entries: Vec<(String, Value)> = m.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Value::Object(entries.into_iter().collect())
}

fn strings(v: &[String]) -> Value {
    json!(v)
}

impl Builder<'_> {
    pub(crate) fn dispatch(&mut self, state: &mut StageState, step: &Step) -> Result<(), BuildError> {
        let vars = state.vars();
        let esc = self.escape;
        let word = |s: &str| lex::process_word(s, esc, &vars).map_err(lex_err);
        match &step.instruction {
            Instruction::Run(r) => self.run_step(state, r),
            Instruction::Copy(c) => self.copy_step(state, c),
            Instruction::Workdir(w) => self.workdir_instr(state, word(w)?),
            Instruction::Arg(args) => self.arg_instr(state, args, &word),
            Instruction::Env(pairs) => self.env_instr(state, pairs, &word),
            Instruction::Label(pairs) => self.label_instr(state, pairs, &word),
            Instruction::User(u) => {
                let u = word(u)?;
                state.config.insert("User".into(), json!(u));
                self.metadata(state, &format!("USER {u}"))
            }
            Instruction::Cmd(c) => {
                let cmd = self.command(state, c);
                state.config.insert("Cmd".into(), strings(&cmd));
                state.cmd_set = true;
                self.metadata(state, &format!("CMD {}", go_quoted(&cmd)))
            }
            Instruction::Entrypoint(c) => {
                let cmd = self.command(state, c);
                let v = if cmd.is_empty() { Value::Null } else { strings(&cmd) };
                state.config.insert("Entrypoint".into(), v);
                if !state.cmd_set {
                    // docker: an ENTRYPOINT drops the CMD inherited from the base.
                    state.config.insert("Cmd".into(), Value::Null);
                }
                self.metadata(state, &format!("ENTRYPOINT {}", go_quoted(&cmd)))
            }
            Instruction::Expose(ports) => self.expose_instr(state, ports, &vars),
            Instruction::Volume(v) => self.volume_instr(state, v, &word),
            Instruction::StopSignal(s) => {
                let s = word(s)?;
                check_signal(&s)?;
                state.config.insert("StopSignal".into(), json!(s));
                self.metadata(state, &format!("STOPSIGNAL {s}"))
            }
            Instruction::Shell(s) => {
                state.config.insert("Shell".into(), strings(s));
                self.metadata(state, &format!("SHELL {}", go_list(s)))
            }
            Instruction::Healthcheck(h) => self.healthcheck_instr(state, h),
            Instruction::Onbuild(expr) => {
                let mut list = state.config.get("OnBuild").and_then(Value::as_array).cloned().unwrap_or_default();
                list.push(json!(expr));
                state.config.insert("OnBuild".into(), Value::Array(list));
                self.metadata(state, &format!("ONBUILD {expr}"))
            }
            Instruction::Maintainer(m) => {
                state.maintainer = Some(m.clone());
                self.metadata(state, &format!("MAINTAINER {m}"))
            }
        }
    }

    /// WORKDIR: docker keeps an absolute path as written, joins and cleans a relative one.
    fn workdir_instr(&mut self, state: &mut StageState, w: String) -> Result<(), BuildError> {
        let current = state.config.get("WorkingDir").and_then(Value::as_str).unwrap_or("");
        // docker: an absolute path is kept as written, a relative one joined and cleaned.
        let path = if w.starts_with('/') {
            w
        } else {
            super::ignore::clean(&format!("{}/{w}", if current.is_empty() { "/" } else { current }))
        };
        state.config.insert("WorkingDir".into(), json!(path));
        self.workdir_step(state, &path)
    }

    /// ARG: each name's value from --build-arg, its default, or a global ARG before FROM.
    fn arg_instr(
        &mut self,
        state: &mut StageState,
        args: &[(String, Option<String>)],
        word: &dyn Fn(&str) -> Result<String, BuildError>,
    ) -> Result<(), BuildError> {
        let mut shown = Vec::new();
        for (k, default) in args {
            let default = default.as_deref().map(&word).transpose()?;
            let meta = self.meta_args.iter().rev().find(|(m, _)| m == k).and_then(|(_, v)| v.clone());
            let value = self.build_arg(k).or(default.clone()).or(meta);
            state.args.retain(|(a, _)| a != k);
            state.args.push((k.clone(), value));
            shown.push(match default {
                Some(d) => format!("{k}={d}"),
                None => k.clone(),
            });
        }
        self.metadata(state, &format!("ARG {}", shown.join(" ")))
    }

    /// ENV: set or replace each variable of the image's Env.
    fn env_instr(
        &mut self,
        state: &mut StageState,
        pairs: &[(String, String)],
        word: &dyn Fn(&str) -> Result<String, BuildError>,
    ) -> Result<(), BuildError> {
        let mut env: Vec<String> = state.env().into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut shown = Vec::new();
        for (k, v) in pairs {
            let (k, v) = (word(k)?, word(v)?);
            let kv = format!("{k}={v}");
            match env.iter_mut().find(|e| e.split_once('=').map_or(e.as_str(), |(a, _)| a) == k) {
                Some(slot) => *slot = kv.clone(),
                None => env.push(kv.clone()),
            }
            shown.push(kv);
        }
        state.config.insert("Env".into(), strings(&env));
        self.metadata(state, &format!("ENV {}", shown.join(" ")))
    }

    /// LABEL: add or replace each label, kept sorted.
    fn label_instr(
        &mut self,
        state: &mut StageState,
        pairs: &[(String, String)],
        word: &dyn Fn(&str) -> Result<String, BuildError>,
    ) -> Result<(), BuildError> {
        let mut labels = state.config.get("Labels").and_then(Value::as_object).cloned().unwrap_or_default();
        let mut shown = Vec::new();
        for (k, v) in pairs {
            let (k, v) = (word(k)?, word(v)?);
            shown.push(format!("{k}={v}"));
            labels.insert(k, json!(v));
        }
        state.config.insert("Labels".into(), sorted(labels));
        self.metadata(state, &format!("LABEL {}", shown.join(" ")))
    }

    /// VOLUME: each path in the image's Volumes; an empty one is docker's error.
    fn volume_instr(
        &mut self,
        state: &mut StageState,
        v: &[String],
        word: &dyn Fn(&str) -> Result<String, BuildError>,
    ) -> Result<(), BuildError> {
        let mut vols = state.config.get("Volumes").and_then(Value::as_object).cloned().unwrap_or_default();
        let mut shown = Vec::new();
        for p in v {
            let p = word(p)?;
            if p.is_empty() {
                return Err(BuildError::Step("VOLUME specified can not be an empty string".into()));
            }
            vols.insert(p.clone(), json!({}));
            shown.push(p);
        }
        state.config.insert("Volumes".into(), sorted(vols));
        self.metadata(state, &format!("VOLUME {}", go_list(&shown)))
    }

    /// EXPOSE: each port (ranges expanded) in the image's ExposedPorts.
    fn expose_instr(
        &mut self,
        state: &mut StageState,
        ports: &[String],
        vars: &dyn lex::Vars,
    ) -> Result<(), BuildError> {
        let esc = self.escape;
        let mut exposed = state.config.get("ExposedPorts").and_then(Value::as_object).cloned().unwrap_or_default();
        let mut words = Vec::new();
        for p in ports {
            words.extend(lex::process_words(p, esc, vars).map_err(lex_err)?);
        }
        // docker sorts them at parse time (its history line too).
        words.sort();
        for p in &words {
            for spec in port_specs(p)? {
                exposed.insert(spec, json!({}));
            }
        }
        state.config.insert("ExposedPorts".into(), sorted(exposed));
        self.metadata(state, &format!("EXPOSE {}", words.join(" ")))
    }

    /// HEALTHCHECK: replaces the image's, with docker's note when one was set.
    fn healthcheck_instr(&mut self, state: &mut StageState, h: &super::instruction::Health) -> Result<(), BuildError> {
        if let Some(old) = state.config.get("Healthcheck").and_then(|h| h.get("Test")).and_then(Value::as_array)
            && old.first().and_then(Value::as_str).is_some_and(|t| t != "NONE")
        {
            let old: Vec<String> = old.iter().filter_map(Value::as_str).map(str::to_string).collect();
            self.out.line(&format!("Note: overriding previous HEALTHCHECK: {}", go_list(&old)));
        }
        state.config.insert("Healthcheck".into(), health_json(h));
        self.metadata(state, &format!("HEALTHCHECK {}", health_go(h)))
    }

    /// CMD/ENTRYPOINT in shell form run through the stage's SHELL.
    fn command(&self, state: &StageState, c: &CmdLine) -> Vec<String> {
        if c.prepend_shell && !c.args.is_empty() {
            let mut v = shell_of(&state.config);
            v.extend(c.args.iter().cloned());
            return v;
        }
        c.args.clone()
    }

    /// A config-only step: docker commits it as an empty layer, through a
    /// container it names but never starts.
    fn metadata(&mut self, state: &mut StageState, comment: &str) -> Result<(), BuildError> {
        let mut by = shell_of(&state.config);
        by.push("#(nop) ".into());
        by.push(comment.to_string());
        let created_by = by.join(" ");
        let key = cache::key(&state.parent_id(), &created_by, &state.config, "");
        if self.probe_cache(state, &key)? {
            return Ok(());
        }
        let cid = random_id();
        self.out.line(&format!(" ---> Running in {}", &cid[..12]));
        let author = state.maintainer.clone();
        self.commit(state, &key, None, created_by, author)?;
        self.out.line(&format!("Removing intermediate container {}", &cid[..12]));
        Ok(())
    }

    fn workdir_step(&mut self, state: &mut StageState, path: &str) -> Result<(), BuildError> {
        let mut by = shell_of(&state.config);
        by.push(format!("#(nop) WORKDIR {path}"));
        let created_by = by.join(" ");
        let key = cache::key(&state.parent_id(), &created_by, &state.config, "");
        if self.probe_cache(state, &key)? {
            return Ok(());
        }
        let cid = random_id();
        self.out.line(&format!(" ---> Running in {}", &cid[..12]));
        let work = mount::StepRoot::mount(&self.scratch.path, state.image.as_ref())?;
        crate::container::rootfs::mkdir_in_root(&work.rootfs(), &super::ignore::clean(path))
            .map_err(|source| BuildError::Io { op: "create working directory", path: PathBuf::from(path), source })?;
        let layer = work.finish(&mut self.store, state.image.as_ref())?;
        let author = state.maintainer.clone();
        self.commit(state, &key, layer, created_by, author)?;
        self.out.line(&format!("Removing intermediate container {}", &cid[..12]));
        Ok(())
    }

    fn run_step(&mut self, state: &mut StageState, r: &Run) -> Result<(), BuildError> {
        let shell = shell_of(&state.config);
        let (argv, pipe) = run_argv(&shell, r);
        let args = state.arg_values();
        let mut saved: Vec<String> = Vec::new();
        if !args.is_empty() {
            let mut shown: Vec<String> = args
                .iter()
                .filter(|(k, _)| !is_builtin_arg(k) || state.args.iter().any(|(a, _)| a == k))
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            shown.sort();
            saved.push(format!("|{}", shown.len()));
            saved.extend(shown);
        }
        saved.extend(argv.iter().cloned());
        let created_by = saved.join(" ");
        let key = cache::key(&state.parent_id(), &created_by, &state.config, "");
        if self.probe_cache(state, &key)? {
            return Ok(());
        }
        let cid = random_id();
        self.out.line(&format!(" ---> Running in {}", &cid[..12]));
        let work = mount::StepRoot::mount(&self.scratch.path, state.image.as_ref())?;
        let mut env: Vec<String> = state.env().into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        env.extend(args.iter().map(|(k, v)| format!("{k}={v}")));
        let network = match r.network {
            Network::Default => self.opts.network.clone(),
            Network::None => "none".into(),
            Network::Host => "host".into(),
        };
        let outcome = work.run(self, &cid, argv.clone(), env, state, &network, pipe)?;
        match outcome {
            super::run::Outcome::Exited(0) => {}
            super::run::Outcome::Exited(code) => {
                drop(work);
                return Err(BuildError::RunFailed { command: argv.join(" "), code });
            }
            super::run::Outcome::Failed(message) => {
                drop(work);
                return Err(BuildError::Step(format!("OCI runtime create failed: {message}")));
            }
        }
        let layer = work.finish(&mut self.store, state.image.as_ref())?;
        let author = state.maintainer.clone();
        self.commit(state, &key, layer, created_by, author)?;
        self.out.line(&format!("Removing intermediate container {}", &cid[..12]));
        Ok(())
    }

    fn copy_step(&mut self, state: &mut StageState, c: &Copy) -> Result<(), BuildError> {
        super::copystep::copy_step(self, state, c)
    }
}

/// RUN's argv, and a heredoc script to put at `/dev/pipes/<name>` when it
/// is the whole command and starts with `#!` (BuildKit runs it directly).
fn run_argv(shell: &[String], r: &Run) -> (Vec<String>, Option<(String, String)>) {
    if !r.cmd.prepend_shell {
        return (r.cmd.args.clone(), None);
    }
    let cmd = r.cmd.args.join(" ");
    let mut argv = shell.to_vec();
    if r.heredocs.is_empty() {
        argv.push(cmd);
        return (argv, None);
    }
    let whole = r.heredocs.len() == 1
        && super::parser::parse_words(&cmd, '\\').len() == 1
        && cmd.trim_start_matches(|c: char| c.is_ascii_digit()).starts_with("<<");
    if whole {
        let doc = &r.heredocs[0];
        let content = chomped(doc);
        if content.starts_with("#!") {
            let path = format!("/dev/pipes/{}", doc.name);
            return (vec![path], Some((doc.name.clone(), content)));
        }
        argv.push(content);
        return (argv, None);
    }
    let mut full = cmd;
    for d in &r.heredocs {
        full.push('\n');
        full.push_str(&chomped(d));
        full.push_str(&d.name);
    }
    argv.push(full);
    (argv, None)
}

/// `<<-`: leading tabs removed from every line.
pub(crate) fn chomped(d: &super::parser::Heredoc) -> String {
    if !d.chomp {
        return d.content.clone();
    }
    d.content.split_inclusive('\n').map(|l| l.trim_start_matches('\t')).collect()
}

/// nat.ParsePortSpecs for EXPOSE: `80`, `80/udp`, `8000-8002/tcp`.
fn port_specs(p: &str) -> Result<Vec<String>, BuildError> {
    let (ports, proto) = p.split_once('/').unwrap_or((p, "tcp"));
    let bad = || BuildError::Step(format!("invalid containerPort: {ports}"));
    let (lo, hi) = match ports.split_once('-') {
        Some((a, b)) => (a.parse::<u16>().map_err(|_| bad())?, b.parse::<u16>().map_err(|_| bad())?),
        None => {
            let n = ports.parse::<u16>().map_err(|_| bad())?;
            (n, n)
        }
    };
    if hi < lo {
        return Err(BuildError::Step(format!("invalid range specified for container: {ports}")));
    }
    Ok((lo..=hi).map(|n| format!("{n}/{}", proto.to_ascii_lowercase())).collect())
}

pub(crate) fn check_signal(s: &str) -> Result<(), BuildError> {
    let name = s.to_ascii_uppercase();
    let name = name.strip_prefix("SIG").unwrap_or(&name).to_string();
    let ok = s.parse::<i32>().is_ok_and(|n| n > 0) || format!("SIG{name}").parse::<nix::sys::signal::Signal>().is_ok();
    if ok { Ok(()) } else { Err(BuildError::Step(format!("Invalid signal: {s}"))) }
}

/// `HEALTHCHECK …` (a line of `commit --change`/`import --change`) as the
/// config's `Healthcheck`, parsed and checked as the build's instruction.
pub(crate) fn healthcheck_config(line: &str) -> Result<Value, String> {
    let parsed = super::parser::parse(line).map_err(|e| e.message)?;
    let node = parsed.nodes.first().ok_or("HEALTHCHECK requires at least one argument")?;
    match super::instruction::parse_health(node) {
        Ok(h) => Ok(health_json(&h)),
        Err(e) => Err(e),
    }
}

fn health_json(h: &Health) -> Value {
    let mut m = Map::new();
    m.insert("Test".into(), json!(h.test));
    for (k, d) in [("Interval", h.interval), ("Timeout", h.timeout), ("StartPeriod", h.start_period)] {
        if !d.is_zero() {
            m.insert(k.into(), json!(d.as_nanos() as u64));
        }
    }
    if h.retries > 0 {
        m.insert("Retries".into(), json!(h.retries));
    }
    Value::Object(m)
}

/// Go's `%q` of docker's `*HealthConfig`: `&{["CMD-SHELL" "x"] "5s" "0s" "0s" '\x03'}`.
fn health_go(h: &Health) -> String {
    format!(
        "&{{{} {:?} {:?} {:?} '\\x{:02x}'}}",
        go_quoted(&h.test),
        go_duration(h.interval),
        go_duration(h.timeout),
        go_duration(h.start_period),
        h.retries
    )
}

/// Go's `time.Duration.String()` for whole units down to milliseconds.
pub(crate) fn go_duration(d: std::time::Duration) -> String {
    if d.is_zero() {
        return "0s".into();
    }
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (h, m, s, frac) = (ms / 3_600_000, (ms / 60_000) % 60, (ms / 1000) % 60, ms % 1000);
    let secs = if frac == 0 { format!("{s}s") } else { format!("{s}.{}s", format!("{frac:03}").trim_end_matches('0')) };
    match (h, m) {
        (0, 0) => secs,
        (0, m) => format!("{m}m{secs}"),
        (h, m) => format!("{h}h{m}m{secs}"),
    }
}

/// Is `p` a directory in the rootfs (symlinks resolved inside it)?
pub(crate) fn is_dir_in(rootfs: &Path, p: &Path) -> bool {
    let Ok(root) = std::fs::File::open(rootfs) else { return false };
    crate::sys::open_dir_in_root(std::os::fd::AsFd::as_fd(&root), p).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::instruction::CmdLine;
    use crate::build::parser::Heredoc;

    #[test]
    fn docker_history_words() {
        assert_eq!(go_quoted(&["echo".into(), "a b".into()]), r#"["echo" "a b"]"#);
        assert_eq!(go_list(&["/data".into(), "/x".into()]), "[/data /x]");
        let h = Health {
            test: vec!["CMD-SHELL".into(), "true".into()],
            interval: std::time::Duration::from_secs(5),
            timeout: std::time::Duration::from_secs(90),
            start_period: std::time::Duration::ZERO,
            retries: 3,
        };
        assert_eq!(health_go(&h), r#"&{["CMD-SHELL" "true"] "5s" "1m30s" "0s" '\x03'}"#);
        assert_eq!(
            health_json(&h),
            json!({"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000u64, "Timeout": 90_000_000_000u64, "Retries": 3})
        );
    }

    #[test]
    fn expose_specs() {
        assert_eq!(port_specs("80").unwrap(), vec!["80/tcp"]);
        assert_eq!(port_specs("53/UDP").unwrap(), vec!["53/udp"]);
        assert_eq!(port_specs("8000-8002").unwrap().len(), 3);
        assert!(port_specs("x").is_err());
    }

    #[test]
    fn signals() {
        assert!(check_signal("SIGTERM").is_ok());
        assert!(check_signal("kill").is_ok());
        assert!(check_signal("9").is_ok());
        assert_eq!(check_signal("SIGFOO").unwrap_err().to_string(), "Invalid signal: SIGFOO");
    }

    #[test]
    fn heredoc_run_commands() {
        let sh = vec!["/bin/sh".to_string(), "-c".to_string()];
        let doc = |name: &str, content: &str| Heredoc {
            name: name.into(),
            expand: true,
            chomp: false,
            content: content.into(),
        };
        let run = |cmd: &str, docs: Vec<Heredoc>| Run {
            cmd: CmdLine { args: vec![cmd.into()], prepend_shell: true },
            network: Network::Default,
            heredocs: docs,
        };
        let (argv, pipe) = run_argv(&sh, &run("<<EOF", vec![doc("EOF", "echo a\necho b\n")]));
        assert_eq!(argv, vec!["/bin/sh", "-c", "echo a\necho b\n"]);
        assert!(pipe.is_none());
        let (argv, pipe) = run_argv(&sh, &run("<<EOF", vec![doc("EOF", "#!/bin/sh\necho a\n")]));
        assert_eq!(argv, vec!["/dev/pipes/EOF"]);
        assert_eq!(pipe.unwrap().1, "#!/bin/sh\necho a\n");
        let (argv, _) = run_argv(&sh, &run("cat <<EOF > /x", vec![doc("EOF", "hi\n")]));
        assert_eq!(argv[2], "cat <<EOF > /x\nhi\nEOF");
    }

    #[test]
    fn durations_as_go() {
        use std::time::Duration;
        assert_eq!(go_duration(Duration::from_secs(30)), "30s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_millis(10)), "10ms");
    }
}
