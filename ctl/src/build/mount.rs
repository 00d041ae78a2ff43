//! A filesystem step's root: `<scratch>/step-<n>/` with an overlay of the
//! current image's layers (an empty directory for scratch) and a new upper
//! dir mounted at `rootfs/`. `finish` unmounts it and packs the upper dir
//! into the step's layer; dropping it unfinished (a failed step) unmounts
//! and removes everything, so a failed build leaves no mount, no directory
//! and no snapshot behind.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;

use super::BuildError;
use super::exec::{Builder, StageState};
use super::run::{self, Outcome, RunRequest};
use crate::container::rootfs;
use crate::image::{self, Image, Store};
use crate::pack::{PackOptions, Times};

static STEP: AtomicUsize = AtomicUsize::new(0);

pub(crate) struct StepRoot {
    dir: PathBuf,
    mounted: bool,
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BuildError {
    let path = path.to_path_buf();
    move |source| BuildError::Io { op, path, source }
}

impl StepRoot {
    /// Mount a fresh upper dir over `image`'s layers.
    pub(crate) fn mount(scratch: &Path, image: Option<&Image>) -> Result<StepRoot, BuildError> {
        let dir = scratch.join(format!("step-{}", STEP.fetch_add(1, Ordering::Relaxed)));
        let mut root = StepRoot { dir, mounted: false };
        for sub in ["empty", "bundle"] {
            let p = root.dir.join(sub);
            std::fs::create_dir_all(&p).map_err(io("create", &p))?;
        }
        let lower = match image {
            Some(img) if !img.lower_dirs.is_empty() => img.lower_dirs.clone(),
            _ => vec![root.dir.join("empty")],
        };
        rootfs::mount_overlay(&lower, &root.upper(), &root.dir.join("work"), &root.rootfs(), false)
            .map_err(|e| BuildError::Step(format!("mount the step's rootfs: {e}")))?;
        root.mounted = true;
        Ok(root)
    }

    pub(crate) fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    pub(crate) fn upper(&self) -> PathBuf {
        self.dir.join("upper")
    }

    pub(crate) fn scratch(&self) -> &Path {
        &self.dir
    }

    fn unmount(&mut self) -> Result<(), BuildError> {
        if self.mounted {
            rootfs::unmount(&self.rootfs()).map_err(|e| BuildError::Step(format!("unmount the step's rootfs: {e}")))?;
            self.mounted = false;
        }
        Ok(())
    }

    /// RUN in this root: the step's container, its output on the build's.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run(
        &self,
        b: &mut Builder<'_>,
        id: &str,
        argv: Vec<String>,
        env: Vec<String>,
        state: &StageState,
        network: &str,
        script: Option<(String, String)>,
    ) -> Result<Outcome, BuildError> {
        let out_path = self.dir.join("output");
        let output = if b.out.quiet || b.out.buildkit() {
            File::create(&out_path).map_err(io("create", &out_path))?
        } else {
            let fd = std::os::fd::AsFd::as_fd(&std::io::stdout())
                .try_clone_to_owned()
                .map_err(io("dup", Path::new("stdout")))?;
            File::from(fd)
        };
        let mut mounts = Vec::new();
        if let Some((name, content)) = script {
            let p = self.dir.join("bundle").join(format!("pipe-{name}"));
            std::fs::write(&p, content).map_err(io("write", &p))?;
            std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .map_err(io("chmod", &p))?;
            mounts.push(json!({"destination": format!("/dev/pipes/{name}"), "type": "bind", "source": p, "options": ["rbind", "ro"]}));
        }
        let user = state.config.get("User").and_then(|v| v.as_str()).unwrap_or("").to_string();
        let workdir = match state.config.get("WorkingDir").and_then(|v| v.as_str()) {
            Some(w) if !w.is_empty() => super::ignore::clean(w),
            _ => String::new(),
        };
        let req = RunRequest {
            id,
            rootfs: &self.rootfs(),
            dir: &self.dir.join("bundle"),
            argv,
            env,
            user: &user,
            workdir: &workdir,
            network,
            cgroup_parent: &b.opts.cgroup_parent,
            output,
            mounts,
        };
        let outcome = run::run(b.config, req);
        if (b.out.quiet || b.out.buildkit())
            && let Ok(text) = std::fs::read(&out_path)
        {
            b.out.run_output(&text);
        }
        outcome
    }

    /// Unmount and pack the upper dir into the step's layer (None when the
    /// step changed nothing). Times are clamped to SOURCE_DATE_EPOCH when it
    /// is set (BuildKit's rule), so the same input gives the same digest.
    pub(crate) fn finish(
        mut self,
        store: &mut Store,
        parent: Option<&Image>,
    ) -> Result<Option<image::Layer>, BuildError> {
        self.unmount()?;
        let times = match std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|s| s.parse::<i64>().ok()) {
            Some(epoch) => Times::Clamp(epoch),
            None => Times::Keep,
        };
        let diff_ids = parent.map(Image::diff_ids).unwrap_or_default();
        Ok(image::layer_from_dir(store, &diff_ids, &self.upper(), &PackOptions::upper_dir(times))?)
    }
}

impl Drop for StepRoot {
    fn drop(&mut self) {
        if let Err(e) = self.unmount() {
            tracing::warn!(dir = %self.dir.display(), error = %e, "build step cleanup");
            return;
        }
        if let Err(e) = std::fs::remove_dir_all(&self.dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %self.dir.display(), error = %e, "remove build step directory");
        }
    }
}
