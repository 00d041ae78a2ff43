//! The build itself, as docker's classic builder runs it: the stages the
//! target needs, in order; each instruction a step ("Step N/M : …"), each
//! step an image (a filesystem step adds exactly one layer, a metadata step
//! an `empty_layer` history entry), each looked up in the build cache first
//! (" ---> Using cache"). Intermediate images have no tag; `images` hides
//! them as docker does, the cache table (`cache.rs`) keeps them.

use std::collections::HashSet;
use std::io::Write;

use serde_json::{Map, Value};

use super::context::{Context, Scratch};
use super::instruction::{Dockerfile, Stage, Step};
use super::output::{Output, StepNames, Style};
use super::{BuildError, cache, lex};
use crate::config::Config;
use crate::image::{self, GcLock, Image, Store};
use crate::reference::{Digest, Reference};

/// `build`'s flags, resolved.
#[derive(Debug, Clone, Default)]
pub(crate) struct BuildOptions {
    pub tags: Vec<Reference>,
    pub no_cache: bool,
    pub pull: bool,
    /// `--build-arg K=V` (a bare `K` takes the environment's value).
    pub build_args: Vec<(String, String)>,
    pub target: Option<String>,
    pub labels: Vec<(String, String)>,
    pub platform: Option<String>,
    pub quiet: bool,
    /// RUN's network: `bridge` (docker's default), `none`, `host`, a name.
    pub network: String,
    /// `--cgroup-parent` of RUN's containers (docker's default: `/berthctl`).
    pub cgroup_parent: String,
    /// BuildKit's output (the default) or the classic builder's.
    pub style: Style,
}

/// The state of the stage being built: its current image and config.
pub(crate) struct StageState {
    /// None: `FROM scratch` and no layer yet.
    pub image: Option<Image>,
    pub config: Map<String, Value>,
    /// ARGs declared in this stage, with their values (None: no value).
    pub args: Vec<(String, Option<String>)>,
    /// A CMD was given in this stage (then ENTRYPOINT keeps it).
    pub cmd_set: bool,
    /// MAINTAINER, the config's `author` from then on.
    pub maintainer: Option<String>,
}

impl StageState {
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        self.config
            .get("Env")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(|e| match e.split_once('=') {
                        Some((k, v)) => (k.to_string(), v.to_string()),
                        None => (e.to_string(), String::new()),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// ARGs with values that ENV does not shadow (docker's `FilterAllowed`).
    pub(crate) fn arg_values(&self) -> Vec<(String, String)> {
        let env = self.env();
        self.args
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k.clone(), v.clone())))
            .filter(|(k, _)| !env.iter().any(|(e, _)| e == k))
            .collect()
    }

    /// What `${VAR}` sees: build args, then ENV (which wins).
    pub(crate) fn vars(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> =
            self.args.iter().filter_map(|(k, v)| v.as_ref().map(|v| (k.clone(), v.clone()))).collect();
        v.extend(self.env());
        v
    }

    pub(crate) fn parent_id(&self) -> String {
        self.image.as_ref().map_or_else(|| "scratch".to_string(), |i| i.id.to_string())
    }

    pub(crate) fn short_id(&self) -> String {
        self.image.as_ref().map_or_else(String::new, |i| i.id.short().to_string())
    }
}

pub(crate) struct Builder<'a> {
    pub config: &'a Config,
    pub store: Store,
    pub ctx: &'a Context,
    pub opts: &'a BuildOptions,
    pub out: Output,
    pub scratch: Scratch,
    pub escape: char,
    /// Each stage's final image, by index.
    pub results: Vec<Option<Image>>,
    pub names: Vec<Option<String>>,
    /// Build args some ARG declared (for docker's "not consumed" warning).
    pub used_args: HashSet<String>,
    pub step: usize,
    pub total: usize,
    pub meta_args: Vec<(String, Option<String>)>,
    /// BuildKit's "load build context" vertex was printed.
    pub context_loaded: bool,
    /// Steps are named with their stage (`[builder 2/3]`).
    pub multi_stage: bool,
}

