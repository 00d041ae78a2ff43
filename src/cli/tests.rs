//! The command line as runc 1.1.5 reads it (each rule checked against the real
//! `runc` binary; tests/cli.rs compares the two side by side).

use super::*;

fn parse(args: &[&str]) -> Cli {
    let mut argv = vec!["berth"];
    argv.extend_from_slice(args);
    Cli::parse_args(argv).unwrap_or_else(|e| panic!("{args:?}: {e:?}"))
}

/// `parse` of a command line written as one string of space-separated words.
fn words(line: &str) -> Cli {
    parse(&line.split(' ').collect::<Vec<_>>())
}

fn early(args: &[&str]) -> Early {
    let mut argv = vec!["berth"];
    argv.extend_from_slice(args);
    Cli::parse_args(argv).expect_err("an early exit")
}

/// The usage error of a command line: (message, what is shown before help).
fn usage(args: &[&str]) -> (String, Shown) {
    match parse(args).command {
        Command::Usage(u) => (u.message, u.shown),
        c => panic!("{args:?}: not a usage error: {c:?}"),
    }
}

fn help_topic(args: &[&str]) -> Option<String> {
    match parse(args).command {
        Command::Help(h) => h.topic,
        c => panic!("{args:?}: not help: {c:?}"),
    }
}

