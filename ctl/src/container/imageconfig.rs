//! What a new container takes from its image's config, merged as docker's
//! daemon merges it with the flags, and the command and environment its
//! process gets from the merged config.

use serde_json::json;

use super::bundle::BundleError;
use super::record::ContainerConfig;

/// What an image contributes to a new container (its config's defaults).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ImageDefaults {
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub env: Vec<String>,
    pub working_dir: String,
    pub user: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub stop_signal: Option<String>,
    pub exposed_ports: Vec<String>,
}

/// docker's merge of the image config into the user's (moby daemon/commit.go
/// `merge`): the user's values win; env is the user's followed by the image's
/// keys the user did not set; the image's Cmd and Entrypoint are used only
/// when the user gave no entrypoint (`--entrypoint ""` counts as given).
pub(crate) fn merge_image(user: &mut ContainerConfig, image: &ImageDefaults, entrypoint_given: bool) {
    if user.user.is_empty() {
        user.user = image.user.clone();
    }
    let user_keys: Vec<String> = user.env.iter().map(|e| env_key(e).to_string()).collect();
    for e in &image.env {
        if !user_keys.iter().any(|k| k == env_key(e)) {
            user.env.push(e.clone());
        }
    }
    if !entrypoint_given {
        if user.cmd.as_ref().is_none_or(Vec::is_empty) {
            user.cmd = image.cmd.clone();
        }
        user.entrypoint = image.entrypoint.clone();
    }
    if user.working_dir.is_empty() {
        user.working_dir = image.working_dir.clone();
    }
    for (k, v) in &image.labels {
        user.labels.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if user.stop_signal.is_none() {
        user.stop_signal = image.stop_signal.clone();
    }
    for p in &image.exposed_ports {
        user.exposed_ports.entry(p.clone()).or_insert_with(|| json!({}));
    }
}

fn env_key(e: &str) -> &str {
    e.split_once('=').map_or(e, |(k, _)| k)
}

/// docker's Path and Args: the entrypoint's first word and the rest followed
/// by Cmd, or Cmd alone (an entrypoint of `[""]` counts as none).
pub(crate) fn entrypoint_and_args(config: &ContainerConfig) -> Result<(String, Vec<String>), BundleError> {
    let entry: Vec<String> =
        config.entrypoint.clone().unwrap_or_default().into_iter().filter(|s| !s.is_empty()).collect();
    let cmd = config.cmd.clone().unwrap_or_default();
    let mut all = entry;
    all.extend(cmd);
    if all.is_empty() {
        return Err(BundleError::NoCommand);
    }
    let path = all.remove(0);
    Ok((path, all))
}

/// The environment of the container's process as docker builds it
/// (CreateDaemonEnvironment then ReplaceOrAppendEnvValues): PATH, HOSTNAME,
/// TERM for a tty, then the configured env replacing or appending by key.
pub(crate) fn process_env(config: &ContainerConfig, home: &str) -> Vec<String> {
    let mut env = vec![
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
        format!("HOSTNAME={}", config.hostname),
    ];
    if config.tty {
        env.push("TERM=xterm".to_string());
    }
    for e in &config.env {
        let key = env_key(e);
        match env.iter_mut().find(|x| env_key(x) == key) {
            Some(slot) => *slot = e.clone(),
            None => env.push(e.clone()),
        }
    }
    // runc sets HOME from passwd when it is unset; doing it here gives every
    // runtime the same environment.
    if !env.iter().any(|e| env_key(e) == "HOME") {
        env.push(format!("HOME={home}"));
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> ImageDefaults {
        ImageDefaults {
            entrypoint: Some(vec!["/entry.sh".into()]),
            cmd: Some(vec!["serve".into(), "--port".into(), "80".into()]),
            env: vec!["PATH=/img/bin:/bin".into(), "A=image".into(), "B=image".into()],
            working_dir: "/app".into(),
            user: "www".into(),
            ..Default::default()
        }
    }

    #[test]
    fn args_after_the_image_replace_cmd_only() {
        let mut c = ContainerConfig { cmd: Some(vec!["echo".into(), "hi".into()]), ..Default::default() };
        merge_image(&mut c, &image(), false);
        assert_eq!(entrypoint_and_args(&c).unwrap(), ("/entry.sh".into(), vec!["echo".into(), "hi".into()]));
    }

    #[test]
    fn no_args_runs_entrypoint_with_image_cmd() {
        let mut c = ContainerConfig::default();
        merge_image(&mut c, &image(), false);
        assert_eq!(
            entrypoint_and_args(&c).unwrap(),
            ("/entry.sh".into(), vec!["serve".into(), "--port".into(), "80".into()])
        );
    }

    #[test]
    fn entrypoint_flag_drops_image_cmd() {
        let mut c = ContainerConfig { entrypoint: Some(vec!["/bin/sh".into()]), ..Default::default() };
        merge_image(&mut c, &image(), true);
        assert_eq!(entrypoint_and_args(&c).unwrap(), ("/bin/sh".into(), vec![]));
    }

    #[test]
    fn empty_entrypoint_flag_resets_it() {
        let mut c = ContainerConfig {
            entrypoint: Some(vec![String::new()]),
            cmd: Some(vec!["ls".into()]),
            ..Default::default()
        };
        merge_image(&mut c, &image(), true);
        assert_eq!(entrypoint_and_args(&c).unwrap(), ("ls".into(), vec![]));
        let mut c = ContainerConfig { entrypoint: Some(vec![String::new()]), ..Default::default() };
        merge_image(&mut c, &image(), true);
        assert!(matches!(entrypoint_and_args(&c), Err(BundleError::NoCommand)));
    }

    #[test]
    fn env_user_first_then_image_keys_not_set() {
        let mut c = ContainerConfig { env: vec!["B=user".into(), "C=user".into()], ..Default::default() };
        merge_image(&mut c, &image(), false);
        assert_eq!(c.env, ["B=user", "C=user", "PATH=/img/bin:/bin", "A=image"]);
        assert_eq!(c.working_dir, "/app");
        assert_eq!(c.user, "www");
    }

    #[test]
    fn process_env_puts_path_and_hostname_first() {
        let c = ContainerConfig {
            hostname: "abc".into(),
            tty: true,
            env: vec!["X=1".into(), "PATH=/p".into()],
            ..Default::default()
        };
        assert_eq!(process_env(&c, "/root"), ["PATH=/p", "HOSTNAME=abc", "TERM=xterm", "X=1", "HOME=/root"]);
    }
}