/// The stages `target` needs, in file order: its base and `COPY --from`
/// stages, transitively.
pub(crate) fn needed_stages(df: &Dockerfile, target: usize) -> Vec<usize> {
    let find = |name: &str, before: usize| -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        df.stages[..before]
            .iter()
            .position(|s| s.name.as_deref() == Some(lower.as_str()))
            .or_else(|| name.parse::<usize>().ok().filter(|i| *i < before))
    };
    let mut need = vec![false; df.stages.len()];
    let mut todo = vec![target];
    while let Some(i) = todo.pop() {
        if need[i] {
            continue;
        }
        need[i] = true;
        let stage = &df.stages[i];
        if let Some(b) = find(&stage.base, i) {
            todo.push(b);
        }
        for step in &stage.steps {
            if let super::instruction::Instruction::Copy(c) = &step.instruction
                && let Some(from) = &c.from
                && let Some(b) = find(from, i)
            {
                todo.push(b);
            }
        }
    }
    (0..df.stages.len()).filter(|i| need[*i]).collect()
}

fn target_index(df: &Dockerfile, target: Option<&str>) -> Result<usize, BuildError> {
    match target {
        None => Ok(df.stages.len() - 1),
        Some(t) => {
            let lower = t.to_ascii_lowercase();
            df.stages
                .iter()
                .position(|s| s.name.as_deref() == Some(lower.as_str()))
                .ok_or_else(|| BuildError::Step(format!("failed to reach build target {t} in Dockerfile")))
        }
    }
}

/// Build `df` and return the final image's id.
pub(crate) fn build(
    config: &Config,
    ctx: &Context,
    df: &Dockerfile,
    opts: &BuildOptions,
) -> Result<Digest, BuildError> {
    let mut df = df.clone();
    let target = target_index(&df, opts.target.as_deref())?;
    if !opts.labels.is_empty() {
        // docker's classic builder appends the --label flags as a LABEL step.
        let text: Vec<String> = opts.labels.iter().map(|(k, v)| format!("{k:?}='{v}'")).collect();
        df.stages[target].steps.push(Step {
            instruction: super::instruction::Instruction::Label(opts.labels.clone()),
            original: format!("LABEL {}", text.join(" ")),
            line: 0,
        });
    }
    let stages = needed_stages(&df, target);
    let store = Store::open(&config.data_root)?;
    let scratch = Scratch::new(&config.data_root.join("tmp"), "build")?;
    let total = df.meta_args.len() + stages.iter().map(|i| 1 + df.stages[*i].steps.len()).sum::<usize>();
    let mut b = Builder {
        config,
        store,
        ctx,
        opts,
        out: Output::new(opts.style, opts.quiet),
        context_loaded: false,
        multi_stage: df.stages.len() > 1,
        scratch,
        escape: df.escape,
        results: vec![None; df.stages.len()],
        names: df.stages.iter().map(|s| s.name.clone()).collect(),
        used_args: HashSet::new(),
        step: 0,
        total,
        meta_args: Vec::new(),
    };
    for w in &df.warnings {
        b.out.line(w);
    }
    let result = b.run(&df, &stages, target);
    if let Err(e) = &result
        && opts.quiet
        && !matches!(e, BuildError::RunFailed { .. })
    {
        let _ = std::io::stderr().write_all(&b.out.kept);
    }
    result
}