#[test]
fn boolean_flags_take_go_bool_values_and_negative_numbers_parse() {
    let cli = parse(&["--debug=true", "delete", "--force=false", "x"]);
    assert!(cli.debug);
    assert!(matches!(cli.command, Command::Delete(ref d) if !d.force && d.id == "x"));
    assert!(parse(&["--debug", "delete", "-f", "x"]).debug);
    assert!(!parse(&["--debug=F", "list"]).debug);
    let e = early(&["--debug=maybe", "list"]);
    assert_eq!((e.code(), e.error.as_deref()), (1, Some(r#"invalid boolean value "maybe" for -debug: parse error"#)));
    assert!(e.stdout.starts_with("Incorrect Usage. invalid boolean value"), "{}", e.stdout);
    let cli = parse(&["update", "--memory", "-1", "--pids-limit", "-1", "--cpu-quota", "-1", "x"]);
    assert!(
        matches!(cli.command, Command::Update(ref u) if u.pids_limit == Some(-1) && u.cpu_quota.as_deref() == Some("-1")
            && u.memory.as_deref() == Some("-1") && u.id == "x")
    );
}

#[test]
fn global_flags_take_single_dash_long_names_and_equals_values() {
    let cli = parse(&["-root", "/r", "-log=/l", "-log-format", "json", "-systemd-cgroup", "-criu", "/c", "state", "x"]);
    assert_eq!(cli.root.as_deref(), Some("/r".as_ref()));
    assert_eq!(cli.log.as_deref(), Some("/l".as_ref()));
    assert_eq!(cli.log_format, LogFormat::Json);
    assert!(cli.systemd_cgroup);
    assert_eq!(cli.criu, PathBuf::from("/c"));
    // The last of a repeated value flag wins.
    assert_eq!(parse(&["--root", "/a", "--root=/b", "list"]).root.as_deref(), Some("/b".as_ref()));
    // A global flag's value may be the command's name: then there is no command.
    assert_eq!(help_topic(&["--root", "list"]), None);
    // Global flags stop at the command: after it they are the command's.
    assert_eq!(usage(&["list", "--root", "/r"]).0, "flag provided but not defined: -root");
    let e = early(&["--bogus", "list"]);
    assert_eq!((e.code(), e.error.as_deref()), (1, Some("flag provided but not defined: -bogus")));
}

#[test]
fn rootless_takes_only_auto_true_or_false() {
    let cli = parse(&["--rootless", "true", "list"]);
    assert_eq!(cli.rootless, Rootless::True);
    assert!(cli.global().rootless);
    assert!(!parse(&["--rootless=false", "list"]).global().rootless);
    assert_eq!(parse(&["list"]).rootless, Rootless::Auto);
    assert_eq!(parse(&["--rootless", "AUTO", "list"]).rootless, Rootless::Auto);
    assert_eq!(parse(&["--rootless", "1", "list"]).rootless, Rootless::True);
    let e = early(&["--rootless", "yes", "list"]);
    assert_eq!(e.code(), 1);
    assert!(e.error.unwrap().contains("--rootless"));
    // `spec --rootless` stays the command's own flag.
    assert!(matches!(parse(&["spec", "--rootless"]).command, Command::Spec(ref s) if s.rootless));
}

#[test]
fn log_format_is_text_or_json_with_runcs_error() {
    assert_eq!(parse(&["--log-format=", "list"]).log_format, LogFormat::Text);
    let e = early(&["--log-format", "xml", "list"]);
    assert_eq!((e.code(), e.error.as_deref(), e.stdout.as_str()), (1, Some("invalid log-format: xml"), ""));
}

#[test]
fn help_and_version_end_early_with_status_0() {
    for args in [&["-h"][..], &["--help"], &["-help"], &["-h", "list"], &["--log-format", "xml", "-h"]] {
        let e = early(args);
        assert_eq!((e.code(), e.error.is_none()), (0, true), "{args:?}");
        assert!(e.stdout.starts_with("NAME:\n   berth - Open Container Initiative runtime\n"), "{args:?}");
        assert!(e.stdout.contains("\nVERSION:\n   0.1.0\ncommit: "), "{}", e.stdout);
    }
    for args in [&["-v"][..], &["--version"], &["-version"], &["-v", "list"]] {
        let e = early(args);
        assert_eq!(e.code(), 0, "{args:?}");
        assert!(e.stdout.starts_with(&format!("berth version {}\ncommit: ", env!("CARGO_PKG_VERSION"))));
        assert!(e.stdout.ends_with("\nspec: 1.2.0\n"), "{}", e.stdout);
    }
    // `=false` turns them off.
    assert!(matches!(parse(&["--help=false", "--version=false", "list"]).command, Command::List(_)));
}

#[test]
fn help_of_every_command_and_of_unknown_topics() {
    for spec in COMMANDS {
        for args in [vec![spec.name, "-h"], vec![spec.name, "--help"], vec!["help", spec.name], vec!["h", spec.name]] {
            assert_eq!(help_topic(&args).as_deref(), Some(spec.name), "{args:?}");
        }
        assert!(help::command(spec.name).is_some(), "{}", spec.name);
        if !["help", "h"].contains(&spec.name) {
            let text = help::command(spec.name).unwrap();
            assert!(text.starts_with(&format!("NAME:\n   berth {} - ", spec.name)), "{text}");
            assert!(!text.contains("runc ") && !text.contains("/run/runc"), "{text}");
        }
    }
    assert_eq!(help_topic(&[]), None);
    assert_eq!(help_topic(&["help"]), None);
    assert_eq!(help_topic(&["help", "list", "extra"]).as_deref(), Some("list"));
    // Help wins over missing or extra arguments, not over a bad flag.
    assert_eq!(help_topic(&["kill", "-h", "a", "b", "c"]).as_deref(), Some("kill"));
    assert_eq!(help_topic(&["state", "--help"]).as_deref(), Some("state"));
    assert_eq!(usage(&["delete", "--bogus", "-h"]).0, "flag provided but not defined: -bogus");
    // An unknown command is an unknown help topic (runc: exit 3); runc has no `ls`.
    assert_eq!(help_topic(&["foo", "x"]).as_deref(), Some("foo"));
    assert_eq!(help_topic(&["ls"]).as_deref(), Some("ls"));
    assert!(help::command("foo").is_none() && help::command("ls").is_none());
    assert_eq!(usage(&["help", "-x"]).0, "flag provided but not defined: -x");
}

#[test]
fn argument_counts_have_runcs_messages() {
    let count = |args: &[&str]| {
        let (m, shown) = usage(args);
        assert_eq!(shown, Shown::ArgCount, "{args:?}");
        m
    };
    assert_eq!(count(&["state"]), r#""state" requires exactly 1 argument(s)"#);
    assert_eq!(count(&["state", "a", "b"]), r#""state" requires exactly 1 argument(s)"#);
    assert_eq!(count(&["kill"]), r#""kill" requires a minimum of 1 argument(s)"#);
    assert_eq!(count(&["kill", "id", "9", "extra"]), r#""kill" requires a maximum of 2 argument(s)"#);
    assert_eq!(count(&["exec"]), r#""exec" requires a minimum of 1 argument(s)"#);
    assert_eq!(count(&["list", "x"]), r#""list" requires exactly 0 argument(s)"#);
    assert_eq!(count(&["spec", "x"]), r#""spec" requires exactly 0 argument(s)"#);
    assert_eq!(count(&["features", "x"]), r#""features" requires exactly 0 argument(s)"#);
    assert_eq!(count(&["ps"]), r#""ps" requires a minimum of 1 argument(s)"#);
    // An unknown flag after the id is a positional, so a count error.
    assert_eq!(count(&["delete", "id", "--bogus"]), r#""delete" requires exactly 1 argument(s)"#);
    // After `--`, a flag is a positional.
    assert_eq!(count(&["delete", "id", "--", "--force"]), r#""delete" requires exactly 1 argument(s)"#);
}

#[test]
fn flags_after_positionals_count_except_for_exec_and_ps() {
    assert!(matches!(parse(&["delete", "id", "--force"]).command, Command::Delete(ref d) if d.force && d.id == "id"));
    let kill = parse(&["kill", "id", "9", "-a"]).command;
    assert!(matches!(kill, Command::Kill(ref k) if k.all && k.id == "id" && k.signal == "9"));
    assert!(matches!(parse(&["kill", "id"]).command, Command::Kill(ref k) if !k.all && k.signal == "SIGTERM"));
    let run = parse(&["run", "id", "-b", "/b", "--detach"]).command;
    assert!(matches!(run, Command::Run(ref r) if r.detach && r.create.bundle.as_os_str() == "/b"));
    // exec: everything after the id is the process's, flags included.
    let Command::Exec(e) = parse(&["exec", "-e", "A=1", "-e", "B=2", "-t", "id", "sh", "-c", "echo -t"]).command else {
        panic!("exec")
    };
    assert_eq!((e.env.as_slice(), e.tty, e.id.as_str()), (&["A=1".to_string(), "B=2".into()][..], true, "id"));
    assert_eq!(e.command, ["sh", "-c", "echo -t"]);
    let Command::Exec(e) = parse(&["exec", "id", "ls", "--env", "X"]).command else { panic!("exec") };
    assert!(e.env.is_empty());
    assert_eq!(e.command, ["ls", "--env", "X"]);
    let Command::Ps(p) = parse(&["ps", "-f", "json", "id", "-ef", "-f"]).command else { panic!("ps") };
    assert_eq!((p.format.as_str(), p.ps_args.as_slice()), ("json", &["-ef".to_string(), "-f".into()][..]));
}

#[test]
fn every_flag_of_each_command_reaches_its_args() {
    let Command::Exec(e) = words(concat!(
        "exec --console-socket /s --cwd /w -u 1:2 -g 5 -g=6 -p /p.json -d --pid-file /pid --process-label l ",
        "--apparmor a --no-new-privs --cap CAP_A --cap CAP_B --preserve-fds 2 --cgroup g --ignore-paused id"
    ))
    .command
    else {
        panic!("exec")
    };
    assert_eq!(e.additional_gids, [5, 6]);
    assert_eq!(e.cap, ["CAP_A", "CAP_B"]);
    assert!(e.detach && e.no_new_privs && e.ignore_paused && e.preserve_fds == 2 && e.cgroup == ["g"]);
    assert_eq!((e.user.as_deref(), e.cwd.as_deref(), e.apparmor.as_deref()), (Some("1:2"), Some("/w"), Some("a")));
    let Command::Create(c) =
        words("create --bundle=/b --console-socket /s --pid-file /p --no-pivot --no-new-keyring --preserve-fds 0x3 id")
            .command
    else {
        panic!("create")
    };
    assert!(c.no_pivot && c.no_new_keyring && c.preserve_fds == 3 && c.id == "id");
    assert_eq!(c.bundle, PathBuf::from("/b"));
}

#[test]
fn checkpoint_update_events_list_and_restore_flags_reach_their_args() {
    let Command::Checkpoint(k) =
        parse(&["checkpoint", "--status-fd", "-5", "--empty-ns", "net", "--pre-dump", "id"]).command
    else {
        panic!("checkpoint")
    };
    assert_eq!((k.status_fd, k.common.empty_ns.as_slice(), k.pre_dump), (-5, &["net".to_string()][..], true));
    let Command::Checkpoint(k) = parse(&["checkpoint", "id"]).command else { panic!("checkpoint") };
    assert_eq!(k.status_fd, -1);
    let Command::Update(u) =
        parse(&["update", "-r", "-", "--blkio-weight", "500", "--cpu-period", "1000", "id"]).command
    else {
        panic!("update")
    };
    assert_eq!(
        (u.blkio_weight, u.cpu_period, u.resources.as_deref()),
        (Some(500), Some("1000".to_string()), Some("-".as_ref()))
    );
    // runc reads --cpu-period as a string and checks it after finding the container.
    assert!(matches!(parse(&["update", "--cpu-period", "x", "id"]).command, Command::Update(_)));
    assert_eq!(
        usage(&["update", "--pids-limit", "x", "id"]).0,
        r#"invalid value "x" for flag -pids-limit: parse error"#
    );
    let Command::Events(ev) = parse(&["events", "--interval", "1s", "--stats", "id"]).command else { panic!("events") };
    assert_eq!((ev.interval.as_str(), ev.stats), ("1s", true));
    assert!(
        matches!(parse(&["list", "-f", "json", "-q"]).command, Command::List(ref l) if l.quiet && l.format == list::Format::Json)
    );
    assert_eq!(usage(&["list", "--format", "x"]), ("invalid format option".into(), Shown::Nothing));
    let Command::Restore(r) = parse(&["restore", "-b", "/b", "-d", "--lsm-profile", "p", "id"]).command else {
        panic!("restore")
    };
    assert_eq!((r.bundle, r.detach, r.lsm_profile.as_deref()), (PathBuf::from("/b"), true, Some("p")));
}

#[test]
fn a_flags_two_forms_and_missing_values_are_usage_errors() {
    assert_eq!(usage(&["delete", "-f", "--force", "x"]).0, "Cannot use two forms of the same flag: f force");
    assert_eq!(usage(&["exec", "-e", "A", "--env", "B", "x"]).0, "Cannot use two forms of the same flag: e env");
    assert_eq!(usage(&["create", "-b"]), ("flag needs an argument: -b".into(), Shown::FlagError));
    assert_eq!(usage(&["exec", "-t=maybe", "id"]).0, r#"invalid boolean value "maybe" for -t: parse error"#);
    let e = early(&["-f", "--force"]);
    assert_eq!(e.error.as_deref(), Some("flag provided but not defined: -f"));
}
