//! `berthctl build` judged by what a user checks: a corpus of Dockerfiles
//! (`ctl/tests/build/<case>/`) built from the test busybox, then `run` of the
//! result, its config through `inspect`, its history; the cache (a rebuild
//! runs no RUN, an edited file reruns only the steps from its COPY on); a
//! failing RUN's message, exit code and what it leaves behind; and, where
//! Debian's dockerd runs, the same corpus built by docker's classic builder
//! from the same busybox layer, compared field by field.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::containers::Ctl;
use crate::support::{Dockerd, Run};

fn case(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/build").join(name)
}

/// A copy of a case's context the test may change.
fn copy_case(ctl: &Ctl, name: &str) -> PathBuf {
    let dst = ctl.store.path().join(format!("ctx-{name}"));
    let ok = Command::new("cp").arg("-a").arg(case(name)).arg(&dst).status().expect("run cp");
    assert!(ok.success(), "copy the {name} case");
    dst
}

/// A build with docker's classic builder's output (`DOCKER_BUILDKIT=0`).
fn build(ctl: &Ctl, args: &[&str]) -> Command {
    let mut c = ctl.cmd(["build", "--cgroup-parent", ctl.cgroup_parent()]);
    c.env("DOCKER_BUILDKIT", "0").args(args);
    c
}

/// A build with the default output, BuildKit's plain progress.
fn buildkit(ctl: &Ctl, args: &[&str]) -> Command {
    let mut c = ctl.cmd(["build", "--cgroup-parent", ctl.cgroup_parent()]);
    c.env_remove("DOCKER_BUILDKIT").args(args);
    c
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn run_image(ctl: &Ctl, image: &str) -> String {
    ctl.run(["--rm", "--network", "none", image]).success()
}

/// The config fields two builders must agree on (a missing one is null).
const CONFIG_FIELDS: &[&str] = &[
    "Env",
    "Cmd",
    "Entrypoint",
    "WorkingDir",
    "User",
    "ExposedPorts",
    "Volumes",
    "Labels",
    "StopSignal",
    "OnBuild",
    "Healthcheck",
    "Shell",
];

/// Missing, null, "", [] and {} all mean "not set" (docker's inspect omits
/// empty fields; our config keeps some).
fn unset_as_null(v: Option<&serde_json::Value>) -> serde_json::Value {
    use serde_json::Value;
    match v {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(s)) if s.is_empty() => Value::Null,
        Some(Value::Array(a)) if a.is_empty() => Value::Null,
        Some(Value::Object(o)) if o.is_empty() => Value::Null,
        Some(v) => v.clone(),
    }
}

/// `{{json .Config}}` and the layer count of an image, from `inspect`.
fn config_of(mut inspect: Command) -> (serde_json::Value, usize) {
    let out = inspect.success();
    let mut lines = out.lines();
    let config = serde_json::from_str(lines.next().unwrap_or("null")).expect("config JSON");
    let layers = lines.next().and_then(|l| l.trim().parse().ok()).unwrap_or(0);
    (config, layers)
}

/// The history's CREATED BY lines, COPY's content hash left out (docker's
/// is a tarsum, ours a sha256 of the same files).
fn history(cmd: Command) -> Vec<String> {
    let mut cmd = cmd;
    let out = cmd.success();
    out.lines()
        .map(|l| {
            let mut l = l.to_string();
            for kind in ["file:", "dir:", "multi:"] {
                if let Some(i) = l.find(kind) {
                    let end = l[i..].find(' ').map_or(l.len(), |e| i + e);
                    l.replace_range(i..end, &format!("{kind}<hash>"));
                }
            }
            l
        })
        .collect()
}

/// (case, build args, what `run` of the image prints).
const CORPUS: &[(&str, &[&str], &str)] = &[
    ("single", &[], "hello from the context\nbuilt with hello\n/app/hello.txt 644 0:0 23\n/app/built 640 0:0 17\n"),
    ("multistage", &[], "made in build\nartifact\n/opt/artifact 600 0:0\n"),
    ("args", &["--build-arg", "GREETING=hi"], "hi world\nfallback\narg-in-run:gone\n"),
    ("dockerignore", &[], ".\n./.dockerignore\n./a.txt\n./keep.log\n./sub\n./sub/deep\n./sub/deep/y.txt\n"),
    (
        "user",
        &[],
        "uid=1234(app) gid=1234(app) groups=1234(app)\nuid=1234(app) gid=1234(app) groups=1234(app)\nhello.txt 644 app:1234\nsecret.txt 644 app:100\nmine 644 app:1234\n",
    ),
    ("workdir", &[], "/a/b/c\n/etc\n/a 755 0:0\n/a/b 755 0:0\n/a/b/c 755 0:0\n"),
    ("volume", &[], "seeded\n/cache\n/logs\n"),
    ("instructions", &[], INSTRUCTIONS_OUT),
    (
        "dockerignore-exceptions",
        &[],
        ".\n./.dockerignore\n./Dockerfile\n./README.md\n./a\n./a/b\n./a/b/c\n./a/b/c/x.md\n./dir\n./dir/keep\n./dir/sub\n./dir/sub/keep\n",
    ),
];