impl Builder<'_> {
    fn run(&mut self, df: &Dockerfile, stages: &[usize], target: usize) -> Result<Digest, BuildError> {
        let _gc = self.store.gc_lock(GcLock::Writer)?;
        self.meta(df)?;
        self.header(df, stages)?;
        for &i in stages {
            let image = self.stage(&df.stages[i], i)?;
            self.results[i] = image;
        }
        let Some(img) = self.results[target].clone() else {
            return Err(BuildError::Step("No image was generated. Is your Dockerfile empty?".into()));
        };
        let unused: Vec<&str> = self
            .opts
            .build_args
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !self.used_args.contains(*k) && !super::step::is_builtin_arg(k))
            .collect();
        if !unused.is_empty() {
            self.out.line(&format!("[Warning] One or more build-args [{}] were not consumed", unused.join(" ")));
        }
        self.out.line(&format!("Successfully built {}", img.id.short()));
        self.out.start("exporting to image");
        self.out.status("exporting layers done");
        self.out.status(&format!("writing image {} done", img.id));
        for t in &self.opts.tags {
            image::tag(&mut self.store, &img.id, t)?;
            self.out.status(&format!("naming to {t} done"));
            self.out.line(&format!("Successfully tagged {}", crate::reference::familiar(&t.to_string())));
        }
        self.out.done();
        Ok(img.id.clone())
    }

    /// The ARGs before the first FROM: each a step, visible to FROM lines.
    fn meta(&mut self, df: &Dockerfile) -> Result<(), BuildError> {
        for (k, v) in &df.meta_args {
            self.step += 1;
            let shown = match v {
                Some(v) => format!("ARG {k}={v}"),
                None => format!("ARG {k}"),
            };
            self.out.line(&format!("Step {}/{} : {shown}", self.step, self.total));
            let vars: Vec<(String, String)> =
                self.meta_args.iter().filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v))).collect();
            let default = v.as_ref().map(|v| lex::process_word(v, self.escape, &vars)).transpose().map_err(lex_err)?;
            let value = self.build_arg(k).or(default);
            self.meta_args.push((k.clone(), value));
        }
        Ok(())
    }

    pub(crate) fn build_arg(&mut self, key: &str) -> Option<String> {
        let v = self.opts.build_args.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        self.used_args.insert(key.to_string());
        v
    }

    fn stage(&mut self, stage: &Stage, index: usize) -> Result<Option<Image>, BuildError> {
        self.step += 1;
        self.out.line(&format!("Step {}/{} : {}", self.step, self.total, stage.original));
        let mut names = StepNames {
            stage: self.multi_stage.then(|| stage.name.clone().unwrap_or_else(|| format!("stage-{index}"))),
            index: 0,
            total: stage.steps.iter().filter(|s| is_vertex(s)).count(),
        };
        let mut state = self.from(stage, &mut names)?;
        self.out.line(&format!(" ---> {}", state.short_id()));
        for step in &stage.steps {
            self.step += 1;
            self.out.line(&format!("Step {}/{} : {}", self.step, self.total, step.original));
            if is_vertex(step) {
                self.load_context(step);
                self.out.start(&names.next(&step.original));
            }
            if let Err(e) = self.dispatch(&mut state, step) {
                self.out.failed(&match &e {
                    BuildError::RunFailed { command, code } => super::output::run_failed(command, *code),
                    e => e.to_string(),
                });
                return Err(e);
            }
            self.out.done();
            self.out.line(&format!(" ---> {}", state.short_id()));
        }
        Ok(state.image)
    }

    /// BuildKit's first vertices: the builder, the Dockerfile, each base
    /// image's metadata, the `.dockerignore`.
    fn header(&mut self, df: &Dockerfile, stages: &[usize]) -> Result<(), BuildError> {
        if !self.out.buildkit() {
            return Ok(());
        }
        self.out.note("building with \"default\" instance using docker driver");
        let file = self.ctx.dockerfile_name.rsplit('/').next().unwrap_or("Dockerfile").to_string();
        let size = self.ctx.dockerfile.len();
        self.out.vertex(
            &format!("[internal] load build definition from {file}"),
            &[format!("transferring dockerfile: {size}B done")],
        );
        let mut seen = Vec::new();
        for &i in stages {
            let base = self.base_name(&df.stages[i])?;
            if base != "scratch" && self.stage_index(&base, i).is_none() && !seen.contains(&base) {
                self.out.vertex(&format!("[internal] load metadata for {}", full_name(&base)), &[]);
                seen.push(base);
            }
        }
        let ignore = std::fs::metadata(self.ctx.root.join(".dockerignore")).map_or(2, |m| m.len());
        self.out.vertex("[internal] load .dockerignore", &[format!("transferring context: {ignore}B done")]);
        Ok(())
    }

    /// BuildKit's "load build context" vertex, before the first step that
    /// reads the context.
    fn load_context(&mut self, step: &Step) {
        let reads = matches!(&step.instruction, super::instruction::Instruction::Copy(c) if c.from.is_none());
        if !reads || self.context_loaded || !self.out.buildkit() {
            return;
        }
        self.context_loaded = true;
        let size = crate::format::units::human_size(tree_size(&self.ctx.root));
        self.out.vertex("[internal] load build context", &[format!("transferring context: {size} done")]);
    }

    /// A stage's FROM with the meta ARGs expanded.
    fn base_name(&self, stage: &Stage) -> Result<String, BuildError> {
        let vars: Vec<(String, String)> =
            self.meta_args.iter().filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v))).collect();
        lex::process_word(&stage.base, self.escape, &vars).map_err(lex_err)
    }

    /// FROM: scratch, an earlier stage, or an image (pulled when missing or
    /// with `--pull`); then the base image's ONBUILD triggers.
    fn from(&mut self, stage: &Stage, names: &mut StepNames) -> Result<StageState, BuildError> {
        let vars: Vec<(String, String)> =
            self.meta_args.iter().filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v))).collect();
        let base = self.base_name(stage)?;
        if let Some(p) = &stage.platform {
            let p = lex::process_word(p, self.escape, &vars).map_err(lex_err)?;
            super::step::check_platform(&p)?;
        }
        let image = if base == "scratch" {
            None
        } else if let Some(i) = self.stage_index(&base, self.results.len()) {
            Some(self.results[i].clone().ok_or_else(|| BuildError::Step(format!("stage {base} has no image")))?)
        } else {
            names.total += 1;
            self.out.start(&names.next(&format!("FROM {}", full_name(&base))));
            let stored = !self.opts.pull && image::resolve(&self.store, &base).is_ok();
            let img = self.base_image(&base)?;
            if stored {
                self.out.cached();
            }
            self.out.done();
            Some(img)
        };
        let mut config = image::config_section(image.as_ref())?;
        add_default_path(&mut config);
        let maintainer = image.as_ref().and_then(author_of);
        let mut state = StageState { image, config, args: Vec::new(), cmd_set: false, maintainer };
        let triggers: Vec<String> = state
            .config
            .get("OnBuild")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        if !triggers.is_empty() {
            // docker: the triggers run once, in the child; grandchildren do not inherit them.
            state.config.insert("OnBuild".into(), Value::Null);
            let n = triggers.len();
            self.out.line(&format!("# Executing {n} build trigger{}", if n == 1 { "" } else { "s" }));
            for t in triggers {
                let df = super::parse_dockerfile("ONBUILD", &format!("FROM scratch\n{t}\n"))?;
                for step in &df.stages[0].steps {
                    self.dispatch(&mut state, step)?;
                }
            }
        }
        Ok(state)
    }

    /// A stage by name or index among those before `before`.
    pub(crate) fn stage_index(&self, name: &str, before: usize) -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        self.names[..before.min(self.names.len())]
            .iter()
            .position(|n| n.as_deref() == Some(lower.as_str()))
            .or_else(|| name.parse::<usize>().ok().filter(|i| *i < before.min(self.names.len())))
    }

    /// An image from the store, pulled first when it is missing (or always
    /// with `--pull`), as docker's builder does.
    pub(crate) fn base_image(&mut self, name: &str) -> Result<Image, BuildError> {
        let stored = image::resolve(&self.store, name);
        let must_pull = self.opts.pull || matches!(stored, Err(image::ImageError::NotFound(_)));
        if !must_pull {
            return Ok(stored?);
        }
        let progress = crate::progress::Progress::new(self.opts.quiet || self.out.buildkit());
        let opts =
            crate::registry::PullOptions { platform: self.opts.platform.clone(), auth_file: self.config.auth_file() };
        match crate::registry::pull(&mut self.store, name, &opts, &progress) {
            Ok(p) => Ok(image::load(&self.store, &p.id)?),
            // --pull of an image only stored here (built or loaded): use it.
            Err(_) if stored.is_ok() => Ok(stored?),
            Err(e) => Err(BuildError::Step(format!("pull access denied for {name}: {e}"))),
        }
    }

    /// Look the step's key up; on a hit the stage moves to the cached image.
    pub(crate) fn probe_cache(&mut self, state: &mut StageState, key: &str) -> Result<bool, BuildError> {
        if self.opts.no_cache {
            return Ok(false);
        }
        let Some(id) = cache::lookup(&mut self.store, key)? else { return Ok(false) };
        let Ok(img) = image::load(&self.store, &id) else { return Ok(false) };
        self.out.line(" ---> Using cache");
        self.out.cached();
        state.config = image::config_section(Some(&img))?;
        state.image = Some(img);
        Ok(true)
    }

    /// Record the step's image (on `layer`, or an empty history entry) and
    /// its cache entry; the stage moves to it.
    pub(crate) fn commit(
        &mut self,
        state: &mut StageState,
        key: &str,
        layer: Option<image::Layer>,
        created_by: String,
        author: Option<String>,
    ) -> Result<(), BuildError> {
        let rec = image::ImageRecord {
            parent: state.image.as_ref(),
            layer,
            config: state.config.clone(),
            history: image::HistoryEntry { created_by: Some(created_by), ..Default::default() },
            created: source_date(),
            author,
            container: None,
            tag: None,
        };
        let id = image::record_image(&mut self.store, &rec)?;
        let parent = state.image.as_ref().map(|i| i.id.clone());
        cache::insert(&mut self.store, key, &id, parent.as_ref())?;
        let img = image::load(&self.store, &id)?;
        state.image = Some(img);
        Ok(())
    }
}

