//! Credentials for a registry, from docker's `config.json` (`$DOCKER_CONFIG`
//! or `~/.docker`), its `auths` entries or credential helpers, through the
//! `docker_credential` crate. No entry means anonymous access (a registry that
//! wants a token still gets one: oci-client answers its Bearer challenge).

use docker_credential::{CredentialRetrievalError, DockerCredential};
use oci_client::secrets::RegistryAuth;

use crate::reference::DOCKER_HUB;

/// docker keeps Docker Hub's credentials under its v1 index URL.
const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";

pub(super) fn credentials(registry: &str) -> RegistryAuth {
    let key = if registry == DOCKER_HUB { DOCKER_HUB_AUTH_KEY } else { registry };
    match docker_credential::get_credential(key) {
        Ok(DockerCredential::UsernamePassword(user, password)) => RegistryAuth::Basic(user, password),
        Ok(DockerCredential::IdentityToken(_)) => {
            tracing::warn!(
                registry,
                "docker config holds an identity token, which berthctl cannot use: pulling anonymously"
            );
            RegistryAuth::Anonymous
        }
        Err(CredentialRetrievalError::NoCredentialConfigured | CredentialRetrievalError::ConfigNotFound)
        | Err(CredentialRetrievalError::ConfigReadError) => RegistryAuth::Anonymous,
        Err(e) => {
            tracing::warn!(registry, error = %e, "read docker credentials: pulling anonymously");
            RegistryAuth::Anonymous
        }
    }
}