/// `run` of the instructions case, as docker 20.10's classic builder's image prints it.
const INSTRUCTIONS_OUT: &str = "shell: /bin/sh ce\nshell: /bin/sh ce\nfrom the archive\ntool\n\
added 755 0:0\nadded/plain.txt 644 0:0\n\
globbed 755 0:0\nglobbed/one.txt 644 0:0\nglobbed/plain.txt 644 0:0\nglobbed/two.txt 644 0:0\n\
tree 755 12:34\ntree/sub 755 12:34\ntree/sub/file 644 12:34\n\
unpacked 755 0:0\nunpacked/pkg 755 0:0\nunpacked/pkg/bin 711 5:6\nunpacked/pkg/bin/tool 750 5:6\n\
unpacked/pkg/link 777 0:0\nunpacked/pkg/readme 640 7:8\n";

#[test]
#[ignore = "needs root"]
fn corpus_builds_and_runs() {
    let ctl = Ctl::new();
    for (name, extra, want) in CORPUS {
        let tag = format!("corpus-{name}");
        let mut args = vec!["-t", tag.as_str()];
        args.extend_from_slice(extra);
        let out = build(&ctl, &args).arg(case(name)).success();
        // Only the stages the target needs are built (docker's classic builder builds all).
        assert!(!out.contains("AS unused"), "{out}");
        assert_eq!(run_image(&ctl, &tag), *want, "run of the {name} case");
    }
    // Config fields a user reads back.
    let f = |img: &str, fmt: &str| ctl.inspect(img, fmt);
    assert_eq!(f("corpus-single", "{{.Config.WorkingDir}} {{.Config.StopSignal}}"), "/app SIGINT");
    assert_eq!(f("corpus-single", "{{json .Config.ExposedPorts}}"), r#"{"53/udp":{},"8080/tcp":{}}"#);
    assert_eq!(f("corpus-single", "{{index .Config.Labels \"org.example.case\"}}"), "single");
    assert_eq!(f("corpus-args", "{{json .Config.Labels}}"), r#"{"base":"","greeting":"hi"}"#);
    assert_eq!(f("corpus-user", "{{.Config.User}}"), "app");
    assert_eq!(f("corpus-volume", "{{json .Config.Volumes}}"), r#"{"/cache":{},"/data":{},"/logs":{}}"#);
    // SHELL, HEALTHCHECK (its shell form as CMD-SHELL) and ENTRYPOINT land in the config.
    assert_eq!(
        f("corpus-instructions", "{{json .Config.Shell}} {{json .Config.Entrypoint}}"),
        r#"["/bin/sh","-e","-c"] ["sh","-c"]"#
    );
    let health: serde_json::Value =
        serde_json::from_str(&f("corpus-instructions", "{{json .Config.Healthcheck}}")).unwrap();
    let want = r#"{"Test":["CMD-SHELL","cat /shell || exit 1"],"Interval":5000000000,"Timeout":2000000000,"StartPeriod":1000000000,"Retries":4}"#;
    assert_eq!(health, serde_json::from_str::<serde_json::Value>(want).unwrap());
    // One layer per filesystem step: busybox's, COPY, RUN (WORKDIR /app is new: one more).
    assert_eq!(f("corpus-single", "{{len .RootFS.Layers}}"), "4");
    let h = history(ctl.cmd(["history", "--no-trunc", "--format", "{{.CreatedBy}}", "corpus-single"]));
    assert_eq!(
        h[0],
        r#"/bin/sh -c #(nop)  CMD ["sh" "-c" "cat /app/hello.txt /app/built; stat -c '%n %a %u:%g %s' /app/hello.txt /app/built"]"#
    );
    assert_eq!(h[3], "/bin/sh -c echo \"built with $GREETING\" > /app/built  && chmod 640 /app/built");
    assert_eq!(h[4], "/bin/sh -c #(nop) COPY file:<hash> in . ");
    assert_eq!(h[5], "/bin/sh -c #(nop) WORKDIR /app");
    assert_eq!(h[6], "/bin/sh -c #(nop)  ENV GREETING=hello");
    let h = history(ctl.cmd(["history", "--no-trunc", "--format", "{{.CreatedBy}}", "corpus-args"]));
    assert!(h.iter().any(|l| l == "|1 GREETING=hi /bin/sh -c echo \"$GREETING $WHO\" > /greeting"), "{h:#?}");
    // Intermediate images stay out of `images`; the multistage case's first
    // stage and the instructions case's scratch stage are the untagged
    // images left, as with docker's classic builder.
    let listed = ctl.cmd(["images", "--format", "{{.Repository}}"]).success();
    assert_eq!(listed.matches("<none>").count(), 2, "{listed}");
}

#[test]
#[ignore = "needs root"]
fn heredocs_and_onbuild() {
    let ctl = Ctl::new();
    build(&ctl, &["-t", "heredoc"]).arg(case("heredoc")).success();
    assert_eq!(
        run_image(&ctl, "heredoc"),
        "line one\nline two\nscript ran\nhello heredoc\n$NOT_EXPANDED\nsecond file\nhi from a script\n/usr/local/bin/hi 750 0:0\n"
    );
    build(&ctl, &["-t", "onbuild-parent"]).arg(case("onbuild")).success();
    assert_eq!(ctl.inspect("onbuild-parent", "{{len .Config.OnBuild}}"), "2");
    let out = build(&ctl, &["-t", "onbuild-child", "-f"])
        .arg(case("onbuild").join("Dockerfile.child"))
        .arg(case("onbuild"))
        .success();
    assert!(out.contains("# Executing 2 build triggers"), "{out}");
    assert_eq!(run_image(&ctl, "onbuild-child"), "trigger ran\nafter the triggers\nfrom the child's context\n");
    // Triggers run once: the child does not pass them on.
    assert_eq!(ctl.inspect("onbuild-child", "{{json .Config.OnBuild}}"), "null");
}

/// Lines of build output that ran a container (RUN, and docker's metadata commits).
fn ran(out: &str) -> Vec<&str> {
    out.lines().filter(|l| l.starts_with(" ---> Running in")).collect()
}

#[test]
#[ignore = "needs root"]
fn cache_reuses_steps_until_the_changed_file() {
    let ctl = Ctl::new();
    let ctx = copy_case(&ctl, "cache");
    let first = build(&ctl, &["-t", "cached"]).arg(&ctx).success();
    assert!(!ran(&first).is_empty());
    let id = ctl.inspect("cached", "{{.Id}}");
    let again = build(&ctl, &["-t", "cached"]).arg(&ctx).success();
    assert!(ran(&again).is_empty(), "a rebuild with nothing changed ran steps:\n{again}");
    assert_eq!(again.matches(" ---> Using cache").count(), 9, "{again}");
    assert_eq!(ctl.inspect("cached", "{{.Id}}"), id);
    // Edit the second copied file: the steps before its COPY stay cached.
    std::fs::write(ctx.join("second.txt"), "second, edited\n").unwrap();
    let edited = build(&ctl, &["-t", "cached"]).arg(&ctx).success();
    let steps: Vec<&str> = edited.split("Step ").skip(1).collect();
    for (i, s) in steps.iter().enumerate() {
        let cached = s.contains(" ---> Using cache");
        assert_eq!(cached, (1..6).contains(&i), "step {} cached={cached}:\n{edited}", i + 1);
    }
    assert_eq!(run_image(&ctl, "cached"), "one\nfirst\nsecond, edited\n");
    // --no-cache (docker's spelling with a value too) reruns everything.
    let cold = build(&ctl, &["--no-cache=true", "-t", "cached"]).arg(&ctx).success();
    assert!(!cold.contains("Using cache"), "{cold}");
    // builder prune reclaims the cache: the next build runs again.
    let pruned = ctl.cmd(["builder", "prune", "-f"]).success();
    assert!(pruned.contains("Total reclaimed space:"), "{pruned}");
    let after = build(&ctl, &["-t", "cached2"]).arg(&ctx).success();
    assert!(!after.contains("Using cache ---> "), "{after}");
    assert_eq!(run_image(&ctl, "cached"), "one\nfirst\nsecond, edited\n");
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| r.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
#[ignore = "needs root"]
fn failing_run_reports_and_leaves_nothing() {
    let ctl = Ctl::new();
    let snapshots = ctl.store.root.join("snapshots");
    let before = entries(&snapshots);
    let out = build(&ctl, &["-t", "failing"]).arg(case("failing")).failure();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    assert!(stdout.contains("output before the failure") && stdout.contains("to stderr"), "{stdout}");
    assert!(
        stderr.contains(
            "The command '/bin/sh -c echo \"output before the failure\" && echo \"to stderr\" >&2 && exit 3' returned a non-zero code: 3"
        ),
        "{stderr}"
    );
    // The first RUN's layer is kept (cache); nothing of the failed one.
    assert_eq!(entries(&snapshots).len(), before.len() + 1);
    assert!(entries(&ctl.store.root.join("tmp")).is_empty(), "scratch dirs left");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(ctl.store.path().to_str().unwrap()), "mounts left under the store");
    assert!(entries(&ctl.store.runroot.join("runtime")).is_empty(), "runtime containers left");
    assert!(ctl.cmd(["images", "-q", "failing"]).success().is_empty());
    // A syntax error names the file, the line and the instruction.
    let out = build(&ctl, &[]).arg(case("syntax")).failure();
    let stderr = text(&out).1;
    assert!(stderr.starts_with("DEPRECATED: The legacy builder is deprecated"), "{stderr}");
    assert!(stderr.ends_with("\nDockerfile parse error line 3: unknown instruction: FOO\n"), "{stderr}");
    // A missing COPY source is named.
    let dir = ctl.store.path().join("missing");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Dockerfile"), "FROM busybox\nCOPY nope.txt /\n").unwrap();
    let out = build(&ctl, &[]).arg(&dir).failure();
    assert!(
        text(&out).1.contains("COPY failed: file not found in build context or excluded by .dockerignore: stat nope.txt: file does not exist"),
        "{:?}",
        text(&out)
    );
}

#[test]
#[ignore = "needs root"]
fn tutorial_lines_and_quiet() {
    let ctl = Ctl::new();
    let ctx = copy_case(&ctl, "tutorial");
    let file = ctx.join("conf/Dockerfile.nginx");
    // build -t "mattma/nginx:v1" -f path (the Dockerfile away from the context root)
    build(&ctl, &["-t", "mattma/nginx:v1", "-f"]).arg(&file).arg(&ctx).success();
    assert_eq!(run_image(&ctl, "mattma/nginx:v1"), "<h1>tutorial</h1>\n");
    // build --no-cache=true -f <dockerfile> -t <tag> .
    let out = build(&ctl, &["--no-cache=true", "-f"])
        .arg(&file)
        .args(["-t", "mattma/nginx:v2", "."])
        .current_dir(&ctx)
        .success();
    assert!(out.contains("Successfully tagged mattma/nginx:v2"), "{out}");
    assert!(!out.contains("Using cache"), "{out}");
    // -q prints only the id; --iidfile writes it.
    let iid = ctl.store.path().join("iid");
    let q = build(&ctl, &["-q", "--iidfile"]).arg(&iid).arg("-f").arg(&file).arg(&ctx).success();
    let id = q.trim();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{q:?}");
    assert_eq!(std::fs::read_to_string(&iid).unwrap(), id);
    // A Dockerfile on stdin, no context.
    let mut child = build(&ctl, &["-t", "from-stdin", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"FROM busybox\nCMD [\"echo\", \"stdin\"]\n").unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    assert_eq!(run_image(&ctl, "from-stdin"), "stdin\n");
}

/// The flattened filesystem of an image as `create` + `export` give it:
/// path -> "kind mode uid:gid" and a regular file's sha256 or a link's
/// target. What the engine adds to every container (`/dev`, `/proc`,
/// `/sys`, `/etc/{hostname,hosts,resolv.conf,mtab}`, `.dockerenv`) is left out.
fn filesystem(mut create: Command, mut export: Command) -> std::collections::BTreeMap<String, String> {
    use sha2::Digest;
    create.success();
    let out = export.output().expect("run export");
    assert!(out.status.success(), "export: {}", String::from_utf8_lossy(&out.stderr));
    let mut files = std::collections::BTreeMap::new();
    let mut archive = tar::Archive::new(&out.stdout[..]);
    for e in archive.entries().expect("read the export") {
        let mut e = e.expect("an export entry");
        let path = String::from_utf8_lossy(&e.path_bytes()).trim_end_matches('/').trim_start_matches("./").to_string();
        let engine = ["dev", "proc", "sys", ".dockerenv", "etc/hostname", "etc/hosts", "etc/resolv.conf", "etc/mtab"];
        if engine.iter().any(|p| path == *p || path.starts_with(&format!("{p}/"))) {
            continue;
        }
        let h = e.header();
        let (kind, mode, uid, gid) =
            (h.entry_type(), h.mode().unwrap_or(0) & 0o7777, h.uid().unwrap_or(0), h.gid().unwrap_or(0));
        let what = match kind {
            tar::EntryType::Regular => {
                let mut data = Vec::new();
                std::io::Read::read_to_end(&mut e, &mut data).expect("read an export entry");
                format!("{:x}", sha2::Sha256::digest(&data))
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                e.link_name_bytes().map(|l| String::from_utf8_lossy(&l).into_owned()).unwrap_or_default()
            }
            _ => String::new(),
        };
        files.insert(path, format!("{kind:?} {mode:o} {uid}:{gid} {what}"));
    }
    files
}

/// The corpus through docker's classic builder (DOCKER_BUILDKIT=0) and
/// berthctl from the same busybox layer: same `run` output, same config
/// fields, same history lines, same files (content, modes, owners).
#[test]
#[ignore = "needs root"]
fn same_images_as_docker_classic_builder() {
    let ctl = Ctl::new();
    let dockerd = Dockerd::start();
    let layer = crate::containers::busybox_layer();
    dockerd.docker(["import", "--change", r#"CMD ["sh"]"#]).arg(&layer).arg("busybox").success();
    let mut mismatches = Vec::new();
    for (name, extra, _) in CORPUS {
        let tag = format!("cmp-{name}");
        let mut args = vec!["-t", tag.as_str()];
        args.extend_from_slice(extra);
        build(&ctl, &args).arg(case(name)).success();
        let mut d = dockerd.docker(["build"]);
        d.env("DOCKER_BUILDKIT", "0").args(&args).arg(case(name));
        d.success();
        let ours = run_image(&ctl, &tag);
        let theirs = dockerd.docker(["run", "--rm", "--network", "none", &tag]).success();
        if ours != theirs {
            mismatches.push(format!("{name}: run\n  berthctl: {ours:?}\n  docker:   {theirs:?}"));
        }
        let fmt = ["inspect", "-f", "{{json .Config}}\n{{len .RootFS.Layers}}", &tag];
        let (ours, our_layers) = config_of(ctl.cmd(fmt));
        let (theirs, their_layers) = config_of(dockerd.docker(fmt));
        for field in CONFIG_FIELDS {
            let (o, t) = (unset_as_null(ours.get(*field)), unset_as_null(theirs.get(*field)));
            if o != t {
                mismatches.push(format!("{name}: Config.{field}\n  berthctl: {o}\n  docker:   {t}"));
            }
        }
        let (ours, theirs) = (
            filesystem(ctl.cmd(["create", "--name", &tag, &tag]), ctl.cmd(["export", &tag])),
            filesystem(dockerd.docker(["create", "--name", &tag, &tag]), dockerd.docker(["export", &tag])),
        );
        for path in ours.keys().chain(theirs.keys()).collect::<std::collections::BTreeSet<_>>() {
            if ours.get(path) != theirs.get(path) {
                mismatches.push(format!(
                    "{name}: {path}\n  berthctl: {:?}\n  docker:   {:?}",
                    ours.get(path),
                    theirs.get(path)
                ));
            }
        }
        if our_layers != their_layers {
            mismatches.push(format!("{name}: layers: berthctl {our_layers}, docker {their_layers}"));
        }
        let fmt = ["history", "--no-trunc", "--format", "{{.CreatedBy}}", &tag];
        let (mut ours, mut theirs) = (history(ctl.cmd(fmt)), history(dockerd.docker(fmt)));
        // The base's own lines (an import here and there) are not the build's.
        let base = ["history", "-q", "busybox"];
        ours.truncate(ours.len() - ctl.cmd(base).success().lines().count());
        theirs.truncate(theirs.len() - dockerd.docker(base).success().lines().count());
        if ours != theirs {
            mismatches.push(format!("{name}: history\n  berthctl: {ours:#?}\n  docker:   {theirs:#?}"));
        }
    }
    assert!(mismatches.is_empty(), "differences from docker build:\n{}", mismatches.join("\n"));
}

/// Answers every GET on loopback with `body` (a thread for the test's
/// life); the URL it serves.
fn serve(body: &'static [u8]) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let url = format!("http://{}/files/fetched.txt", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            // The request's head, to its blank line.
            let mut reader = BufReader::new(&s);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = s.write_all(head.as_bytes()).and_then(|()| s.write_all(body));
        }
    });
    url
}

/// Build flags and context forms the corpus does not use: `--target` builds
/// only the stages it needs and takes that stage's config; `--build-arg K`
/// takes K's value from the environment (the Dockerfile's default when K is
/// unset); `--label`; `--platform` of the host and `--progress`; a context
/// as a tar file and as a tar on stdin with `-f` inside it; ADD of a URL;
/// COPY --chmod of a directory (BuildKit's flag: every copied entry).
#[test]
#[ignore = "needs root"]
fn flags_contexts_and_add_sources() {
    let ctl = Ctl::new();
    let out = build(&ctl, &["--target", "base", "-t", "target-base"]).arg(case("instructions")).success();
    assert!(out.contains("Step 8/8 : COPY *.txt /globbed/"), "{out}");
    assert!(!out.contains("scratch") && !out.contains("ENTRYPOINT"), "stages past the target were built:\n{out}");
    // Fields the image does not set read as docker's typed config gives them.
    let unset =
        "{{json .Config.Entrypoint}} {{json .Config.Healthcheck}} {{json .Config.StopSignal}} {{json .Config.Shell}}";
    assert_eq!(ctl.inspect("target-base", unset), r#"null null "" ["/bin/sh","-e","-c"]"#);
    ctl.cmd(["create", "--name", "plain", "busybox"]).success();
    assert_eq!(ctl.inspect("plain", unset), r#"null null "" null"#);
    let out = build(&ctl, &["--target", "nosuch"]).arg(case("instructions")).failure();
    assert!(text(&out).1.ends_with("\n\nfailed to reach build target nosuch in Dockerfile\n"), "{:?}", text(&out));

    let args = ["--build-arg", "GREETING", "--label", "a.b=c", "--label", "bare", "-t", "args-env"];
    build(&ctl, &args).env("GREETING", "fromenv").arg(case("args")).success();
    assert_eq!(run_image(&ctl, "args-env"), "fromenv world\nfallback\narg-in-run:gone\n");
    assert_eq!(
        ctl.inspect("args-env", "{{json .Config.Labels}}"),
        r#"{"a.b":"c","bare":"","base":"","greeting":"fromenv"}"#
    );
    build(&ctl, &["--build-arg", "GREETING", "-t", "args-unset"]).env_remove("GREETING").arg(case("args")).success();
    assert_eq!(run_image(&ctl, "args-unset"), "hello world\nfallback\narg-in-run:gone\n");

    let host = ["--platform", "linux/amd64", "--progress", "plain", "-t", "plat", "-t", "plat:two"];
    build(&ctl, &host).arg(case("single")).success();
    assert_eq!(ctl.inspect("plat:two", "{{.Id}}"), ctl.inspect("plat", "{{.Id}}"), "every -t names the image");
    let out = build(&ctl, &["--platform", "linux/s390x"]).arg(case("single")).failure();
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    assert!(text(&out).1.contains("\n\nplatform \"linux/s390x\" is not supported"), "{:?}", text(&out));

    // SOURCE_DATE_EPOCH (BuildKit's rule): file and image times clamped to
    // it, so the same input gives the same image, RUN steps included.
    let rebuild =
        || build(&ctl, &["--no-cache", "-q"]).env("SOURCE_DATE_EPOCH", "1700000000").arg(case("single")).success();
    let id = rebuild();
    assert_eq!(rebuild(), id);
    assert_eq!(ctl.inspect(id.trim(), "{{.Created}}"), "2023-11-14T22:13:20Z");

    // A tar of the tutorial's context: as a file, and on stdin, -f inside it.
    let tar = ctl.store.path().join("ctx.tar");
    let ok = Command::new("tar").arg("-C").arg(case("tutorial")).arg("-cf").arg(&tar).arg(".").status().unwrap();
    assert!(ok.success());
    build(&ctl, &["-f", "conf/Dockerfile.nginx", "-t", "from-tar"]).arg(&tar).success();
    assert_eq!(run_image(&ctl, "from-tar"), "<h1>tutorial</h1>\n");
    build(&ctl, &["-f", "conf/Dockerfile.nginx", "-t", "from-stdin-tar", "-"])
        .stdin(std::fs::File::open(&tar).unwrap())
        .success();
    assert_eq!(run_image(&ctl, "from-stdin-tar"), "<h1>tutorial</h1>\n");

    // ADD <url> (a loopback server: mode 600 as docker's) and COPY --chmod of a directory.
    let dir = ctl.store.path().join("sources");
    std::fs::create_dir_all(dir.join("tree/sub")).unwrap();
    std::fs::write(dir.join("tree/sub/file"), "in tree\n").unwrap();
    let url = serve(b"fetched over http\n");
    std::fs::write(
        dir.join("Dockerfile"),
        format!(
            "FROM busybox\nADD {url} /fetched/\nCOPY --chmod=750 tree /tree/\nCOPY --from=args-env /greeting /\n\
             CMD [\"sh\", \"-c\", \"cat /fetched/fetched.txt /greeting; cd / && stat -c '%n %a %u:%g' fetched/fetched.txt tree/sub tree/sub/file\"]\n"
        ),
    )
    .unwrap();
    build(&ctl, &["-t", "sources"]).arg(&dir).success();
    assert_eq!(
        run_image(&ctl, "sources"),
        "fetched over http\nfromenv world\nfetched/fetched.txt 600 0:0\ntree/sub 750 0:0\ntree/sub/file 750 0:0\n"
    );

    // FROM an image not stored here pulls it; --pull asks the registry
    // again, a build with it stored does not.
    let reference = crate::support::registry().reference("busybox:latest");
    let dir = ctl.store.path().join("pull");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Dockerfile"), format!("FROM {reference}\nCMD [\"echo\", \"pulled\"]\n")).unwrap();
    let first = build(&ctl, &["-t", "pulled"]).arg(&dir).success();
    assert!(first.contains("Pulling from"), "{first}");
    assert_eq!(run_image(&ctl, "pulled"), "pulled\n");
    let stored = build(&ctl, &["-t", "pulled"]).arg(&dir).success();
    assert!(!stored.contains("Pulling from"), "{stored}");
    let again = build(&ctl, &["--pull", "-t", "pulled"]).arg(&dir).success();
    assert!(again.contains("Pulling from"), "{again}");
}

/// BuildKit's vertices in plain output, in order: (name, how it ended:
/// `CACHED`, `DONE`, `ERROR: …`).
fn vertices(stderr: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String, String)> = Vec::new();
    for line in stderr.lines() {
        let Some((n, text)) = line.strip_prefix('#').and_then(|l| l.split_once(' ')) else { continue };
        match v.iter_mut().find(|(k, _, _)| k == n) {
            None => v.push((n.to_string(), text.to_string(), String::new())),
            Some(e) if text == "CACHED" || text.starts_with("DONE ") => e.2 = text.split(' ').next().unwrap().into(),
            Some(e) if text.starts_with("ERROR: ") => e.2 = text.to_string(),
            Some(_) => {}
        }
    }
    v.into_iter().map(|(_, name, end)| (name, end)).collect()
}

fn steps(stderr: &str) -> Vec<(String, String)> {
    vertices(stderr).into_iter().filter(|(n, _)| n.starts_with('[') && !n.starts_with("[internal]")).collect()
}

#[test]
#[ignore = "needs root"]
fn buildkit_output_says_which_steps_were_cached() {
    let ctl = Ctl::new();
    let ctx = copy_case(&ctl, "cache");
    let out = buildkit(&ctl, &["-t", "bk"]).arg(&ctx).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success() && stdout.is_empty(), "{stdout}{stderr}");
    assert!(stderr.starts_with("#0 building with \"default\" instance using docker driver\n\n#1 [internal] load build definition from Dockerfile\n#1 transferring dockerfile: "), "{stderr}");
    let names: Vec<String> = steps(&stderr).into_iter().map(|(n, _)| n).collect();
    let want = [
        "[1/7] FROM docker.io/library/busybox:latest",
        "[2/7] RUN echo one > /one",
        "[3/7] WORKDIR /work",
        "[4/7] COPY first.txt ./",
        "[5/7] RUN cat first.txt > /first-copy",
        "[6/7] COPY second.txt ./",
        "[7/7] RUN cat second.txt > /second-copy",
    ];
    assert_eq!(names, want, "{stderr}");
    assert!(vertices(&stderr).iter().any(|(n, e)| n == "[internal] load build context" && e == "DONE"), "{stderr}");
    assert_eq!(steps(&stderr)[1].1, "DONE", "{stderr}");
    let id = ctl.inspect("bk", "{{.Id}}");
    assert!(stderr.contains("exporting to image\n"), "{stderr}");
    assert!(stderr.contains(&format!(" writing image {id} done\n")), "{stderr}");
    assert!(stderr.contains(" naming to docker.io/library/bk:latest done\n"), "{stderr}");
    // A rebuild: every step CACHED, the same image.
    let out = buildkit(&ctl, &["-t", "bk"]).arg(&ctx).output().unwrap();
    let again = text(&out).1;
    assert!(steps(&again).iter().all(|(_, e)| e == "CACHED"), "{again}");
    assert_eq!(ctl.inspect("bk", "{{.Id}}"), id);
    // An edit reruns from its COPY on; the steps before it stay CACHED.
    std::fs::write(ctx.join("second.txt"), "second, edited\n").unwrap();
    let out = buildkit(&ctl, &["-t", "bk"]).arg(&ctx).output().unwrap();
    let edited = text(&out).1;
    let ends: Vec<String> = steps(&edited).into_iter().map(|(_, e)| e).collect();
    assert_eq!(ends, ["CACHED", "CACHED", "CACHED", "CACHED", "CACHED", "DONE", "DONE"], "{edited}");
    assert_eq!(run_image(&ctl, "bk"), "one\nfirst\nsecond, edited\n");
    // -q: only the id, on stdout.
    let q = buildkit(&ctl, &["-q"]).arg(&ctx).output().unwrap();
    let (stdout, stderr) = text(&q);
    assert!(stdout.starts_with("sha256:") && stderr.is_empty(), "{stdout}{stderr}");
}

#[test]
#[ignore = "needs root"]
fn buildkit_output_of_a_failing_run_and_of_stages() {
    let ctl = Ctl::new();
    let out = buildkit(&ctl, &["-t", "bkfail"]).arg(case("failing")).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    let process = r#"process "/bin/sh -c echo \"output before the failure\" && echo \"to stderr\" >&2 && exit 3" did not complete successfully: exit code: 3"#;
    let failed = r#"[3/3] RUN echo "output before the failure" && echo "to stderr" >&2 && exit 3"#;
    let last = steps(&stderr).pop().unwrap();
    assert_eq!(last, (failed.to_string(), format!("ERROR: {process}")), "{stderr}");
    // Its output, prefixed `#N <secs> `, and again in the error block.
    let n = stderr.lines().find(|l| l.ends_with(failed)).unwrap().split(' ').next().unwrap().to_string();
    let logged =
        stderr.lines().filter(|l| l.starts_with(&format!("{n} ")) && l.ends_with(" output before the failure"));
    assert_eq!(logged.count(), 1, "{stderr}");
    let block = format!("#{} ERROR: {process}\n------\n > {failed}:\n", &n[1..]);
    assert!(stderr.contains(&block), "{stderr}");
    assert!(stderr.contains("to stderr\n------\n"), "{stderr}");
    assert!(stderr.ends_with(&format!("------\nERROR: failed to solve: {process}\n")), "{stderr}");
    assert!(ctl.cmd(["images", "-q", "bkfail"]).success().is_empty());
    // Multi-stage: steps named by their stage (`stage-N` when unnamed).
    let out = buildkit(&ctl, &["-t", "bkstages"]).arg(case("multistage")).output().unwrap();
    let stderr = text(&out).1;
    assert!(out.status.success(), "{stderr}");
    let names: Vec<String> = steps(&stderr).into_iter().map(|(n, _)| n).collect();
    let want = [
        "[build 1/2] FROM docker.io/library/busybox:latest",
        "[build 2/2] RUN mkdir -p /out && echo \"made in build\" > /out/artifact && chmod 600 /out/artifact",
        "[stage-2 1/3] FROM docker.io/library/busybox:latest",
        "[stage-2 2/3] COPY --from=build /out/artifact /opt/artifact",
        "[stage-2 3/3] COPY --from=0 /out /opt/all/",
    ];
    assert_eq!(names, want, "{stderr}");
    let metadata = vertices(&stderr).into_iter().filter(|(n, _)| n.contains("load metadata for")).count();
    assert_eq!(metadata, 1, "{stderr}");
}