/// docker's classic builder gives a stage whose base has no PATH the
/// default one (`initializeStage`), so RUN finds its programs.
fn add_default_path(config: &mut Map<String, Value>) {
    let mut env: Vec<Value> = config.get("Env").and_then(Value::as_array).cloned().unwrap_or_default();
    if env.iter().any(|e| e.as_str().is_some_and(|e| e.starts_with("PATH="))) {
        return;
    }
    env.push(Value::from("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
    config.insert("Env".into(), Value::Array(env));
}

/// The image config's top-level `author`.
fn author_of(img: &Image) -> Option<String> {
    let v: Value = serde_json::from_slice(&img.config_raw).ok()?;
    v.get("author").and_then(Value::as_str).map(str::to_string)
}

/// A step BuildKit shows as a vertex: one that changes the filesystem.
fn is_vertex(step: &Step) -> bool {
    use super::instruction::Instruction;
    matches!(step.instruction, Instruction::Run(_) | Instruction::Copy(_) | Instruction::Workdir(_))
}

/// An image name as BuildKit prints it: `docker.io/library/busybox:latest`.
fn full_name(name: &str) -> String {
    let Ok(r) = Reference::parse(name) else { return name.to_string() };
    let s = r.to_string();
    let last = s.rsplit('/').next().unwrap_or("");
    if last.contains(':') || last.contains('@') { s } else { format!("{s}:latest") }
}

/// The bytes of the regular files under `dir` (BuildKit's "transferring
/// context" size, near enough: it sends only what the steps use).
fn tree_size(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => tree_size(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

pub(crate) fn lex_err(e: lex::LexError) -> BuildError {
    BuildError::Step(e.0)
}

/// SOURCE_DATE_EPOCH as the images' and their history's creation time
/// (BuildKit's rule; the layers' file times are clamped to it too): the same
/// input then gives the same image id.
fn source_date() -> Option<String> {
    let secs = std::env::var("SOURCE_DATE_EPOCH").ok()?.parse::<i64>().ok()?;
    chrono::DateTime::from_timestamp(secs, 0).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn df(text: &str) -> Dockerfile {
        crate::build::parse_dockerfile("Dockerfile", text).unwrap()
    }

    #[test]
    fn only_needed_stages() {
        let d = df("FROM a AS one\nFROM b AS two\nCOPY --from=one /x /x\nFROM c AS three\nFROM two\n");
        assert_eq!(needed_stages(&d, 3), vec![0, 1, 3]);
        assert_eq!(needed_stages(&d, 2), vec![2]);
        let d = df("FROM a\nFROM b\nCOPY --from=0 /x /x\n");
        assert_eq!(needed_stages(&d, 1), vec![0, 1]);
        assert_eq!(target_index(&d, None).unwrap(), 1);
        let e = target_index(&d, Some("nope")).unwrap_err().to_string();
        assert_eq!(e, "failed to reach build target nope in Dockerfile");
    }

    #[test]
    fn env_wins_over_args_in_expansion() {
        let mut config = Map::new();
        config.insert("Env".into(), serde_json::json!(["A=env", "P=/bin"]));
        let s = StageState {
            image: None,
            config,
            args: vec![("A".into(), Some("arg".into())), ("B".into(), Some("b".into())), ("C".into(), None)],
            cmd_set: false,
            maintainer: None,
        };
        assert_eq!(lex::process_word("$A $B $C", '\\', &s.vars()).unwrap(), "env b ");
        assert_eq!(s.arg_values(), vec![("B".to_string(), "b".to_string())]);
    }
}
