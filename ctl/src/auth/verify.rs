//! `login`'s check that a registry accepts a user and password, as docker's
//! `/v2/` ping: with a Bearer challenge the token server must grant a token
//! for those credentials; with a Basic challenge an authenticated request
//! must not come back 401; a registry that asks for nothing accepts anyone.
//! Loopback registries are spoken to over plain HTTP, as docker treats
//! 127.0.0.0/8 and ::1 as insecure.

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};

use super::{AuthError, DOCKER_HUB_SERVER};

/// A digest no registry has: asking for it tells a 401 from a 404.
const ABSENT_BLOB: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// Check `username`/`password` against `server` (a key from `server_key`).
pub(crate) fn verify(server: &str, username: &str, password: &str) -> Result<(), AuthError> {
    let fail = |detail: String| AuthError::Login { server: server.to_string(), detail };
    let host = if server == DOCKER_HUB_SERVER { "registry-1.docker.io" } else { server };
    let image = Reference::try_from(format!("{host}/berthctl/login-check:latest")).map_err(|e| fail(e.to_string()))?;
    // Installing twice fails harmlessly: another part of berthctl may have done it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let protocol = if is_loopback(host) { ClientProtocol::Http } else { ClientProtocol::Https };
    let client = Client::new(ClientConfig { protocol, ..Default::default() });
    let auth = RegistryAuth::Basic(username.to_string(), password.to_string());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(format!("start the async runtime: {e}")))?;
    rt.block_on(async {
        client.auth(&image, &auth, RegistryOperation::Pull).await.map_err(|e| fail(describe(&e)))?;
        match client.blob_exists(&image, ABSENT_BLOB).await {
            Ok(_) => Ok(()),
            Err(e) => Err(fail(describe(&e))),
        }
    })
}

/// A host (with or without port) on the loopback network.
pub(crate) fn is_loopback(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name == "localhost" || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn describe(e: &OciDistributionError) -> String {
    let text = e.to_string();
    if text.contains("401") || matches!(e, OciDistributionError::AuthenticationFailure(_)) {
        format!("unauthorized: incorrect username or password ({text})")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised_with_and_without_ports() {
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("127.1.2.3"));
        assert!(is_loopback("localhost:5000"));
        assert!(is_loopback("[::1]:5000"));
        assert!(!is_loopback("quay.io"));
        assert!(!is_loopback("10.0.0.1:5000"));
    }
}
