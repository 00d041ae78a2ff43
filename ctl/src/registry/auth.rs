//! Credentials for a registry: what `login` stored, read through
//! `crate::auth::lookup` (docker's `config.json`, its `auths` entries or
//! credential helpers, in the file `Config::auth_file` names). No entry means
//! anonymous access (a registry that wants a token still gets one:
//! oci-client answers its Bearer challenge).

use std::path::Path;

use oci_client::secrets::RegistryAuth;

use crate::auth::{self, Credentials};

pub(super) fn credentials(auth_file: &Path, registry: &str) -> RegistryAuth {
    match auth::lookup(auth_file, registry) {
        Ok(Some(Credentials::Basic { username, password })) => RegistryAuth::Basic(username, password),
        Ok(Some(Credentials::IdentityToken(_))) => {
            tracing::warn!(
                registry,
                "docker config holds an identity token, which berthctl cannot use: going anonymously"
            );
            RegistryAuth::Anonymous
        }
        Ok(None) => RegistryAuth::Anonymous,
        Err(e) => {
            tracing::warn!(registry, error = %e, "read registry credentials: going anonymously");
            RegistryAuth::Anonymous
        }
    }
}
