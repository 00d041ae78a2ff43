//! Credentials for a registry: what `login` stored in docker's
//! `config.json` (or its credential helpers), read through `crate::auth`.
//! No entry means anonymous access (a registry that wants a token still gets
//! one: oci-client answers its Bearer challenge).

use std::path::Path;

use oci_client::secrets::RegistryAuth;

use super::RegistryError;
use crate::auth::{self, Credentials};

pub(super) fn credentials(file: &Path, registry: &str, image: &str) -> Result<RegistryAuth, RegistryError> {
    match auth::lookup(file, registry) {
        Ok(Some(Credentials::Basic { username, password })) => Ok(RegistryAuth::Basic(username, password)),
        Ok(Some(Credentials::IdentityToken(_))) => {
            tracing::warn!(
                registry,
                "the stored credentials are an identity token, which berthctl cannot use: pulling anonymously"
            );
            Ok(RegistryAuth::Anonymous)
        }
        Ok(None) => Ok(RegistryAuth::Anonymous),
        Err(e) => Err(RegistryError::Remote {
            registry: registry.to_string(),
            image: image.to_string(),
            what: "credentials".to_string(),
            source: Box::new(e),
        }),
    }
}
